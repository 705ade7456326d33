package partlog

import (
	"bytes"
	"errors"
	"testing"

	"github.com/chronik-go/chronik/uring"
)

// Under write-behind, staged batches are handed to the WAL once each, stay
// readable from memory, become visible once marked durable, and a failed
// write keeps them (they were acknowledged): the log stops taking appends
// until they are written, and then holds every one of them.
func TestWriteBehindKeepsAcknowledgedBatches(t *testing.T) {
	op := &testOpener{}
	so, _ := uring.NewShardOpener(op)
	bt := so.NewBatch()
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(op), false)
	l.SetWriteBehind()
	stage := func() []byte {
		t.Helper()
		b := simpleBatch(t, 2, 5, 300)
		if _, err := l.StageAppend(b, 0); err != nil {
			t.Fatal(err)
		}
		return b
	}
	b1, b2 := stage(), stage()
	if got := l.UnloggedStaged(); len(got) != 2 || !bytes.Equal(got[0], b1) || !bytes.Equal(got[1], b2) {
		t.Fatalf("UnloggedStaged = %d batches, want the two staged ones", len(got))
	}
	if got := l.UnloggedStaged(); got != nil {
		t.Fatalf("UnloggedStaged handed out %d batches twice", len(got))
	}
	b3 := stage()
	if got := l.UnloggedStaged(); len(got) != 1 || !bytes.Equal(got[0], b3) {
		t.Fatalf("UnloggedStaged after one more append = %d batches, want it alone", len(got))
	}
	if w := l.WrittenOffset(); w != 0 {
		t.Fatalf("WrittenOffset before anything is durable = %d, want 0", w)
	}
	l.MarkDurable(4)
	if w := l.WrittenOffset(); w != 4 {
		t.Fatalf("WrittenOffset after two batches became durable = %d, want 4", w)
	}
	all := append(append(append([]byte(nil), b1...), b2...), b3...)
	if got := readAll(t, l); !bytes.Equal(got, all) {
		t.Fatal("staged batches do not read back from memory")
	}

	op.failWrites.Store(1)
	if errs := commitStaged(t, bt, l); !errors.Is(errs[0], errInjected) {
		t.Fatalf("StagedDone = %v, want the injected failure", errs[0])
	}
	if l.Failed() == nil {
		t.Fatal("the log takes appends while acknowledged batches could not be written")
	}
	if l.StagedBytes() != int64(len(all)) || !bytes.Equal(readAll(t, l), all) {
		t.Fatalf("after the failed write %d bytes staged, want all %d, still readable", l.StagedBytes(), len(all))
	}
	if err := l.FlushStaged(); err != nil {
		t.Fatalf("writing them once the fault cleared: %v", err)
	}
	if l.StagedBytes() != 0 {
		t.Fatalf("%d bytes still staged after a successful write", l.StagedBytes())
	}
	l.Close()
	l = mustOpen(t, dir, testOptions(op), false)
	defer l.Close()
	if got := readAll(t, l); !bytes.Equal(got, all) || l.NextOffset() != 6 {
		t.Fatalf("reopened log: next %d, content equal %v; want 6 and every batch", l.NextOffset(), bytes.Equal(got, all))
	}
}

// A batch staged in a turn and written out by a roll later in the same
// turn was not handed to the WAL yet: the turn's UnloggedStaged still hands
// it over, with the batch that rolled, since nothing else syncs it before
// the turn's acknowledgement. A direct sync (PrepareSync) covers such
// batches itself, and then they are not handed over.
func TestWriteBehindHandsOverBatchesARollWrote(t *testing.T) {
	op := &testOpener{}
	opts := testOptions(op)
	opts.SegmentBytes = 1000
	l := mustOpen(t, t.TempDir(), opts, false)
	defer l.Close()
	l.SetWriteBehind()
	stage := func() []byte {
		t.Helper()
		b := simpleBatch(t, 1, 5, 300) // two fit in a segment, a third rolls
		if _, err := l.StageAppend(b, 0); err != nil {
			t.Fatal(err)
		}
		return b
	}
	handed := func(want ...[]byte) {
		t.Helper()
		got := l.UnloggedStaged()
		if len(got) != len(want) {
			t.Fatalf("UnloggedStaged handed %d batches, want %d", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("UnloggedStaged's batch %d is not the one staged", i)
			}
		}
	}
	a := stage()
	handed(a) // the last turn
	b, c := stage(), stage()
	if l.SegmentCount() != 2 {
		t.Fatalf("%d segments, want the third batch to have rolled the first", l.SegmentCount())
	}
	handed(b, c)
	handed()

	stage()
	stage() // rolls again, writing c and the one before it out
	task, err := l.PrepareSync()
	if err != nil || task == nil {
		t.Fatalf("PrepareSync = %v, %v; want a task covering the roll's writes", task, err)
	}
	if err := task.Run(); err != nil {
		t.Fatal(err)
	}
	l.SyncDone(task, nil)
	handed()
}
