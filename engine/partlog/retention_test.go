package partlog

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// timedLog appends batches whose timestamps are the minute index, with
// small segments, and returns the batches.
func timedLog(t *testing.T, dir string, n int, start time.Time) (*Log, []appendedBatch) {
	t.Helper()
	l := mustOpen(t, dir, testOptions(nil), false)
	var out []appendedBatch
	for i := range n {
		ts := start.Add(time.Duration(i) * time.Minute).UnixMilli()
		b := simpleBatch(t, 2, ts, 300)
		base := mustAppend(t, l, b)
		out = append(out, appendedBatch{base: base, last: base + 1, raw: b})
	}
	return l, out
}

func TestRetentionByTime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	l, batches := timedLog(t, dir, 200, t0)
	segs := l.SegmentCount()
	next := l.NextOffset()

	// At t0+200min with 100 minutes retention, batches 0..99 are expired:
	// segments made only of them go, the one holding batch 100 stays.
	now := t0.Add(200 * time.Minute)
	removed, err := l.EnforceRetention(now, 100*time.Minute, -1)
	if err != nil {
		t.Fatal(err)
	}
	if removed == 0 || l.SegmentCount() != segs-removed {
		t.Fatalf("removed %d of %d segments, %d left", removed, segs, l.SegmentCount())
	}
	start := l.StartOffset()
	if start > batches[100].base || start <= batches[50].base {
		t.Fatalf("start offset %d: want it past the expired batches but not past batch 100 at %d", start, batches[100].base)
	}
	if start != l.segs[0].base {
		t.Fatalf("start offset %d is not the first segment's base %d", start, l.segs[0].base)
	}
	if _, err := l.Read(start-1, 100); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("Read below the new start: %v", err)
	}
	if got := segmentLogFiles(t, dir); len(got) != l.SegmentCount() {
		t.Fatalf("%d segment files on disk, %d segments", len(got), l.SegmentCount())
	}
	if n, _ := l.EnforceRetention(now, 100*time.Minute, -1); n != 0 {
		t.Fatalf("a second pass removed %d segments", n)
	}

	// Everything expired: even the active segment goes; offsets carry on.
	removed, err = l.EnforceRetention(t0.Add(1000*time.Minute), time.Minute, -1)
	if err != nil {
		t.Fatal(err)
	}
	if l.SegmentCount() != 0 || l.StartOffset() != next || l.NextOffset() != next || l.Size() != 0 {
		t.Fatalf("after expiring everything: %d segments, start %d next %d size %d; want 0, %d, %d, 0",
			l.SegmentCount(), l.StartOffset(), l.NextOffset(), l.Size(), next, next)
	}
	if got, err := l.Read(next, 100); err != nil || len(got) != 0 {
		t.Fatalf("Read(next) of an empty log: %d bytes, %v", len(got), err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, clean := range []bool{true, false} {
		l = mustOpen(t, dir, testOptions(nil), clean)
		if l.StartOffset() != next || l.NextOffset() != next {
			t.Fatalf("reopen(clean=%v) of an emptied log: start %d next %d, want %d", clean, l.StartOffset(), l.NextOffset(), next)
		}
		crash(l)
	}
	l = mustOpen(t, dir, testOptions(nil), false)
	defer l.Close()
	if off := mustAppend(t, l, simpleBatch(t, 1, 0, 1)); off != next {
		t.Fatalf("append after full expiry got offset %d, want %d", off, next)
	}
}

func TestRetentionBySize(t *testing.T) {
	l, _ := timedLog(t, t.TempDir(), 200, time.Unix(0, 0))
	defer l.Close()
	total := l.Size()
	limit := total / 3
	removed, err := l.EnforceRetention(time.Now(), -1, limit)
	if err != nil {
		t.Fatal(err)
	}
	if removed == 0 || l.Size() < limit {
		t.Fatalf("removed %d segments leaving %d bytes; want some gone and at least %d left", removed, l.Size(), limit)
	}
	if l.Size()-l.segs[0].size >= limit {
		t.Fatalf("%d bytes left; the oldest segment (%d) could have gone too", l.Size(), l.segs[0].size)
	}
	if got := readAll(t, l); int64(len(got)) != l.Size() {
		t.Fatalf("read %d bytes, Size says %d", len(got), l.Size())
	}
	// Disabled checks remove nothing.
	if n, err := l.EnforceRetention(time.Now(), -1, -1); n != 0 || err != nil {
		t.Fatalf("disabled retention removed %d (%v)", n, err)
	}
}

func TestDeleteBeforeSurvivesReopen(t *testing.T) {
	for _, clean := range []bool{true, false} {
		dir := t.TempDir()
		l := mustOpen(t, dir, testOptions(nil), false)
		batches := fillLog(t, l, 200, 0)
		segs := l.SegmentCount()
		target := batches[120].base + 1 // inside a batch, mid-segment
		if err := l.DeleteBefore(target); err != nil {
			t.Fatal(err)
		}
		if l.StartOffset() != target {
			t.Fatalf("StartOffset = %d, want %d", l.StartOffset(), target)
		}
		if l.SegmentCount() >= segs || l.segs[0].base > target {
			t.Fatalf("segments wholly below %d should be gone: %d of %d left, first at %d", target, l.SegmentCount(), segs, l.segs[0].base)
		}
		if err := l.DeleteBefore(5); err != nil || l.StartOffset() != target {
			t.Fatalf("DeleteBefore below the start moved it: %d, %v", l.StartOffset(), err)
		}
		if err := l.DeleteBefore(l.NextOffset() + 1); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Fatalf("DeleteBefore past the end: %v", err)
		}
		want, _ := l.Read(target, 1<<30)
		if clean {
			err := l.Close()
			if err != nil {
				t.Fatal(err)
			}
		} else {
			crash(l)
		}
		l = mustOpen(t, dir, testOptions(nil), clean)
		if l.StartOffset() != target {
			t.Fatalf("reopen(clean=%v): StartOffset = %d, want %d", clean, l.StartOffset(), target)
		}
		if _, err := l.Read(target-1, 100); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Fatalf("reopen(clean=%v): Read below start: %v", clean, err)
		}
		if got, _ := l.Read(target, 1<<30); !bytes.Equal(got, want) {
			t.Fatalf("reopen(clean=%v): content from the start offset changed", clean)
		}
		// Timestamp search never answers a deleted record.
		if off, _, found, _ := l.OffsetForTimestamp(0); !found || off != target {
			t.Fatalf("OffsetForTimestamp(0) = %d (found %v), want the start offset %d", off, found, target)
		}
		// Deleting everything leaves an empty log that keeps its offsets.
		end := l.NextOffset()
		if err := l.DeleteBefore(end); err != nil {
			t.Fatal(err)
		}
		if l.SegmentCount() != 0 || l.StartOffset() != end {
			t.Fatalf("DeleteBefore(end): %d segments, start %d", l.SegmentCount(), l.StartOffset())
		}
		crash(l)
		l = mustOpen(t, dir, testOptions(nil), false)
		if l.StartOffset() != end || l.NextOffset() != end {
			t.Fatalf("reopen after deleting all: start %d next %d, want %d", l.StartOffset(), l.NextOffset(), end)
		}
		l.Close()
	}
}

