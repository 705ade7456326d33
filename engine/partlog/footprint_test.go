package partlog

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Creating a partition must be cheap: nothing is written, not even its
// directory, until the first append; Close leaves the empty directory.
func TestOpenNewPartitionCreatesOnlyDirectory(t *testing.T) {
	root := t.TempDir()
	op := &testOpener{}
	start := time.Now()
	var logs []*Log
	for i := range 100 {
		logs = append(logs, mustOpen(t, filepath.Join(root, fmt.Sprintf("t-%d", i)), Options{Opener: op}, false))
	}
	t.Logf("opened 100 new partitions in %v", time.Since(start))
	if n := op.opens.Load(); n != 0 {
		t.Fatalf("opening new partitions opened %d files, want 0", n)
	}
	if entries, err := os.ReadDir(root); err != nil || len(entries) != 0 {
		t.Fatalf("opening new partitions created %d directories (%v), want none before the first write", len(entries), err)
	}
	for _, l := range logs {
		if l.StartOffset() != 0 || l.NextOffset() != 0 || l.Size() != 0 {
			t.Fatalf("new partition not empty: start %d next %d size %d", l.StartOffset(), l.NextOffset(), l.Size())
		}
	}
	for _, l := range logs {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		entries, err := os.ReadDir(l.Dir())
		if err != nil || len(entries) != 0 {
			t.Fatalf("closed empty partition: directory has %d entries (%v), want an empty directory", len(entries), err)
		}
	}
	l := mustOpen(t, logs[0].Dir(), Options{Opener: op}, true)
	defer l.Close()
	if l.NextOffset() != 0 || l.SegmentCount() != 0 {
		t.Fatalf("reopened empty partition: next %d, %d segments", l.NextOffset(), l.SegmentCount())
	}
}

// Idle partitions hold no per-partition buffers: 600 of them, each with some
// data, cost a few KiB each.
func TestIdlePartitionsHoldLittleMemory(t *testing.T) {
	root := t.TempDir()
	const partitions = 600
	b := simpleBatch(t, 5, 1, 200)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	measure := func(clean bool) uint64 {
		before := heap()
		logs := make([]*Log, partitions)
		for i := range logs {
			logs[i] = mustOpen(t, filepath.Join(root, fmt.Sprintf("p-%d", i)), Options{}, clean)
			for range 3 {
				mustAppend(t, logs[i], b)
			}
			if _, err := logs[i].Read(0, 1<<20); err != nil {
				t.Fatal(err)
			}
		}
		after := heap()
		perPartition := (after - min(before, after)) / partitions
		for _, l := range logs {
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
		}
		return perPartition
	}
	for _, clean := range []bool{false, true} { // new, then reopened from disk
		per := measure(clean)
		t.Logf("clean=%v: %d bytes of heap per idle partition", clean, per)
		if per > 16<<10 {
			t.Fatalf("an idle partition holds %d bytes of heap; want under 16 KiB (600 partitions in under 10 MiB)", per)
		}
	}
}
