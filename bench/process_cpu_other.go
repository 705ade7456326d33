//go:build !linux

package bench

import (
	"errors"
	"time"
)

var errNoProcCPU = errors.New("process CPU time is read from Linux /proc only")

// ProcessCPUTime is not measured outside Linux.
func ProcessCPUTime(int) (time.Duration, error) { return 0, errNoProcCPU }

func selfCPUTime() (time.Duration, error) { return 0, errNoProcCPU }
