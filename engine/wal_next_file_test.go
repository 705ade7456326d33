package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chronik-go/chronik/engine/meta"
)

// A checkpoint's goroutine recycles the retired file and prepares the next
// one from it; the rotation after it moves to that file (same blocks, a
// newer generation, no zero-fill). A prepared file whose generation is not
// past the current one — a file was opened after a failure while the
// checkpoint ran — is dropped, since its entries would replay too early.
func TestWALNextFileComesFromTheCheckpoint(t *testing.T) {
	w := newShardWAL(walTestBroker(t), 0)
	w.checkpointDir = w.b.dataDirFile
	job := [][]walItem{{{key: partKey{"alpha", 0}, topicID: meta.TopicID{1}, batches: [][]byte{rawBatch(1, -1, -1, -1)}}}}
	if err := w.appendItems(job); err != nil {
		t.Fatal(err)
	}
	first := w.name

	w.rotate()
	if err := w.appendItems(job); err != nil { // opens a second file
		t.Fatal(err)
	}
	second, secondGen := w.name, w.gen
	w.startCheckpoint()
	w.reapCheckpoint(true)
	if w.next == nil {
		t.Fatal("the checkpoint prepared no next file")
	}
	if _, err := os.Stat(first); !os.IsNotExist(err) {
		t.Fatalf("the checkpointed file %s is still there under its name (%v)", first, err)
	}
	prepared, preparedGen := w.next.name, w.next.gen
	if preparedGen <= secondGen {
		t.Fatalf("prepared generation %d is not past the current %d", preparedGen, secondGen)
	}
	if w.next.allocated == 0 {
		t.Fatal("the prepared file is not the recycled one: nothing allocated")
	}

	w.rotate()
	if err := w.appendItems(job); err != nil {
		t.Fatal(err)
	}
	if w.name != prepared || w.gen != preparedGen || w.next != nil {
		t.Fatalf("after the rotation appends go to %s (gen %d), want the prepared %s (gen %d)", w.name, w.gen, prepared, preparedGen)
	}
	got, torn, err := readWALFile(prepared, preparedGen)
	if err != nil || torn != "" || len(got) != 1 {
		t.Fatalf("the prepared file reads back %d items (torn %q, err %v), want the one appended", len(got), torn, err)
	}

	// Checkpoint the second file, then let a failure open a file before
	// the prepared one is taken: the prepared file is older and must go.
	w.startCheckpoint()
	w.reapCheckpoint(true)
	if w.next == nil {
		t.Fatal("the second checkpoint prepared no next file")
	}
	stale := w.next.name
	w.next.gen = w.gen // as if prepared before the file opened after a failure
	w.abandon()
	if err := w.appendItems(job); err != nil {
		t.Fatal(err)
	}
	if w.name == stale {
		t.Fatalf("appends went to %s, a prepared file no newer than the one before it", stale)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("the dropped prepared file %s is still there (%v)", stale, err)
	}
	if filepath.Dir(w.name) != filepath.Dir(second) {
		t.Fatalf("new file %s outside the WAL directory", w.name)
	}
	w.close()
}
