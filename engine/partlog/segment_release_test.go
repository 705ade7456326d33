package partlog

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chronik-go/chronik/engine/batch"
)

// heldFiles is how many files the log has open through o.
func heldFiles(o *testOpener) int64 { return o.opens.Load() - o.closes.Load() }

// maxHeldFiles bounds the descriptors of a log whatever its segment count:
// the active segment's three, the last rolled segment's three until its
// seal is applied, and the one a read or lookup is in.
const maxHeldFiles = 9

// TestSealedSegmentFilesAreReleased rolls hundreds of segments, reads the
// whole log, looks offsets up by timestamp and reopens it: the log must not
// hold descriptors for every segment it rolled or read (it ran the broker
// out of them), and what it reads must not change.
func TestSealedSegmentFilesAreReleased(t *testing.T) {
	for _, sealer := range []struct {
		name string
		fn   func(*SealTask)
	}{
		{"sealed in place", nil},
		{"sealer goroutine", func(t *SealTask) { go t.Run() }},
	} {
		t.Run(sealer.name, func(t *testing.T) {
			o := &testOpener{}
			dir := t.TempDir()
			opts := testOptions(o)
			opts.SegmentBytes = 2 << 10
			opts.Sealer = sealer.fn
			l := mustOpen(t, dir, opts, false)
			const batches = 600
			for i := range batches {
				mustAppend(t, l, simpleBatch(t, 2, int64(1000+i), 500))
				if err := l.Sync(); err != nil {
					t.Fatal(err)
				}
			}
			if n := len(l.segs); n < batches/2 {
				t.Fatalf("%d segments, want hundreds", n)
			}
			if h := heldFiles(o); h > maxHeldFiles {
				t.Fatalf("after %d rolls the log holds %d files", len(l.segs)-1, h)
			}
			want := readAll(t, l)
			if got := len(splitBatches(t, want)); got != batches {
				t.Fatalf("read %d batches, want %d", got, batches)
			}
			// Fetch-sized reads from the start, as a consumer does.
			var got []byte
			for off := l.StartOffset(); off < l.NextOffset(); {
				b, err := l.Read(off, 16<<10)
				if err != nil {
					t.Fatal(err)
				}
				hs := splitBatches(t, b)
				got = append(got, b...)
				off = hs[len(hs)-1].LastOffset() + 1
			}
			if !bytes.Equal(got, want) {
				t.Fatal("reading in fetch-sized pieces gave other bytes than one read")
			}
			if h := heldFiles(o); h > maxHeldFiles {
				t.Fatalf("after reading %d segments the log holds %d files", len(l.segs), h)
			}
			for _, ts := range []int64{1000, 1300, 1000 + batches - 1} {
				off, _, found, err := l.OffsetForTimestamp(ts)
				if err != nil || !found || off != 2*(ts-1000) {
					t.Fatalf("offset for timestamp %d: %d, %v, %v; want %d", ts, off, found, err, 2*(ts-1000))
				}
			}
			if off, ts := l.MaxTimestamp(); ts != 1000+batches-1 || off != 2*(batches-1) {
				t.Fatalf("max timestamp %d at %d", ts, off)
			}
			if h := heldFiles(o); h > maxHeldFiles {
				t.Fatalf("after timestamp lookups the log holds %d files", h)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if h := heldFiles(o); h != 0 {
				t.Fatalf("a closed log holds %d files", h)
			}

			// Reopened, its segments are opened only as used.
			l = mustOpen(t, dir, opts, true)
			defer l.Close()
			if got := readAll(t, l); !bytes.Equal(got, want) {
				t.Fatal("the reopened log reads other bytes")
			}
			if h := heldFiles(o); h > maxHeldFiles {
				t.Fatalf("after reading the reopened log it holds %d files", h)
			}
		})
	}
}

// TestRolledSegmentStaysOpenForEarlierSyncTask keeps a sync task prepared
// before a roll out while the roll's seal is applied: the task must still
// sync the rolled segment's file, which is released once the task is
// reported.
func TestRolledSegmentStaysOpenForEarlierSyncTask(t *testing.T) {
	o := &testOpener{}
	opts := testOptions(o)
	opts.SegmentBytes = 2 << 10
	l := mustOpen(t, t.TempDir(), opts, false)
	defer l.Close()
	mustAppend(t, l, simpleBatch(t, 2, 1000, 500))
	mustAppend(t, l, simpleBatch(t, 2, 1001, 500))
	task, err := l.PrepareSync()
	if err != nil || task == nil {
		t.Fatalf("PrepareSync: %v, %v", task, err)
	}
	held := heldFiles(o)
	for i := range 6 { // rolls, the seals applied in place
		mustAppend(t, l, simpleBatch(t, 2, int64(1002+i), 500))
	}
	if len(l.segs) < 3 {
		t.Fatalf("%d segments, want rolls", len(l.segs))
	}
	if err := task.Run(); err != nil {
		t.Fatalf("a sync task prepared before the roll: %v", err)
	}
	syncsBefore := o.logSyncs.Load()
	l.SyncDone(task, nil)
	if h := heldFiles(o); h > held+3 {
		t.Fatalf("after the task was reported the log holds %d files (%d before the rolls)", h, held)
	}
	if syncsBefore == 0 {
		t.Fatal("the task synced no .log")
	}
}

// A compaction group's segments are read through their open files while the
// swap task deletes them and renames the cleaned files into place: a lookup
// in a pinned segment must not reopen its index by path, which by then names
// nothing (recreated empty) or, for the group's first segment, the cleaned
// segment's index, whose positions are not this file's.
func TestPinnedGroupReadsWhileItsFilesAreSwapped(t *testing.T) {
	o := &testOpener{}
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(o), false)
	defer l.Close()
	w := &updateWriter{t: t, l: l, keys: 60, perB: 5, ts: t0.UnixMilli(), valPad: strings.Repeat("v", 100)}
	w.round(0)
	w.first = 30 // the first half of the keys survives in the first segments
	for r := 1; r < 20; r++ {
		w.round(r)
	}
	before := consumeRecords(t, l) // reads every segment to its end
	task := taskPending(t, l, CleanOptions{MinDirtyRatio: 0.5})
	if task.out.size == 0 {
		t.Fatal("the group was cleaned into nothing")
	}
	if err := task.Run(); err != nil {
		t.Fatal(err)
	}
	// The swap is done on disk; the owner has not applied it yet, so reads
	// of the group still go through its pinned segments.
	groupEnd := task.manifest.end
	for i, r := range before {
		if r.offset >= groupEnd {
			break
		}
		if i%7 != 0 {
			continue
		}
		b, err := l.Read(r.offset, 1)
		if err != nil {
			t.Fatalf("read offset %d of a pinned segment: %v", r.offset, err)
		}
		hs := splitBatches(t, b)
		if len(hs) == 0 || hs[0].BaseOffset > r.offset || hs[0].LastOffset() < r.offset {
			t.Fatalf("read offset %d of a pinned segment: got batches %v", r.offset, hs)
		}
	}
	if err := l.CleanTaskDone(task); err != nil {
		t.Fatal(err)
	}
	for _, n := range dirNames(t, dir) {
		base, suffix, ok := parseSegmentFileName(n)
		if ok && suffix != logSuffix {
			if _, err := os.Stat(filepath.Join(dir, segmentFileName(base, logSuffix))); err != nil {
				t.Errorf("%s left behind without its .log", n)
			}
		}
	}
}

