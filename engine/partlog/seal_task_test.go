package partlog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// heldSeals is a Sealer that keeps the tasks instead of running them, so
// that a test decides when (and whether) a roll's seal reaches the disk.
type heldSeals struct{ tasks []*SealTask }

func (h *heldSeals) hold(t *SealTask) { h.tasks = append(h.tasks, t) }

// sealingOptions are testOptions whose rolls hand their seals to h.
func sealingOptions(op *testOpener, h *heldSeals) Options {
	o := testOptions(nil)
	if op != nil {
		o.Opener = op
	}
	o.Sealer = h.hold
	return o
}

// appendUntilRolls appends 1 KiB batches until the log has want segments.
func appendUntilRolls(t *testing.T, l *Log, want int) {
	t.Helper()
	for i := 0; l.SegmentCount() < want; i++ {
		if i > 1000 {
			t.Fatalf("no roll to %d segments after 1000 appends", want)
		}
		mustAppend(t, l, simpleBatch(t, 2, int64(i), 1<<10))
	}
}

func recoveryPointOf(t *testing.T, dir string) int64 {
	t.Helper()
	rp, found, err := readRecoveryPoint(dir)
	if err != nil || !found {
		t.Fatalf("recovery point: found %v, %v", found, err)
	}
	return rp
}

// Rolls hand the fdatasyncs to the Sealer and go on appending; the recovery
// point moves past the rolled segment once the task has run. The first roll
// of a log writes a recovery point at the rolled segment's base before it
// hands the seal off: without one, recovery would trust that segment.
func TestRollHandsSealToSealer(t *testing.T) {
	op, held := &testOpener{}, &heldSeals{}
	dir := t.TempDir()
	l := mustOpen(t, dir, sealingOptions(op, held), false)
	defer l.Close()

	syncs := op.logSyncs.Load()
	appendUntilRolls(t, l, 2)
	if len(held.tasks) != 1 || !l.SealPending() {
		t.Fatalf("first roll: %d held tasks, pending %v; want 1, true", len(held.tasks), l.SealPending())
	}
	if n := op.logSyncs.Load() - syncs; n != 0 {
		t.Fatalf("the roll made %d fdatasyncs of .log files itself, want 0", n)
	}
	mustAppend(t, l, simpleBatch(t, 1, 0, 100)) // appends go on meanwhile
	if rp := recoveryPointOf(t, dir); rp != l.segs[0].base {
		t.Fatalf("recovery point before the first seal ran = %d, want the rolled segment's base %d", rp, l.segs[0].base)
	}

	task := held.tasks[0]
	if task.Base() != l.segs[0].base {
		t.Fatalf("task seals segment %d, want %d", task.Base(), l.segs[0].base)
	}
	if err := task.Run(); err != nil {
		t.Fatal(err)
	}
	if n := op.logSyncs.Load() - syncs; n != 1 {
		t.Fatalf("the seal task made %d fdatasyncs of .log files, want 1", n)
	}
	if rp := recoveryPointOf(t, dir); rp != l.segs[1].base {
		t.Fatalf("recovery point after the seal = %d, want %d", rp, l.segs[1].base)
	}
	mustAppend(t, l, simpleBatch(t, 1, 0, 100))
	if l.SealPending() {
		t.Fatal("the owner did not apply the finished seal at its next append")
	}

	appendUntilRolls(t, l, 3)
	if len(held.tasks) != 2 || !l.SealPending() {
		t.Fatalf("second roll: %d held tasks, pending %v; want 2, true", len(held.tasks), l.SealPending())
	}
	if rp := recoveryPointOf(t, dir); rp != l.segs[1].base {
		t.Fatalf("recovery point moved to %d before the second seal ran", rp)
	}
}

