package partlog

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/chronik-go/chronik/engine/batch"
)

func TestReopenCleanReadsNoSegmentData(t *testing.T) {
	op := &testOpener{}
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(op), false)
	batches := fillLog(t, l, 300, 5_000)
	next, size, segs := l.NextOffset(), l.Size(), l.SegmentCount()
	maxOff, maxTS := l.MaxTimestamp()
	want := readAll(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	op.logReads.Store(0)
	l = mustOpen(t, dir, testOptions(op), true)
	defer l.Close()
	if n := op.logReads.Load(); n != 0 {
		t.Fatalf("clean Open issued %d reads of .log files, want 0", n)
	}
	if l.NextOffset() != next || l.Size() != size || l.SegmentCount() != segs || l.StartOffset() != 0 {
		t.Fatalf("clean reopen: next %d size %d segments %d start %d; want %d %d %d 0",
			l.NextOffset(), l.Size(), l.SegmentCount(), l.StartOffset(), next, size, segs)
	}
	if o, ts := l.MaxTimestamp(); o != maxOff || ts != maxTS {
		t.Fatalf("MaxTimestamp after reopen = (%d, %d), want (%d, %d)", o, ts, maxOff, maxTS)
	}
	if got := readAll(t, l); !bytes.Equal(got, want) {
		t.Fatal("log content changed across a clean reopen")
	}
	for i := 0; i < len(batches); i += 7 {
		got, err := l.Read(batches[i].last, 1)
		if err != nil || !bytes.Equal(got, batches[i].raw) {
			t.Fatalf("Read(%d) after clean reopen: %v", batches[i].last, err)
		}
	}
	if off := mustAppend(t, l, simpleBatch(t, 2, 9_999, 10)); off != next {
		t.Fatalf("append after clean reopen got offset %d, want %d", off, next)
	}
}

// A checkpoint from an earlier clean shutdown must not be trusted once the
// log has grown since: Open(clean=true) notices and recovers.
func TestCleanOpenWithStaleCheckpointRecovers(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(nil), false)
	fillLog(t, l, 20, 0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, testOptions(nil), true)
	fillLog(t, l, 20, 100)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	next, want := l.NextOffset(), readAll(t, l)
	crash(l)

	l = mustOpen(t, dir, testOptions(nil), true)
	defer l.Close()
	if l.NextOffset() != next {
		t.Fatalf("NextOffset = %d after a stale clean checkpoint, want %d", l.NextOffset(), next)
	}
	if got := readAll(t, l); !bytes.Equal(got, want) {
		t.Fatal("content differs after recovering past a stale checkpoint")
	}
}

