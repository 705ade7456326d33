package partlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/batch"
)

func TestCheckRecordsCountsAndFraming(t *testing.T) {
	for _, codec := range []int{codecNone, codecGzip, codecSnappy, codecLZ4, codecZstd} {
		raw := keyedBatch(t, keyedSpec{recs: []kv{rec("a", "1"), rec("b", "2")}, ts: 1, codec: codec})
		h, err := batch.ParseHeader(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := CheckRecords(raw, &h, RecordRules{RequireKeys: true}, 0); err != nil {
			t.Fatalf("codec %d: good batch: %v", codec, err)
		}
		for _, lie := range []int32{1, 3, 1 << 30} {
			h := h
			h.NumRecords, h.LastOffsetDelta = lie, lie-1
			if _, err := CheckRecords(raw, &h, RecordRules{RequireKeys: true}, 0); !errors.Is(err, ErrMalformedRecords) {
				t.Fatalf("codec %d: header counts %d of 2 records: %v", codec, lie, err)
			}
			// Every batch is walked, keys or not, compressed or not.
			if _, err := CheckRecords(raw, &h, RecordRules{}, 0); !errors.Is(err, ErrMalformedRecords) {
				t.Fatalf("codec %d: header counts %d of 2 records, no keys required: %v", codec, lie, err)
			}
		}
	}
	raw := append(keyedBatch(t, keyedSpec{recs: []kv{rec("a", "1")}, ts: 1}), 0, 0, 0)
	h, _ := batch.ParseHeader(raw)
	if _, err := CheckRecords(raw, &h, RecordRules{}, 0); !errors.Is(err, ErrMalformedRecords) {
		t.Fatalf("bytes past the last record: %v", err)
	}
}

var allCodecs = []struct {
	name  string
	codec int
}{{"none", codecNone}, {"gzip", codecGzip}, {"snappy", codecSnappy}, {"xerial-snappy", codecXerialSnappy}, {"lz4", codecLZ4}, {"zstd", codecZstd}}

// Compressed batches are walked like uncompressed ones: records longer than
// the stream's window, records across xerial blocks, the smallest and
// largest record timestamps, keys on compacted topics.
func TestCheckRecordsStreamsCompressedBatches(t *testing.T) {
	long := strings.Repeat("0123456789abcdef", 20<<10) // 320 KiB: past the 64 KiB window and xerial's 32 KiB blocks
	for _, c := range allCodecs {
		t.Run(c.name, func(t *testing.T) {
			recs := []kv{rec("a", "short"), {key: []byte("b"), value: []byte(long), ts: 5000}, {key: []byte("c"), value: []byte("x"), ts: 500}, rec("d", long[:1000])}
			raw := keyedBatch(t, keyedSpec{recs: recs, ts: 1000, codec: c.codec})
			h, err := batch.ParseHeader(raw)
			if err != nil {
				t.Fatal(err)
			}
			seen, err := CheckRecords(raw, &h, RecordRules{RequireKeys: true}, 0)
			if err != nil || seen.MaxTimestamp != 5000 {
				t.Fatalf("CheckRecords = %+v, %v; want the largest timestamp 5000", seen, err)
			}
			keyless := keyedBatch(t, keyedSpec{recs: []kv{rec("a", long), {value: []byte("v")}}, ts: 1, codec: c.codec})
			kh, _ := batch.ParseHeader(keyless)
			if _, err := CheckRecords(keyless, &kh, RecordRules{RequireKeys: true}, 0); !errors.Is(err, ErrRecordWithoutKey) {
				t.Fatalf("keyless record on a compacted topic: %v", err)
			}
			if _, err := CheckRecords(keyless, &kh, RecordRules{}, 0); err != nil {
				t.Fatalf("keyless record elsewhere: %v", err)
			}
			longKeyless := keyedBatch(t, keyedSpec{recs: []kv{rec("a", "1"), {value: []byte(long)}}, ts: 1, codec: c.codec})
			lh, _ := batch.ParseHeader(longKeyless)
			if _, err := CheckRecords(longKeyless, &lh, RecordRules{RequireKeys: true}, 0); !errors.Is(err, ErrRecordWithoutKey) {
				t.Fatalf("long keyless record on a compacted topic: %v", err)
			}
			// A long record cut short: the section claims more than it holds.
			cut := keyedBatch(t, keyedSpec{recs: []kv{rec("a", "1"), rec("b", long)}, ts: 1, codec: c.codec})
			ch, _ := batch.ParseHeader(cut)
			ch.NumRecords, ch.LastOffsetDelta = 3, 2
			if _, err := CheckRecords(cut, &ch, RecordRules{}, 0); !errors.Is(err, ErrMalformedRecords) {
				t.Fatalf("a third record past a long one: %v", err)
			}
		})
	}
}

// A compressed records section that does not decode, or that ends inside a
// record, is malformed.
func TestCheckRecordsRefusesBrokenCompressedSections(t *testing.T) {
	for _, c := range allCodecs[1:] {
		t.Run(c.name, func(t *testing.T) {
			raw := keyedBatch(t, keyedSpec{recs: []kv{rec("a", strings.Repeat("v", 5000)), rec("b", "2")}, ts: 1, codec: c.codec})
			h, _ := batch.ParseHeader(raw)
			// Cut the section short, and flip bytes in its middle.
			for name, broken := range map[string][]byte{
				"cut":     raw[:batch.HeaderSize+(len(raw)-batch.HeaderSize)/2],
				"flipped": flipMiddle(raw),
			} {
				if _, err := CheckRecords(broken, &h, RecordRules{}, 0); !errors.Is(err, ErrMalformedRecords) {
					t.Fatalf("%s section: %v, want ErrMalformedRecords", name, err)
				}
			}
		})
	}
}

func flipMiddle(raw []byte) []byte {
	b := bytes.Clone(raw)
	mid := batch.HeaderSize + (len(b)-batch.HeaderSize)/2
	for i := mid; i < mid+8 && i < len(b); i++ {
		b[i] ^= 0xff
	}
	return b
}

// The stream stops at the bound decompress keeps, however the codec
// expands.
func TestBoundedReaderStopsPastItsBound(t *testing.T) {
	r := &boundedReader{r: bytes.NewReader(make([]byte, 100)), left: 60}
	if _, err := io.ReadAll(r); !errors.Is(err, ErrDecompressedTooLarge) {
		t.Fatalf("100 bytes under a 60-byte bound: %v", err)
	}
	r = &boundedReader{r: bytes.NewReader(make([]byte, 60)), left: 60}
	if b, err := io.ReadAll(r); err != nil || len(b) != 60 {
		t.Fatalf("60 bytes under a 60-byte bound: %d, %v", len(b), err)
	}
}

// A long record (past the stream's window) gets parseRecordView's checks
// too: a key longer than its record is malformed, compressed or not.
func TestCheckRecordsLongRecordWithLyingKey(t *testing.T) {
	body := []byte{0}                     // attributes
	body = binary.AppendVarint(body, 0)   // timestamp delta
	body = binary.AppendVarint(body, 0)   // offset delta
	body = binary.AppendVarint(body, 1e6) // key length past the record
	body = append(body, make([]byte, 100<<10)...)
	recs := binary.AppendVarint(nil, int64(len(body)))
	recs = append(recs, body...)
	for _, c := range []struct {
		name  string
		codec int16
		recs  []byte
	}{{"none", 0, recs}, {"gzip", 1, gzipped(recs)}} {
		rb := kmsg.RecordBatch{Magic: 2, Attributes: c.codec, FirstTimestamp: 1, MaxTimestamp: 1,
			ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: 1, Records: c.recs}
		raw := rb.AppendTo(nil)
		binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
		h, err := batch.ParseHeader(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := CheckRecords(raw, &h, RecordRules{}, 0); !errors.Is(err, ErrMalformedRecords) {
			t.Fatalf("%s: key longer than its record: %v", c.name, err)
		}
	}
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// tinyRecord is one valid record of a one-byte key and value (9 bytes).
func tinyRecord(k, v byte) []byte {
	body := []byte{0, 0, 0, 2, k, 2, v, 0}
	return append(binary.AppendVarint(nil, int64(len(body))), body...)
}

// sectionBatch wraps a records section of n records compressed with codec.
func sectionBatch(t *testing.T, codec int16, section []byte, n int32) ([]byte, batch.Header) {
	t.Helper()
	rb := kmsg.RecordBatch{Magic: 2, Attributes: codec, LastOffsetDelta: n - 1, FirstTimestamp: 1, MaxTimestamp: 1,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: n, Records: section}
	raw := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	h, err := batch.ParseHeader(raw)
	if err != nil {
		t.Fatal(err)
	}
	return raw, h
}

// A stream that fails mid-way fails the walk, even where the failure
// comes with the bytes of a short record before it: a corrupt xerial block
// between two good ones was skipped, and the batch accepted, while
// decompress (compaction, recompression, fetch by time) refuses it.
func TestCheckRecordsRefusesACorruptBlockMidStream(t *testing.T) {
	xblock := func(dst, b []byte) []byte { return append(binary.BigEndian.AppendUint32(dst, uint32(len(b))), b...) }
	sec := append([]byte{}, xerialMagicHeader...)
	sec = xblock(sec, snappy.Encode(nil, tinyRecord('a', '1')))
	sec = xblock(sec, []byte{0x05, 0x00}) // claims 5 bytes; the literal runs off the end
	sec = xblock(sec, snappy.Encode(nil, tinyRecord('b', '2')))
	raw, h := sectionBatch(t, 2, sec, 2)
	if _, err := batchRecords(raw, &h); err == nil {
		t.Fatal("decompress accepts the corrupt block")
	}
	if _, err := CheckRecords(raw, &h, RecordRules{}, 0); !errors.Is(err, ErrMalformedRecords) {
		t.Fatalf("walk of a stream with a corrupt block between good ones: %v", err)
	}
}

// Past its bound the walk fails and stays failed: the byte read to tell a
// longer stream from one that ends at the bound must not vanish and let a
// trailing byte pass as the stream's end.
func TestCheckRecordsBoundIsSticky(t *testing.T) {
	recs := append(tinyRecord('a', '1'), tinyRecord('b', '2')...)
	for _, c := range []struct {
		name    string
		codec   int16
		section func([]byte) []byte
	}{{"gzip", 1, gzipped}, {"xerial", 2, func(b []byte) []byte { return appendXerial(nil, b) }}} {
		raw, h := sectionBatch(t, c.codec, c.section(append(bytes.Clone(recs), 0x7f)), 2)
		if _, err := CheckRecords(raw, &h, RecordRules{}, int64(len(recs))); !errors.Is(err, ErrDecompressedTooLarge) {
			t.Fatalf("%s: a byte past the bound after the last record: %v, want ErrDecompressedTooLarge", c.name, err)
		}
		raw, h = sectionBatch(t, c.codec, c.section(recs), 2)
		if seen, err := CheckRecords(raw, &h, RecordRules{}, int64(len(recs))); err != nil || seen.Bytes != int64(len(recs)) {
			t.Fatalf("%s: a section exactly at the bound: %+v, %v", c.name, seen, err)
		}
	}
}

// A zstd frame may not make the walk keep a history larger than
// maxStreamZstdWindow on the frame header's word. A larger window (Java
// producers at levels 20-22: up to 128 MiB, which Kafka accepts), or a
// single-segment frame of more content, is decoded whole instead once its
// block headers show it holds at most maxWholeZstdBytes; a window past
// Kafka's 128 MiB is refused.
func TestCheckRecordsZstdWindows(t *testing.T) {
	rec := tinyRecord('a', '1')
	frame := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x90} // no content size; window 2^28
	blockHeader := uint32(len(rec))<<3 | 1              // last block, raw
	frame = append(frame, byte(blockHeader), byte(blockHeader>>8), byte(blockHeader>>16))
	frame = append(frame, rec...)
	for _, c := range []struct {
		name   string
		window byte
		ok     bool
	}{{"2 MiB", 0x58, true}, {"128 MiB (level 22)", 0x88, true}, {"256 MiB", 0x90, false}} {
		frame[5] = c.window
		raw, h := sectionBatch(t, 4, frame, 1)
		_, err := CheckRecords(raw, &h, RecordRules{}, 0)
		if c.ok && err != nil || !c.ok && !errors.Is(err, ErrMalformedRecords) {
			t.Fatalf("zstd frame with a %s window: %v", c.name, err)
		}
	}

	// Real streams, as a high-level producer writes them: a 64 MiB window,
	// and one single-segment frame of 9 MiB of records.
	recsOf := func(n int) []byte {
		var recs []byte
		for i := range n {
			recs = append(recs, tinyRecord(byte('a'+i%26), byte('0'+i%10))...)
		}
		return recs
	}
	for _, c := range []struct {
		name string
		n    int
		opts []zstd.EOption
	}{
		{"64 MiB window", 2000, []zstd.EOption{zstd.WithWindowSize(64 << 20), zstd.WithSingleSegment(false)}},
		{"single segment of 9 MiB", 9 << 20 / 9, []zstd.EOption{zstd.WithWindowSize(16 << 20), zstd.WithSingleSegment(true)}},
	} {
		recs := recsOf(c.n)
		var buf bytes.Buffer
		w, err := zstd.NewWriter(&buf, c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(recs)
		w.Close()
		raw, h := sectionBatch(t, 4, buf.Bytes(), int32(c.n))
		if seen, err := CheckRecords(raw, &h, RecordRules{}, 0); err != nil || seen.Bytes != int64(len(recs)) {
			t.Fatalf("%s: %+v, %v", c.name, seen, err)
		}
		if _, err := CheckRecords(raw, &h, RecordRules{}, int64(len(recs)-1)); !errors.Is(err, ErrDecompressedTooLarge) {
			t.Fatalf("%s, one byte over the bound: %v", c.name, err)
		}
	}
}

// A few KiB of run-length blocks under a 128 MiB window claim 128 MiB: the
// claim is refused from the block headers, before anything is decoded
// (decoding it whole cost 680 MiB of allocations and 1.6 s in a review).
func TestCheckRecordsZstdLargeWindowBombRefusedUndecoded(t *testing.T) {
	f := appendRLEBlocks([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x88}, 1024) // no size, window 128 MiB
	raw, h := sectionBatch(t, 4, f, 1)
	alloc, err := checkAllocating(raw, &h, 0)
	if !errors.Is(err, ErrDecompressedTooLarge) {
		t.Fatalf("%d-byte batch of 128 MiB of run-length blocks: %v", len(raw), err)
	}
	if alloc > 16<<20 {
		t.Fatalf("refusing it allocated %d MiB", alloc>>20)
	}
}

// A frame whose content-size field claims far more than its blocks hold is
// refused without the decoder sizing its output by the claim (a 4 KiB
// batch claiming 127 MiB allocated 127 MiB in a review); one decoding to
// exactly the walk's bound passes (the blocks' bound rounds up, so it is
// not the test).
func TestCheckRecordsZstdContentSizeClaims(t *testing.T) {
	for _, fhd := range []byte{0x80, 0xa0} { // 4-byte FCS; with and without single segment
		f := []byte{0x28, 0xb5, 0x2f, 0xfd, fhd}
		if fhd == 0x80 {
			f = append(f, 0x70) // window 16 MiB
		}
		f = binary.LittleEndian.AppendUint32(f, 127<<20)
		bh := uint32(4096)<<3 | 1 // raw, last
		f = append(append(f, byte(bh), byte(bh>>8), byte(bh>>16)), make([]byte, 4096)...)
		raw, h := sectionBatch(t, 4, f, 1)
		alloc, err := checkAllocating(raw, &h, 0)
		if !errors.Is(err, ErrMalformedRecords) {
			t.Fatalf("FHD %#x: 4 KiB claiming 127 MiB: %v", fhd, err)
		}
		if alloc > 16<<20 {
			t.Fatalf("FHD %#x: refusing it allocated %d MiB", fhd, alloc>>20)
		}
	}
	var recs []byte
	for i := range 20000 {
		recs = append(recs, tinyRecord(byte('a'+i%26), byte('0'+i%10))...)
	}
	var buf bytes.Buffer
	w, _ := zstd.NewWriter(&buf, zstd.WithWindowSize(64<<20), zstd.WithSingleSegment(false))
	w.Write(recs)
	w.Close()
	raw, h := sectionBatch(t, 4, buf.Bytes(), 20000)
	if _, err := CheckRecords(raw, &h, RecordRules{}, int64(len(recs))); err != nil {
		t.Fatalf("large-window frame decoding to exactly the bound: %v", err)
	}

	// A frame claiming 31 MiB of content, then writing 249 run-length
	// blocks of 128 KiB past it: decoding may not outgrow the buffer (it
	// reallocated to 69 MiB in a review), and under a small caller's limit
	// nothing is decoded at all.
	f := binary.LittleEndian.AppendUint32([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x80, 0x70}, 248<<17)
	raw, h = sectionBatch(t, 4, appendRLEBlocks(f, 249), 1)
	for _, c := range []struct {
		limit int64
		most  uint64
	}{{0, 36 << 20}, {1 << 20, 1 << 20}} {
		alloc, err := checkAllocating(raw, &h, c.limit)
		if !errors.Is(err, ErrMalformedRecords) && !errors.Is(err, ErrDecompressedTooLarge) {
			t.Fatalf("limit %d: a frame writing past its content size: %v", c.limit, err)
		}
		if alloc > c.most {
			t.Fatalf("limit %d: refusing it allocated %d MiB", c.limit, alloc>>20)
		}
	}
}

// A single-segment frame claiming less than 1 KiB may still hold a
// compressed block of 1 KiB (the decoder's minimum window), so the bound
// counts that: 32 MiB of run-length blocks and such a frame are refused
// before decoding, where the buffer outgrew the bound to 72 MiB.
func TestCheckRecordsZstdTinySingleSegmentFrame(t *testing.T) {
	f := appendRLEBlocks([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x70}, 256)
	f = append(f, 0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00) // single segment, content size 0
	bh := uint32(4)<<3 | 2<<1 | 1                     // compressed, last
	f = append(f, byte(bh), byte(bh>>8), byte(bh>>16), 0x05, 0x40, 'y', 0x00)
	if b, err := zstdDecodedBound(f); err != nil || b != 32<<20+1<<10 {
		t.Fatalf("bound %d, %v; want 32 MiB + 1 KiB", b, err)
	}
	raw, h := sectionBatch(t, 4, f, 1)
	if _, err := CheckRecords(raw, &h, RecordRules{}, 0); !errors.Is(err, ErrDecompressedTooLarge) {
		t.Fatalf("32 MiB + 1 KiB of blocks: %v", err)
	}
}

func TestZstdDecodedBound(t *testing.T) {
	raw := func(n int, last bool) []byte {
		bh := uint32(n) << 3
		if last {
			bh |= 1
		}
		return append([]byte{byte(bh), byte(bh >> 8), byte(bh >> 16)}, make([]byte, n)...)
	}
	frame := append([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58}, raw(100, false)...)
	frame = append(frame, raw(50, true)...)
	skippable := append(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 0x184d2a5e), 3), 1, 2, 3)
	two := append(append(bytes.Clone(frame), skippable...), frame...)
	if b, err := zstdDecodedBound(two); err != nil || b != 300 {
		t.Fatalf("two frames of 150 raw bytes around a skippable one: %d, %v", b, err)
	}
	for _, cut := range []int{3, 5, 8, len(frame) - 1} {
		if _, err := zstdDecodedBound(frame[:cut]); err == nil {
			t.Fatalf("frame cut at %d of %d bytes: no error", cut, len(frame))
		}
	}
	// A real frame's bound covers what it decodes to.
	var buf bytes.Buffer
	w, _ := zstd.NewWriter(&buf)
	data := bytes.Repeat([]byte("0123456789abcdef"), 50000)
	w.Write(data)
	w.Close()
	if b, err := zstdDecodedBound(buf.Bytes()); err != nil || b < int64(len(data)) {
		t.Fatalf("bound %d (%v) of a frame decoding to %d", b, err, len(data))
	}
}

// The bound holds wherever the walk reaches it: inside a long record's
// length fields, and at a raw snappy block, which is decoded whole and so
// must be refused before it is allocated.
func TestCheckRecordsBoundInsideRecordsAndBlocks(t *testing.T) {
	key := bytes.Repeat([]byte{'k'}, 70<<10)
	body := binary.AppendVarint([]byte{0, 0, 0}, int64(len(key)))
	body = append(body, key...)
	prefix := len(body)
	body = append(binary.AppendVarint(body, 1), 'v', 0)
	sec := append(binary.AppendVarint(nil, int64(len(body))), body...)
	limit := int64(len(sec) - len(body) + prefix)
	raw, h := sectionBatch(t, 1, gzipped(sec), 1)
	if _, err := CheckRecords(raw, &h, RecordRules{}, limit); !errors.Is(err, ErrDecompressedTooLarge) {
		t.Fatalf("bound reached at a long record's value length: %v", err)
	}

	zeros := make([]byte, 1<<20)
	recs := append(binary.AppendVarint(nil, int64(len(zeros))), zeros...) // not a valid record; refused before it is read
	raw, h = sectionBatch(t, 2, snappy.Encode(nil, recs), 1)
	if _, err := CheckRecords(raw, &h, RecordRules{}, 64<<10); !errors.Is(err, ErrDecompressedTooLarge) {
		t.Fatalf("raw snappy block of 1 MiB under a 64 KiB bound: %v", err)
	}
}

// appendRLEBlocks appends n zstd run-length blocks of 128 KiB of 'x', the
// last one marked last.
func appendRLEBlocks(f []byte, n int) []byte {
	for i := range n {
		bh := uint32(128<<10)<<3 | 1<<1
		if i == n-1 {
			bh |= 1
		}
		f = append(f, byte(bh), byte(bh>>8), byte(bh>>16), 'x')
	}
	return f
}

// checkAllocating runs CheckRecords and returns the bytes it allocated and
// its error.
func checkAllocating(raw []byte, h *batch.Header, limit int64) (uint64, error) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := CheckRecords(raw, h, RecordRules{}, limit)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, err
}