// A directory that has segments but no recovery point (written by a
// version that sealed every roll in place) or an unreadable one gets one at
// the rolled segment's base before a roll hands its seal off.
func TestFirstRollWithoutUsableRecoveryPoint(t *testing.T) {
	for _, damage := range []string{"none", "unreadable"} {
		t.Run(damage, func(t *testing.T) {
			dir := t.TempDir()
			l := mustOpen(t, dir, testOptions(nil), false) // no Sealer: every roll seals in place
			appendUntilRolls(t, l, 2)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			rp := filepath.Join(dir, recoveryPointName)
			if damage == "none" {
				os.Remove(rp)
			} else if err := os.WriteFile(rp, []byte("CPRP garbage"), 0o644); err != nil {
				t.Fatal(err)
			}

			held := &heldSeals{}
			l = mustOpen(t, dir, sealingOptions(nil, held), true)
			defer l.Close()
			appendUntilRolls(t, l, 3)
			if len(held.tasks) != 1 {
				t.Fatalf("%d seal tasks, want 1", len(held.tasks))
			}
			if got := recoveryPointOf(t, dir); got != l.segs[1].base {
				t.Fatalf("recovery point before the seal ran = %d, want the rolled segment's base %d", got, l.segs[1].base)
			}
		})
	}
}

// A first recovery point that cannot be written fails the log, as a failed
// sync does, instead of sealing the segment in place: a sync that failed
// once may pass when retried without the data.
func TestFirstRecoveryPointFailureFailsLog(t *testing.T) {
	op, held := &testOpener{}, &heldSeals{}
	l := mustOpen(t, t.TempDir(), sealingOptions(op, held), false)
	defer l.Close()
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		if l.SegmentCount() == 1 && l.active().size > 6<<10 {
			op.failOtherSyncs.Store(1) // the recovery point's fdatasync, at the roll
		}
		_, err = l.Append(simpleBatch(t, 2, int64(i), 1<<10), 7)
	}
	if !errors.Is(err, errInjected) {
		t.Fatalf("append that rolled: %v, want the injected failure", err)
	}
	if len(held.tasks) != 0 || op.logSyncs.Load() != 0 {
		t.Fatalf("%d seal tasks handed out, %d .log fdatasyncs; want none (no seal after the failure)", len(held.tasks), op.logSyncs.Load())
	}
	if _, err := l.Append(simpleBatch(t, 1, 0, 10), 7); !errors.Is(err, errInjected) {
		t.Fatalf("append after the failure: %v, want the injected failure", err)
	}
}

// A rolled segment deleted with its seal unrun (DeleteRecords, retention)
// lies below a durable start offset: should a power cut undo its deletion
// and lose the tail it never synced, recovery drops it instead of
// validating it and cutting the later segment off.
func TestSegmentDeletedBeforeSealStaysDeleted(t *testing.T) {
	for _, how := range []string{"DeleteBefore", "retention"} {
		t.Run(how, func(t *testing.T) {
			held := &heldSeals{}
			dir := t.TempDir()
			l := mustOpen(t, dir, sealingOptions(nil, held), false)
			appendUntilRolls(t, l, 2)
			mustAppend(t, l, simpleBatch(t, 1, 0, 100))
			rolled, next := l.segs[0], l.segs[1].base
			rolledPath := rolled.path(logSuffix)
			saved, err := os.ReadFile(rolledPath)
			if err != nil {
				t.Fatal(err)
			}
			if how == "DeleteBefore" {
				err = l.DeleteBefore(next)
			} else {
				_, err = l.EnforceRetention(time.Now(), -1, l.size-rolled.size)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !held.tasks[0].finished() || l.SegmentCount() != 1 {
				t.Fatalf("seal finished %v, %d segments; want the rolled segment gone with its seal", held.tasks[0].finished(), l.SegmentCount())
			}
			want, wantNext := readAll(t, l), l.NextOffset()
			crash(l)
			if err := os.WriteFile(rolledPath, saved[:len(saved)-30], 0o644); err != nil {
				t.Fatal(err)
			}

			l = mustOpen(t, dir, testOptions(nil), false)
			defer l.Close()
			if l.StartOffset() != next || l.NextOffset() != wantNext || l.SegmentCount() != 1 || !bytes.Equal(readAll(t, l), want) {
				t.Fatalf("start %d, next %d, %d segments; want %d, %d, 1 and the same content",
					l.StartOffset(), l.NextOffset(), l.SegmentCount(), next, wantNext)
			}
			if _, err := os.Stat(rolledPath); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the resurrected segment is still there: %v", err)
			}
		})
	}
}

