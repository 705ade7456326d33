//go:build !linux

package numa

import (
	"errors"
	"runtime"
)

// AllowedCPUs numbers runtime.NumCPU CPUs from 0: without an affinity call
// the process is taken to run on all of them.
func AllowedCPUs() ([]int, error) {
	cpus := make([]int, runtime.NumCPU())
	for i := range cpus {
		cpus[i] = i
	}
	return cpus, nil
}

// PinThread is not supported off Linux.
func PinThread(cpus []int) error {
	return errors.ErrUnsupported
}

// CanPin says PinThread works on this platform.
const CanPin = false
