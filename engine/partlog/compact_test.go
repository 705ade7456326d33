package partlog

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chronik-go/chronik/engine/batch"
)

var t0 = time.UnixMilli(1_700_000_000_000)

// updateWriter appends rounds of updates to a fixed key set, remembering the
// offset and value of every record.
type updateWriter struct {
	t      testing.TB
	l      *Log
	first  int // rounds update keys [first, keys)
	keys   int
	perB   int // records per batch
	codec  int
	ts     int64
	valPad string
	// rnd, when set, replaces valPad by as many random hex digits per
	// record, so values compress about as real ones do (2:1).
	rnd *rand.Rand
	// written[i] is the i-th record appended, in offset order.
	written []readRecord
}

func (w *updateWriter) key(i int) string { return fmt.Sprintf("key-%03d", i) }

func (w *updateWriter) pad() string {
	if w.rnd == nil {
		return w.valPad
	}
	b := make([]byte, len(w.valPad)/2)
	w.rnd.Read(b)
	return hex.EncodeToString(b)
}

// round updates every key once, perB keys per batch, starting the batches at
// a rotating key so that batches mix keys differently from round to round.
func (w *updateWriter) round(r int) {
	w.t.Helper()
	n := w.keys - w.first
	start := (r * 3) % n
	for b := 0; b < n; b += w.perB {
		var recs []kv
		for j := b; j < min(b+w.perB, n); j++ {
			k := w.key(w.first + (start+j)%n)
			recs = append(recs, rec(k, fmt.Sprintf("%s@%d%s", k, r, w.pad())))
		}
		w.batch(recs)
	}
}

// cycle appends n batches of perB records whose keys run round the key set
// continuously, so that a batch is partly superseded by the next ones.
func (w *updateWriter) cycle(n int) {
	w.t.Helper()
	for i := 0; i < n; i++ {
		var recs []kv
		for j := 0; j < w.perB; j++ {
			seq := len(w.written) + j
			k := w.key(seq % w.keys)
			recs = append(recs, rec(k, fmt.Sprintf("%s@%d%s", k, seq, w.pad())))
		}
		w.batch(recs)
	}
}

func (w *updateWriter) batch(recs []kv) int64 {
	w.t.Helper()
	off := mustAppend(w.t, w.l, keyedBatch(w.t, keyedSpec{recs: recs, ts: w.ts, codec: w.codec}))
	for i, r := range recs {
		w.written = append(w.written, readRecord{offset: off + int64(i), key: string(r.key), value: string(r.value), tombstone: r.value == nil, timestamp: w.ts})
	}
	return off
}

// expectCompacted is what a cleaned log holds: below the active segment's
// base each key's last record only, and everything from the active segment.
func expectCompacted(written []readRecord, activeBase int64) []readRecord {
	last := map[string]int64{}
	for _, r := range written {
		if r.offset < activeBase {
			last[r.key] = r.offset
		}
	}
	var want []readRecord
	for _, r := range written {
		if r.offset >= activeBase || last[r.key] == r.offset {
			want = append(want, r)
		}
	}
	return want
}

func sameRecords(t testing.TB, got, want []readRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d records, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.offset != w.offset || g.key != w.key || g.value != w.value || g.tombstone != w.tombstone || g.timestamp != w.timestamp {
			t.Fatalf("record %d = %+v, want %+v", i, g, w)
		}
	}
}

func activeSegmentBytes(t testing.TB, l *Log) []byte {
	t.Helper()
	b, err := os.ReadFile(l.active().path(logSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// updatedLog opens a log in dir on a clock stopped at t0 and writes 30
// rounds of updates to 40 keys, five records a batch: many sealed segments
// for the cleaner. It returns the options it opened the log with.
func updatedLog(t *testing.T, dir string) (*Log, *updateWriter, Options) {
	t.Helper()
	clock := &fakeClock{now: t0}
	opts := testOptions(nil)
	opts.Now = clock.Now
	l := mustOpen(t, dir, opts, false)
	w := &updateWriter{t: t, l: l, keys: 40, perB: 5, ts: t0.UnixMilli()}
	for r := 0; r < 30; r++ {
		w.round(r)
	}
	return l, w, opts
}

func TestCompactKeepsLastRecordPerKeyAtItsOffset(t *testing.T) {
	dir := t.TempDir()
	l, w, _ := updatedLog(t, dir)
	segsBefore, sizeBefore, next := l.SegmentCount(), l.Size(), l.NextOffset()
	active := activeSegmentBytes(t, l)
	activeBase := l.active().base
	if segsBefore < 5 {
		t.Fatalf("only %d segments; the test wants updates spread over many", segsBefore)
	}
	if passes := cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.5}); passes != 1 {
		t.Fatalf("%d passes, want 1", passes)
	}
	sameRecords(t, consumeRecords(t, l), expectCompacted(w.written, activeBase))
	if !bytes.Equal(activeSegmentBytes(t, l), active) || l.active().base != activeBase {
		t.Fatal("the active segment changed")
	}
	if l.NextOffset() != next || l.StartOffset() != 0 {
		t.Fatalf("offsets moved: start %d next %d, want 0 and %d", l.StartOffset(), l.NextOffset(), next)
	}
	if l.SegmentCount() > segsBefore || l.Size() >= sizeBefore/4 {
		t.Fatalf("after cleaning %d segments of %d bytes, before %d of %d", l.SegmentCount(), l.Size(), segsBefore, sizeBefore)
	}
	st := l.CleanerStats()
	if st.Passes != 1 || st.FirstDirtyOffset != activeBase || st.RecordsRemoved == 0 {
		t.Fatalf("stats %+v", st)
	}
	for _, name := range dirNames(t, dir) {
		if strings.Contains(name, cleanedSuffix) || name == swapManifestName {
			t.Fatalf("%s left behind", name)
		}
	}

	// Nothing new is dirty: no pass. More rounds make the log dirty again,
	// and the next pass also compacts the earlier cleaned segments.
	if passes := cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.5}); passes != 0 {
		t.Fatalf("%d passes over a clean log", passes)
	}
	for r := 30; r < 50; r++ {
		w.round(r)
	}
	segsBefore = l.SegmentCount()
	if passes := cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.5}); passes != 1 {
		t.Fatalf("%d passes, want 1", passes)
	}
	sameRecords(t, consumeRecords(t, l), expectCompacted(w.written, l.active().base))
	if l.SegmentCount() >= segsBefore {
		t.Fatalf("%d segments after the second pass, %d before: small cleaned segments were not merged", l.SegmentCount(), segsBefore)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// cleanedThenSlightlyDirty writes 30 rounds of updates at t0, cleans them,
// and writes on until one more segment is sealed: a small dirty share whose
// first dirty segment starts with a batch from t0.
func cleanedThenSlightlyDirty(t *testing.T, l *Log) *updateWriter {
	t.Helper()
	w := &updateWriter{t: t, l: l, keys: 40, perB: 5, ts: t0.UnixMilli()}
	for r := 0; r < 30; r++ {
		w.round(r)
	}
	cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.5})
	for r := 30; l.CleanerStats().FirstDirtyOffset == l.active().base; r++ {
		w.round(r)
	}
	return w
}

