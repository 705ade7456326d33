package partlog

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/chronik-go/chronik/uring"
	"github.com/chronik-go/chronik/uring/uringtest"
)

// stagedOpener is a shard's opener for the staged-append tests: pwrite, and
// a shard ring where the kernel offers io_uring.
type stagedOpener struct {
	name string
	new  func(t *testing.T) uring.ShardOpener
}

func stagedOpeners(t *testing.T) []stagedOpener {
	list := []stagedOpener{{"pwrite", func(*testing.T) uring.ShardOpener {
		o, _ := uring.NewShardOpener(uring.PwriteOpener{})
		return o
	}}}
	if reason := uringtest.Unusable(t); reason != "" {
		t.Logf("io_uring half left out: %s", reason)
		return list
	}
	return append(list, stagedOpener{"uring", func(t *testing.T) uring.ShardOpener {
		o, err := uring.Select("uring", slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { o.(io.Closer).Close() })
		so, err := uring.NewShardOpener(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { so.Close() })
		return so
	}})
}

// commitStaged writes the staged bytes of logs as one batch, as a shard turn does.
func commitStaged(t *testing.T, bt *uring.Batch, logs ...*Log) []error {
	t.Helper()
	ws := make([]*StagedWrite, len(logs))
	for i, l := range logs {
		ws[i] = l.SubmitStaged(bt)
	}
	res, _ := bt.Wait()
	errs := make([]error, len(logs))
	for i, l := range logs {
		errs[i] = l.StagedDone(ws[i], res)
	}
	return errs
}

// Staged appends read back the same from memory, across the staged/file
// boundary, and from the file after the batch; they survive rolls, clean
// and unclean reopening.
func TestStagedAppendsReadLikeWrittenOnes(t *testing.T) {
	for _, so := range stagedOpeners(t) {
		t.Run(so.name, func(t *testing.T) {
			op := so.new(t)
			bt := op.NewBatch()
			opts := testOptions(op)
			dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
			logs := make([]*Log, len(dirs))
			want := make([][]byte, len(dirs))
			for i, d := range dirs {
				logs[i] = mustOpen(t, d, opts, false)
			}
			for round := range 30 {
				for i, l := range logs {
					for k := range 1 + (round+i)%5 {
						b := simpleBatch(t, 1+k%3, int64(round), 100+(round*31+k*17)%400)
						if _, err := l.StageAppend(b, 4); err != nil {
							t.Fatalf("StageAppend: %v", err)
						}
						want[i] = append(want[i], b...)
					}
					if l.WrittenOffset() >= l.NextOffset() {
						t.Fatal("nothing staged after StageAppend")
					}
					// Before the batch: whole log, and from a staged offset on.
					if got := readAll(t, l); !bytes.Equal(got, want[i]) {
						t.Fatalf("round %d log %d: read before the write differs (%d vs %d bytes)", round, i, len(got), len(want[i]))
					}
				}
				if round%7 == 6 {
					continue // leave some rounds staged: the next StageAppend or roll keeps order
				}
				for i, err := range commitStaged(t, bt, logs...) {
					if err != nil {
						t.Fatalf("log %d: StagedDone: %v", i, err)
					}
				}
				for i, l := range logs {
					if l.WrittenOffset() != l.NextOffset() {
						t.Fatalf("log %d still staged after its batch", i)
					}
					if got := readAll(t, l); !bytes.Equal(got, want[i]) {
						t.Fatalf("round %d log %d: read after the write differs", round, i)
					}
				}
			}
			if logs[0].SegmentCount() < 3 {
				t.Fatalf("only %d segments: the test should roll while staged", logs[0].SegmentCount())
			}
			// Log 0 closes cleanly with bytes still staged; log 1 crashes
			// after its batch; log 2 closes cleanly.
			if _, err := logs[0].StageAppend(simpleBatch(t, 2, 99, 50), 4); err != nil {
				t.Fatal(err)
			}
			want[0] = append(want[0], readTail(t, logs[0])...)
			commitStaged(t, bt, logs[1])
			if err := logs[0].Close(); err != nil {
				t.Fatal(err)
			}
			crash(logs[1])
			if err := logs[2].Close(); err != nil {
				t.Fatal(err)
			}
			for i, d := range dirs {
				l := mustOpen(t, d, opts, i != 1)
				if got := readAll(t, l); !bytes.Equal(got, want[i]) {
					t.Fatalf("log %d after reopen: %d bytes, want %d", i, len(got), len(want[i]))
				}
				l.Close()
			}
		})
	}
}