// Records breaking the rules are each listed, in order, with why, and the
// walk goes on past them: a key missing on a compacted topic, a timestamp
// outside the window around the broker's clock (the key decides for a
// record that breaks both; unset timestamps pass). Every codec lists the
// same records, and the list stops at maxRefusedRecords while the counts go
// on.
func TestCheckRecordsListsTheRecordsItRefuses(t *testing.T) {
	const now = 1_000_000
	rules := RecordRules{RequireKeys: true, CheckTimestamps: true, Now: now, BeforeMs: 1_000, AfterMs: 0}
	recs := []kv{
		{key: []byte("a"), value: []byte("v"), ts: now},
		{value: []byte("v"), ts: now},                           // no key
		{key: []byte("c"), value: []byte("v"), ts: now - 2_000}, // too old
		{key: []byte("d"), value: []byte("v"), ts: now + 1},     // ahead
		{value: []byte("v"), ts: now + 1},                       // both: no key
		{key: []byte("f"), value: []byte("v"), ts: now - 1_000}, // at the edge
	}
	want := []RefusedRecord{{1, now, true}, {2, now - 2_000, false}, {3, now + 1, false}, {4, now + 1, true}}
	for _, codec := range []int{codecNone, codecGzip, codecSnappy, codecLZ4, codecZstd} {
		raw := keyedBatch(t, keyedSpec{recs: recs, codec: codec})
		h, err := batch.ParseHeader(raw)
		if err != nil {
			t.Fatal(err)
		}
		seen, err := CheckRecords(raw, &h, rules, 0)
		if !errors.Is(err, ErrRecordWithoutKey) || !errors.Is(err, ErrTimestampOutOfRange) {
			t.Fatalf("codec %d: %v, want both refusals", codec, err)
		}
		if !slices.Equal(seen.Refused, want) || seen.RefusedNoKey != 2 || seen.RefusedOutside != 2 {
			t.Fatalf("codec %d: refused %v (%d without key, %d outside), want %v", codec, seen.Refused, seen.RefusedNoKey, seen.RefusedOutside, want)
		}
		// Without the rules the same batch passes.
		if _, err := CheckRecords(raw, &h, RecordRules{}, 0); err != nil {
			t.Fatalf("codec %d without rules: %v", codec, err)
		}
	}

	many := make([]kv, maxRefusedRecords+10)
	for i := range many {
		many[i] = kv{value: []byte("v"), ts: now}
	}
	raw := keyedBatch(t, keyedSpec{recs: many, codec: codecNone})
	h, err := batch.ParseHeader(raw)
	if err != nil {
		t.Fatal(err)
	}
	seen, err := CheckRecords(raw, &h, RecordRules{RequireKeys: true}, 0)
	if !errors.Is(err, ErrRecordWithoutKey) || len(seen.Refused) != maxRefusedRecords || seen.RefusedNoKey != len(many) {
		t.Fatalf("%d keyless records: %v, %d listed, %d counted", len(many), err, len(seen.Refused), seen.RefusedNoKey)
	}
}
