//go:build !linux

package bench

import (
	"errors"
	"os"
)

// reserveSpace needs Linux's fallocate.
func reserveSpace(*os.File, int64, int64) error { return errors.ErrUnsupported }
