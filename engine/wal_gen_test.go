package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chronik-go/chronik/engine/meta"
)

// A spare keeps the entries of its earlier uses; after a clean shutdown
// (no other WAL file left) the next start must not hand out a generation
// those entries carry, or a replay would read them as current.
func TestWALGenerationsNeverRepeatAfterARestart(t *testing.T) {
	b := walTestBroker(t)
	w := newShardWAL(b, 0)
	job := [][]walItem{{{key: partKey{"alpha", 0}, topicID: meta.TopicID{1}, batches: [][]byte{rawBatch(1, -1, -1, -1)}}}}
	if err := w.appendItems(job); err != nil {
		t.Fatal(err)
	}
	used, usedGen := w.name, w.gen
	w.close()
	// As a checkpoint leaves it: the file kept as the spare.
	spare := filepath.Join(b.dataDir, walDirName, walSpareName(0))
	if err := os.Rename(used, spare); err != nil {
		t.Fatal(err)
	}

	b.walGen.Store(0) // a new process
	if err := b.seedWALGen(); err != nil {
		t.Fatal(err)
	}
	if got := b.walGen.Load(); got < usedGen {
		t.Fatalf("generation counter starts at %d, below the spare's %d", got, usedGen)
	}
	next, err := b.prepareWALFile(0)
	if err != nil {
		t.Fatal(err)
	}
	defer next.f.Close()
	if next.gen <= usedGen {
		t.Fatalf("the spare became generation %d again (its entries carry %d)", next.gen, usedGen)
	}
	items, torn, err := readWALFile(next.name, next.gen)
	if err != nil || torn != "" || len(items) != 0 {
		t.Fatalf("the recycled spare reads back %d items (torn %q, err %v), want none", len(items), torn, err)
	}

	// A spare that does not start with a whole entry changes nothing.
	if err := os.WriteFile(spare, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	b.walGen.Store(7)
	if err := b.seedWALGen(); err != nil || b.walGen.Load() != 7 {
		t.Fatalf("a zero-filled spare moved the counter to %d (err %v)", b.walGen.Load(), err)
	}
}
