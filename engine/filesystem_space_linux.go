package engine

import "golang.org/x/sys/unix"

// filesystemSpace returns the size of the filesystem holding dir and the
// bytes of it available to this process (statfs).
func filesystemSpace(dir string) (total, usable int64, ok bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, false
	}
	return int64(st.Blocks) * st.Bsize, int64(st.Bavail) * st.Bsize, true
}