func TestCompactRespectsMinDirtyRatio(t *testing.T) {
	l := mustOpen(t, t.TempDir(), testOptions(nil), false)
	defer l.Close()
	cleanedThenSlightlyDirty(t, l)
	ratio, due, err := l.CleanPriority(CleanOptions{MinDirtyRatio: 0.99})
	if err != nil || due || ratio <= 0 || ratio >= 0.99 {
		t.Fatalf("CleanPriority = %v, %v, %v; want a small ratio, not due", ratio, due, err)
	}
	if passes := cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.99}); passes != 0 {
		t.Fatal("a pass ran below the dirty ratio")
	}
	if _, due, _ := l.CleanPriority(CleanOptions{MinDirtyRatio: ratio}); !due {
		t.Fatal("not due at its own ratio")
	}
}

func TestCompactTombstonesStayForDeleteRetention(t *testing.T) {
	clock := &fakeClock{now: t0}
	opts := testOptions(nil)
	opts.Now = clock.Now
	l := mustOpen(t, t.TempDir(), opts, false)
	defer l.Close()
	w := &updateWriter{t: t, l: l, keys: 20, perB: 5, ts: t0.UnixMilli() - 5000, valPad: strings.Repeat("x", 40)}
	for r := 0; r < 3; r++ {
		w.round(r)
	}
	// Tombstones for key-000 and key-001 (with their own, later timestamp);
	// key-002 is deleted and then written again.
	w.ts = t0.UnixMilli() - 1000
	w.batch([]kv{tombstone(w.key(0)), tombstone(w.key(1)), tombstone(w.key(2))})
	w.batch([]kv{rec(w.key(2), "back")})
	w.ts, w.first = t0.UnixMilli(), 3
	for r := 3; r < 30; r++ { // other keys' updates push the tombstones into sealed segments
		w.round(r)
	}
	retention := time.Hour
	o := CleanOptions{MinDirtyRatio: 0.5, DeleteRetention: retention}
	cleanAll(t, l, o)
	got := consumeRecords(t, l)
	sameRecords(t, got, expectCompacted(w.written, l.active().base))
	var tombstones int
	for _, b := range consume(t, l) {
		for _, r := range b.records {
			if r.tombstone {
				tombstones++
				if b.hdr.Attributes&deleteHorizonFlag == 0 || b.hdr.BaseTimestamp != t0.Add(retention).UnixMilli() {
					t.Fatalf("tombstone batch %d: attributes %#x base timestamp %d, want the delete horizon %d",
						b.hdr.BaseOffset, b.hdr.Attributes, b.hdr.BaseTimestamp, t0.Add(retention).UnixMilli())
				}
			}
		}
	}
	if tombstones != 2 {
		t.Fatalf("%d tombstones after the first pass, want 2 (key-000, key-001)", tombstones)
	}

	// Just before the horizon the tombstones stay; at it a pass removes them.
	clock.now = t0.Add(retention - time.Millisecond)
	if _, due, _ := l.CleanPriority(o); due {
		t.Fatal("due before the delete horizon")
	}
	if passes := cleanAll(t, l, o); passes != 0 {
		t.Fatal("a pass ran before the delete horizon")
	}
	clock.now = t0.Add(retention)
	if _, due, _ := l.CleanPriority(o); !due {
		t.Fatal("not due at the delete horizon")
	}
	if passes := cleanAll(t, l, o); passes != 1 {
		t.Fatal("no pass at the delete horizon")
	}
	var want []readRecord
	for _, r := range got {
		if !r.tombstone {
			want = append(want, r)
		}
	}
	sameRecords(t, consumeRecords(t, l), want)
	if _, due, _ := l.CleanPriority(o); due {
		t.Fatal("still due with no tombstone left")
	}
}

func TestCompactEachCodec(t *testing.T) {
	for _, c := range []struct {
		name  string
		codec int
	}{{"none", codecNone}, {"gzip", codecGzip}, {"snappy", codecSnappy}, {"xerial-snappy", codecXerialSnappy}, {"lz4", codecLZ4}, {"zstd", codecZstd}} {
		t.Run(c.name, func(t *testing.T) {
			l := mustOpen(t, t.TempDir(), testOptions(nil), false)
			defer l.Close()
			// 7 records per batch over 10 keys: every batch is partly
			// superseded by later ones, so batches are rewritten.
			w := &updateWriter{t: t, l: l, keys: 10, perB: 7, codec: c.codec, ts: t0.UnixMilli(), valPad: strings.Repeat("v", 100)}
			w.cycle(200)
			cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.1})
			sameRecords(t, consumeRecords(t, l), expectCompacted(w.written, l.active().base))
			wantCodec := int8(c.codec)
			if c.codec == codecXerialSnappy {
				wantCodec = codecSnappy
			}
			rewritten := 0
			for _, b := range consume(t, l) {
				if b.hdr.Codec() != wantCodec {
					t.Fatalf("batch %d has codec %d, want %d", b.hdr.BaseOffset, b.hdr.Codec(), wantCodec)
				}
				if b.hdr.NumRecords != b.hdr.LastOffsetDelta+1 {
					rewritten++
				}
			}
			if rewritten == 0 {
				t.Fatal("no batch was rewritten")
			}
			if c.codec == codecXerialSnappy {
				raw := readAll(t, l)
				if !bytes.HasPrefix(raw[batch.HeaderSize:], xerialMagic) {
					t.Fatal("rewritten snappy batch lost its xerial framing")
				}
			}
		})
	}
}

func TestCompactedLogReopens(t *testing.T) {
	for _, clean := range []bool{true, false} {
		t.Run(fmt.Sprintf("clean=%v", clean), func(t *testing.T) {
			dir := t.TempDir()
			l := mustOpen(t, dir, testOptions(nil), false)
			w := &updateWriter{t: t, l: l, keys: 30, perB: 5, ts: t0.UnixMilli()}
			for r := 0; r < 30; r++ {
				w.round(r)
			}
			cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.5})
			want := consumeRecords(t, l)
			firstDirty, next := l.CleanerStats().FirstDirtyOffset, l.NextOffset()
			if clean {
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
			} else {
				crash(l)
			}
			l = mustOpen(t, dir, testOptions(nil), clean)
			defer l.Close()
			w.l = l
			sameRecords(t, consumeRecords(t, l), want)
			if l.NextOffset() != next || l.CleanerStats().FirstDirtyOffset != firstDirty {
				t.Fatalf("reopened with next %d, first dirty %d; want %d, %d", l.NextOffset(), l.CleanerStats().FirstDirtyOffset, next, firstDirty)
			}
			if passes := cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.5}); passes != 0 {
				t.Fatal("a reopened clean log was cleaned again")
			}
			for r := 30; r < 40; r++ {
				w.round(r)
			}
			cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.1})
			sameRecords(t, consumeRecords(t, l), expectCompacted(w.written, l.active().base))
		})
	}
}

// swapFixture is one log before and after a pass that rewrote all its sealed
// segments as one group (segments roll by time, so they are small), for
// building the directory states a crash during the swap can leave.
type swapFixture struct {
	before, after string // directories holding the log before and after the pass
	olds          []int64
	base, end     int64
	cleanedSize   int64
	wantBefore    []readRecord
	wantAfter     []readRecord
}

func newSwapFixture(t *testing.T) *swapFixture {
	clock := &fakeClock{now: t0}
	opts := Options{SegmentBytes: 1 << 20, SegmentMs: time.Second, IndexIntervalBytes: 256, Now: clock.Now}
	f := &swapFixture{before: t.TempDir(), after: t.TempDir()}
	l := mustOpen(t, f.after, opts, false)
	w := &updateWriter{t: t, l: l, keys: 10, perB: 5, ts: t0.UnixMilli()}
	for r := 0; r < 20; r++ {
		w.round(r)
		if r%4 == 3 {
			// Roll on the next append: its records more than SegmentMs
			// after the segment's first.
			clock.now = clock.now.Add(time.Second)
			w.ts += time.Second.Milliseconds() + 1
		}
	}
	for _, s := range l.segs[:len(l.segs)-1] {
		f.olds = append(f.olds, s.base)
	}
	f.base, f.end = f.olds[0], l.active().base
	f.wantBefore = consumeRecords(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(f.before); err != nil {
		t.Fatal(err)
	}
	copyDir(t, f.after, f.before)
	l = mustOpen(t, f.after, opts, true)
	cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.5})
	if l.SegmentCount() != 2 {
		t.Fatalf("fixture: %d segments after cleaning, want the cleaned one and the active one", l.SegmentCount())
	}
	f.cleanedSize = l.segs[0].size
	f.wantAfter = consumeRecords(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if len(f.wantAfter) >= len(f.wantBefore) {
		t.Fatal("fixture: cleaning removed nothing")
	}
	return f
}

// TestCompactCrashDuringSwap builds every directory state a crash can leave
// between writing the cleaned segment and finishing the swap, and checks
// that Open ends with exactly the old log or exactly the cleaned one.
func TestCompactCrashDuringSwap(t *testing.T) {
	f := newSwapFixture(t)
	name := func(base int64, suffix string) string { return segmentFileName(base, suffix) }
	cleanedFiles := func(dir string) { // the cleaned segment under .cleaned names
		for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
			copyFile(t, filepath.Join(f.after, name(f.base, suffix)), filepath.Join(dir, name(f.base, suffix)+cleanedSuffix))
		}
	}
	commit := func(dir string) {
		if err := writeSwapManifest(dir, swapManifest{base: f.base, end: f.end, size: f.cleanedSize}); err != nil {
			t.Fatal(err)
		}
	}
	removeOld := func(dir string, bases []int64) {
		for _, b := range bases {
			for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
				os.Remove(filepath.Join(dir, name(b, suffix)))
			}
		}
	}
	promote := func(dir string, suffixes ...string) {
		for _, suffix := range suffixes {
			if err := os.Rename(filepath.Join(dir, name(f.base, suffix)+cleanedSuffix), filepath.Join(dir, name(f.base, suffix))); err != nil {
				t.Fatal(err)
			}
		}
	}
	stages := []struct {
		name    string
		build   func(dir string)
		cleaned bool
	}{
		{"cleaned files written, not committed", func(dir string) {
			cleanedFiles(dir)
		}, false},
		{"partly written cleaned log, not committed", func(dir string) {
			cleanedFiles(dir)
			os.Truncate(filepath.Join(dir, name(f.base, logSuffix)+cleanedSuffix), f.cleanedSize/2)
			os.WriteFile(filepath.Join(dir, swapManifestTmpName), []byte("torn"), 0o644)
		}, false},
		{"committed", func(dir string) {
			cleanedFiles(dir)
			commit(dir)
		}, true},
		{"committed, old segments partly deleted", func(dir string) {
			cleanedFiles(dir)
			commit(dir)
			removeOld(dir, f.olds[:len(f.olds)/2])
			os.Remove(filepath.Join(dir, name(f.olds[len(f.olds)/2], logSuffix))) // .log goes first
		}, true},
		{"committed, old segments deleted, indexes renamed", func(dir string) {
			cleanedFiles(dir)
			commit(dir)
			removeOld(dir, f.olds)
			promote(dir, indexSuffix, timeIndexSuffix)
		}, true},
		{"swapped, manifest not yet removed", func(dir string) {
			cleanedFiles(dir)
			commit(dir)
			removeOld(dir, f.olds)
			promote(dir, indexSuffix, timeIndexSuffix, logSuffix)
		}, true},
	}
	for _, st := range stages {
		for _, clean := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/clean=%v", st.name, clean), func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "p")
				copyDir(t, f.before, dir)
				st.build(dir)
				l := mustOpen(t, dir, Options{SegmentBytes: 1 << 20, IndexIntervalBytes: 256}, clean)
				defer l.Close()
				want := f.wantBefore
				if st.cleaned {
					want = f.wantAfter
				}
				sameRecords(t, consumeRecords(t, l), want)
				for _, n := range dirNames(t, dir) {
					if strings.HasSuffix(n, cleanedSuffix) || strings.HasPrefix(n, swapManifestName) {
						t.Fatalf("%s left behind after Open", n)
					}
				}
				// The log takes appends and cleans on after recovery.
				mustAppend(t, l, keyedBatch(t, keyedSpec{recs: []kv{rec("key-000", "after")}, ts: t0.UnixMilli()}))
				cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.01})
			})
		}
	}
}

func TestCompactKeepsProducersLastBatchEmpty(t *testing.T) {
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("last=%v", keep), func(t *testing.T) {
			l := mustOpen(t, t.TempDir(), testOptions(nil), false)
			defer l.Close()
			pb := keyedBatch(t, keyedSpec{recs: []kv{rec("a", "1"), rec("b", "1")}, ts: t0.UnixMilli(), producerID: 42, baseSequence: 7})
			pbBase := mustAppend(t, l, pb)
			w := &updateWriter{t: t, l: l, keys: 20, perB: 5, ts: t0.UnixMilli()}
			w.batch([]kv{rec("a", "2"), rec("b", "2")})
			for r := 0; r < 30; r++ {
				w.round(r)
			}
			var asked []int64
			cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.5, LastProducerBatch: func(pid, base int64) bool {
				asked = append(asked, pid, base)
				return keep
			}})
			if len(asked) != 2 || asked[0] != 42 || asked[1] != pbBase {
				t.Fatalf("LastProducerBatch asked about %v, want [42 %d]", asked, pbBase)
			}
			bs := consume(t, l)
			if first := bs[0].hdr; keep != (first.BaseOffset == pbBase) {
				t.Fatalf("first batch at %d (producer %d), keep=%v", first.BaseOffset, first.ProducerID, keep)
			}
			if keep {
				h := bs[0].hdr
				if h.NumRecords != 0 || h.LastOffsetDelta != 1 || h.ProducerID != 42 || h.ProducerEpoch != 0 || h.BaseSequence != 7 || h.Codec() != 0 {
					t.Fatalf("empty batch header %+v", h)
				}
			}
			sameRecords(t, consumeRecords(t, l), expectCompacted(w.written, l.active().base))
			if !keep {
				return
			}
			// Once the producer wrote a later batch, the empty one goes.
			newer := mustAppend(t, l, keyedBatch(t, keyedSpec{recs: []kv{rec("c", "1")}, ts: t0.UnixMilli(), producerID: 42, baseSequence: 9}))
			w.written = append(w.written, readRecord{offset: newer, key: "c", value: "1", timestamp: t0.UnixMilli()})
			for r := 30; r < 60; r++ {
				w.round(r)
			}
			cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.1, LastProducerBatch: func(pid, base int64) bool { return base == newer }})
			for _, b := range consume(t, l) {
				if b.hdr.BaseOffset == pbBase {
					t.Fatal("the producer's old empty batch survived its newer batch")
				}
			}
			sameRecords(t, consumeRecords(t, l), expectCompacted(w.written, l.active().base))
		})
	}
}

func TestCompactedLogReadsAcrossGaps(t *testing.T) {
	l := mustOpen(t, t.TempDir(), testOptions(nil), false)
	defer l.Close()
	// key-x is written in whole batches of its own and overwritten, so
	// whole batches disappear and leave gaps between and inside segments.
	w := &updateWriter{t: t, l: l, keys: 10, perB: 5, ts: t0.UnixMilli(), valPad: strings.Repeat("p", 200)}
	for r := 0; r < 40; r++ {
		w.batch([]kv{rec("x", fmt.Sprintf("x@%d", r)), rec("y", fmt.Sprintf("y@%d", r))})
		if r%7 == 0 {
			w.batch([]kv{rec(fmt.Sprintf("static-%d", r), "once")})
		}
		w.round(r)
	}
	cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.5})
	want := consumeRecords(t, l)
	sameRecords(t, want, expectCompacted(w.written, l.active().base))

	// Every offset reads from the batch holding it or the next one after a
	// gap, across segment ends, with or without read hints.
	for off := l.StartOffset(); off < l.NextOffset(); off++ {
		b, err := l.Read(off, 1)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		hs := splitBatches(t, b)
		if len(hs) != 1 || hs[0].LastOffset() < off {
			t.Fatalf("Read(%d) returned %d batches ending at %d", off, len(hs), hs[0].LastOffset())
		}
		i := 0
		for i < len(want) && want[i].offset < off {
			i++
		}
		if i < len(want) && want[i].offset < hs[0].BaseOffset {
			t.Fatalf("Read(%d) starts at batch %d, skipping record %d", off, hs[0].BaseOffset, want[i].offset)
		}
	}
	var scanned int
	if err := l.ScanBatches(0, func(h batch.Header) error { scanned++; return nil }); err != nil || scanned != len(consume(t, l)) {
		t.Fatalf("ScanBatches saw %d batches, err %v", scanned, err)
	}
	off, _, found, err := l.OffsetForTimestamp(t0.UnixMilli())
	if err != nil || !found || off != want[0].offset {
		t.Fatalf("OffsetForTimestamp = %d, %v, %v; want %d", off, found, err, want[0].offset)
	}
	if _, ts := l.MaxTimestamp(); ts != t0.UnixMilli() {
		t.Fatalf("MaxTimestamp = %d", ts)
	}

	// Truncating into a gap keeps everything below it.
	gap := int64(-1)
	for i := 1; i < len(want) && gap < 0; i++ {
		if want[i].offset > want[i-1].offset+1 && want[i].offset < l.segs[len(l.segs)-2].base {
			gap = want[i-1].offset + 1
		}
	}
	if gap < 0 {
		t.Fatal("no gap between records")
	}
	if err := l.TruncateTo(gap); err != nil {
		t.Fatal(err)
	}
	var below []readRecord
	for _, r := range want {
		if r.offset < gap {
			below = append(below, r)
		}
	}
	if l.NextOffset() > gap || l.NextOffset() <= below[len(below)-1].offset {
		t.Fatalf("truncated to %d: next offset %d", gap, l.NextOffset())
	}
	sameRecords(t, consumeRecords(t, l), below)
}

func TestCompactAbandonsPassWhenSegmentsGo(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(nil), false)
	defer l.Close()
	w := &updateWriter{t: t, l: l, keys: 40, perB: 5, ts: t0.UnixMilli()}
	for r := 0; r < 30; r++ {
		w.round(r)
	}
	o := CleanOptions{MinDirtyRatio: 0.5, StepBytes: 1024}
	// Step until the pass is writing a cleaned segment.
	for i := 0; ; i++ {
		if res := cleanStep(t, l, o); !res.Running || i == 10000 {
			t.Fatalf("no cleaned segment in the works after %d steps: %+v", i, res)
		}
		if p := l.cleaner.pass; p.cleaned != nil && p.srcPos > 0 {
			break
		}
	}
	// Retention removes the segments up to the one being cleaned.
	g := l.cleaner.pass.groups[l.cleaner.pass.gi]
	last, _ := l.indexOf(g[len(g)-1])
	keep := l.Size()
	for _, s := range l.segs[:last+1] {
		keep -= s.size
	}
	if n, err := l.EnforceRetention(t0, -1, keep); err != nil || n != last+1 {
		t.Fatalf("retention removed %d segments (%v), want %d", n, err, last+1)
	}
	if res, err := l.Clean(o); err != nil || res.Running {
		t.Fatalf("Clean after retention removed a segment of the pass: %+v, %v", res, err)
	}
	for _, n := range dirNames(t, dir) {
		if strings.HasSuffix(n, cleanedSuffix) {
			t.Fatalf("%s left behind", n)
		}
	}
	cleanAll(t, l, o)
	var want []readRecord
	for _, r := range expectCompacted(w.written, l.active().base) {
		if r.offset >= l.StartOffset() {
			want = append(want, r)
		}
	}
	// Keys whose last record was in the removed segment are gone with it.
	got := consumeRecords(t, l)
	sameRecords(t, got, want)
}

func TestCleanStepsAreBounded(t *testing.T) {
	l := mustOpen(t, t.TempDir(), testOptions(nil), false)
	defer l.Close()
	w := &updateWriter{t: t, l: l, keys: 40, perB: 5, ts: t0.UnixMilli()}
	for r := 0; r < 30; r++ {
		w.round(r)
	}
	const step = 2048
	maxBatch := int64(0)
	l.ScanBatches(0, func(h batch.Header) error { maxBatch = max(maxBatch, int64(h.Size())); return nil })
	steps := 0
	for ; steps < 100000; steps++ {
		res := cleanStep(t, l, CleanOptions{MinDirtyRatio: 0.5, StepBytes: step})
		if res.Bytes > 2*(step+maxBatch) {
			t.Fatalf("step %d did %d bytes, bound %d", steps, res.Bytes, 2*(step+maxBatch))
		}
		if !res.Running {
			break
		}
	}
	if steps < 10 {
		t.Fatalf("a pass over %d bytes took only %d steps of %d", l.Size(), steps, step)
	}
	sameRecords(t, consumeRecords(t, l), expectCompacted(w.written, l.active().base))
}

func TestCompactHonoursMinCompactionLag(t *testing.T) {
	clock := &fakeClock{now: t0}
	opts := testOptions(nil)
	opts.Now = clock.Now
	l := mustOpen(t, t.TempDir(), opts, false)
	defer l.Close()
	w := &updateWriter{t: t, l: l, keys: 40, perB: 5, ts: t0.UnixMilli() - int64(time.Hour/time.Millisecond)}
	for r := 0; r < 15; r++ {
		w.round(r)
	}
	oldEnd := l.NextOffset()
	w.ts = t0.UnixMilli()
	for r := 15; r < 30; r++ {
		w.round(r)
	}
	cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.1, MinCompactionLag: 30 * time.Minute})
	fd := l.CleanerStats().FirstDirtyOffset
	if fd == 0 || fd > oldEnd {
		t.Fatalf("first dirty offset %d, want within the hour-old records (< %d)", fd, oldEnd)
	}
	// Records newer than the lag are all still there.
	var want []readRecord
	for _, r := range expectCompacted(w.written, fd) {
		want = append(want, r)
	}
	sameRecords(t, consumeRecords(t, l), want)
}

func TestCompactKeepsTransactionalBatchesAndDropsKeylessRecords(t *testing.T) {
	l := mustOpen(t, t.TempDir(), testOptions(nil), false)
	defer l.Close()
	txn := mustAppend(t, l, keyedBatch(t, keyedSpec{recs: []kv{rec("a", "txn")}, ts: t0.UnixMilli(), producerID: 9, transactional: true}))
	keyless := mustAppend(t, l, keyedBatch(t, keyedSpec{recs: []kv{{value: []byte("no key")}, rec("k", "v")}, ts: t0.UnixMilli()}))
	w := &updateWriter{t: t, l: l, keys: 20, perB: 5, ts: t0.UnixMilli()}
	w.batch([]kv{rec("a", "later")})
	for r := 0; r < 30; r++ {
		w.round(r)
	}
	cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.5})
	bs := consume(t, l)
	if bs[0].hdr.BaseOffset != txn || len(bs[0].records) != 1 || bs[0].records[0].value != "txn" {
		t.Fatalf("transactional batch not kept whole: %+v", bs[0])
	}
	if bs[1].hdr.BaseOffset != keyless || len(bs[1].records) != 1 || bs[1].records[0].key != "k" {
		t.Fatalf("batch with a keyless record: %+v", bs[1])
	}
}

func TestCheckRecordsRequiresKeys(t *testing.T) {
	for _, codec := range []int{codecNone, codecGzip, codecSnappy, codecLZ4, codecZstd} {
		good := keyedBatch(t, keyedSpec{recs: []kv{rec("a", "1"), tombstone("b"), {key: []byte{}, value: []byte("empty key")}}, ts: 1, codec: codec})
		h, _ := batch.ParseHeader(good)
		if _, err := CheckRecords(good, &h, RecordRules{RequireKeys: true}, 0); err != nil {
			t.Fatalf("codec %d: keyed batch: %v", codec, err)
		}
		bad := keyedBatch(t, keyedSpec{recs: []kv{rec("a", "1"), {value: []byte("no key")}}, ts: 1, codec: codec})
		h, _ = batch.ParseHeader(bad)
		if _, err := CheckRecords(bad, &h, RecordRules{RequireKeys: true}, 0); !errors.Is(err, ErrRecordWithoutKey) {
			t.Fatalf("codec %d: keyless record: %v", codec, err)
		}
	}
}

// taskPending steps a pass until it hands out a swap task, which it returns
// unrun.
func taskPending(t *testing.T, l *Log, o CleanOptions) *CleanTask {
	t.Helper()
	for i := 0; i < 10000; i++ {
		res, err := l.Clean(o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Task != nil {
			return res.Task
		}
		if !res.Running && i > 0 {
			break
		}
	}
	t.Fatal("no swap task handed out")
	return nil
}

// While its swap task runs elsewhere a group stays readable as it was, and
// retention and DeleteRecords leave its segments alone; the segments below
// a moved start offset go once the task is done.
func TestCleanTaskPinsItsGroup(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(nil), false)
	defer l.Close()
	w := &updateWriter{t: t, l: l, keys: 40, perB: 5, ts: t0.UnixMilli()}
	for r := 0; r < 30; r++ {
		w.round(r)
	}
	before := consumeRecords(t, l)
	o := CleanOptions{MinDirtyRatio: 0.5}
	task := taskPending(t, l, o)
	if res, err := l.Clean(o); err != nil || !res.Running || res.Bytes != 0 || res.Task != nil {
		t.Fatalf("Clean with a task pending: %+v, %v; want a no-op", res, err)
	}
	segs := l.SegmentCount()
	if n, err := l.EnforceRetention(t0.Add(time.Hour), 0, 0); err != nil || n != 0 {
		t.Fatalf("retention removed %d pinned segments (%v)", n, err)
	}
	groupEnd := l.segs[len(task.group)].base
	if err := l.DeleteBefore(groupEnd); err != nil {
		t.Fatal(err)
	}
	if l.SegmentCount() != segs {
		t.Fatal("DeleteRecords removed a pinned segment")
	}
	var want []readRecord
	for _, r := range before {
		if r.offset >= groupEnd {
			want = append(want, r)
		}
	}
	sameRecords(t, consumeRecords(t, l), want)

	errc := make(chan error, 1)
	go func() { errc <- task.Run() }()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := l.CleanTaskDone(task); err != nil {
		t.Fatal(err)
	}
	if l.segs[0].base != groupEnd {
		t.Fatalf("first segment at %d after the swap, want the group below %d gone", l.segs[0].base, groupEnd)
	}
	sameRecords(t, consumeRecords(t, l), want)
	cleanAll(t, l, o)
}

// A task whose fdatasync fails before the commit leaves the old segments and
// no cleaned files; the next pass starts over.
func TestCleanTaskFailingBeforeCommit(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(nil), false)
	defer l.Close()
	w := &updateWriter{t: t, l: l, keys: 40, perB: 5, ts: t0.UnixMilli()}
	for r := 0; r < 30; r++ {
		w.round(r)
	}
	before := consumeRecords(t, l)
	o := CleanOptions{MinDirtyRatio: 0.5}
	task := taskPending(t, l, o)
	task.files[0].Close() // its fdatasync now fails
	if err := task.Run(); err == nil {
		t.Fatal("Run with a closed file succeeded")
	}
	if err := l.CleanTaskDone(task); err == nil {
		t.Fatal("CleanTaskDone reported no error")
	}
	if l.Failed() != nil {
		t.Fatalf("a failure before the commit failed the log: %v", l.Failed())
	}
	for _, n := range dirNames(t, dir) {
		if strings.HasSuffix(n, cleanedSuffix) || strings.HasPrefix(n, swapManifestName) {
			t.Fatalf("%s left behind", n)
		}
	}
	sameRecords(t, consumeRecords(t, l), before)
	if cleanAll(t, l, o) != 1 {
		t.Fatal("no pass after the failed one")
	}
	sameRecords(t, consumeRecords(t, l), expectCompacted(w.written, l.active().base))
}

// Close with a task no one ran yet runs it: the reopened log is the cleaned
// one, with nothing left over.
func TestCloseRunsPendingCleanTask(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(nil), false)
	w := &updateWriter{t: t, l: l, keys: 40, perB: 5, ts: t0.UnixMilli()}
	for r := 0; r < 30; r++ {
		w.round(r)
	}
	activeBase := l.active().base
	task := taskPending(t, l, CleanOptions{MinDirtyRatio: 0.5})
	groupEnd := task.manifest.end
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, testOptions(nil), true)
	defer l.Close()
	// The first group is cleaned.
	cleanedPart := expectCompacted(w.written, activeBase)
	var got []readRecord
	for _, r := range consumeRecords(t, l) {
		if r.offset < groupEnd {
			got = append(got, r)
		}
	}
	var wantCleaned []readRecord
	for _, r := range cleanedPart {
		if r.offset < groupEnd {
			wantCleaned = append(wantCleaned, r)
		}
	}
	sameRecords(t, got, wantCleaned)
	for _, n := range dirNames(t, dir) {
		if strings.HasSuffix(n, cleanedSuffix) || strings.HasPrefix(n, swapManifestName) {
			t.Fatalf("%s left behind", n)
		}
	}
}

// Truncating into a gap compaction left ends the log at the truncation
// point, as Kafka's truncateTo does, not at the next surviving batch: later
// appends must not skip the offsets in between.
func TestTruncateIntoCompactedGap(t *testing.T) {
	l := mustOpen(t, t.TempDir(), testOptions(nil), false)
	defer l.Close()
	for i := 0; i < 10; i++ {
		mustAppend(t, l, keyedBatch(t, keyedSpec{recs: []kv{rec("a", fmt.Sprint(i, strings.Repeat("x", 100)))}, ts: t0.UnixMilli()}))
	}
	for l.SegmentCount() < 3 { // the batches above leave the active segment
		mustAppend(t, l, keyedBatch(t, keyedSpec{recs: []kv{rec("b", strings.Repeat("y", 1000))}, ts: t0.UnixMilli()}))
	}
	cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.01})
	got, _ := l.Read(3, 1<<20)
	if len(got) < batch.HeaderSize || int64(binary.BigEndian.Uint64(got)) != 9 {
		t.Fatalf("after compaction the read at 3 returned %d bytes, want key a's last value at 9 first", len(got))
	}
	if err := l.TruncateTo(3); err != nil {
		t.Fatal(err)
	}
	if l.NextOffset() != 3 {
		t.Fatalf("NextOffset after truncating to 3 in a gap: %d", l.NextOffset())
	}
	if base := mustAppend(t, l, keyedBatch(t, keyedSpec{recs: []kv{rec("c", "1")}, ts: t0.UnixMilli()})); base != 3 {
		t.Fatalf("append after the truncation at %d, want 3", base)
	}
}

// A cleaned segment keeps its group's modification time, which time
// retention reads for segments whose batches carry no timestamp.
func TestCompactKeepsSegmentModificationTime(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(nil), false)
	defer l.Close()
	w := &updateWriter{t: t, l: l, keys: 40, perB: 5, ts: t0.UnixMilli()}
	for r := 0; r < 10; r++ {
		w.round(r)
	}
	old := time.Now().Add(-72 * time.Hour).Truncate(time.Second)
	for _, path := range segmentLogFiles(t, dir) {
		if err := os.Chtimes(path, time.Time{}, old); err != nil {
			t.Fatal(err)
		}
	}
	if passes := cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.01}); passes == 0 {
		t.Fatal("nothing was cleaned")
	}
	for _, s := range l.segs[:len(l.segs)-1] {
		st, err := os.Stat(s.path(logSuffix))
		if err != nil {
			t.Fatal(err)
		}
		if !st.ModTime().Equal(old) {
			t.Fatalf("segment %d modified at %v after cleaning, want %v", s.base, st.ModTime(), old)
		}
	}
}

// A sealed dirty segment whose first batch is older than MaxCompactionLag
// makes a pass due whatever the dirty ratio (KIP-354), and only then.
func TestCompactDueByMaxCompactionLag(t *testing.T) {
	clock := &fakeClock{now: t0}
	opts := testOptions(nil)
	opts.Now = clock.Now
	l := mustOpen(t, t.TempDir(), opts, false)
	defer l.Close()
	w := cleanedThenSlightlyDirty(t, l)
	o := CleanOptions{MinDirtyRatio: 0.99, MaxCompactionLag: 30 * time.Minute}
	clock.now = t0.Add(29 * time.Minute)
	if ratio, due, err := l.CleanPriority(o); err != nil || due || ratio >= 0.99 {
		t.Fatalf("CleanPriority before the lag = %v, %v, %v; want not due", ratio, due, err)
	}
	if passes := cleanAll(t, l, o); passes != 0 {
		t.Fatal("a pass ran before the dirty records reached max.compaction.lag.ms")
	}
	clock.now = t0.Add(31 * time.Minute)
	if _, due, err := l.CleanPriority(o); err != nil || !due {
		t.Fatalf("CleanPriority past the lag: due %v, %v; want due", due, err)
	}
	if passes := cleanAll(t, l, o); passes != 1 {
		t.Fatalf("%d passes past max.compaction.lag.ms, want 1", passes)
	}
	sameRecords(t, consumeRecords(t, l), expectCompacted(w.written, l.CleanerStats().FirstDirtyOffset))
	if _, due, _ := l.CleanPriority(o); due {
		t.Fatal("still due with nothing dirty left in sealed segments")
	}
}

// A sync task prepared while a segment was active may still wait on the
// syncer when the cleaner swaps that segment out: the swap leaves its file
// open until the task is reported, so the task's fdatasync succeeds and the
// log goes on taking writes.
func TestCompactSwapKeepsFilesOfOutstandingSyncTasks(t *testing.T) {
	clock := &fakeClock{now: t0}
	opts := testOptions(nil)
	opts.Now = clock.Now
	l := mustOpen(t, t.TempDir(), opts, false)
	defer l.Close()
	w := &updateWriter{t: t, l: l, keys: 40, perB: 5, ts: t0.UnixMilli()}
	w.round(0)
	task, err := l.PrepareSync() // the first segment's fdatasync, queued behind a slow disk
	if err != nil || task == nil {
		t.Fatalf("PrepareSync = %v, %v", task, err)
	}
	for r := 1; r < 30; r++ {
		w.round(r)
	}
	if passes := cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.5}); passes != 1 {
		t.Fatalf("%d passes, want 1", passes)
	}
	if len(l.retired) == 0 { // (closed in the background otherwise, maybe after the Run below)
		t.Fatal("the swap closed the files of a segment a queued sync task holds")
	}
	err = task.Run()
	l.SyncDone(task, err)
	if err != nil || l.Failed() != nil {
		t.Fatalf("the sync task prepared before the swap: %v; log failed: %v", err, l.Failed())
	}
}

// A swap whose manifest was renamed into place but whose directory sync
// then failed counts as committed: the log stops taking writes and its
// reopen finishes the swap. Abandoned, the pass left the manifest behind
// for a later pass's unfinished files to be taken for its output.
func TestCompactSwapWithAFailedManifestSyncFinishesOnReopen(t *testing.T) {
	dir := t.TempDir()
	l, w, opts := updatedLog(t, dir)
	activeBase := l.active().base
	failed := false
	syncSwapDir = func(string) error { failed = true; return errInjected }
	defer func() { syncSwapDir = syncDir }()
	for i := 0; i < 100000 && !failed; i++ {
		res, err := l.Clean(CleanOptions{MinDirtyRatio: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		if res.Task != nil {
			res.Task.Run()
			l.CleanTaskDone(res.Task)
		}
		if !res.Running {
			break
		}
	}
	syncSwapDir = syncDir
	if !failed {
		t.Fatal("no swap reached its manifest")
	}
	if _, err := os.Stat(filepath.Join(dir, swapManifestName)); err == nil && l.Failed() == nil {
		t.Fatal("the log takes writes with the swap's manifest left in place")
	}
	// The pass stopped at the failed swap: the records from the next
	// segment on are as written, those before it kept or dropped as the
	// cleaner decides below the active segment.
	swappedEnd := l.segs[1].base
	l.Close()
	l = mustOpen(t, dir, opts, false)
	defer l.Close()
	if _, err := os.Stat(filepath.Join(dir, swapManifestName)); !os.IsNotExist(err) {
		t.Fatalf("the manifest is still there after the reopen (%v)", err)
	}
	last := map[string]int64{}
	for _, r := range w.written {
		if r.offset < activeBase {
			last[r.key] = r.offset
		}
	}
	var want []readRecord
	for _, r := range w.written {
		if r.offset >= swappedEnd || last[r.key] == r.offset {
			want = append(want, r)
		}
	}
	sameRecords(t, consumeRecords(t, l), want)
}
