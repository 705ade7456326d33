package partlog

import (
	"encoding/binary"
	"fmt"

	"github.com/chronik-go/chronik/uring"
)

// The recovery point is the first offset recovery must validate after a
// crash, as Kafka's recovery-point-offset-checkpoint: every segment below
// it is durable. A seal task writes it (durably, after the segment's syncs)
// once the rolled segment is on disk:
//
//	+-------+---------+----------------+--------+
//	| magic | version | recovery point | crc32c |
//	| "CPRP"| u16 = 1 | i64            | u32    |
//	+-------+---------+----------------+--------+
const (
	recoveryPointName  = "recovery.checkpoint"
	recoveryPointMagic = "CPRP"
)

func encodeRecoveryPoint(offset int64) []byte {
	return encodeStateRecord(recoveryPointMagic, 1, binary.BigEndian.AppendUint64(nil, uint64(offset)))
}

// readRecoveryPoint loads dir's recovery point; found is false when there
// is none, or it is unusable (err set).
func readRecoveryPoint(dir string) (offset int64, found bool, err error) {
	p, found, err := readStateRecord(dir, recoveryPointName, recoveryPointMagic, 1, 8)
	if !found {
		return 0, false, err
	}
	return int64(binary.BigEndian.Uint64(p)), true, nil
}

// commitRecoveryPoint records offset as dir's recovery point once the
// segments below it are synced. Their file names (and the next segment's)
// must be durable before the recovery point says recovery may skip them.
func commitRecoveryPoint(op uring.Opener, dir string, offset int64) error {
	if err := syncDir(dir); err != nil {
		return err
	}
	return writeRecoveryPoint(op, dir, offset)
}

// writeRecoveryPoint replaces dir's recovery point durably.
func writeRecoveryPoint(op uring.Opener, dir string, offset int64) error {
	if err := replaceFile(op, dir, recoveryPointName, encodeRecoveryPoint(offset), true); err != nil {
		return fmt.Errorf("write recovery point: %w", err)
	}
	return nil
}
