package partlog

import (
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

// tsRecord is one appended record as a brute-force model sees it.
type tsRecord struct{ offset, ts int64 }

// expectedForTimestamp is ListOffsets by time over the model: the first
// record in offset order whose timestamp reaches ts.
func expectedForTimestamp(model []tsRecord, ts, start int64) (tsRecord, bool) {
	for _, r := range model {
		if r.offset >= start && r.ts >= ts {
			return r, true
		}
	}
	return tsRecord{}, false
}

func TestOffsetForTimestampMatchesRecordOrder(t *testing.T) {
	codecs := []int{codecNone, codecGzip, codecSnappy, codecXerialSnappy, codecLZ4, codecZstd}
	for _, codec := range codecs {
		t.Run(fmt.Sprintf("codec %d", codec), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(codec), 42))
			dir := t.TempDir()
			l := mustOpen(t, dir, testOptions(nil), false)
			var model []tsRecord
			clock := int64(1_700_000_000_000)
			for i := range 250 {
				// Mostly rising timestamps with producer jitter, so records
				// inside a batch and batches are not in timestamp order.
				n := 1 + rng.IntN(5)
				tss := make([]int64, n)
				for j := range tss {
					clock += int64(rng.IntN(10))
					tss[j] = clock - int64(rng.IntN(40))
				}
				off := mustAppend(t, l, makeBatch(t, batchSpec{timestamps: tss, valueSize: 30 + i%50, codec: codec}))
				for j, ts := range tss {
					model = append(model, tsRecord{off + int64(j), ts})
				}
			}
			if l.SegmentCount() < 3 {
				t.Fatalf("want several segments, got %d", l.SegmentCount())
			}
			check := func(l *Log) {
				t.Helper()
				lo, hi := model[0].ts-100, clock+100
				for q := lo; q <= hi; q += max(1, (hi-lo)/400) {
					want, wantFound := expectedForTimestamp(model, q, l.StartOffset())
					off, ts, found, err := l.OffsetForTimestamp(q)
					if err != nil {
						t.Fatalf("OffsetForTimestamp(%d): %v", q, err)
					}
					if found != wantFound || (found && (off != want.offset || ts != want.ts)) {
						t.Fatalf("OffsetForTimestamp(%d) = (%d, %d, %v), want (%d, %d, %v)", q, off, ts, found, want.offset, want.ts, wantFound)
					}
				}
				var best tsRecord
				best.ts = -1
				for _, r := range model {
					if r.ts > best.ts {
						best = r
					}
				}
				if off, ts := l.MaxTimestamp(); off != best.offset || ts != best.ts {
					t.Fatalf("MaxTimestamp = (%d, %d), want (%d, %d)", off, ts, best.offset, best.ts)
				}
			}
			check(l)
			// Sealed segments reopened cleanly answer from their index files.
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = mustOpen(t, dir, testOptions(nil), true)
			defer l.Close()
			check(l)
			// And unclean: the active segment's time index is rebuilt.
			crash(l)
			l = mustOpen(t, dir, testOptions(nil), false)
			check(l)
		})
	}
}

func TestOffsetForTimestampLogAppendTime(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{}, false)
	defer l.Close()
	mustAppend(t, l, makeBatch(t, batchSpec{timestamps: []int64{100, 200}}))
	// A LogAppendTime batch: the broker time 5000 is the max timestamp; the
	// records' own (client) timestamps do not count.
	b := makeBatch(t, batchSpec{timestamps: []int64{10, 20, 30}, logAppendTime: true})
	// Stamp max timestamp 5000 as the produce path does.
	b[35], b[36], b[37], b[38], b[39], b[40], b[41], b[42] = 0, 0, 0, 0, 0, 0, 0x13, 0x88
	fixCRC(b)
	mustAppend(t, l, b)

	off, ts, found, err := l.OffsetForTimestamp(300)
	if err != nil || !found || off != 2 || ts != 5000 {
		t.Fatalf("OffsetForTimestamp(300) = (%d, %d, %v, %v), want (2, 5000, true)", off, ts, found, err)
	}
	if off, ts := l.MaxTimestamp(); off != 2 || ts != 5000 {
		t.Fatalf("MaxTimestamp = (%d, %d), want (2, 5000)", off, ts)
	}
	if _, _, found, _ := l.OffsetForTimestamp(5001); found {
		t.Fatal("found a record after the largest timestamp")
	}
}

func TestMaxTimestampEmptyAndTies(t *testing.T) {
	l := mustOpen(t, t.TempDir(), testOptions(nil), false)
	defer l.Close()
	if off, ts := l.MaxTimestamp(); off != -1 || ts != -1 {
		t.Fatalf("MaxTimestamp of an empty log = (%d, %d), want (-1, -1)", off, ts)
	}
	if _, _, found, err := l.OffsetForTimestamp(0); found || err != nil {
		t.Fatalf("OffsetForTimestamp on an empty log found=%v err=%v", found, err)
	}
	mustAppend(t, l, makeBatch(t, batchSpec{timestamps: []int64{5, 9, 7}})) // offsets 0-2, max 9 at 1
	mustAppend(t, l, makeBatch(t, batchSpec{timestamps: []int64{9, 9}}))    // tie: not earlier
	mustAppend(t, l, makeBatch(t, batchSpec{timestamps: []int64{1, 2, 3}})) // lower
	if off, ts := l.MaxTimestamp(); off != 1 || ts != 9 {
		t.Fatalf("MaxTimestamp = (%d, %d), want the first record with 9: (1, 9)", off, ts)
	}
}

// fixCRC recomputes a batch's CRC after a test edited covered bytes.
func fixCRC(b []byte) {
	crc := crc32.Checksum(b[21:], crc32c)
	b[17], b[18], b[19], b[20] = byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc)
}
