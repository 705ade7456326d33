package partlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
)

// The cleaner checkpoint remembers where the last compaction pass stopped
// and when tombstones it kept become removable, so that a restart neither
// re-cleans a clean log nor forgets a pending tombstone removal:
//
//	+-------+---------+-------------+-------------+--------+
//	| magic | version | first dirty | min horizon | crc32c |
//	| "CCLN"| u16 = 1 | i64         | i64         | u32    |
//	+-------+---------+-------------+-------------+--------+
//
// It is a hint, not a commitment: written with a rename but no fsync, and
// ignored when missing or torn, which only makes the next pass redo work.
const (
	cleanerCheckpointName    = "cleaner.checkpoint"
	cleanerCheckpointTmpName = cleanerCheckpointName + ".tmp"
	cleanerCheckpointMagic   = "CCLN"
	cleanerCheckpointSize    = 26
)

type cleanerCheckpoint struct {
	firstDirty int64 // offsets below it were cleaned with every key above them known
	minHorizon int64 // earliest delete horizon of a kept tombstone; noHorizon if none
}

func (c cleanerCheckpoint) encode() []byte {
	b := make([]byte, cleanerCheckpointSize)
	copy(b, cleanerCheckpointMagic)
	binary.BigEndian.PutUint16(b[4:], 1)
	binary.BigEndian.PutUint64(b[6:], uint64(c.firstDirty))
	binary.BigEndian.PutUint64(b[14:], uint64(c.minHorizon))
	binary.BigEndian.PutUint32(b[22:], crc32.Checksum(b[:22], crc32c))
	return b
}

// readCleanerCheckpoint loads dir's cleaner checkpoint; found is false when
// there is none or it is unusable.
func readCleanerCheckpoint(dir string) (c cleanerCheckpoint, found bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, cleanerCheckpointName))
	if errors.Is(err, fs.ErrNotExist) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("read cleaner checkpoint in %s: %w", dir, err)
	}
	if len(b) != cleanerCheckpointSize || string(b[:4]) != cleanerCheckpointMagic ||
		binary.BigEndian.Uint16(b[4:]) != 1 || crc32.Checksum(b[:22], crc32c) != binary.BigEndian.Uint32(b[22:]) {
		return c, false, fmt.Errorf("cleaner checkpoint in %s is malformed", dir)
	}
	c.firstDirty = int64(binary.BigEndian.Uint64(b[6:]))
	c.minHorizon = int64(binary.BigEndian.Uint64(b[14:]))
	return c, true, nil
}

// writeCleanerCheckpoint replaces dir's cleaner checkpoint with a rename.
func writeCleanerCheckpoint(dir string, c cleanerCheckpoint) error {
	tmp := filepath.Join(dir, cleanerCheckpointTmpName)
	if err := os.WriteFile(tmp, c.encode(), 0o644); err != nil {
		return fmt.Errorf("write cleaner checkpoint: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, cleanerCheckpointName)); err != nil {
		return fmt.Errorf("write cleaner checkpoint: %w", err)
	}
	return nil
}
