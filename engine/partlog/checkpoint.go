package partlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/chronik-go/chronik/uring"
)

const (
	checkpointName    = "partition.checkpoint"
	checkpointTmpName = checkpointName + ".tmp"
	checkpointMagic   = "CPLG"
	checkpointVersion = 1
	checkpointPayload = 34 // flags u16, then four i64
	checkpointClean   = 1 << 0
)

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
	var flags uint16
	if c.clean {
		flags = checkpointClean
	}
	p := binary.BigEndian.AppendUint16(make([]byte, 0, checkpointPayload), flags)
	for _, v := range []int64{c.logStart, c.next, c.activeBase, c.activeSize} {
		p = binary.BigEndian.AppendUint64(p, uint64(v))
	}
	return encodeStateRecord(checkpointMagic, checkpointVersion, p)
}

func decodeCheckpoint(p []byte) checkpoint {
	return checkpoint{
		clean:      binary.BigEndian.Uint16(p)&checkpointClean != 0,
		logStart:   int64(binary.BigEndian.Uint64(p[2:])),
		next:       int64(binary.BigEndian.Uint64(p[10:])),
		activeBase: int64(binary.BigEndian.Uint64(p[18:])),
		activeSize: int64(binary.BigEndian.Uint64(p[26:])),
	}
}

// readCheckpoint loads dir's checkpoint; found is false when there is none.
func readCheckpoint(dir string) (c checkpoint, found bool, err error) {
	p, found, err := readStateRecord(dir, checkpointName, checkpointMagic, checkpointVersion, checkpointPayload)
	if !found {
		return c, false, err
	}
	return decodeCheckpoint(p), true, nil
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
