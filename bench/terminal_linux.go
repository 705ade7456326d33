//go:build linux

package bench

import (
	"os"

	"golang.org/x/sys/unix"
)

// IsTerminal reports whether f is an interactive terminal, where a live
// progress line (rewritten with \r) is welcome; in a log file it is noise.
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