// tornTailCase damages the last batch of the active segment and expects the
// log to be cut exactly before it.
func TestUncleanOpenCutsTornOrCorruptTail(t *testing.T) {
	damage := map[string]func(t *testing.T, path string, lastPos, lastSize int64){
		"truncated mid-batch": func(t *testing.T, path string, lastPos, lastSize int64) {
			if err := os.Truncate(path, lastPos+lastSize/2); err != nil {
				t.Fatal(err)
			}
		},
		"truncated mid-header": func(t *testing.T, path string, lastPos, _ int64) {
			if err := os.Truncate(path, lastPos+20); err != nil {
				t.Fatal(err)
			}
		},
		"flipped byte": func(t *testing.T, path string, lastPos, lastSize int64) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			b := []byte{0}
			at := lastPos + lastSize - 3 // inside the records, CRC-covered
			f.ReadAt(b, at)
			b[0] ^= 0x40
			if _, err := f.WriteAt(b, at); err != nil {
				t.Fatal(err)
			}
		},
		"garbage after the last batch": func(t *testing.T, path string, lastPos, lastSize int64) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// A whole valid-looking batch repeated with the same base offset:
			// the CRC holds, contiguity does not.
			b := make([]byte, lastSize)
			f.ReadAt(b, lastPos)
			f.WriteAt(b, lastPos+lastSize)
		},
	}
	for name, damageFn := range damage {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			l := mustOpen(t, dir, testOptions(nil), false)
			batches := fillLog(t, l, 120, 0)
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			segs := l.SegmentCount()
			last := batches[len(batches)-1]
			active := l.active()
			lastPos := active.size - int64(len(last.raw))
			crash(l)

			path := active.path(logSuffix)
			damageFn(t, path, lastPos, int64(len(last.raw)))
			keep := len(batches) - 1
			cutAt := last.base
			if name == "garbage after the last batch" {
				keep, cutAt = len(batches), last.last+1
			}

			op := &testOpener{}
			l = mustOpen(t, dir, testOptions(op), false)
			defer l.Close()
			if l.NextOffset() != cutAt {
				t.Fatalf("NextOffset = %d after recovery, want %d", l.NextOffset(), cutAt)
			}
			if l.SegmentCount() != segs {
				t.Fatalf("recovery changed the segment count from %d to %d", segs, l.SegmentCount())
			}
			wantSize := lastPos
			if keep == len(batches) {
				wantSize += int64(len(last.raw))
			}
			if got := fileSize(t, path); got != wantSize {
				t.Fatalf("active segment is %d bytes after recovery, want %d", got, wantSize)
			}
			var want []byte
			for _, b := range batches[:keep] {
				want = append(want, b.raw...)
			}
			if got := readAll(t, l); !bytes.Equal(got, want) {
				t.Fatalf("after recovery the log holds %d bytes, want the %d intact ones", len(got), len(want))
			}
			// The rebuilt index of the active segment serves point reads.
			if active := l.active(); active.offsets.n == 0 && active.size > 2*512 {
				t.Fatalf("recovery did not rebuild the active segment's offset index (%d bytes)", active.size)
			}
			for _, b := range batches[keep-10 : keep] {
				got, err := l.Read(b.last, 1)
				if err != nil || !bytes.Equal(got, b.raw) {
					t.Fatalf("Read(%d) after recovery: %v", b.last, err)
				}
			}
			next := mustAppend(t, l, simpleBatch(t, 3, 1, 10))
			if next != cutAt {
				t.Fatalf("first append after recovery got offset %d, want %d", next, cutAt)
			}
			if l.NextOffset() != cutAt+3 {
				t.Fatalf("NextOffset %d, want %d", l.NextOffset(), cutAt+3)
			}
		})
	}
}

// Unclean recovery reads only the active segment: earlier ones are trusted.
func TestUncleanOpenReadsOnlyActiveSegment(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(nil), false)
	fillLog(t, l, 300, 0)
	activeSize := l.active().size
	crash(l)

	op := &testOpener{}
	l = mustOpen(t, dir, testOptions(op), false)
	defer l.Close()
	// Reads of the active segment come in at most 1 MiB chunks; the 8 KiB
	// segment is read once. Sealed segments are not read at all.
	if n := op.logReads.Load(); n != 1 || activeSize > recoveryChunkSize {
		t.Fatalf("unclean Open issued %d .log reads, want 1 (the active segment)", n)
	}
}

// A sealed segment whose index files vanished gets them rebuilt on use.
func TestMissingSealedIndexesAreRebuilt(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(nil), false)
	batches := fillLog(t, l, 200, 0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	idx := filepath.Join(dir, segmentFileName(0, indexSuffix))
	tidx := filepath.Join(dir, segmentFileName(0, timeIndexSuffix))
	wantIdx, _ := os.ReadFile(idx)
	os.Remove(idx)
	os.Remove(tidx)

	l = mustOpen(t, dir, testOptions(nil), true)
	defer l.Close()
	for _, b := range batches[:20] {
		got, err := l.Read(b.last, 1)
		if err != nil || !bytes.Equal(got, b.raw) {
			t.Fatalf("Read(%d) with rebuilt indexes: %v", b.last, err)
		}
	}
	gotIdx, err := os.ReadFile(idx)
	if err != nil || !bytes.Equal(gotIdx, wantIdx) || len(wantIdx) == 0 {
		t.Fatalf("rebuilt index differs from the original (%d vs %d bytes, %v)", len(gotIdx), len(wantIdx), err)
	}
	if _, err := os.Stat(tidx); err != nil {
		t.Fatalf("time index not rebuilt: %v", err)
	}
}

// Index files written at roll and Close describe the data exactly as the
// in-memory indexes did: reopening gives the same lookups.
func TestIndexFilesMatchData(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(nil), false)
	fillLog(t, l, 300, 0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, testOptions(nil), true)
	defer l.Close()
	for _, s := range l.segs {
		if err := l.prepare(s); err != nil {
			t.Fatal(err)
		}
		for i := range s.offsets.n {
			e, err := s.offsets.at(i)
			if err != nil {
				t.Fatal(err)
			}
			rel, pos := decodeOffsetEntry(e)
			hdr := make([]byte, batch.HeaderSize)
			if err := s.readAt(hdr, pos); err != nil {
				t.Fatal(err)
			}
			h, err := batch.ParseHeader(hdr)
			if err != nil || h.BaseOffset != s.base+rel {
				t.Fatalf("segment %d index entry %d: (%d, %d) points at batch %d (%v)", s.base, i, rel, pos, h.BaseOffset, err)
			}
		}
	}
}

