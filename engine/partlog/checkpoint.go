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

const (
	checkpointName    = "partition.checkpoint"
	checkpointTmpName = checkpointName + ".tmp"
	checkpointMagic   = "CPLG"
	checkpointVersion = 1
	checkpointSize    = 44
	checkpointClean   = 1 << 0
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// checkpoint is the partition's small state file (see the package doc).
type checkpoint struct {
	logStart int64
	// Valid only when clean: the state at a clean Close.
	clean      bool
	next       int64
	activeBase int64 // -1 when the log had no segment
	activeSize int64
}

func (c checkpoint) encode() []byte {
	b := make([]byte, checkpointSize)
	copy(b, checkpointMagic)
	binary.BigEndian.PutUint16(b[4:], checkpointVersion)
	if c.clean {
		binary.BigEndian.PutUint16(b[6:], checkpointClean)
	}
	binary.BigEndian.PutUint64(b[8:], uint64(c.logStart))
	binary.BigEndian.PutUint64(b[16:], uint64(c.next))
	binary.BigEndian.PutUint64(b[24:], uint64(c.activeBase))
	binary.BigEndian.PutUint64(b[32:], uint64(c.activeSize))
	binary.BigEndian.PutUint32(b[40:], crc32.Checksum(b[:40], crc32c))
	return b
}

func decodeCheckpoint(b []byte) (checkpoint, error) {
	var c checkpoint
	if len(b) != checkpointSize || string(b[:4]) != checkpointMagic {
		return c, errors.New("not a partition checkpoint")
	}
	if v := binary.BigEndian.Uint16(b[4:]); v != checkpointVersion {
		return c, fmt.Errorf("unknown checkpoint version %d", v)
	}
	if crc32.Checksum(b[:40], crc32c) != binary.BigEndian.Uint32(b[40:]) {
		return c, errors.New("checkpoint CRC mismatch")
	}
	c.clean = binary.BigEndian.Uint16(b[6:])&checkpointClean != 0
	c.logStart = int64(binary.BigEndian.Uint64(b[8:]))
	c.next = int64(binary.BigEndian.Uint64(b[16:]))
	c.activeBase = int64(binary.BigEndian.Uint64(b[24:]))
	c.activeSize = int64(binary.BigEndian.Uint64(b[32:]))
	return c, nil
}

// readCheckpoint loads dir's checkpoint; found is false when there is none.
func readCheckpoint(dir string) (c checkpoint, found bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, checkpointName))
	if errors.Is(err, fs.ErrNotExist) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("read checkpoint in %s: %w", dir, err)
	}
	c, err = decodeCheckpoint(b)
	if err != nil {
		return c, false, fmt.Errorf("checkpoint in %s: %w", dir, err)
	}
	return c, true, nil
}

// writeCheckpoint replaces dir's checkpoint atomically and durably: write a
// temporary file, fdatasync it, rename it over the old one, sync the directory.
func writeCheckpoint(op uring.Opener, dir string, c checkpoint) error {
	return writeCheckpointDurable(op, dir, c, true)
}

// writeCheckpointDurable is writeCheckpoint; without durable it skips the
// fdatasync and the directory sync (the caller syncs the filesystem).
func writeCheckpointDurable(op uring.Opener, dir string, c checkpoint, durable bool) error {
	if err := replaceFile(op, dir, checkpointName, c.encode(), durable); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

// replaceFile replaces dir/name with b atomically: write name+".tmp", rename
// it over name; with durable, fdatasync it first and sync the directory
// after.
func replaceFile(op uring.Opener, dir, name string, b []byte, durable bool) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := op.Open(tmp)
	if err != nil {
		return err
	}
	err = func() error {
		if _, err := f.WriteAt(b, 0); err != nil {
			return err
		}
		if err := f.Truncate(int64(len(b))); err != nil {
			return err
		}
		if !durable {
			return nil
		}
		return f.Datasync()
	}()
	err = errors.Join(err, f.Close())
	if err != nil {
		return fmt.Errorf("%s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	if !durable {
		return nil
	}
	return syncDir(dir)
}
