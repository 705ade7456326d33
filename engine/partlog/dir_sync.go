package partlog

import (
	"fmt"
	"os"
)

// syncDir makes the directory's entries (created, renamed or removed files)
// durable: fdatasync of a file alone does not persist its name.
func syncDir(dir string) error { return syncPath(dir, "directory") }

// syncFile makes the file's data durable (not its name: syncDir).
func syncFile(path string) error { return syncPath(path, "file") }

func syncPath(path, kind string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sync %s %s: %w", kind, path, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s %s: %w", kind, path, err)
	}
	return nil
}
