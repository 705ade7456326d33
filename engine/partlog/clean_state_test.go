package partlog

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// A log closed to a CleanState reopens from it exactly as from its own
// files: no segment data read, every batch and index lookup as before,
// appends going on at the same offset — while the close wrote neither a
// checkpoint nor the active segment's index tails.
func TestCloseToStateReopensWithoutReadingData(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 64 << 20, IndexIntervalBytes: 1} // index tails spill to the files
	l := mustOpen(t, dir, opts, false)
	batches := fillLog(t, l, 1500, 1_000)
	next, size := l.NextOffset(), l.Size()
	maxOff, maxTS := l.MaxTimestamp()
	want := readAll(t, l)
	if s := l.active(); s.offsets.inFile == 0 || len(s.offsets.tail) == 0 {
		t.Fatalf("want index entries both in the file and in memory: %d in file, %d tail bytes", s.offsets.inFile, len(s.offsets.tail))
	}

	st, ok, err := l.CloseToState()
	if err != nil || !ok {
		t.Fatalf("CloseToState = %v, %v", ok, err)
	}
	if _, err := os.Stat(filepath.Join(dir, checkpointName)); !os.IsNotExist(err) {
		t.Fatalf("CloseToState wrote a checkpoint (stat: %v)", err)
	}
	if got := fileSize(t, filepath.Join(dir, segmentFileName(0, indexSuffix))); got != int64(st.OffsetsInFile*offsetEntrySize) {
		t.Fatalf("offset index file holds %d bytes, state says %d entries", got, st.OffsetsInFile)
	}
	if st.Next != next || st.ActiveBase != 0 || st.ActiveSize != size || len(st.OffsetTail) == 0 {
		t.Fatalf("state %+v does not describe the log (next %d, size %d)", st, next, size)
	}

	op := &testOpener{}
	reopened := opts
	reopened.Opener, reopened.CleanState = op, &st
	l = mustOpen(t, dir, reopened, true)
	if !l.OpenedFromState() {
		t.Fatal("a matching state was not used")
	}
	if n := op.logReads.Load(); n != 0 {
		t.Fatalf("open from state issued %d reads of .log files, want 0", n)
	}
	if l.NextOffset() != next || l.Size() != size {
		t.Fatalf("reopened: next %d size %d, want %d %d", l.NextOffset(), l.Size(), next, size)
	}
	if o, ts := l.MaxTimestamp(); o != maxOff || ts != maxTS {
		t.Fatalf("MaxTimestamp after reopen = (%d, %d), want (%d, %d)", o, ts, maxOff, maxTS)
	}
	if got := readAll(t, l); !bytes.Equal(got, want) {
		t.Fatal("log content changed across a close to state")
	}
	for i := 0; i < len(batches); i += 31 {
		got, err := l.Read(batches[i].last, 1)
		if err != nil || !bytes.Equal(got, batches[i].raw) {
			t.Fatalf("Read(%d) after reopening from state: %v", batches[i].last, err)
		}
		off, ts, found, err := l.OffsetForTimestamp(1_000 + int64(i))
		if err != nil || !found || off != batches[i].base || ts != 1_000+int64(i) {
			t.Fatalf("OffsetForTimestamp(%d) = (%d, %d, %v, %v), want %d", 1_000+i, off, ts, found, err, batches[i].base)
		}
	}
	if off := mustAppend(t, l, simpleBatch(t, 2, 9_999, 10)); off != next {
		t.Fatalf("append after reopening from state got offset %d, want %d", off, next)
	}
	next += 2
	// Closed normally, the same log reopens from its own files.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, opts, true)
	defer l.Close()
	if l.NextOffset() != next || l.OpenedFromState() {
		t.Fatalf("reopened from files: next %d (want %d), from state %v", l.NextOffset(), next, l.OpenedFromState())
	}
}

