package partlog

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/chronik-go/chronik/engine/batch"
)

// appendedBatch is what a test appended: the stamped bytes and offsets.
type appendedBatch struct {
	base, last int64
	raw        []byte
}

// fillLog appends n batches of 1..4 records with varying value sizes and
// returns them as stamped.
func fillLog(t *testing.T, l *Log, n int, ts int64) []appendedBatch {
	t.Helper()
	var out []appendedBatch
	for i := range n {
		b := simpleBatch(t, 1+i%4, ts+int64(i), 20+(i*37)%300)
		base := mustAppend(t, l, b)
		out = append(out, appendedBatch{base: base, last: base + int64(i%4), raw: b})
	}
	return out
}

func TestAppendReadAcrossSegmentRolls(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "topic-0")
	l := mustOpen(t, dir, testOptions(nil), false)
	defer l.Close()

	batches := fillLog(t, l, 400, 1_000)
	var want []byte
	next := int64(0)
	for i, b := range batches {
		if b.base != next {
			t.Fatalf("batch %d got base offset %d, want %d (offsets must be contiguous)", i, b.base, next)
		}
		h, _ := batch.ParseHeader(b.raw)
		if h.BaseOffset != b.base || h.PartitionLeaderEpoch != 7 {
			t.Fatalf("batch %d stamped with base %d epoch %d, want %d and 7", i, h.BaseOffset, h.PartitionLeaderEpoch, b.base)
		}
		next = b.last + 1
		want = append(want, b.raw...)
	}
	if l.NextOffset() != next {
		t.Fatalf("NextOffset = %d, want %d", l.NextOffset(), next)
	}
	if l.Size() != int64(len(want)) {
		t.Fatalf("Size = %d, want %d", l.Size(), len(want))
	}
	files := segmentLogFiles(t, dir)
	if len(files) < 10 || len(files) != l.SegmentCount() {
		t.Fatalf("%d segment files, %d segments: want the 8 KiB limit to roll at least 10 times", len(files), l.SegmentCount())
	}
	if filepath.Base(files[0]) != "00000000000000000000.log" {
		t.Fatalf("first segment is %s", filepath.Base(files[0]))
	}
	for _, f := range files {
		if sz := fileSize(t, f); sz > 8<<10 {
			t.Fatalf("segment %s is %d bytes, over the 8 KiB limit", f, sz)
		}
	}

	if got := readAll(t, l); !bytes.Equal(got, want) {
		t.Fatalf("reading the whole log returned %d bytes, want the %d appended", len(got), len(want))
	}
	// Every offset, including ones inside a batch, reads back from the batch holding it.
	for _, b := range batches {
		for off := b.base; off <= b.last; off++ {
			got, err := l.Read(off, 1)
			if err != nil {
				t.Fatalf("Read(%d): %v", off, err)
			}
			if !bytes.Equal(got, b.raw) {
				t.Fatalf("Read(%d, 1) did not return exactly the batch [%d, %d]", off, b.base, b.last)
			}
		}
	}
	// Budgeted reads return whole batches only, across segment boundaries.
	for _, budget := range []int32{100, 700, 3000, 20000} {
		for i := 0; i < len(batches); i += 13 {
			got, err := l.Read(batches[i].base, budget)
			if err != nil {
				t.Fatalf("Read(%d, %d): %v", batches[i].base, budget, err)
			}
			hs := splitBatches(t, got)
			if len(got) > int(budget) && len(hs) > 1 {
				t.Fatalf("Read(%d, %d) returned %d bytes in %d batches", batches[i].base, budget, len(got), len(hs))
			}
			var expect []byte
			for j := i; j < len(batches) && (j == i || len(expect)+len(batches[j].raw) <= int(budget)); j++ {
				expect = append(expect, batches[j].raw...)
			}
			if !bytes.Equal(got, expect) {
				t.Fatalf("Read(%d, %d) returned %d bytes, want %d", batches[i].base, budget, len(got), len(expect))
			}
		}
	}
}

