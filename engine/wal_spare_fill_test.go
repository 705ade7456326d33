package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chronik-go/chronik/engine/walfile"
)

// A shard's first two WAL files are written full of zeros before its turns
// use the WAL, off the syncer: the file the first WAL append goes to
// already has the WAL file's whole size (checkpoint size and a quarter),
// and the next one waits filled in a spare slot. Grown on the syncer, the
// first file would hold 8 MiB and grow 8 MiB at a time, each step riding on
// an fdatasync.
func TestWALFirstFilesFilledAhead(t *testing.T) {
	tb := startBroker(t, "num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1")
	createTestTopic(t, tb, "filled", 1)
	cl := fetchClient(tb)
	if p := produceRaw(t, cl, "filled", 0, 11, rawBatch(4, -1, -1, -1)); p.ErrorCode != 0 {
		t.Fatalf("produce: error %d", p.ErrorCode)
	}
	if tb.b.Metrics().WALSyncs == 0 {
		t.Fatal("the produce was not made durable through the WAL")
	}
	limit := tb.b.walFileLimit()
	dir := filepath.Join(tb.dir, walDirName)
	sizes := func() map[string]int64 {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]int64{}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			m[e.Name()] = info.Size()
		}
		return m
	}
	var inUse []string
	for name, size := range sizes() {
		if _, _, ok := walfile.ParseFileName(name); ok {
			inUse = append(inUse, name)
			if size != limit {
				t.Errorf("WAL file %s holds %d bytes; want %d, filled before its first entry", name, size, limit)
			}
		}
	}
	if len(inUse) != 1 {
		t.Fatalf("WAL files in use: %v, want one", inUse)
	}
	// The second file waits, filled, in a spare slot.
	spares := 0
	for name, size := range sizes() {
		if strings.HasPrefix(name, "spare-") {
			spares++
			if size != limit || !strings.HasSuffix(name, ".wal") {
				t.Errorf("spare %s holds %d bytes; want a filled WAL file of %d", name, size, limit)
			}
		}
	}
	if spares != 1 {
		t.Errorf("%d spares after the first WAL file was taken; want 1: %v", spares, sizes())
	}

	// A fill a crash cut short, and a spare of a shard this run does not
	// have, are removed at the next start; so is a spare smaller than the
	// run's WAL files (as after a larger checkpoint size was set), which
	// is filled again.
	tb.stop()
	for _, name := range []string{walFillingName(0), walSpareName(7), walSecondSpareName(0)} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, 4096), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tb.open()
	for name, size := range sizes() {
		if strings.HasSuffix(name, ".filling") || name == walSpareName(7) {
			t.Errorf("%s (%d bytes) left after a start", name, size)
		}
		if strings.HasPrefix(name, "spare-0000") && size != limit {
			t.Errorf("spare %s holds %d bytes after a start; want %d", name, size, limit)
		}
	}
}

// A clean shutdown keeps a shard's last WAL files as its spares, so that a
// restart writes no zeros: both spares are files the run used (their first
// entries are whole; a fill holds zeros), and every WAL file of the
// restarted broker is one of them.
func TestWALFilesKeptAcrossCleanRestart(t *testing.T) {
	tb := startBroker(t, "num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1",
		"log.flush.wal.checkpoint.bytes=262144")
	createTestTopic(t, tb, "kept", 1)
	cl := fetchClient(tb)
	produce := func() {
		t.Helper()
		if p := produceRaw(t, cl, "kept", 0, 11, rawBatch(2000, -1, -1, -1)); p.ErrorCode != 0 {
			t.Fatalf("produce: error %d", p.ErrorCode)
		}
	}
	for range 60 { // about 16 KB each: past two checkpoints of 256 KiB
		produce()
	}
	if n := tb.b.Metrics().WALCheckpoints; n < 2 {
		t.Fatalf("%d checkpoints; want the filled files used and recycled", n)
	}
	dir := filepath.Join(tb.dir, walDirName)
	// walFiles lists the WAL directory, each file with its first entry's
	// generation (0: none whole, as in a file of zeros).
	walFiles := func() map[string]os.FileInfo {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]os.FileInfo{}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			if gen, err := firstWALEntryGen(filepath.Join(dir, e.Name())); err != nil || gen == 0 {
				t.Errorf("%s holds no whole first entry (%v): not a file the run used", e.Name(), err)
			}
			m[e.Name()] = info
		}
		return m
	}
	limit := tb.b.walFileLimit()

	tb.stop()
	kept := walFiles()
	for _, name := range []string{walSpareName(0), walSecondSpareName(0)} {
		if info, ok := kept[name]; !ok {
			t.Errorf("no %s after a clean shutdown: %v", name, kept)
		} else if info.Size() != limit {
			t.Errorf("%s holds %d bytes; want %d", name, info.Size(), limit)
		}
	}
	if len(kept) != 2 {
		t.Errorf("after a clean shutdown the WAL directory holds %d files, want the two spares: %v", len(kept), kept)
	}

	tb.open()
	cl = fetchClient(tb)
	syncs := tb.b.Metrics().WALSyncs
	produce()
	if tb.b.Metrics().WALSyncs == syncs {
		t.Fatal("the first produce after the restart was not made durable through the WAL")
	}
	for name, info := range walFiles() {
		same := false
		for _, k := range kept {
			same = same || os.SameFile(k, info)
		}
		if !same {
			t.Errorf("%s (%d bytes) was made after the restart; want the kept files reused", name, info.Size())
		}
	}
}