func TestTruncateTo(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(nil), false)
	batches := fillLog(t, l, 300, 0)

	check := func(l *Log, keep int) {
		t.Helper()
		var want []byte
		for _, b := range batches[:keep] {
			want = append(want, b.raw...)
		}
		if want := batches[keep-1].last + 1; l.NextOffset() != want {
			t.Fatalf("NextOffset = %d, want %d", l.NextOffset(), want)
		}
		if got := readAll(t, l); !bytes.Equal(got, want) {
			t.Fatalf("log holds %d bytes, want %d", len(got), len(want))
		}
		if l.Size() != int64(len(want)) {
			t.Fatalf("Size = %d, want %d", l.Size(), len(want))
		}
		for i := max(0, keep-30); i < keep; i++ {
			if got, err := l.Read(batches[i].last, 1); err != nil || !bytes.Equal(got, batches[i].raw) {
				t.Fatalf("Read(%d) after truncation: %v", batches[i].last, err)
			}
		}
		if off, ts := l.MaxTimestamp(); off != batches[keep-1].base || ts != int64(keep-1) {
			t.Fatalf("MaxTimestamp = (%d, %d), want the last kept batch (%d, %d)", off, ts, batches[keep-1].base, keep-1)
		}
	}

	// Within the active segment, at a batch boundary.
	if err := l.TruncateTo(batches[295].base); err != nil {
		t.Fatal(err)
	}
	check(l, 295)
	// Inside a batch: the whole batch goes.
	if err := l.TruncateTo(batches[290].base + 1); err != nil {
		t.Fatal(err)
	}
	check(l, 290)
	// Into an earlier, sealed segment: later segments are removed.
	segs := l.SegmentCount()
	if err := l.TruncateTo(batches[150].base); err != nil {
		t.Fatal(err)
	}
	if l.SegmentCount() >= segs {
		t.Fatalf("truncating into an old segment kept %d of %d segments", l.SegmentCount(), segs)
	}
	if n := len(segmentLogFiles(t, dir)); n != l.SegmentCount() {
		t.Fatalf("%d segment files for %d segments", n, l.SegmentCount())
	}
	check(l, 150)

	// Appends continue contiguously, into the reactivated segment and past new rolls.
	for i := 150; i < 300; i++ {
		b := simpleBatch(t, 1+i%4, int64(i), 20+(i*37)%300)
		off := mustAppend(t, l, b)
		if off != batches[i].base {
			t.Fatalf("append %d after truncation got offset %d, want %d", i, off, batches[i].base)
		}
		batches[i].raw = b
	}
	check(l, 300)
	if err := l.TruncateTo(batches[200].base); err != nil {
		t.Fatal(err)
	}
	// Both ways of reopening see the truncated log.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, testOptions(nil), true)
	check(l, 200)
	crash(l)
	l = mustOpen(t, dir, testOptions(nil), false)
	check(l, 200)

	// Below the first segment: the log empties and restarts there.
	if err := l.DeleteBefore(batches[100].base); err != nil {
		t.Fatal(err)
	}
	if l.segs[0].base <= 3 {
		t.Fatalf("first segment starts at %d; the test needs it above 3", l.segs[0].base)
	}
	if err := l.TruncateTo(3); err != nil {
		t.Fatal(err)
	}
	if l.SegmentCount() != 0 || l.StartOffset() != 3 || l.NextOffset() != 3 {
		t.Fatalf("full truncation: %d segments, start %d next %d; want 0, 3, 3", l.SegmentCount(), l.StartOffset(), l.NextOffset())
	}
	if off := mustAppend(t, l, simpleBatch(t, 1, 1, 1)); off != 3 {
		t.Fatalf("append after full truncation got %d, want 3", off)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, testOptions(nil), true)
	defer l.Close()
	if l.StartOffset() != 3 || l.NextOffset() != 4 {
		t.Fatalf("reopen after full truncation: start %d next %d, want 3 and 4", l.StartOffset(), l.NextOffset())
	}
}