func TestAppendManyGroupsAndRolls(t *testing.T) {
	l := mustOpen(t, t.TempDir(), testOptions(nil), false)
	defer l.Close()
	var all []byte
	next := int64(0)
	for round := range 20 {
		var group [][]byte
		for i := range 1 + round%7 {
			group = append(group, simpleBatch(t, 1+i%3, int64(round), 200+i*50))
		}
		bases, err := l.AppendMany(group, 3)
		if err != nil {
			t.Fatalf("AppendMany: %v", err)
		}
		for i, b := range group {
			h, _ := batch.ParseHeader(b)
			if bases[i] != next || h.BaseOffset != next || h.PartitionLeaderEpoch != 3 {
				t.Fatalf("round %d batch %d: base %d (stamped %d, epoch %d), want %d", round, i, bases[i], h.BaseOffset, h.PartitionLeaderEpoch, next)
			}
			next = h.LastOffset() + 1
			all = append(all, b...)
		}
	}
	if l.SegmentCount() < 3 {
		t.Fatalf("only %d segments; groups should have spilled over rolls", l.SegmentCount())
	}
	for _, f := range segmentLogFiles(t, l.Dir()) {
		if sz := fileSize(t, f); sz > 8<<10 {
			t.Fatalf("segment %s is %d bytes, over the limit", f, sz)
		}
	}
	if got := readAll(t, l); !bytes.Equal(got, all) {
		t.Fatal("log content differs from the appended groups")
	}
	if err := l.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

func TestReadFirstBatchWholeKIP74(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{}, false)
	defer l.Close()
	big := simpleBatch(t, 3, 1, 5000)
	small := simpleBatch(t, 1, 2, 10)
	mustAppend(t, l, big)
	mustAppend(t, l, small)

	got, err := l.Read(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, big) {
		t.Fatalf("Read(0, 100) returned %d bytes, want the whole %d-byte first batch and nothing more", len(got), len(big))
	}
	got, err = l.Read(1, 0)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Read(1, 0) = %d bytes, %v; want the first batch whole", len(got), err)
	}
	// Without minOneBatch (a later partition of a response) nothing fits.
	got, err = l.ReadAppend(nil, 0, -1, 100, false)
	if err != nil || len(got) != 0 {
		t.Fatalf("ReadAppend without minOneBatch = %d bytes, %v; want none", len(got), err)
	}
	// A budget fitting both returns both; end stops before the second.
	got, _ = l.Read(0, int32(len(big)+len(small)))
	if len(got) != len(big)+len(small) {
		t.Fatalf("Read with room for both batches returned %d bytes", len(got))
	}
	got, _ = l.ReadAppend([]byte("prefix"), 0, 3, 1<<20, true)
	if !bytes.Equal(got, append([]byte("prefix"), big...)) {
		t.Fatalf("ReadAppend with end 3 should append only the first batch after dst")
	}
}

func TestReadOffsetRange(t *testing.T) {
	l := mustOpen(t, t.TempDir(), testOptions(nil), false)
	defer l.Close()
	fillLog(t, l, 50, 0)
	next := l.NextOffset()

	got, err := l.Read(next, 1000)
	if err != nil || len(got) != 0 {
		t.Fatalf("Read(NextOffset) = %d bytes, %v; want empty and no error", len(got), err)
	}
	for _, off := range []int64{next + 1, next + 1000, -1} {
		if _, err := l.Read(off, 1000); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Fatalf("Read(%d) err = %v, want ErrOffsetOutOfRange", off, err)
		}
	}
	if err := l.DeleteBefore(20); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Read(19, 1000); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("Read below the start offset err = %v, want ErrOffsetOutOfRange", err)
	}
	got, err = l.Read(20, 1)
	if err != nil {
		t.Fatal(err)
	}
	if h := splitBatches(t, got)[0]; h.BaseOffset > 20 || h.LastOffset() < 20 {
		t.Fatalf("Read(20) returned batch [%d, %d]", h.BaseOffset, h.LastOffset())
	}
}

// Sequential reads by one consumer go through the read hints; they must
// return the same bytes as cold reads, also after appends and rolls.
func TestTailingReadsFollowAppends(t *testing.T) {
	l := mustOpen(t, t.TempDir(), testOptions(nil), false)
	defer l.Close()
	var want, got []byte
	pos := int64(0)
	for i := range 300 {
		b := simpleBatch(t, 1+i%3, int64(i), 100+i%200)
		mustAppend(t, l, b)
		want = append(want, b...)
		if i%5 != 4 {
			continue
		}
		for range 100 { // drain, bounded
			chunk, err := l.Read(pos, 700)
			if err != nil {
				t.Fatalf("Read(%d): %v", pos, err)
			}
			if len(chunk) == 0 {
				break
			}
			hs := splitBatches(t, chunk)
			pos = hs[len(hs)-1].LastOffset() + 1
			got = append(got, chunk...)
		}
	}
	if pos != l.NextOffset() || !bytes.Equal(got, want) {
		t.Fatalf("tailing reader reached %d (log end %d), %d of %d bytes", pos, l.NextOffset(), len(got), len(want))
	}
}

