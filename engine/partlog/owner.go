package partlog

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// OwnerFileName holds what a partition directory belongs to (Options.Owner:
// the topic id, as Kafka's partition.metadata does). A topic deleted and
// created again under its name gets a directory of the same name; one left
// behind by the old topic (a crash between the deletion's commit and the
// removal, or a failed removal) must not pass its records off as the new
// topic's.
const OwnerFileName = "partition.metadata"

// ErrOtherOwner reports a partition directory whose owner file names
// someone else (or is damaged: the caller tells which by its Content): its
// data may not be this log's.
var ErrOtherOwner = errors.New("partition directory's owner file names another owner")

// OtherOwnerError is ErrOtherOwner with what the file holds.
type OtherOwnerError struct {
	Path    string
	Content []byte
}

func (e *OtherOwnerError) Error() string {
	return fmt.Sprintf("%s: %s says %q", ErrOtherOwner, e.Path, bytes.TrimSpace(e.Content))
}

func (e *OtherOwnerError) Unwrap() error { return ErrOtherOwner }

// checkOwner compares dir's owner file with want. A directory without one
// (written by an older build, or whose file a crash left empty) is adopted
// and the file written.
func checkOwner(dir string, entries []os.DirEntry, want []byte) error {
	path := filepath.Join(dir, OwnerFileName)
	has := false
	for _, e := range entries {
		if e.Name() == OwnerFileName {
			has = true
			break
		}
	}
	if has {
		got, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("read %s: %w", path, err)
		}
		if len(got) > 0 {
			if !bytes.Equal(got, want) {
				return &OtherOwnerError{Path: path, Content: got}
			}
			return nil
		}
	}
	return writeOwner(dir, want)
}

// writeOwner writes dir's owner file. It is not synced: the directory sync
// that follows a new directory makes its entry durable, and a file a crash
// left empty is adopted again.
func writeOwner(dir string, owner []byte) error {
	if err := os.WriteFile(filepath.Join(dir, OwnerFileName), owner, 0o644); err != nil {
		return fmt.Errorf("write partition owner: %w", err)
	}
	return nil
}
