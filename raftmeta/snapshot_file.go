package raftmeta

import (
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/chronik-go/chronik/engine/meta"
	pb "go.etcd.io/raft/v3/raftpb"
)

const (
	snapMagic      = "CHRKSNP1"
	snapshotPrefix = "snap-"
	snapshotSuffix = ".snap"
)

func snapshotName(index uint64) string {
	return fmt.Sprintf("%s%016x%s", snapshotPrefix, index, snapshotSuffix)
}

// writeSnapshotFile stores a raft snapshot atomically (writeFileAtomic), so a
// crash leaves either no new snapshot or a whole one.
func writeSnapshotFile(dir string, snap *pb.Snapshot, sync func(*os.File) error) error {
	body, err := proto.Marshal(snap)
	if err != nil {
		return fmt.Errorf("raftmeta: encode snapshot at index %d: %w", snap.GetMetadata().GetIndex(), err)
	}
	name := snapshotName(snap.GetMetadata().GetIndex())
	if err := writeFileAtomic(dir, name, appendFrame([]byte(snapMagic), body), sync); err != nil {
		return fmt.Errorf("raftmeta: write snapshot %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

// writeFileAtomic writes dir/name through a tmp file that is written and
// synced, renamed into place, and the directory synced: after a crash the
// file is either absent (or as before) or whole.
func writeFileAtomic(dir, name string, data []byte, sync func(*os.File) error) error {
	path := filepath.Join(dir, name)
	tmp := path + tmpSuffix
	err := func() error {
		f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := f.Write(data); err != nil {
			return err
		}
		if err := sync(f); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
		return syncDir(dir)
	}()
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// loadSnapshot reads the newest snapshot in dir; it returns nils when there is
// none. A damaged newest snapshot is an error naming the file, never a silent
// fall back to an older one: the log behind it is already compacted away.
func loadSnapshot(dir string) (*pb.Snapshot, *meta.Snapshot, error) {
	indexes, err := listNumbered(dir, snapshotPrefix, snapshotSuffix)
	if err != nil || len(indexes) == 0 {
		return nil, nil, err
	}
	index := indexes[len(indexes)-1]
	path := filepath.Join(dir, snapshotName(index))
	rs, ms, err := readSnapshotFile(path, index)
	if err != nil {
		return nil, nil, fmt.Errorf("raftmeta: snapshot file %s: %w", path, err)
	}
	return rs, ms, nil
}

func readSnapshotFile(path string, index uint64) (*pb.Snapshot, *meta.Snapshot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if len(data) < len(snapMagic) || string(data[:len(snapMagic)]) != snapMagic {
		return nil, nil, fmt.Errorf("missing file header %q: %w", snapMagic, ErrCorrupt)
	}
	var body []byte
	frames := 0
	_, err = scanFrames(data[len(snapMagic):], int64(len(snapMagic)), func(payload []byte) error {
		body = payload
		frames++
		return nil
	})
	if err != nil || frames != 1 {
		// Snapshots are renamed into place only once synced whole, so any
		// damage is corruption, torn-looking or not.
		return nil, nil, fmt.Errorf("want one intact frame, found %d (%v): %w", frames, err, ErrCorrupt)
	}
	rs := new(pb.Snapshot)
	if err := proto.Unmarshal(body, rs); err != nil {
		return nil, nil, fmt.Errorf("decode raft snapshot: %v: %w", err, ErrCorrupt)
	}
	if got := rs.GetMetadata().GetIndex(); got != index {
		return nil, nil, fmt.Errorf("holds index %d, its name says %d: %w", got, index, ErrCorrupt)
	}
	ms, err := meta.UnmarshalSnapshot(rs.GetData())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", err, ErrCorrupt)
	}
	return rs, ms, nil
}

// removeSnapshotsBefore deletes the snapshots older than index.
func removeSnapshotsBefore(dir string, index uint64) error {
	indexes, err := listNumbered(dir, snapshotPrefix, snapshotSuffix)
	if err != nil {
		return err
	}
	for _, i := range indexes {
		if i >= index {
			continue
		}
		if err := os.Remove(filepath.Join(dir, snapshotName(i))); err != nil {
			return fmt.Errorf("raftmeta: remove old snapshot: %w", err)
		}
	}
	return nil
}

// removeTempFiles deletes the leftovers of writes a crash interrupted.
func removeTempFiles(dir string) error {
	tmps, err := filepath.Glob(filepath.Join(dir, "*"+tmpSuffix))
	if err != nil {
		return fmt.Errorf("raftmeta: list temporary files: %w", err)
	}
	for _, t := range tmps {
		if err := os.Remove(t); err != nil {
			return fmt.Errorf("raftmeta: remove leftover %s: %w", t, err)
		}
	}
	return nil
}