// A cleaned segment swapped in holds no descriptor once idle, like a rolled
// one: a compacted log of many segments must not hold three files for
// each cleaned segment.
func TestCleanedSegmentFilesAreReleased(t *testing.T) {
	o := &testOpener{}
	opts := testOptions(o)
	opts.SegmentBytes = 2 << 10
	l := mustOpen(t, t.TempDir(), opts, false)
	defer l.Close()
	w := &updateWriter{t: t, l: l, keys: 400, perB: 5, ts: t0.UnixMilli()}
	for r := 0; r < 3; r++ {
		w.round(r)
	}
	if passes := cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.1}); passes == 0 {
		t.Fatal("no compaction pass")
	}
	if l.CleanerStats().SegmentsCleaned < 20 {
		t.Fatalf("%d segments cleaned, want many", l.CleanerStats().SegmentsCleaned)
	}
	if h := heldFiles(o); h > maxHeldFiles {
		t.Fatalf("after compacting %d segments into %d the log holds %d files", l.CleanerStats().SegmentsCleaned, len(l.segs), h)
	}
	sameRecords(t, consumeRecords(t, l), expectCompacted(w.written, l.CleanerStats().FirstDirtyOffset))
}

// A swap that failed after its commit leaves the cleaned segment in the log
// under its .cleaned names, which the failed step may have renamed already:
// its files must stay open, not be reopened by a path that may name nothing
// (and be recreated empty, which the next Open's redo of the swap then
// refuses).
func TestCleanedSegmentOfFailedSwapKeepsItsFiles(t *testing.T) {
	o := &testOpener{}
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(o), false)
	w := &updateWriter{t: t, l: l, keys: 60, perB: 5, ts: t0.UnixMilli(), valPad: strings.Repeat("v", 100)}
	w.round(0)
	w.first = 30 // the first half of the keys survives in the first segments
	for r := 1; r < 20; r++ {
		w.round(r)
	}
	before := consumeRecords(t, l)
	task := taskPending(t, l, CleanOptions{MinDirtyRatio: 0.5})
	if err := task.Run(); err != nil {
		t.Fatal(err)
	}
	// As if the directory sync after the renames had failed: the manifest
	// is still there and the task reports an error after its commit.
	if err := writeSwapManifest(dir, task.manifest); err != nil {
		t.Fatal(err)
	}
	task.err = errors.New("injected: sync directory")
	if err := l.CleanTaskDone(task); err == nil {
		t.Fatal("CleanTaskDone reported no error")
	}
	if l.segs[0] != task.out || task.out.size == 0 {
		t.Fatal("want a cleaned segment with data first")
	}
	if l.Failed() == nil {
		t.Fatal("a failure after the commit did not fail the log")
	}
	want := consumeRecords(t, l) // reads past the cleaned segment's end
	if len(want) >= len(before) {
		t.Fatalf("%d records after cleaning, %d before", len(want), len(before))
	}
	sameRecords(t, consumeRecords(t, l), want) // and again
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, testOptions(nil), false)
	defer l.Close()
	sameRecords(t, consumeRecords(t, l), want)
}