// segment.ms ages a segment by its records' timestamps, as Kafka does
// (LogSegment.shouldRoll): a batch more than segment.ms later than the
// segment's first rolls it, by the wall clock or not, so data loaded late
// is split by the time it holds.
func TestSegmentMsRollsByRecordTime(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	opts := Options{SegmentMs: time.Hour, Now: func() time.Time { return now }}
	l := mustOpen(t, t.TempDir(), opts, false)
	defer l.Close()
	old := now.Add(-48 * time.Hour).UnixMilli()
	mustAppend(t, l, simpleBatch(t, 1, old, 1))
	mustAppend(t, l, simpleBatch(t, 1, old+time.Hour.Milliseconds(), 1))
	if l.SegmentCount() != 1 {
		t.Fatalf("rolled by a batch exactly segment.ms after the first: %d segments", l.SegmentCount())
	}
	now = now.Add(time.Second) // the wall clock hardly moves
	off := mustAppend(t, l, simpleBatch(t, 1, old+time.Hour.Milliseconds()+1, 1))
	if l.SegmentCount() != 2 || l.active().base != off {
		t.Fatalf("no roll for a batch more than segment.ms after the first: %d segments, active base %d, offset %d", l.SegmentCount(), l.active().base, off)
	}
	// Older records do not roll it back.
	mustAppend(t, l, simpleBatch(t, 1, old, 1))
	if l.SegmentCount() != 2 {
		t.Fatalf("a batch older than the segment's first rolled it: %d segments", l.SegmentCount())
	}
}

// A segment whose first batch carries no timestamp ages by the wall clock
// from its first append, as Kafka's does from its creation.
func TestSegmentMsRollsByAgeWithoutTimestamps(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	opts := Options{SegmentMs: time.Hour, Now: func() time.Time { return now }}
	l := mustOpen(t, t.TempDir(), opts, false)
	defer l.Close()
	mustAppend(t, l, simpleBatch(t, 1, -1, 1))
	now = now.Add(time.Hour)
	mustAppend(t, l, simpleBatch(t, 1, -1, 1))
	if l.SegmentCount() != 1 {
		t.Fatalf("rolled when the segment was just an hour old: %d segments", l.SegmentCount())
	}
	now = now.Add(time.Millisecond)
	off := mustAppend(t, l, simpleBatch(t, 1, -1, 1))
	if l.SegmentCount() != 2 || l.active().base != off {
		t.Fatalf("no roll past an hour: %d segments, active base %d, offset %d", l.SegmentCount(), l.active().base, off)
	}
}

