//go:build !linux

package uring

import (
	"errors"
	"os"
)

func datasync(f *os.File) error { return f.Sync() }

func pwritev(f *os.File, bufs [][]byte, off int64) (int, error) {
	total := 0
	for _, b := range bufs {
		n, err := f.WriteAt(b, off)
		total += n
		off += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// startWriteback has no portable equivalent; the next sync writes back.
func startWriteback(*os.File, int64, int64) error { return nil }

// reserveSpace has no portable equivalent: files grow as they are written.
func reserveSpace(*os.File, int64, int64) error { return errors.ErrUnsupported }
