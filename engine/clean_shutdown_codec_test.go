package engine

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"reflect"
	"runtime"
	"testing"

	"github.com/chronik-go/chronik/engine/meta"
	"github.com/chronik-go/chronik/engine/partlog"
)

func sampleCleanState() *cleanShutdownState {
	st := &cleanShutdownState{Partitions: map[string]partitionCleanState{}}
	for i := 0; i < 3; i++ {
		ps := partitionCleanState{
			TopicID: meta.TopicID{byte(i), 2, 3, 255},
			Log: partlog.CleanState{LogStart: int64(i), Next: 1 << 40, ActiveBase: -1, ActiveSize: 77,
				OffsetsInFile: 512 * i, OffsetTail: []byte{1, 2, 3, 4, 5, 6, 7, 8}, TimesInFile: i, TimeTail: make([]byte, 12*i)},
			Producers: map[int64]*producerState{},
		}
		for id := int64(0); id < int64(i); id++ {
			ps.Producers[1000+id] = &producerState{Epoch: int16(id), SeenAtMs: 1_700_000_000_000,
				Batches: []producerBatch{{FirstSeq: 0, LastSeq: 4, BaseOffset: 10, Timestamp: -1}, {FirstSeq: 2147483647, LastSeq: 3, BaseOffset: 1 << 50, Timestamp: 99}}}
		}
		if i == 2 {
			ps.Txns = txnState{Ongoing: map[int64]int64{1000: 7, 1001: 1 << 45},
				Aborted: []abortedTxn{{ProducerID: 1000, FirstOffset: 0, LastOffset: 5}, {ProducerID: 3, FirstOffset: 2, LastOffset: 9}}}
		}
		st.Partitions[fmt.Sprintf("topic.with-dots_%d", i)] = ps
	}
	return st
}

func TestCleanStateRoundTrip(t *testing.T) {
	st := sampleCleanState()
	got, err := decodeCleanState(encodeCleanState(st))
	if err != nil {
		t.Fatal(err)
	}
	// Empty tails decode as empty, not nil; compare their bytes.
	for name, ps := range got.Partitions {
		want := st.Partitions[name]
		if string(ps.Log.TimeTail) != string(want.Log.TimeTail) {
			t.Fatalf("%s: time tail %x, want %x", name, ps.Log.TimeTail, want.Log.TimeTail)
		}
		ps.Log.TimeTail, want.Log.TimeTail = nil, nil
		if !reflect.DeepEqual(ps, want) {
			t.Fatalf("%s decoded as %+v, want %+v", name, ps, want)
		}
	}
	if len(got.Partitions) != len(st.Partitions) {
		t.Fatalf("%d partitions decoded, want %d", len(got.Partitions), len(st.Partitions))
	}
	if got, err := decodeCleanState(nil); got != nil || err != nil {
		t.Fatalf("empty marker: %v, %v; want nil, nil", got, err)
	}
}

// A damaged marker is refused with an error, never half-read: a flipped
// byte fails the CRC, and a body cut short or padded (CRC made to match,
// as a bug writing it would) fails to parse.
func TestCleanStateRejectsDamage(t *testing.T) {
	full := encodeCleanState(sampleCleanState())
	for i := range full {
		b := append([]byte(nil), full...)
		b[i] ^= 0x40
		if _, err := decodeCleanState(b); err == nil {
			t.Fatalf("byte %d flipped: decoded without error", i)
		}
	}
	body := encodeBody(t, full)
	for n := 0; n < len(body); n++ {
		if _, err := decodeCleanState(withHeader(body[:n])); err == nil {
			t.Fatalf("body cut to %d of %d bytes: decoded without error", n, len(body))
		}
	}
	if _, err := decodeCleanState(withHeader(append(append([]byte(nil), body...), 0))); err == nil {
		t.Fatal("trailing byte: decoded without error")
	}
}