func TestScanBatches(t *testing.T) {
	l := mustOpen(t, t.TempDir(), testOptions(nil), false)
	defer l.Close()
	batches := fillLog(t, l, 200, 0)
	from := batches[77].base + 1 // inside batch 77 (batches of 2+ records)
	var got []int64
	err := l.ScanBatches(from, func(h batch.Header) error {
		got = append(got, h.BaseOffset)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 200-77 || got[0] != batches[77].base || got[len(got)-1] != batches[199].base {
		t.Fatalf("ScanBatches(%d) visited %d batches from %v", from, len(got), got[:min(3, len(got))])
	}
	stop := errors.New("stop")
	n := 0
	err = l.ScanBatches(0, func(batch.Header) error {
		n++
		if n == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 5 {
		t.Fatalf("ScanBatches should stop at fn's error: n=%d err=%v", n, err)
	}
}

func TestAppendRejectsMalformedBatch(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{}, false)
	defer l.Close()
	b := simpleBatch(t, 2, 1, 10)
	if _, err := l.Append(b[:len(b)-1], 0); err == nil {
		t.Fatal("Append accepted a batch shorter than its header says")
	}
	if _, err := l.AppendMany([][]byte{b, b[:30]}, 0); err == nil {
		t.Fatal("AppendMany accepted a truncated batch")
	}
	if l.NextOffset() != 0 || l.Size() != 0 {
		t.Fatalf("rejected appends changed the log: next %d size %d", l.NextOffset(), l.Size())
	}
}

// A failed write is cut off again and the log keeps working.
func TestAppendWriteFailureLeavesLogConsistent(t *testing.T) {
	op := &testOpener{}
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(op), false)
	fillLog(t, l, 5, 0)
	next, size := l.NextOffset(), l.Size()

	op.failWrites.Store(1)
	if _, err := l.Append(simpleBatch(t, 1, 1, 50), 0); !errors.Is(err, errInjected) {
		t.Fatalf("Append err = %v, want the injected failure", err)
	}
	op.failWrites.Store(1)
	if _, err := l.AppendMany([][]byte{simpleBatch(t, 1, 1, 50)}, 0); !errors.Is(err, errInjected) {
		t.Fatalf("AppendMany err = %v, want the injected failure", err)
	}
	if l.NextOffset() != next || l.Size() != size {
		t.Fatalf("failed appends moved the log: next %d size %d, want %d %d", l.NextOffset(), l.Size(), next, size)
	}
	if got := fileSize(t, segmentLogFiles(t, dir)[0]); got != size {
		t.Fatalf("segment file is %d bytes after the failed writes, want %d", got, size)
	}
	if off := mustAppend(t, l, simpleBatch(t, 1, 1, 50)); off != next {
		t.Fatalf("append after failure got offset %d, want %d", off, next)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, testOptions(op), false)
	defer l.Close()
	if l.NextOffset() != next+1 {
		t.Fatalf("after reopen NextOffset = %d, want %d", l.NextOffset(), next+1)
	}
}

func TestClosedLogRefusesWork(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{}, false)
	mustAppend(t, l, simpleBatch(t, 1, 1, 1))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for name, err := range map[string]error{
		"Append": func() error { _, err := l.Append(simpleBatch(t, 1, 1, 1), 0); return err }(),
		"Read":   func() error { _, err := l.Read(0, 10); return err }(),
		"Sync":   l.Sync(),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s on a closed log: %v, want ErrClosed", name, err)
		}
	}
}

func TestRemoveDeletesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gone-3")
	l := mustOpen(t, dir, testOptions(nil), false)
	fillLog(t, l, 100, 0)
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(dir); len(m) != 0 {
		t.Fatalf("partition directory still exists: %v", m)
	}
}

// AppendMany rolls by segment.ms inside a group too: a batch more than
// segment.ms after the segment's first starts the next segment, whether
// that segment existed before the call or the group began it.
func TestAppendManyRollsBySegmentMsWithinAGroup(t *testing.T) {
	opts := testOptions(nil)
	opts.SegmentMs = time.Hour
	l := mustOpen(t, t.TempDir(), opts, false)
	defer l.Close()
	ts := t0.UnixMilli()
	hour := time.Hour.Milliseconds()
	group := [][]byte{simpleBatch(t, 1, ts, 100), simpleBatch(t, 1, ts+hour, 100), simpleBatch(t, 1, ts+hour+1, 100)}
	if _, err := l.AppendMany(group, 0); err != nil {
		t.Fatal(err)
	}
	if l.SegmentCount() != 2 {
		t.Fatalf("%d segments after a group spanning more than segment.ms from a new segment, want 2", l.SegmentCount())
	}
	group = [][]byte{simpleBatch(t, 1, ts+hour+2, 100), simpleBatch(t, 1, ts+3*hour, 100)}
	if _, err := l.AppendMany(group, 0); err != nil {
		t.Fatal(err)
	}
	if l.SegmentCount() != 3 {
		t.Fatalf("%d segments after a group spanning more than segment.ms from the active segment's first, want 3", l.SegmentCount())
	}
}
