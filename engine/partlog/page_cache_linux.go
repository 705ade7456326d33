package partlog

import (
	"os"

	"golang.org/x/sys/unix"
)

// evictCachedPages drops the clean cached pages of the file at path, so
// that recovery reads the disk. A page whose writeback failed stays cached
// as if written, and its error was reported to whoever synced it before (an
// earlier run, or the log a fault replaced): read from memory it would pass
// its CRC, be kept, and later appends would build on bytes the disk does
// not hold. Dirty pages stay (the kernel skips them); they are current.
func evictCachedPages(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return &os.PathError{Op: "fadvise", Path: path, Err: err}
	}
	return nil
}