// encodeBody returns the body of an encoded marker.
func encodeBody(t *testing.T, b []byte) []byte {
	t.Helper()
	for i, c := range b {
		if c == '\n' {
			return b[i+1:]
		}
	}
	t.Fatal("no header line")
	return nil
}

func withHeader(body []byte) []byte {
	head := fmt.Sprintf("%s %08x %d\n", cleanStateHeader, crc32.Checksum(body, crc32c), len(body))
	return append([]byte(head), body...)
}

// Only the exact header encodeCleanState writes is accepted.
func TestCleanStateHeaderIsStrict(t *testing.T) {
	body := encodeBody(t, encodeCleanState(sampleCleanState()))
	sum := crc32.Checksum(body, crc32c)
	for _, head := range []string{
		fmt.Sprintf("%s  %08x %d\n", cleanStateHeader, sum, len(body)),
		fmt.Sprintf("%s %08x %d \n", cleanStateHeader, sum, len(body)),
		fmt.Sprintf("%s %08x %d\r\n", cleanStateHeader, sum, len(body)),
		fmt.Sprintf("%s %x %d\n", cleanStateHeader, sum, len(body)),
		fmt.Sprintf("%s %08x +%d\n", cleanStateHeader, sum, len(body)),
		fmt.Sprintf("%s %08x 0%d\n", cleanStateHeader, sum, len(body)),
	} {
		if head == cleanStateHeaderFor(body) {
			continue // %x equals %08x when the CRC has no leading zero
		}
		if _, err := decodeCleanState(append([]byte(head), body...)); err == nil {
			t.Errorf("header %q accepted", head)
		}
	}
}

// Values the fields cannot hold, a partition named twice and counts far
// past the body are refused, the last without allocating for them.
func TestCleanStateRejectsImpossibleValues(t *testing.T) {
	entry := func(name string, epoch int64) []byte {
		var b []byte
		b = appendBytes(b, []byte(name))
		b = append(b, make([]byte, 16)...)
		for range 6 {
			b = binary.AppendVarint(b, 0)
		}
		b = appendBytes(b, nil)
		b = appendBytes(b, nil)
		b = binary.AppendUvarint(b, 1) // one producer
		b = binary.AppendVarint(b, 7)
		b = binary.AppendVarint(b, epoch)
		b = binary.AppendVarint(b, 0)
		b = binary.AppendUvarint(b, 0)    // no batches
		b = binary.AppendUvarint(b, 0)    // no open transactions
		return binary.AppendUvarint(b, 0) // none aborted
	}
	one := func(entries ...[]byte) []byte {
		b := binary.AppendUvarint(nil, uint64(len(entries)))
		for _, e := range entries {
			b = append(b, e...)
		}
		return withHeader(b)
	}
	if _, err := decodeCleanState(one(entry("t-0", 5))); err != nil {
		t.Fatalf("a valid hand-made entry was refused: %v", err)
	}
	// A marker written before transactions (format 1) has no transaction
	// section; it is still read.
	e := entry("t-0", 5)
	v1 := append(binary.AppendUvarint(nil, 1), e[:len(e)-2]...)
	if st, err := decodeCleanState(append([]byte(headerLine(cleanStateHeaderV1, v1)), v1...)); err != nil || st.Partitions["t-0"].Producers[7].Epoch != 5 {
		t.Fatalf("a format 1 marker: %v", err)
	}
	if _, err := decodeCleanState(one(entry("t-0", 1<<15))); err == nil {
		t.Error("an epoch past int16 was accepted")
	}
	if _, err := decodeCleanState(one(entry("t-0", 1), entry("t-0", 2))); err == nil {
		t.Error("a partition named twice was accepted")
	}
	huge := binary.AppendUvarint(nil, 1<<20) // a count of 1 Mi entries in a 1 MiB body
	huge = append(huge, make([]byte, 1<<20)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := decodeCleanState(withHeader(huge)); err == nil {
		t.Error("a count past the body was accepted")
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("decoding a damaged 1 MiB body allocated %d MiB", grew>>20)
	}
}