// Truncating below the start offset but inside the first segment pulls the
// start offset down to the new end, as Kafka does (min(start, target)).
func TestTruncateBelowStartOffset(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(nil), false)
	batches := fillLog(t, l, 10, 0) // all in the first segment
	if err := l.DeleteBefore(batches[6].base); err != nil {
		t.Fatal(err)
	}
	if err := l.TruncateTo(batches[3].base + 1); err != nil {
		t.Fatal(err)
	}
	if l.NextOffset() != batches[3].base || l.StartOffset() != batches[3].base {
		t.Fatalf("start %d next %d, want both %d", l.StartOffset(), l.NextOffset(), batches[3].base)
	}
	crash(l)
	l = mustOpen(t, dir, testOptions(nil), false)
	defer l.Close()
	if l.NextOffset() != batches[3].base || l.StartOffset() != batches[3].base {
		t.Fatalf("after reopen: start %d next %d, want both %d", l.StartOffset(), l.NextOffset(), batches[3].base)
	}
	if off := mustAppend(t, l, simpleBatch(t, 1, 1, 1)); off != batches[3].base {
		t.Fatalf("append got %d, want %d", off, batches[3].base)
	}
}

// A segment removed while a sync task of the log is out (DeleteRecords to
// the end, or retention, between the shard preparing a sync and the syncer
// running it) stays open until the task is reported: the task's fdatasync
// must not find its file closed, which would fail the log.
func TestRemovedSegmentStaysOpenForPendingSync(t *testing.T) {
	for _, how := range []string{"DeleteBefore", "EnforceRetention"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			l := mustOpen(t, dir, testOptions(nil), false)
			defer l.Close()
			t0 := time.Unix(1000, 0)
			mustAppend(t, l, simpleBatch(t, 2, t0.UnixMilli(), 100))
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			mustAppend(t, l, simpleBatch(t, 2, t0.UnixMilli(), 100))
			task, err := l.PrepareSync()
			if err != nil || task == nil {
				t.Fatalf("PrepareSync: %v, %v", task, err)
			}
			if how == "DeleteBefore" {
				err = l.DeleteBefore(l.NextOffset())
			} else {
				_, err = l.EnforceRetention(t0.Add(48*time.Hour), time.Hour, -1)
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.SegmentCount() != 0 || len(segmentLogFiles(t, dir)) != 0 {
				t.Fatalf("%s left %d segments, files %v", how, l.SegmentCount(), segmentLogFiles(t, dir))
			}
			err = task.Run()
			l.SyncDone(task, err)
			if err != nil || l.Failed() != nil {
				t.Fatalf("the pending sync after %s: %v; log failed: %v", how, err, l.Failed())
			}
			if base := mustAppend(t, l, simpleBatch(t, 1, t0.UnixMilli(), 100)); base != 4 {
				t.Fatalf("next append at %d, want 4", base)
			}
			if len(l.retired) != 0 {
				t.Fatalf("%d removed segments still open after the task was reported", len(l.retired))
			}
		})
	}
}

// Sync tasks overlap under load (the next turn prepares one before the
// last is reported): a removed segment closes once the tasks prepared
// before its removal are reported, not when none at all is out, which a
// busy partition may never reach.
func TestRetiredSegmentClosesWhileLaterTasksAreOut(t *testing.T) {
	l := mustOpen(t, t.TempDir(), testOptions(nil), false)
	defer l.Close()
	ts := time.Unix(1000, 0).UnixMilli()
	mustAppend(t, l, simpleBatch(t, 2, ts, 100))
	prev, err := l.PrepareSync()
	if err != nil || prev == nil {
		t.Fatalf("PrepareSync: %v, %v", prev, err)
	}
	for round := 0; round < 50; round++ {
		if err := l.DeleteBefore(l.NextOffset()); err != nil {
			t.Fatal(err)
		}
		mustAppend(t, l, simpleBatch(t, 2, ts, 100))
		next, err := l.PrepareSync()
		if err != nil || next == nil {
			t.Fatalf("round %d: PrepareSync: %v, %v", round, next, err)
		}
		err = prev.Run()
		l.SyncDone(prev, err)
		if err != nil || l.Failed() != nil {
			t.Fatalf("round %d: sync: %v, log failed: %v", round, err, l.Failed())
		}
		if len(l.retired) > 0 {
			t.Fatalf("round %d: %d removed segments still open with only a later task out", round, len(l.retired))
		}
		prev = next
	}
}

