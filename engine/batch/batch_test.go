package batch

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func makeBatch(n int) []byte {
	var recs []byte
	for i := 0; i < n; i++ {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte("value")}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	rb := kmsg.RecordBatch{Magic: 2, LastOffsetDelta: int32(n - 1), FirstTimestamp: 10, MaxTimestamp: 20,
		ProducerID: 5, ProducerEpoch: 1, FirstSequence: 7, NumRecords: int32(n), Records: recs}
	raw := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32c))
	return raw
}

func TestValidate(t *testing.T) {
	f := func(name string, mutate func([]byte) []byte, want error) {
		t.Helper()
		raw := mutate(makeBatch(3))
		_, err := Validate(raw)
		if !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Fatalf("%s: got %v, want %v", name, err, want)
		}
	}
	same := func(b []byte) []byte { return b }
	f("good", same, nil)
	f("crc", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, ErrCRC)
	f("short", func(b []byte) []byte { return b[:40] }, ErrShort)
	f("magic", func(b []byte) []byte { b[16] = 1; return b }, ErrMagic)
	f("trailing bytes", func(b []byte) []byte { return append(b, 0) }, ErrLength)
	f("count mismatch", func(b []byte) []byte {
		binary.BigEndian.PutUint32(b[57:], 9)
		binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32c))
		return b
	}, ErrNumRecords)
	f("codec 7", func(b []byte) []byte {
		b[22] |= 7
		binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32c))
		return b
	}, ErrCodec)
	// A producer's batch starts at offset 0 (Kafka refuses others).
	f("base offset", func(b []byte) []byte { binary.BigEndian.PutUint64(b[0:], 1234); return b }, ErrBaseOffset)
	// Damage inside the CRC's range is reported as such, whatever field it
	// hit: CORRUPT_MESSAGE is retriable, the field errors are not.
	f("count damaged", func(b []byte) []byte { binary.BigEndian.PutUint32(b[57:], 9); return b }, ErrCRC)
	f("codec damaged", func(b []byte) []byte { b[22] |= 7; return b }, ErrCRC)
	f("offset delta damaged", func(b []byte) []byte { b[26] ^= 4; return b }, ErrCRC)
}

func TestHeaderFieldsAndStamping(t *testing.T) {
	raw := makeBatch(4)
	SetBaseOffset(raw, 1234)
	SetLeaderEpoch(raw, 9)
	h, err := ParseHeader(raw)
	if err != nil || !CRCValid(raw) { // offset and epoch lie outside the CRC
		t.Fatalf("%v, CRC valid %v", err, CRCValid(raw))
	}
	if h.BaseOffset != 1234 || h.PartitionLeaderEpoch != 9 || h.LastOffset() != 1237 || h.ProducerID != 5 || h.BaseSequence != 7 || h.NumRecords != 4 {
		t.Fatalf("header %+v", h)
	}
	SetLogAppendTime(raw, 99999)
	h, err = ParseHeader(raw)
	if err != nil || !CRCValid(raw) {
		t.Fatalf("after LogAppendTime the CRC must be recomputed: %v, CRC valid %v", err, CRCValid(raw))
	}
	if !h.LogAppendTime() || h.MaxTimestamp != 99999 {
		t.Fatalf("log append time not stamped: %+v", h)
	}
}

func TestSplitStopsAtPartialBatch(t *testing.T) {
	a, b := makeBatch(1), makeBatch(2)
	data := append(append(append([]byte{}, a...), b...), b[:30]...)
	var sizes []int
	n, err := Split(data, func(h Header, raw []byte) error { sizes = append(sizes, len(raw)); return nil })
	if err != nil || n != len(a)+len(b) || len(sizes) != 2 {
		t.Fatalf("split: n=%d sizes=%v err=%v", n, sizes, err)
	}
}

func BenchmarkValidate(b *testing.B) {
	raw := makeBatch(16)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Validate(raw); err != nil {
			b.Fatal(err)
		}
	}
}
