//go:build !linux

package engine

import (
	"errors"
	"os"
)

// syncfsAvailable says syncFilesystem works on this platform.
const syncfsAvailable = false

// syncFilesystem has no portable form; the syncer falls back to fdatasyncs
// when it fails, so report that plainly.
func syncFilesystem(*os.File) error {
	return errors.New("syncfs is only available on Linux")
}