// Scanning a long log from its start (rebuilding producer state without a
// snapshot) must not leave every segment it scanned open.
func TestScanBatchesReleasesSegments(t *testing.T) {
	o := &testOpener{}
	dir := t.TempDir()
	opts := testOptions(o)
	opts.SegmentBytes = 2 << 10
	l := mustOpen(t, dir, opts, false)
	for i := range 400 {
		mustAppend(t, l, simpleBatch(t, 2, int64(1000+i), 500))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, opts, true)
	defer l.Close()
	n := 0
	if err := l.ScanBatches(0, func(batch.Header) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 400 {
		t.Fatalf("scanned %d batches, want 400", n)
	}
	if h := heldFiles(o); h > maxHeldFiles {
		t.Fatalf("after scanning %d segments the log holds %d files", len(l.segs), h)
	}
}

// Timestamp lookups (ListOffsets by time, MAX_TIMESTAMP) and the max
// compaction lag check read batches of sealed segments: each must not leave
// the segment it read open.
func TestLookupsReleaseSegments(t *testing.T) {
	o := &testOpener{}
	dir := t.TempDir()
	opts := testOptions(o)
	opts.SegmentBytes = 2 << 10
	l := mustOpen(t, dir, opts, false)
	const batches = 400
	for i := range batches {
		mustAppend(t, l, simpleBatch(t, 2, int64(1000+i), 500))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, opts, true)
	defer l.Close()
	for i := 0; i < batches; i += 3 {
		ts := int64(1000 + i)
		off, _, found, err := l.OffsetForTimestamp(ts)
		if err != nil || !found || off != 2*(ts-1000) {
			t.Fatalf("offset for timestamp %d: %d, %v, %v", ts, off, found, err)
		}
	}
	if h := heldFiles(o); h > maxHeldFiles {
		t.Fatalf("after timestamp lookups in %d segments the log holds %d files", len(l.segs), h)
	}
	if _, due, err := l.CleanPriority(CleanOptions{Now: time.UnixMilli(1000), MinDirtyRatio: 2, MaxCompactionLag: time.Millisecond}); err != nil || due {
		t.Fatalf("CleanPriority: due %v, %v", due, err)
	}
	if h := heldFiles(o); h > maxHeldFiles {
		t.Fatalf("after the max compaction lag check the log holds %d files", h)
	}
}

// A rolled segment recovery validated and sealed again at Open holds no
// descriptor afterwards.
func TestRecoveredRolledSegmentIsReleased(t *testing.T) {
	dir := t.TempDir()
	var h heldSeals
	l := mustOpen(t, dir, sealingOptions(nil, &h), false)
	appendUntilRolls(t, l, 2)
	if len(h.tasks) != 1 {
		t.Fatalf("%d seals handed out, want 1", len(h.tasks))
	}
	crash(l) // the seal never ran: the rolled segment is validated at Open
	o := &testOpener{}
	l = mustOpen(t, dir, testOptions(o), false)
	defer l.Close()
	if len(l.segs) != 2 || !l.segs[0].sealed {
		t.Fatalf("%d segments after recovery", len(l.segs))
	}
	if s := l.segs[0]; s.f != nil || s.offsets.f != nil || s.times.f != nil {
		t.Fatal("the recovered rolled segment keeps files open")
	}
}

// A sealed segment whose indexes were rebuilt at first use keeps no .log
// open for it.
func TestRebuiltIndexesReleaseTheLog(t *testing.T) {
	o := &testOpener{}
	dir := t.TempDir()
	opts := testOptions(o)
	opts.SegmentBytes = 2 << 10
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	l := mustOpen(t, dir, opts, false)
	for i := range 100 {
		mustAppend(t, l, simpleBatch(t, 2, int64(1000+i), 500))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	idx, err := filepath.Glob(filepath.Join(dir, "*"+timeIndexSuffix))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range idx {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	l = mustOpen(t, dir, opts, true)
	defer l.Close()
	if off, ts := l.MaxTimestamp(); ts != 1099 || off != 198 {
		t.Fatalf("max timestamp %d at %d", ts, off)
	}
	if h := heldFiles(o); h > maxHeldFiles {
		t.Fatalf("after rebuilding the indexes of %d segments the log holds %d files", len(l.segs), h)
	}
}

// A group whose swap failed before its commit stays in the log, unpinned:
// the descriptors opened for the task are closed with it.
func TestGroupOfFailedSwapIsReleased(t *testing.T) {
	l := mustOpen(t, t.TempDir(), testOptions(&testOpener{}), false)
	defer l.Close()
	w := &updateWriter{t: t, l: l, keys: 40, perB: 5, ts: t0.UnixMilli()}
	for r := 0; r < 30; r++ {
		w.round(r)
	}
	task := taskPending(t, l, CleanOptions{MinDirtyRatio: 0.5})
	task.files[0].Close() // its fdatasync now fails
	if err := task.Run(); err == nil {
		t.Fatal("Run with a closed file succeeded")
	}
	if err := l.CleanTaskDone(task); err == nil {
		t.Fatal("CleanTaskDone reported no error")
	}
	for _, s := range task.group {
		if s.f != nil || s.offsets.f != nil || s.times.f != nil {
			t.Fatalf("segment %d of the abandoned group keeps files open", s.base)
		}
	}
}

// A client seeking through a long log, reading a little in each segment
// (a browsing tool, consumers parked at many positions), must not leave
// every segment it read in open; a few stay open for the next fetches.
func TestSeekingReadsKeepFewSegmentsOpen(t *testing.T) {
	o := &testOpener{}
	opts := testOptions(o)
	l := mustOpen(t, t.TempDir(), opts, false)
	defer l.Close()
	for i := range 1000 {
		mustAppend(t, l, simpleBatch(t, 2, int64(1000+i), 500))
	}
	if len(l.segs) < 100 {
		t.Fatalf("%d segments, want many", len(l.segs))
	}
	for i := 0; i+1 < len(l.segs); i++ {
		s := l.segs[i]
		mid := (s.base + l.segs[i+1].base) / 2
		b, err := l.Read(mid, 1)
		if err != nil {
			t.Fatal(err)
		}
		if hs := splitBatches(t, b); len(hs) != 1 || hs[0].LastOffset() >= l.segs[i+1].base-1 {
			t.Fatalf("read at %d: want one batch short of the segment's end, got %v", mid, hs)
		}
	}
	if h := heldFiles(o); h > maxHeldFiles+3*recentSegments {
		t.Fatalf("after reads in %d segments the log holds %d files", len(l.segs), h)
	}
}

// Fetches whose read hint misses look their offset up in the index: the
// index of a sealed segment stays open from one such lookup to the next.
func TestRepeatedLookupsReuseTheIndex(t *testing.T) {
	o := &testOpener{}
	opts := testOptions(o)
	opts.SegmentBytes = 64 << 10
	l := mustOpen(t, t.TempDir(), opts, false)
	defer l.Close()
	for i := range 200 {
		mustAppend(t, l, simpleBatch(t, 2, int64(1000+i), 500))
	}
	if len(l.segs) < 2 || l.segs[0].offsets.n < 10 {
		t.Fatalf("%d segments, %d index entries in the first", len(l.segs), l.segs[0].offsets.n)
	}
	end := l.segs[1].base
	opens := o.opens.Load()
	for off := int64(1); off < end-2; off += 9 {
		if _, err := l.Read(off, 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := o.opens.Load() - opens; n > 3 {
		t.Fatalf("%d lookups in one sealed segment opened %d files", (end-3)/9, n)
	}
}

// Segments DeleteRecords moved the start past while a swap pinned them stay
// when that swap fails; the next retention check removes them whatever the
// topic's retention (a compacted topic has none), as Kafka's
// deleteLogStartOffsetBreachedSegments does on every check.
func TestSegmentsBelowTheStartLeftByAFailedSwapGo(t *testing.T) {
	l := mustOpen(t, t.TempDir(), testOptions(&testOpener{}), false)
	defer l.Close()
	w := &updateWriter{t: t, l: l, keys: 40, perB: 5, ts: t0.UnixMilli()}
	for r := 0; r < 30; r++ {
		w.round(r)
	}
	task := taskPending(t, l, CleanOptions{MinDirtyRatio: 0.5})
	groupEnd := l.segs[len(task.group)].base
	if err := l.DeleteBefore(groupEnd); err != nil {
		t.Fatal(err)
	}
	task.files[0].Close() // its fdatasync now fails
	if err := task.Run(); err == nil {
		t.Fatal("Run with a closed file succeeded")
	}
	if err := l.CleanTaskDone(task); err == nil {
		t.Fatal("CleanTaskDone reported no error")
	}
	if l.segs[0].base >= groupEnd {
		t.Fatalf("the failed swap left its segments below the start %d? first segment at %d", groupEnd, l.segs[0].base)
	}
	n, err := l.EnforceRetention(t0.Add(time.Hour), -1, -1)
	if err != nil || n != len(task.group) || l.segs[0].base != groupEnd {
		t.Fatalf("retention without limits removed %d segments (%v), first now at %d; want the %d below the start %d",
			n, err, l.segs[0].base, len(task.group), groupEnd)
	}
}
