package partlog

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chronik-go/chronik/engine/batch"
)

// BenchmarkAppend appends 1 KiB batches (no fsync) to one partition.
func BenchmarkAppend(b *testing.B) {
	l := mustOpen(b, b.TempDir(), Options{}, false)
	defer l.Close()
	batch := simpleBatch(b, 1, 1, 1024-61-10) // one record: the batch is exactly 1 KiB
	if len(batch) != 1024 {
		b.Fatalf("batch is %d bytes, want 1024", len(batch))
	}
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Append(batch, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendManySync is the group-commit path: 16 batches per writev and
// one fdatasync.
func BenchmarkAppendManySync(b *testing.B) {
	l := mustOpen(b, b.TempDir(), Options{}, false)
	defer l.Close()
	group := make([][]byte, 16)
	for i := range group {
		group[i] = simpleBatch(b, 1, 1, 1024-61-10)
	}
	b.SetBytes(int64(16 * len(group[0])))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.AppendMany(group, 1); err != nil {
			b.Fatal(err)
		}
		if err := l.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadTail reads a 64 MiB log of one segment from its start in
// 16 KiB reads, over and over.
func BenchmarkReadTail(b *testing.B) { benchReadFromStart(b, Options{}) }

// BenchmarkReadAcrossSealedSegments is BenchmarkReadTail over small sealed
// segments, as a consumer catching up reads them: each segment read to its
// end is closed and the next opened (segment_release.go), which it
// measures against the segment size.
func BenchmarkReadAcrossSealedSegments(b *testing.B) {
	for _, seg := range []int64{64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("segment=%dKiB", seg>>10), func(b *testing.B) {
			benchReadFromStart(b, Options{SegmentBytes: seg})
		})
	}
}

// benchReadFromStart fills a log of opts with 64 MiB of 1 KiB batches and
// reads it from its start in 16 KiB reads, starting over at its end.
func benchReadFromStart(b *testing.B, opts Options) {
	l := mustOpen(b, b.TempDir(), opts, false)
	defer l.Close()
	batch := simpleBatch(b, 1, 1, 1024-61-10)
	for range 64 << 10 {
		if _, err := l.Append(batch, 1); err != nil {
			b.Fatal(err)
		}
	}
	buf := make([]byte, 0, 32<<10)
	off := int64(0)
	b.SetBytes(16 << 10)
	b.ReportAllocs()
	for b.Loop() {
		out, err := l.ReadAppend(buf[:0], off, -1, 16<<10, true)
		if err != nil {
			b.Fatal(err)
		}
		off += int64(len(out) / 1024)
		if off >= l.NextOffset() {
			off = 0
		}
	}
}

// BenchmarkReadSealedLookup reads at offsets of a sealed 1 MiB segment that
// no read hint knows, as fetches do past readHintSlots readers: each looks
// its offset up in the segment's index.
func BenchmarkReadSealedLookup(b *testing.B) {
	opts := Options{SegmentBytes: 1 << 20}
	l := mustOpen(b, b.TempDir(), opts, false)
	defer l.Close()
	for i := range 4000 {
		mustAppend(b, l, simpleBatch(b, 2, int64(1000+i), 500))
	}
	n := l.segs[1].base // the first segment's offsets
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := l.Read(int64(i*7919)%n, 1); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkOpenNewPartition measures creating an empty partition.
func BenchmarkOpenNewPartition(b *testing.B) {
	root := b.TempDir()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		l, err := Open(filepath.Join(root, fmt.Sprintf("p-%d", i)), Options{}, false)
		if err != nil {
			b.Fatal(err)
		}
		_ = l
		i++
	}
}

// BenchmarkCheckRecords is the produce path's walk of a batch's records
// (CheckRecords), beside the CRC-32C check every batch gets: uncompressed
// batches of 16 and 100 records of 100-byte values, and 16 records of 1 KiB
// of text compressed with each codec (streamed through the decompressor).
func BenchmarkCheckRecords(b *testing.B) {
	for _, codec := range []int{codecGzip, codecSnappy, codecLZ4, codecZstd} {
		var recs []kv
		for i := range 16 {
			recs = append(recs, rec(fmt.Sprint("key-", i), fmt.Sprint(i, strings.Repeat(" some value text", 64))))
		}
		raw := keyedBatch(b, keyedSpec{recs: recs, ts: 1, codec: codec})
		h, err := batch.ParseHeader(raw)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("records=16/codec=%d/walk", codec), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := CheckRecords(raw, &h, RecordRules{RequireKeys: true}, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, n := range []int{16, 100} {
		raw := simpleBatch(b, n, 1, 100)
		h, err := batch.ParseHeader(raw)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("records=%d/walk", n), func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			// As a produce checks them: timestamps within Kafka 4's default
			// bounds around the batch's own.
			rules := RecordRules{CheckTimestamps: true, Now: 1, BeforeMs: math.MaxInt64, AfterMs: 3_600_000}
			for b.Loop() {
				if _, err := CheckRecords(raw, &h, rules, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("records=%d/crc", n), func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				batch.CRCValid(raw)
			}
		})
	}
}

// BenchmarkRecompress is what a topic's compression.type costs the shard
// that owns the partition per batch: 64 records of 1 KiB of semi-random text
// (about 2:1, as real values), uncompressed from the producer into each
// codec, and zstd from the producer into none.
func BenchmarkRecompress(b *testing.B) {
	rnd := rand.New(rand.NewSource(1))
	mk := func(codec int) ([]byte, batch.Header) {
		var recs []kv
		for i := range 64 {
			v := make([]byte, 256)
			rnd.Read(v)
			recs = append(recs, rec(fmt.Sprint("key-", i), strings.Repeat(hex.EncodeToString(v), 2)))
		}
		raw := keyedBatch(b, keyedSpec{recs: recs, ts: 1, codec: codec})
		h, err := batch.ParseHeader(raw)
		if err != nil {
			b.Fatal(err)
		}
		return raw, h
	}
	plain, ph := mk(codecNone)
	for _, codec := range []int8{1, 2, 3, 4} {
		b.Run(fmt.Sprintf("from=0/to=%d", codec), func(b *testing.B) {
			b.SetBytes(int64(len(plain)))
			for b.Loop() {
				if _, err := Recompress(plain, &ph, codec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	zraw, zh := mk(codecZstd)
	b.Run("from=4/to=0", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		for b.Loop() {
			if _, err := Recompress(zraw, &zh, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
