package engine

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncfsAvailable says syncFilesystem works on this platform.
const syncfsAvailable = true

// syncFilesystem flushes every dirty page and the journal of f's filesystem.
// Since Linux 5.8 it also reports writeback errors that hit the filesystem.
func syncFilesystem(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Syncfs(int(fd)) }); err != nil {
		return err
	}
	return serr
}
