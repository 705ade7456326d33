package e2e

import (
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// reservedSegments counts the segment files under dataDir that hold more
// than 128 KiB of disk blocks past their size (blocks the broker reserved
// ahead of its writes, log.preallocate; a file's partial last block is
// less), and says whether dataDir is on ext4, the only file system the
// broker reserves on.
func reservedSegments(t *testing.T, dataDir string) (n int, ext4 bool) {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dataDir, &st); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".log") {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Sys().(*syscall.Stat_t).Blocks*512 > info.Size()+128<<10 {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, st.Type == unix.EXT4_SUPER_MAGIC
}
