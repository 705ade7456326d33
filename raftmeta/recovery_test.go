package raftmeta

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/chronik-go/chronik/engine/meta"
)

// fillStore applies n changes after registering broker 1: topics, partition
// growth, configs, producer ids and a deletion.
func fillStore(t *testing.T, s *Store, n int) {
	t.Helper()
	mustApply(t, s, registerBroker(1))
	for i := range n {
		name := fmt.Sprintf("topic-%03d", i)
		mustApply(t, s, createTopic(name, uint32(i+1), 1+i%5))
		switch i % 4 {
		case 1:
			mustApply(t, s, meta.Op{Kind: meta.OpCreatePartitions, Names: []string{name}, NewPartitions: createTopic("", 0, 2).Topics[0].Partitions})
		case 2:
			mustApply(t, s, meta.Op{Kind: meta.OpAlterTopicConfig, Names: []string{name}, Set: map[string]string{"retention.ms": fmt.Sprint(i)}})
		case 3:
			mustApply(t, s, meta.Op{Kind: meta.OpAllocateProducerIDs, Count: 10})
		}
	}
	mustApply(t, s, meta.Op{Kind: meta.OpDeleteTopics, Names: []string{"topic-000"}})
}

func TestRestartRecoversFromLog(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{SnapshotEvery: 1 << 40})
	fillStore(t, s, 20)
	want := s.Current()
	closeStore(t, s)
	if snaps := files(t, dir, snapshotPrefix, snapshotSuffix); len(snaps) != 0 {
		t.Fatalf("snapshots written with SnapshotEvery huge: %v", snaps)
	}

	s = openStore(t, dir, Options{SnapshotEvery: 1 << 40})
	sameMetadata(t, s.Current(), want)
	mustApply(t, s, createTopic("after-restart", 9999, 1))
	want = s.Current()
	closeStore(t, s)

	s = openStore(t, dir, Options{SnapshotEvery: 1 << 40})
	defer closeStore(t, s)
	sameMetadata(t, s.Current(), want)
}

func TestRestartRecoversFromSnapshotAndLogTail(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SnapshotEvery: 10}
	s := openStore(t, dir, opts)
	fillStore(t, s, 30)
	want := s.Current()
	closeStore(t, s)

	snaps := files(t, dir, snapshotPrefix, snapshotSuffix)
	segs := files(t, dir, segmentPrefix, segmentSuffix)
	if len(snaps) != 1 || len(segs) != 1 {
		t.Fatalf("after compaction want one snapshot and one segment, got %v and %v", snaps, segs)
	}
	rs, snap, err := loadSnapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	if idx := rs.GetMetadata().GetIndex(); idx < want.AppliedIndex-10 || idx >= want.AppliedIndex {
		t.Fatalf("snapshot at index %d, applied %d: want a log tail behind a recent snapshot", idx, want.AppliedIndex)
	}
	if _, ok := snap.Topics["topic-000"]; !ok {
		t.Fatalf("snapshot at index %d lacks topic-000: want its deletion in the log tail", snap.AppliedIndex)
	}

	s = openStore(t, dir, opts)
	sameMetadata(t, s.Current(), want)
	// Keep going across more snapshots, then restart once more.
	for i := range 25 {
		mustApply(t, s, createTopic(fmt.Sprintf("more-%02d", i), uint32(5000+i), 2))
	}
	want = s.Current()
	closeStore(t, s)

	s = openStore(t, dir, opts)
	defer closeStore(t, s)
	sameMetadata(t, s.Current(), want)
}