// A state that does not match the files — data appended after the close it
// came from, or index files that changed — is not trusted: the active
// segment is recovered by CRC.
func TestStaleCleanStateRecovers(t *testing.T) {
	opts := Options{SegmentBytes: 64 << 20, IndexIntervalBytes: 1}
	setup := func(t *testing.T) (string, CleanState, int64, []byte) {
		dir := t.TempDir()
		l := mustOpen(t, dir, opts, false)
		fillLog(t, l, 800, 1_000)
		next, want := l.NextOffset(), readAll(t, l)
		st, ok, err := l.CloseToState()
		if err != nil || !ok {
			t.Fatalf("CloseToState = %v, %v", ok, err)
		}
		return dir, st, next, want
	}
	check := func(t *testing.T, dir string, st CleanState, next int64, want []byte) {
		t.Helper()
		o := opts
		o.CleanState = &st
		l := mustOpen(t, dir, o, true)
		defer l.Close()
		if l.OpenedFromState() {
			t.Fatal("a stale state was trusted")
		}
		if l.NextOffset() != next {
			t.Fatalf("NextOffset = %d, want %d", l.NextOffset(), next)
		}
		if got := readAll(t, l); !bytes.Equal(got, want) {
			t.Fatal("content differs after recovering past a stale state")
		}
	}

	t.Run("appended since", func(t *testing.T) {
		dir, st, _, _ := setup(t)
		l := mustOpen(t, dir, opts, false)
		fillLog(t, l, 10, 5_000)
		next, want := l.NextOffset(), readAll(t, l)
		crash(l)
		check(t, dir, st, next, want)
	})
	t.Run("index file changed", func(t *testing.T) {
		dir, st, next, want := setup(t)
		idx := filepath.Join(dir, segmentFileName(0, indexSuffix))
		if err := os.Truncate(idx, int64(st.OffsetsInFile*offsetEntrySize)-offsetEntrySize); err != nil {
			t.Fatal(err)
		}
		check(t, dir, st, next, want)
	})
	t.Run("tail not whole entries", func(t *testing.T) {
		dir, st, next, want := setup(t)
		st.OffsetTail = st.OffsetTail[:len(st.OffsetTail)-1]
		check(t, dir, st, next, want)
	})
}

// A partition never written to has nothing to keep, and a failed log
// leaves no clean claim behind.
func TestCloseToStateKeepsNothingForEmptyOrFailedLogs(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "new-0"), testOptions(nil), false)
	if _, ok, err := l.CloseToState(); ok || err != nil {
		t.Fatalf("new log: CloseToState = %v, %v; want nothing kept", ok, err)
	}

	op := &testOpener{}
	dir := t.TempDir()
	l = mustOpen(t, dir, testOptions(op), false)
	fillLog(t, l, 5, 0)
	op.failSyncs.Store(1)
	if err := l.Sync(); err == nil {
		t.Fatal("injected fdatasync failure not reported")
	}
	if _, ok, _ := l.CloseToState(); ok {
		t.Fatal("a failed log returned a clean state")
	}
	cp, found, err := readCheckpoint(dir)
	if err != nil || !found || cp.clean {
		t.Fatalf("failed log's checkpoint: %+v found %v err %v; want one without a clean claim", cp, found, err)
	}
}

// A log whose only segment is empty at its start offset (retention took
// the ones before it; a crash cut the active one to nothing) keeps that
// segment's file when it opens, or persists the start offset: that file or
// the checkpoint is all that names where the log goes on. Dropped as
// "below the start" on a clean open, it left nothing, and a crash after
// that restarted the log at offset 0 over acknowledged offsets.
func TestEmptySegmentAtTheStartKeepsTheLogEnd(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(nil)
	opts.SegmentBytes = 1000
	l := mustOpen(t, dir, opts, false)
	for l.SegmentCount() < 2 {
		mustAppend(t, l, simpleBatch(t, 1, 5, 300))
	}
	base := l.active().base
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Retention deleted the first segment; a crash cut the active one.
	for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
		os.Remove(filepath.Join(dir, segmentFileName(0, suffix)))
	}
	if err := os.Truncate(filepath.Join(dir, segmentFileName(base, logSuffix)), 0); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, checkpointName))
	l = mustOpen(t, dir, opts, false)
	if l.StartOffset() != base || l.NextOffset() != base {
		t.Fatalf("recovered log [%d, %d], want [%d, %d]", l.StartOffset(), l.NextOffset(), base, base)
	}
	st, ok, err := l.CloseToState()
	if err != nil || !ok {
		t.Fatalf("CloseToState = %v, %v", ok, err)
	}
	cleanOpts := opts
	cleanOpts.CleanState = &st
	l = mustOpen(t, dir, cleanOpts, true)
	if l.NextOffset() != base {
		t.Fatalf("clean open: next %d, want %d", l.NextOffset(), base)
	}
	// A crash now: the next open has only the files.
	crashed := t.TempDir()
	copyDir(t, dir, crashed)
	l.Close()
	again := mustOpen(t, crashed, opts, false)
	defer again.Close()
	if again.StartOffset() != base || again.NextOffset() != base {
		t.Fatalf("after a crash the log is [%d, %d], want [%d, %d]: its end was lost", again.StartOffset(), again.NextOffset(), base, base)
	}
}
