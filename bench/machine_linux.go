//go:build linux

package bench

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

func kernelRelease() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", fmt.Errorf("uname: %w", err)
	}
	return unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:]), nil
}

// filesystemType names the filesystem holding dir: statfs proves the
// directory is reachable and gives the magic; /proc/self/mounts gives the
// exact name where the magic is shared (ext2/3/4).
func filesystemType(dir string) (string, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return "", fmt.Errorf("statfs %s: %w", dir, err)
	}
	if abs, err := filepath.EvalSymlinks(dir); err == nil {
		if abs, err = filepath.Abs(abs); err == nil {
			if mounts, err := os.ReadFile("/proc/self/mounts"); err == nil {
				if fs, ok := mountFSType(string(mounts), abs); ok {
					return fs, nil
				}
			}
		}
	}
	return filesystemName(int64(st.Type)), nil
}
