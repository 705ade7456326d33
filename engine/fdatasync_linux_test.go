package engine

import (
	"os"

	"golang.org/x/sys/unix"
)

// fdatasync is the raw references' sync, as the engine's own.
func fdatasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }
