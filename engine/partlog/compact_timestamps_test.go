package partlog

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chronik-go/chronik/engine/batch"
)

// The empty batch the cleaner keeps for a producer's last sequence keeps
// that batch's max timestamp, as Kafka's writeEmptyHeader does: producer
// state rebuilt from the log keeps its last timestamp, and a cleaned
// segment holding only such batches still ages by its records.
func TestEmptyRetainedBatchKeepsItsMaxTimestamp(t *testing.T) {
	l := mustOpen(t, t.TempDir(), testOptions(nil), false)
	defer l.Close()
	pb := keyedBatch(t, keyedSpec{recs: []kv{rec("a", "1"), rec("b", "1")}, ts: t0.UnixMilli(), producerID: 42, baseSequence: 7})
	pbBase := mustAppend(t, l, pb)
	w := &updateWriter{t: t, l: l, keys: 20, perB: 5, ts: t0.UnixMilli()}
	w.batch([]kv{rec("a", "2"), rec("b", "2")})
	for r := 0; r < 30; r++ {
		w.round(r)
	}
	cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.5, LastProducerBatch: func(pid, base int64) bool { return base == pbBase }})
	h := consume(t, l)[0].hdr
	if h.BaseOffset != pbBase || h.NumRecords != 0 {
		t.Fatalf("first batch %+v, want the producer's empty batch", h)
	}
	if h.MaxTimestamp != t0.UnixMilli() || h.BaseTimestamp != t0.UnixMilli() {
		t.Fatalf("empty batch timestamps %d / %d, want the batch's max timestamp %d", h.BaseTimestamp, h.MaxTimestamp, t0.UnixMilli())
	}
}

// min.compaction.lag.ms holds back segments of records without timestamps
// too: they age by their file's modification time, as in Kafka
// (LogSegment.largestTimestamp), not as if infinitely old.
func TestMinCompactionLagHoldsRecordsWithoutTimestamps(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	opts := testOptions(nil)
	opts.Now = clock.Now
	opts.SegmentBytes = 1024
	dir := t.TempDir()
	l := mustOpen(t, dir, opts, false)
	defer l.Close()
	for range 60 {
		mustAppend(t, l, keyedBatch(t, keyedSpec{recs: []kv{rec("k", "v")}, ts: -1}))
	}
	if l.SegmentCount() < 3 {
		t.Fatalf("%d segments, want several sealed ones to clean", l.SegmentCount())
	}
	if fi, err := os.Stat(filepath.Join(dir, segmentFileName(0, logSuffix))); err != nil || time.Since(fi.ModTime()) > time.Minute {
		t.Fatalf("first segment's modification time: %v %v", fi, err)
	}
	before := l.Size()
	cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.1, MinCompactionLag: time.Hour})
	if l.Size() != before {
		t.Fatalf("compacted records written a moment ago (size %d -> %d) under min.compaction.lag.ms=1h", before, l.Size())
	}
	// An hour and more later they are cleaned.
	clock.now = clock.now.Add(2 * time.Hour)
	cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.1, MinCompactionLag: time.Hour})
	if l.Size() >= before {
		t.Fatalf("records without timestamps past min.compaction.lag.ms not cleaned (size %d)", l.Size())
	}
}

// A timestamp search on a compacted LogAppendTime topic answers a record
// that is there: not the empty batch the cleaner kept for a producer's
// last sequence, nor the base offset of a batch compaction left gaps in.
func TestTimestampSearchSkipsOffsetsWithoutRecordsInLogAppendTimeBatches(t *testing.T) {
	opts := testOptions(nil)
	opts.SegmentBytes = 1024
	l := mustOpen(t, t.TempDir(), opts, false)
	defer l.Close()
	lat := func(b []byte, ts int64) []byte { batch.SetLogAppendTime(b, ts); return b }
	pb := lat(keyedBatch(t, keyedSpec{recs: []kv{rec("a", "1"), rec("b", "1")}, ts: t0.UnixMilli(), producerID: 42, baseSequence: 7}), t0.UnixMilli())
	pbBase := mustAppend(t, l, pb)
	later := t0.UnixMilli() + 60_000
	for r := 0; r < 30; r++ {
		var recs []kv
		for k := 0; k < 5; k++ {
			recs = append(recs, rec(fmt.Sprintf("k%d", k), fmt.Sprintf("v%d", r)))
		}
		if r == 0 {
			recs = append(recs, rec("a", "2"), rec("b", "2"))
		}
		mustAppend(t, l, lat(keyedBatch(t, keyedSpec{recs: recs, ts: later}), later))
	}
	if l.SegmentCount() < 3 {
		t.Fatalf("%d segments", l.SegmentCount())
	}
	cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.1, LastProducerBatch: func(pid, base int64) bool { return base == pbBase }})
	h := consume(t, l)[0].hdr
	if h.BaseOffset != pbBase || h.NumRecords != 0 {
		t.Fatalf("first batch %+v, want the producer's empty batch", h)
	}
	off, ts, found, err := l.OffsetForTimestamp(t0.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	first := consumeRecords(t, l)[0]
	if !found || off != first.offset || ts != later {
		t.Fatalf("OffsetForTimestamp(%d) = offset %d ts %d found %v; want the first record, offset %d ts %d (offsets %d-%d hold no record)",
			t0.UnixMilli(), off, ts, found, first.offset, later, h.BaseOffset, h.LastOffset())
	}
}