// readTail reads the last batch of l.
func readTail(t *testing.T, l *Log) []byte {
	t.Helper()
	hs := splitBatches(t, readAll(t, l))
	last := hs[len(hs)-1]
	b, err := l.Read(last.BaseOffset, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A failed batch write answers the error and takes the batches back: the
// file is cut where they began, offsets and reads return to before them, the
// log keeps taking writes, and the other log in the batch is unaffected.
func TestStagedWriteFailureTakesTheBatchesBack(t *testing.T) {
	op := &testOpener{}
	so, _ := uring.NewShardOpener(op)
	bt := so.NewBatch()
	badDir, goodDir := t.TempDir(), t.TempDir()
	bad := mustOpen(t, badDir, testOptions(op), false)
	good := mustOpen(t, goodDir, testOptions(uring.PwriteOpener{}), false)
	defer good.Close()
	fillLog(t, bad, 3, 0)
	before := readAll(t, bad)
	next, size := bad.NextOffset(), bad.Size()

	for _, l := range []*Log{bad, good} {
		for range 2 {
			if _, err := l.StageAppend(simpleBatch(t, 2, 5, 300), 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if bad.WrittenOffset() != next || bad.NextOffset() == next {
		t.Fatalf("staged: written %d next %d, want written %d and next beyond it", bad.WrittenOffset(), bad.NextOffset(), next)
	}
	op.failWrites.Store(1)
	errs := commitStaged(t, bt, bad, good)
	if !errors.Is(errs[0], errInjected) || errs[1] != nil {
		t.Fatalf("StagedDone errors = %v, want the injected failure for the first log only", errs)
	}
	if bad.Failed() != nil {
		t.Fatalf("log stopped taking writes after a failed batch write it could cut off: %v", bad.Failed())
	}
	if bad.NextOffset() != next || bad.WrittenOffset() != next || bad.Size() != size || !bytes.Equal(readAll(t, bad), before) {
		t.Fatalf("after the failed write: next %d written %d size %d, want %d %d %d and the old content", bad.NextOffset(), bad.WrittenOffset(), bad.Size(), next, next, size)
	}
	if got := fileSize(t, segmentLogFiles(t, badDir)[0]); got != size {
		t.Fatalf("segment file is %d bytes after the failed write, want %d", got, size)
	}
	b := simpleBatch(t, 1, 6, 10)
	if off, err := bad.StageAppend(b, 0); err != nil || off != next {
		t.Fatalf("StageAppend after the failure: offset %d, %v; want %d", off, err, next)
	}
	if errs := commitStaged(t, bt, bad); errs[0] != nil {
		t.Fatal(errs[0])
	}
	bad.Close()
	l := mustOpen(t, badDir, testOptions(op), true)
	defer l.Close()
	if want := append(before, b...); l.NextOffset() != next+1 || !bytes.Equal(readAll(t, l), want) {
		t.Fatalf("reopened log: next %d, want %d; content equal %v", l.NextOffset(), next+1, bytes.Equal(readAll(t, l), want))
	}
}

// A turn's staged bytes past 1 MiB go to the file in several writes
// (uring.WritevChunk); they read back whole, and when a later one of those
// writes fails, all of the turn's batches are taken back.
func TestStagedWritesPastOneMiBTakeSeveralCalls(t *testing.T) {
	op := &testOpener{}
	so, _ := uring.NewShardOpener(op)
	bt := so.NewBatch()
	opts := testOptions(op)
	opts.SegmentBytes = 64 << 20
	dir := t.TempDir()
	l := mustOpen(t, dir, opts, false)
	defer l.Close()
	var want []byte
	stage := func() []byte {
		var staged []byte
		for range 5 {
			b := simpleBatch(t, 1, 7, 600<<10)
			if _, err := l.StageAppend(b, 0); err != nil {
				t.Fatal(err)
			}
			staged = append(staged, b...) // stamped with its offset by now
		}
		return staged
	}
	want = append(want, stage()...)
	writes := op.logWrites.Load()
	if errs := commitStaged(t, bt, l); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if n := op.logWrites.Load() - writes; n != 5 {
		t.Fatalf("five staged 600 KiB batches took %d write calls, want 5", n)
	}
	if !bytes.Equal(readAll(t, l), want) {
		t.Fatal("the log reads back differently after its staged bytes were written")
	}

	next, size := l.NextOffset(), l.Size()
	stage()
	op.passWrites.Store(2)
	op.failWrites.Store(1)
	if errs := commitStaged(t, bt, l); !errors.Is(errs[0], errInjected) {
		t.Fatalf("StagedDone = %v, want the injected failure of the third write", errs[0])
	}
	if l.NextOffset() != next || l.Size() != size || !bytes.Equal(readAll(t, l), want) {
		t.Fatalf("after the failed write: next %d size %d, want %d %d and the old content", l.NextOffset(), l.Size(), next, size)
	}
	if got := fileSize(t, segmentLogFiles(t, dir)[0]); got != size {
		t.Fatalf("segment file is %d bytes after the failed write, want %d", got, size)
	}
}

// A task that absorbed earlier ones syncs every segment file they named
// once: the segment rolled in between and the new active one.
func TestSyncTaskAbsorbSyncsEachFileOnce(t *testing.T) {
	op := &testOpener{}
	l := mustOpen(t, t.TempDir(), testOptions(op), false)
	defer l.Close()
	mustAppend(t, l, simpleBatch(t, 1, 1, 100))
	first, err := l.PrepareSync()
	if err != nil || first == nil {
		t.Fatalf("PrepareSync: %v, %v", first, err)
	}
	second, _ := l.PrepareSync()
	if second != nil {
		t.Fatal("a second PrepareSync without writes found work")
	}
	for l.SegmentCount() < 2 {
		mustAppend(t, l, simpleBatch(t, 4, 1, 1000))
	}
	last, err := l.PrepareSync()
	if err != nil || last == nil {
		t.Fatalf("PrepareSync after the roll: %v, %v", last, err)
	}
	before := op.logSyncs.Load()
	merged := *last
	merged.Absorb(first)
	merged.Absorb(first) // absorbing twice adds nothing
	if err := merged.Run(); err != nil {
		t.Fatal(err)
	}
	if n := op.logSyncs.Load() - before; n != 2 {
		t.Fatalf("merged task ran %d fdatasyncs of .log files, want 2 (sealed and active segment)", n)
	}
}

// twoPreparedSyncs opens a log and prepares two sync tasks of it, each
// after an append, as two turns handed to the syncer would.
func twoPreparedSyncs(t *testing.T) (*testOpener, *Log, *SyncTask, *SyncTask) {
	t.Helper()
	op := &testOpener{}
	l := mustOpen(t, t.TempDir(), testOptions(op), false)
	t.Cleanup(func() { l.Close() })
	mustAppend(t, l, simpleBatch(t, 1, 1, 100))
	first, _ := l.PrepareSync()
	mustAppend(t, l, simpleBatch(t, 1, 1, 100))
	second, _ := l.PrepareSync()
	if first == nil || second == nil {
		t.Fatal("PrepareSync found nothing to sync")
	}
	return op, l, first, second
}

// After one sync of a log fails, a task prepared before the owner heard of it
// fails too, even though the disk would now sync: the failed fdatasync may
// have dropped earlier bytes, so later bytes must not be called durable.
func TestSyncFailureIsStickyForTasksAlreadyPrepared(t *testing.T) {
	op, l, first, second := twoPreparedSyncs(t)
	op.failSyncs.Store(1)
	if err := first.Run(); !errors.Is(err, errInjected) {
		t.Fatalf("first task: %v, want the injected failure", err)
	}
	syncs := op.logSyncs.Load()
	if err := second.Run(); !errors.Is(err, errInjected) {
		t.Fatalf("second task after a failed sync: %v, want the same failure", err)
	}
	if op.logSyncs.Load() != syncs {
		t.Fatal("the second task ran an fdatasync after the log's sync had failed")
	}
	l.SyncDone(first, errInjected)
	if l.Failed() == nil {
		t.Fatal("log still takes writes after a failed sync")
	}
}

// A sync that covered a task some other way (a syncfs) and failed makes the
// log's tasks prepared before the owner learned of it fail too.
func TestSyncTaskFailFailsTheLogsOtherTasks(t *testing.T) {
	op, _, first, second := twoPreparedSyncs(t)
	first.Fail(errInjected)
	syncs := op.logSyncs.Load()
	if err := second.Run(); !errors.Is(err, errInjected) {
		t.Fatalf("a task prepared before the failure ran: %v, want the recorded failure", err)
	}
	if op.logSyncs.Load() != syncs {
		t.Fatal("the task ran an fdatasync after the log's sync had failed")
	}
}
