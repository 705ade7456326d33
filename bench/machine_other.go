//go:build !linux

package bench

import (
	"errors"
	"runtime"
)

func kernelRelease() (string, error) {
	return runtime.GOOS, nil
}

func filesystemType(string) (string, error) {
	return "", errors.New("filesystem type is read with Linux statfs only")
}