func TestTornTailIsTruncated(t *testing.T) {
	f := func(name string, damage func(t *testing.T, path string)) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir, Options{})
			fillStore(t, s, 5)
			want := s.Current()
			closeStore(t, s)

			damage(t, lastSegment(t, dir))

			// The first open truncates; if it did not, the frames it appends
			// after the damage would make the second open fail.
			for round := range 2 {
				s = openStore(t, dir, Options{})
				sameMetadata(t, s.Current(), want)
				mustApply(t, s, createTopic(fmt.Sprintf("after-%d", round), uint32(700+round), 1))
				want = s.Current()
				closeStore(t, s)
			}
		})
	}
	f("partial header", func(t *testing.T, path string) {
		appendToFile(t, path, []byte{0x10, 0, 0})
	})
	f("frame longer than the file", func(t *testing.T, path string) {
		frame := appendFrame(nil, []byte("a whole frame that the crash cut short"))
		appendToFile(t, path, frame[:len(frame)-7])
	})
	f("last frame fails its checksum", func(t *testing.T, path string) {
		frame := appendFrame(nil, []byte("payload"))
		frame[len(frame)-1] ^= 0xff
		appendToFile(t, path, frame)
	})
	f("zeroed tail", func(t *testing.T, path string) {
		appendToFile(t, path, make([]byte, 4096))
	})
	f("last real frame cut short", func(t *testing.T, path string) {
		// Close wrote the final HardState as the last frame; cutting it
		// loses only the commit index, which the new leader commits again.
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, st.Size()-3); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCorruptLogFrameFailsOpen(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	fillStore(t, s, 5)
	closeStore(t, s)

	path := lastSegment(t, dir)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Flip a payload byte of the first frame: later frames follow it, so no
	// crash explains it.
	data[len(walMagic)+frameHeaderLen+1] ^= 0x40
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, Options{NodeID: 1, Logger: quietLogger()})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open on a corrupt log: err = %v, want ErrCorrupt naming %s", err, path)
	}
}

func TestCorruptSnapshotFailsOpen(t *testing.T) {
	f := func(name string, damage func(data []byte) []byte) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir, Options{SnapshotEvery: 5})
			fillStore(t, s, 5)
			closeStore(t, s)
			snaps := files(t, dir, snapshotPrefix, snapshotSuffix)
			if len(snaps) != 1 {
				t.Fatalf("want one snapshot, have %v", snaps)
			}
			data, err := os.ReadFile(snaps[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(snaps[0], damage(data), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Open(dir, Options{NodeID: 1, Logger: quietLogger()})
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), snaps[0]) {
				t.Fatalf("Open on a damaged snapshot: err = %v, want ErrCorrupt naming %s", err, snaps[0])
			}
		})
	}
	f("flipped byte", func(b []byte) []byte { b[len(b)/2] ^= 1; return b })
	f("truncated", func(b []byte) []byte { return b[:len(b)-10] })
	f("bad header", func(b []byte) []byte { return append([]byte("NOTASNAP"), b[8:]...) })
	f("empty", func(b []byte) []byte { return nil })
	f("valid frame with bad metadata json", func(b []byte) []byte {
		return appendFrame([]byte(snapMagic), []byte{0x12, 0x01, '{'}) // raftpb field 2 (data) = "{"
	})
	f("trailing bytes", func(b []byte) []byte {
		return binary.LittleEndian.AppendUint32(b, 0xdeadbeef)
	})
}

func TestClusterIDMismatchFailsOpen(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{ClusterID: "blue", SnapshotEvery: 2})
	fillStore(t, s, 2)
	closeStore(t, s)
	_, err := Open(dir, Options{NodeID: 1, ClusterID: "green", Logger: quietLogger()})
	if err == nil || !strings.Contains(err.Error(), `"blue"`) {
		t.Fatalf("Open with another cluster id: err = %v", err)
	}
	s = openStore(t, dir, Options{ClusterID: "blue"})
	defer closeStore(t, s)
	if s.Current().ClusterID != "blue" {
		t.Fatalf("cluster id = %q", s.Current().ClusterID)
	}
}

func TestLeftoverTempFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	fillStore(t, s, 2)
	want := s.Current()
	closeStore(t, s)
	leftover := lastSegment(t, dir) + ".next" + tmpSuffix
	if err := os.WriteFile(leftover, []byte("half a segment"), 0o644); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, Options{})
	defer closeStore(t, s)
	sameMetadata(t, s.Current(), want)
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Fatalf("leftover tmp file still there: %v", err)
	}
}
