package partlog

import (
	"bytes"
	"testing"

	"github.com/chronik-go/chronik/engine/batch"
)

// A compressed batch whose records are all numbered 0 is reported by
// CheckRecords and rebuilt by RenumberRecords with deltas 0, 1, 2, the same
// records otherwise, the producer's codec and snappy framing, and a valid
// CRC.
func TestRenumberRecords(t *testing.T) {
	ts := []int64{1000, 1003, 1001}
	want := makeBatch(t, batchSpec{timestamps: ts, valueSize: 5})[batch.HeaderSize:]
	for _, codec := range []int{codecGzip, codecSnappy, codecXerialSnappy, codecLZ4, codecZstd} {
		raw := makeBatch(t, batchSpec{timestamps: ts, valueSize: 5, codec: codec, zeroDeltas: true})
		h, err := batch.Validate(raw)
		if err != nil {
			t.Fatal(err)
		}
		seen, err := CheckRecords(raw, &h, false, 0)
		if err != nil || !seen.OffsetDeltasOff {
			t.Fatalf("codec %d: CheckRecords %+v, %v: want the deltas reported", codec, seen, err)
		}
		out, err := RenumberRecords(raw, &h)
		if err != nil {
			t.Fatalf("codec %d: %v", codec, err)
		}
		oh, err := batch.Validate(out)
		if err != nil {
			t.Fatalf("codec %d: rebuilt batch: %v", codec, err)
		}
		if oh.Attributes != h.Attributes || oh.NumRecords != h.NumRecords || oh.MaxTimestamp != h.MaxTimestamp || oh.BaseTimestamp != h.BaseTimestamp {
			t.Fatalf("codec %d: header %+v, was %+v", codec, oh, h)
		}
		if seen, err := CheckRecords(out, &oh, false, 0); err != nil || seen.OffsetDeltasOff {
			t.Fatalf("codec %d: rebuilt batch checks %+v, %v", codec, seen, err)
		}
		got, err := decompress(oh.Codec(), out[batch.HeaderSize:])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("codec %d: records\n%x\nwant\n%x", codec, got, want)
		}
		wasXerial := bytes.HasPrefix(raw[batch.HeaderSize:], xerialMagic)
		if isXerial := bytes.HasPrefix(out[batch.HeaderSize:], xerialMagic); isXerial != wasXerial {
			t.Fatalf("codec %d: xerial framing %v, was %v", codec, isXerial, wasXerial)
		}
	}
	// Well-numbered batches are not reported.
	raw := makeBatch(t, batchSpec{timestamps: ts, valueSize: 5, codec: codecGzip})
	h, _ := batch.Validate(raw)
	if seen, err := CheckRecords(raw, &h, false, 0); err != nil || seen.OffsetDeltasOff {
		t.Fatalf("well-numbered batch: %+v, %v", seen, err)
	}
}