// A roll waits for the previous roll's seal: a log never has two.
func TestNextRollSettlesPendingSeal(t *testing.T) {
	held := &heldSeals{}
	l := mustOpen(t, t.TempDir(), sealingOptions(nil, held), false)
	defer l.Close()
	appendUntilRolls(t, l, 2)
	first := held.tasks[0]
	appendUntilRolls(t, l, 3)
	if !first.finished() || first.err != nil {
		t.Fatalf("the next roll left the earlier seal unrun (finished %v, err %v)", first.finished(), first.err)
	}
	if len(held.tasks) != 2 || l.sealing != held.tasks[1] {
		t.Fatalf("%d tasks handed out, pending %p; want 2, the second", len(held.tasks), l.sealing)
	}
}

// A crash before the seal reached the disk: the rolled segment is validated
// like the active one. Whole, it is kept and the recovery point moves past
// it (the next crash reads only the active segment); cut short — its last
// writeback lost while the next segment's bytes survived — the log ends
// where it ends and the later segment goes.
// The first roll (no recovery point before it) is no different.
func TestCrashBeforeSealValidatesRolledSegment(t *testing.T) {
	for _, c := range []struct {
		rolls int
		lost  bool
	}{{1, false}, {1, true}, {2, false}, {2, true}} {
		name := fmt.Sprintf("rolls=%d/%s", c.rolls, map[bool]string{false: "whole", true: "tail lost"}[c.lost])
		t.Run(name, func(t *testing.T) {
			lost, segments := c.lost, c.rolls+1
			held := &heldSeals{}
			dir := t.TempDir()
			l := mustOpen(t, dir, sealingOptions(nil, held), false)
			appendUntilRolls(t, l, segments)
			mustAppend(t, l, simpleBatch(t, 1, 0, 100))
			rolled, active := l.segs[segments-2], l.segs[segments-1]
			// The rolled segment's last batch and where it starts.
			lastPos, _, err := l.locate(rolled, active.base-1)
			if err != nil {
				t.Fatal(err)
			}
			want, err := l.Read(l.StartOffset(), 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			wantNext, rolledPath := l.NextOffset(), rolled.path(logSuffix)
			crash(l)
			if lost {
				// ext4 after power loss: the file ends at its last
				// written-back block, mid-batch here.
				if err := os.Truncate(rolledPath, lastPos+20); err != nil {
					t.Fatal(err)
				}
			}

			op := &testOpener{}
			l = mustOpen(t, dir, testOptions(op), false)
			defer l.Close()
			got := readAll(t, l)
			if !lost {
				if n := op.logReads.Load(); n < 2 {
					t.Fatalf("unclean Open read %d chunks of .log files, want the rolled and the active segment", n)
				}
				if l.NextOffset() != wantNext || !bytes.Equal(got, want) || l.SegmentCount() != segments {
					t.Fatalf("whole rolled segment: next %d, %d segments, content equal %v; want %d, %d, true",
						l.NextOffset(), l.SegmentCount(), bytes.Equal(got, want), wantNext, segments)
				}
				if rp := recoveryPointOf(t, dir); rp != active.base {
					t.Fatalf("recovery point after recovery = %d, want %d", rp, active.base)
				}
				crash(l)
				op.logReads.Store(0)
				l = mustOpen(t, dir, testOptions(op), false)
				if n := op.logReads.Load(); n != 1 {
					t.Fatalf("second unclean Open issued %d .log reads, want 1 (the active segment)", n)
				}
				return
			}
			if l.SegmentCount() != segments-1 || l.NextOffset() >= active.base || !bytes.Equal(got, want[:len(got)]) {
				t.Fatalf("lost tail: %d segments, next %d; want %d and below %d, with the surviving prefix intact",
					l.SegmentCount(), l.NextOffset(), segments-1, active.base)
			}
			if _, err := os.Stat(filepath.Join(dir, segmentFileName(active.base, logSuffix))); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("segment after the cut still on disk: %v", err)
			}
			next := l.NextOffset()
			if off := mustAppend(t, l, simpleBatch(t, 1, 0, 100)); off != next {
				t.Fatalf("append after recovery at %d, want %d", off, next)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = mustOpen(t, dir, testOptions(nil), true)
			if l.NextOffset() != next+1 {
				t.Fatalf("clean reopen: next %d, want %d", l.NextOffset(), next+1)
			}
		})
	}
}

// Under flush=always a sync prepared after a roll must cover the bytes the
// rolled segment took that no earlier sync claimed: it runs the seal.
// Bytes already claimed leave the seal to the Sealer.
func TestSyncCoversRolledSegment(t *testing.T) {
	for _, claimed := range []bool{false, true} {
		t.Run(map[bool]string{false: "unclaimed", true: "claimed"}[claimed], func(t *testing.T) {
			held := &heldSeals{}
			dir := t.TempDir()
			l := mustOpen(t, dir, sealingOptions(nil, held), false)
			defer l.Close()
			appendUntilRolls(t, l, 2)
			var before *SyncTask
			for l.SegmentCount() < 3 {
				if claimed {
					var err error
					if before, err = l.PrepareSync(); err != nil {
						t.Fatal(err)
					}
				}
				mustAppend(t, l, simpleBatch(t, 2, 0, 1<<10))
			}
			task, err := l.PrepareSync()
			if err != nil || task == nil {
				t.Fatalf("PrepareSync = %v, %v", task, err)
			}
			err = task.Run()
			l.SyncDone(task, err)
			if err != nil {
				t.Fatal(err)
			}
			if seal := held.tasks[len(held.tasks)-1]; seal.finished() == claimed {
				t.Fatalf("seal run by the sync: %v, want %v", seal.finished(), !claimed)
			}
			if claimed {
				if err := before.Run(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// A seal that fails stops the log taking writes, as a failed sync does.
func TestFailedSealStopsWrites(t *testing.T) {
	op, held := &testOpener{}, &heldSeals{}
	l := mustOpen(t, t.TempDir(), sealingOptions(op, held), false)
	defer l.Close()
	appendUntilRolls(t, l, 2)
	op.failSyncs.Store(1)
	if err := held.tasks[0].Run(); !errors.Is(err, errInjected) {
		t.Fatalf("seal task: %v, want the injected failure", err)
	}
	if _, err := l.Append(simpleBatch(t, 1, 0, 10), 7); !errors.Is(err, errInjected) {
		t.Fatalf("append after a failed seal: %v, want the injected failure", err)
	}
}

// Close runs a pending seal; removing the rolled segment drops one not yet
// started (nothing it would sync is kept) and leaves it done for whoever
// waits on it.
func TestSealSettledBeforeCloseAndRemoval(t *testing.T) {
	op, held := &testOpener{}, &heldSeals{}
	dir := t.TempDir()
	l := mustOpen(t, dir, sealingOptions(op, held), false)
	appendUntilRolls(t, l, 2)
	syncs := op.logSyncs.Load()
	if err := l.DeleteBefore(l.segs[1].base); err != nil {
		t.Fatal(err)
	}
	if n := op.logSyncs.Load() - syncs; n != 0 {
		t.Fatalf("removing the rolled segment made %d fdatasyncs of .log files, want 0", n)
	}
	if !held.tasks[0].finished() || held.tasks[0].err != nil || l.SegmentCount() != 1 {
		t.Fatalf("DeleteBefore past the rolled segment: seal finished %v (%v), %d segments; want true, 1",
			held.tasks[0].finished(), held.tasks[0].err, l.SegmentCount())
	}
	appendUntilRolls(t, l, 2)
	if len(held.tasks) != 2 {
		t.Fatalf("%d seal tasks, want 2", len(held.tasks))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if !held.tasks[1].finished() || held.tasks[1].err != nil {
		t.Fatalf("Close left the pending seal unrun (%v)", held.tasks[1].err)
	}
	if rp := recoveryPointOf(t, dir); rp != l.segs[len(l.segs)-1].base {
		t.Fatalf("recovery point after Close = %d, want the active segment's base", rp)
	}
}

// A log whose first append after a clean open rolls seals a segment it
// never opened: only its index files have anything to sync.
func TestRollRightAfterCleanOpen(t *testing.T) {
	held := &heldSeals{}
	dir := t.TempDir()
	l := mustOpen(t, dir, sealingOptions(nil, held), false)
	appendUntilRolls(t, l, 2)
	for l.active().size < 7<<10 {
		mustAppend(t, l, simpleBatch(t, 1, 0, 512))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	held = &heldSeals{}
	l = mustOpen(t, dir, sealingOptions(nil, held), true)
	defer l.Close()
	mustAppend(t, l, simpleBatch(t, 2, 0, 2<<10)) // does not fit: rolls
	if len(held.tasks) != 1 {
		t.Fatalf("%d seal tasks, want 1", len(held.tasks))
	}
	if err := held.tasks[0].Run(); err != nil {
		t.Fatal(err)
	}
	if rp := recoveryPointOf(t, dir); rp != l.segs[2].base {
		t.Fatalf("recovery point %d, want %d", rp, l.segs[2].base)
	}
}

// A seal that ran before the next segment's file existed (a full sealer
// queue runs it on the owner) leaves the recovery point past the last
// segment when a power cut loses that file's name: every segment is then
// durable, and recovery reads only the last one.
func TestRecoveryPointPastLastSegmentIsTrusted(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(nil)
	opts.Sealer = func(t *SealTask) { t.Run() }
	l := mustOpen(t, dir, opts, false)
	appendUntilRolls(t, l, 3)
	lost := l.segs[2].base
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	crash(l)
	for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
		os.Remove(filepath.Join(dir, segmentFileName(lost, suffix)))
	}

	op := &testOpener{}
	l = mustOpen(t, dir, testOptions(op), false)
	defer l.Close()
	if n := op.logReads.Load(); n != 1 {
		t.Fatalf("unclean Open issued %d .log reads, want 1 (the last segment)", n)
	}
	if l.NextOffset() != lost || l.SegmentCount() != 2 {
		t.Fatalf("next %d, %d segments; want %d, 2", l.NextOffset(), l.SegmentCount(), lost)
	}
}

// TruncateTo brings the recovery point down to the segment that becomes
// active: a roll after the log grows again must not find it already past.
func TestTruncateLowersRecoveryPoint(t *testing.T) {
	held := &heldSeals{}
	dir := t.TempDir()
	l := mustOpen(t, dir, sealingOptions(nil, held), false)
	defer l.Close()
	appendUntilRolls(t, l, 3)
	if err := held.tasks[1].Run(); err != nil {
		t.Fatal(err)
	}
	cut := l.segs[1].base + 1
	if err := l.TruncateTo(cut); err != nil {
		t.Fatal(err)
	}
	if rp := recoveryPointOf(t, dir); rp != l.segs[1].base {
		t.Fatalf("recovery point after TruncateTo(%d) = %d, want %d", cut, rp, l.segs[1].base)
	}
}

// In a directory without a recovery point (an older version's) TruncateTo
// writes one at the segment that becomes active: recovery would otherwise
// trust that segment, written again after the cut, as sealed.
func TestTruncateWritesRecoveryPointWhereThereIsNone(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(nil), false)
	defer l.Close()
	appendUntilRolls(t, l, 3)
	if err := os.Remove(filepath.Join(dir, recoveryPointName)); err != nil {
		t.Fatal(err)
	}
	l.recoveryPointWritten = false
	if err := l.TruncateTo(l.segs[1].base + 1); err != nil {
		t.Fatal(err)
	}
	if rp := recoveryPointOf(t, dir); rp != l.segs[1].base {
		t.Fatalf("recovery point after TruncateTo = %d, want %d", rp, l.segs[1].base)
	}
}

// A rolled segment found whole up to the next segment's base keeps the
// later segments even with bytes after its last batch: only those go.
func TestRolledSegmentWithTrailingBytesIsWhole(t *testing.T) {
	held := &heldSeals{}
	dir := t.TempDir()
	l := mustOpen(t, dir, sealingOptions(nil, held), false)
	appendUntilRolls(t, l, 3)
	mustAppend(t, l, simpleBatch(t, 1, 0, 100))
	want, next := readAll(t, l), l.NextOffset()
	rolled := l.segs[1].path(logSuffix)
	size := l.segs[1].size
	crash(l)
	f, err := os.OpenFile(rolled, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.Repeat([]byte{0xa5}, 300))
	f.Close()

	l = mustOpen(t, dir, testOptions(nil), false)
	defer l.Close()
	if l.SegmentCount() != 3 || l.NextOffset() != next || !bytes.Equal(readAll(t, l), want) {
		t.Fatalf("%d segments, next %d; want 3, %d, the same content", l.SegmentCount(), l.NextOffset(), next)
	}
	if got := fileSize(t, rolled); got != size {
		t.Fatalf("rolled segment is %d bytes after recovery, want %d (the trailing bytes cut)", got, size)
	}
}
