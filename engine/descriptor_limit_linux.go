package engine

import "golang.org/x/sys/unix"

// processDescriptorLimit reads RLIMIT_NOFILE's soft limit (Go raises it to
// the hard limit at start).
func processDescriptorLimit() (uint64, bool) {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		return 0, false
	}
	return r.Cur, true
}
