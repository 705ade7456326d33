package partlog

import (
	"encoding/binary"
	"fmt"
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
	cleanerCheckpointPayload = 16
)

type cleanerCheckpoint struct {
	firstDirty int64 // offsets below it were cleaned with every key above them known
	minHorizon int64 // earliest delete horizon of a kept tombstone; noHorizon if none
}

func (c cleanerCheckpoint) encode() []byte {
	p := binary.BigEndian.AppendUint64(make([]byte, 0, cleanerCheckpointPayload), uint64(c.firstDirty))
	p = binary.BigEndian.AppendUint64(p, uint64(c.minHorizon))
	return encodeStateRecord(cleanerCheckpointMagic, 1, p)
}

// readCleanerCheckpoint loads dir's cleaner checkpoint; found is false when
// there is none or it is unusable.
func readCleanerCheckpoint(dir string) (c cleanerCheckpoint, found bool, err error) {
	p, found, err := readStateRecord(dir, cleanerCheckpointName, cleanerCheckpointMagic, 1, cleanerCheckpointPayload)
	if !found {
		return c, false, err
	}
	c.firstDirty = int64(binary.BigEndian.Uint64(p))
	c.minHorizon = int64(binary.BigEndian.Uint64(p[8:]))
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
