package partlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"

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
	recoveryPointSize  = 18
)

func encodeRecoveryPoint(offset int64) []byte {
	b := make([]byte, recoveryPointSize)
	copy(b, recoveryPointMagic)
	binary.BigEndian.PutUint16(b[4:], 1)
	binary.BigEndian.PutUint64(b[6:], uint64(offset))
	binary.BigEndian.PutUint32(b[14:], crc32.Checksum(b[:14], crc32c))
	return b
}

// readRecoveryPoint loads dir's recovery point; found is false when there
// is none or it is unusable (then recovery validates more, never less).
func readRecoveryPoint(dir string) (offset int64, found bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, recoveryPointName))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read recovery point in %s: %w", dir, err)
	}
	if len(b) != recoveryPointSize || string(b[:4]) != recoveryPointMagic ||
		binary.BigEndian.Uint16(b[4:]) != 1 || crc32.Checksum(b[:14], crc32c) != binary.BigEndian.Uint32(b[14:]) {
		return 0, false, fmt.Errorf("recovery point in %s is malformed", dir)
	}
	return int64(binary.BigEndian.Uint64(b[6:])), true, nil
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
