package partlog

import (
	"fmt"
	"os"
)

// syncDir makes the directory's entries (created, renamed or removed files)
// durable: fdatasync of a file alone does not persist its name.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