// Roll limits changed on an open log apply from the next append, as Kafka
// applies an altered segment.bytes or segment.ms.
func TestSetRollLimitsAppliesToTheActiveSegment(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	opts := Options{Now: func() time.Time { return now }} // 1 GiB, never by age
	l := mustOpen(t, t.TempDir(), opts, false)
	defer l.Close()
	batchNow := func() []byte { return simpleBatch(t, 1, now.UnixMilli(), 100) }
	b := batchNow()
	for range 5 {
		mustAppend(t, l, batchNow())
	}
	now = now.Add(48 * time.Hour)
	mustAppend(t, l, batchNow())
	if l.SegmentCount() != 1 {
		t.Fatalf("%d segments before any limit was set, want 1", l.SegmentCount())
	}
	l.SetRollLimits(0, time.Hour)
	off := mustAppend(t, l, batchNow())
	if l.SegmentCount() != 2 || l.active().base != off {
		t.Fatalf("segment.ms set to an hour on a 2-day-old segment: %d segments, active base %d, want a roll at %d", l.SegmentCount(), l.active().base, off)
	}
	l.SetRollLimits(int64(3*len(b)), 0)
	for range 3 {
		mustAppend(t, l, batchNow())
	}
	if l.SegmentCount() != 3 {
		t.Fatalf("%d segments after the 4th batch with room for 3, want 3", l.SegmentCount())
	}
	now = now.Add(1000 * time.Hour)
	mustAppend(t, l, batchNow())
	if l.SegmentCount() != 3 {
		t.Fatalf("rolled by age after segment.ms was dropped: %d segments", l.SegmentCount())
	}
}

// A segment's age for segment.ms counts from its first append, not from when
// a roll limit was set.
func TestSetRollLimitsAgesFromFirstAppend(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := mustOpen(t, t.TempDir(), Options{Now: func() time.Time { return now }}, false)
	defer l.Close()
	mustAppend(t, l, simpleBatch(t, 1, now.UnixMilli(), 100))
	l.SetRollLimits(0, time.Hour)
	now = now.Add(10 * time.Minute)
	mustAppend(t, l, simpleBatch(t, 1, now.UnixMilli(), 100))
	if l.SegmentCount() != 1 {
		t.Fatalf("rolled a 10-minute-old segment under a 1-hour segment.ms: %d segments", l.SegmentCount())
	}
	now = now.Add(50*time.Minute + time.Millisecond)
	mustAppend(t, l, simpleBatch(t, 1, now.UnixMilli(), 100))
	if l.SegmentCount() != 2 {
		t.Fatalf("no roll once the segment was more than an hour old: %d segments", l.SegmentCount())
	}
}

// The active segment's age survives a reopen, clean or after a crash: it
// counts from its first batch's timestamp, as Kafka ages a segment, so a
// broker restarted more often than segment.ms (or max.compaction.lag.ms)
// still rolls. Before, every open restarted the clock.
func TestSegmentAgeSurvivesReopen(t *testing.T) {
	for _, c := range []struct {
		name  string
		clean bool
	}{{"clean", true}, {"crash", false}} {
		t.Run(c.name, func(t *testing.T) {
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			now := t0
			dir := t.TempDir()
			opts := Options{Now: func() time.Time { return now }, SegmentMs: time.Hour}
			l := mustOpen(t, dir, opts, false)
			mustAppend(t, l, simpleBatch(t, 1, t0.UnixMilli(), 100))
			now = t0.Add(50 * time.Minute)
			if c.clean {
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
			} else {
				crash(l)
			}
			l = mustOpen(t, dir, opts, c.clean)
			defer l.Close()
			now = t0.Add(70 * time.Minute)
			mustAppend(t, l, simpleBatch(t, 1, now.UnixMilli(), 100))
			if l.SegmentCount() != 2 {
				t.Fatalf("%d segments 70 minutes after the first append, across a reopen at 50; want a roll", l.SegmentCount())
			}

			// Again for the new active segment, its first batch at 70.
			crash(l)
			l = mustOpen(t, dir, opts, false)
			defer l.Close()
			now = now.Add(30 * time.Minute)
			mustAppend(t, l, simpleBatch(t, 1, now.UnixMilli(), 100))
			if l.SegmentCount() != 2 {
				t.Fatalf("rolled a segment 30 minutes old across a reopen: %d segments", l.SegmentCount())
			}
			now = now.Add(30*time.Minute + time.Millisecond)
			mustAppend(t, l, simpleBatch(t, 1, now.UnixMilli(), 100))
			if l.SegmentCount() != 3 {
				t.Fatalf("no roll of a segment more than an hour old across a reopen: %d segments", l.SegmentCount())
			}
		})
	}
}
