//go:build linux

package bench

import (
	"os"

	"golang.org/x/sys/unix"
)

// fdatasync flushes f's data (and the metadata needed to read it back, such
// as its size) to stable storage, as a broker's fsync-every-write does.
func fdatasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }
