package partlog

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

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
		seen, err := CheckRecords(raw, &h, RecordRules{}, 0)
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
		if seen, err := CheckRecords(out, &oh, RecordRules{}, 0); err != nil || seen.OffsetDeltasOff {
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
	if seen, err := CheckRecords(raw, &h, RecordRules{}, 0); err != nil || seen.OffsetDeltasOff {
		t.Fatalf("well-numbered batch: %+v, %v", seen, err)
	}
}

// rawKeyedRecord encodes one record with its header section given raw.
func rawKeyedRecord(offsetDelta int, key, value string, headerSection []byte) []byte {
	body := []byte{0}
	body = binary.AppendVarint(body, 0)
	body = binary.AppendVarint(body, int64(offsetDelta))
	body = binary.AppendVarint(body, int64(len(key)))
	body = append(body, key...)
	body = binary.AppendVarint(body, int64(len(value)))
	body = append(body, value...)
	body = append(body, headerSection...)
	return append(binary.AppendVarint(nil, int64(len(body))), body...)
}

// Records the produce path now refuses but an older build stored (a header
// with a null key, as sarama encodes a nil header key; bytes after the
// last header) do not stop compaction: stored data is read by its framing.
func TestCompactReadsRecordsTheProducePathRefuses(t *testing.T) {
	clock := &fakeClock{now: t0}
	opts := testOptions(nil)
	opts.Now = clock.Now
	l := mustOpen(t, t.TempDir(), opts, false)
	nullHeaderKey := append(binary.AppendVarint(nil, 1), binary.AppendVarint(binary.AppendVarint(nil, -1), 0)...)
	trailing := append(binary.AppendVarint(nil, 0), 7, 7)
	recs := append(rawKeyedRecord(0, "key-000", "old", nullHeaderKey), rawKeyedRecord(1, "key-001", "old", trailing)...)
	rb := kmsg.RecordBatch{Magic: 2, LastOffsetDelta: 1, FirstTimestamp: t0.UnixMilli(), MaxTimestamp: t0.UnixMilli(),
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: 2, Records: recs}
	raw := rb.AppendTo(nil)
	finishBatch(raw)
	h, err := batch.Validate(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CheckRecords(raw, &h, RecordRules{RequireKeys: true}, 0); err == nil {
		t.Fatal("the produce path's check takes the batch")
	}
	mustAppend(t, l, raw)
	w := &updateWriter{t: t, l: l, keys: 40, perB: 5, ts: t0.UnixMilli()}
	for r := 0; r < 30; r++ {
		w.round(r)
	}
	if passes := cleanAll(t, l, CleanOptions{MinDirtyRatio: 0.5}); passes != 1 {
		t.Fatalf("%d passes, want 1", passes)
	}
	if st := l.CleanerStats(); st.RecordsRemoved == 0 {
		t.Fatalf("nothing compacted: %+v", st)
	}
}
