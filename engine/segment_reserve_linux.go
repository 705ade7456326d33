package engine

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// segmentReserveUsable says whether the active segments' blocks are
// reserved ahead of their writes (log.preallocate) on the file system
// holding dir: on ext4, where it was measured to help (BENCHMARKS.md,
// "Segment blocks reserved ahead"). XFS preallocates past a growing file's
// end by itself, and there a truncate that frees the reservation writes
// the file's unsynced tail back; others were not measured.
func segmentReserveUsable(dir string) (bool, string) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, fmt.Sprintf("statfs %s: %v", dir, err)
	}
	if st.Type != unix.EXT4_SUPER_MAGIC {
		return false, fmt.Sprintf("the data directory's file system (type %#x) is not ext4", st.Type)
	}
	return true, "ext4"
}
