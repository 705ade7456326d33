//go:build !linux

package bench

import "os"

// IsTerminal reports whether f is a character device, the closest portable
// test for an interactive terminal.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
