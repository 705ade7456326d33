package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// dropCachedLogPages evicts the clean cached pages of a partition's segment
// files before its log is reopened after a fault. A page whose writeback
// failed stays cached as if written, so recovery would read it back whole
// from memory, keep it, and build on bytes the disk does not hold; evicted,
// it is read from the disk, where its CRC tells. Dirty pages stay (the
// kernel does not drop them), and those were never reported durable.
func dropCachedLogPages(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".log") || !e.Type().IsRegular() {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
			errs = append(errs, &os.PathError{Op: "fadvise", Path: f.Name(), Err: err})
		}
		f.Close()
	}
	return errors.Join(errs...)
}
