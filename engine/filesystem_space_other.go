//go:build !linux

package engine

// filesystemSpace is unknown off Linux.
func filesystemSpace(string) (total, usable int64, ok bool) { return 0, 0, false }
