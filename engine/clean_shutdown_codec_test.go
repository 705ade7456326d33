package engine

import (
	"fmt"
	"hash/crc32"
	"reflect"
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
