//go:build linux

package bench

import (
	"os"

	"golang.org/x/sys/unix"
)

// reserveSpace allocates f's blocks for n bytes at off without changing its
// size (fallocate, FALLOC_FL_KEEP_SIZE).
func reserveSpace(f *os.File, off, n int64) error {
	return unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, off, n)
}