// An active segment with many index entries keeps only a short tail of them
// in memory; lookups, truncation and both reopen paths work across the part
// written to the index file.
func TestActiveIndexSpillsToFile(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 64 << 20, IndexIntervalBytes: 1} // an entry for nearly every batch
	l := mustOpen(t, dir, opts, false)
	batches := fillLog(t, l, 3000, 1_000)
	s := l.active()
	if l.SegmentCount() != 1 || s.offsets.inFile == 0 || s.times.inFile == 0 {
		t.Fatalf("want one segment whose indexes spilled to their files: %d segments, %d/%d offset entries in file",
			l.SegmentCount(), s.offsets.inFile, s.offsets.n)
	}
	if len(s.offsets.tail) > indexTailFlushBytes || len(s.times.tail) > indexTailFlushBytes+timeEntrySize {
		t.Fatalf("index tails hold %d and %d bytes, want at most %d", len(s.offsets.tail), len(s.times.tail), indexTailFlushBytes)
	}
	checkReads := func(l *Log, keep int) {
		t.Helper()
		for i := 0; i < keep; i += 37 {
			got, err := l.Read(batches[i].last, 1)
			if err != nil || !bytes.Equal(got, batches[i].raw) {
				t.Fatalf("Read(%d): %v", batches[i].last, err)
			}
			off, ts, found, err := l.OffsetForTimestamp(1_000 + int64(i))
			if err != nil || !found || off != batches[i].base || ts != 1_000+int64(i) {
				t.Fatalf("OffsetForTimestamp(%d) = (%d, %d, %v, %v), want batch %d at %d", 1_000+i, off, ts, found, err, i, batches[i].base)
			}
		}
		if l.NextOffset() != batches[keep-1].last+1 {
			t.Fatalf("NextOffset %d, want %d", l.NextOffset(), batches[keep-1].last+1)
		}
	}
	checkReads(l, 3000)
	// Cut into the part of the index already in the file.
	if err := l.TruncateTo(batches[700].base); err != nil {
		t.Fatal(err)
	}
	if s.offsets.n >= 700 || s.offsets.n < 600 {
		t.Fatalf("after truncating to batch 700 the index has %d entries", s.offsets.n)
	}
	checkReads(l, 700)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, filepath.Join(dir, segmentFileName(0, indexSuffix))); got != int64(s.offsets.n*offsetEntrySize) {
		t.Fatalf("index file holds %d bytes, want %d", got, s.offsets.n*offsetEntrySize)
	}
	op := &testOpener{}
	l = mustOpen(t, dir, Options{Opener: op, SegmentBytes: 64 << 20, IndexIntervalBytes: 1}, true)
	if op.logReads.Load() != 0 {
		t.Fatal("clean open read segment data")
	}
	checkReads(l, 700)
	crash(l)
	l = mustOpen(t, dir, opts, false)
	defer l.Close()
	checkReads(l, 700)
}

// A roll syncs the segment it seals even when a sync task has already
// claimed its bytes and not yet run: once the next segment exists, recovery
// trusts this one without checking it.
func TestRollSyncsSegmentClaimedByPendingSync(t *testing.T) {
	op := &testOpener{}
	l := mustOpen(t, t.TempDir(), testOptions(op), false) // 8 KiB segments
	defer l.Close()
	mustAppend(t, l, simpleBatch(t, 1, 1, 5_000))
	task, err := l.PrepareSync()
	if err != nil || task == nil {
		t.Fatalf("PrepareSync = %v, %v", task, err)
	}
	op.logSyncs.Store(0)
	mustAppend(t, l, simpleBatch(t, 1, 2, 5_000)) // does not fit: rolls
	if l.SegmentCount() != 2 {
		t.Fatalf("%d segments, want a roll to 2", l.SegmentCount())
	}
	if n := op.logSyncs.Load(); n != 1 {
		t.Fatalf("the roll made %d fdatasyncs of .log files while a sync task still held the sealed segment's bytes, want 1", n)
	}
	l.SyncDone(task, task.Run())
}
