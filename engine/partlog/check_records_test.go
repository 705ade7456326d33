package partlog

import (
	"errors"
	"testing"

	"github.com/chronik-go/chronik/engine/batch"
)

func TestCheckRecordsCountsAndFraming(t *testing.T) {
	for _, codec := range []int{codecNone, codecGzip, codecSnappy, codecLZ4, codecZstd} {
		raw := keyedBatch(t, keyedSpec{recs: []kv{rec("a", "1"), rec("b", "2")}, ts: 1, codec: codec})
		h, err := batch.ParseHeader(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := CheckRecords(raw, &h, true); err != nil {
			t.Fatalf("codec %d: good batch: %v", codec, err)
		}
		for _, lie := range []int32{1, 3, 1 << 30} {
			h := h
			h.NumRecords, h.LastOffsetDelta = lie, lie-1
			if _, err := CheckRecords(raw, &h, true); !errors.Is(err, ErrMalformedRecords) {
				t.Fatalf("codec %d: header counts %d of 2 records: %v", codec, lie, err)
			}
			// Without keys to check, only uncompressed batches are walked.
			_, err := CheckRecords(raw, &h, false)
			if codec == codecNone && !errors.Is(err, ErrMalformedRecords) || codec != codecNone && err != nil {
				t.Fatalf("codec %d: header counts %d of 2 records, no keys required: %v", codec, lie, err)
			}
		}
	}
	raw := append(keyedBatch(t, keyedSpec{recs: []kv{rec("a", "1")}, ts: 1}), 0, 0, 0)
	h, _ := batch.ParseHeader(raw)
	if _, err := CheckRecords(raw, &h, false); !errors.Is(err, ErrMalformedRecords) {
		t.Fatalf("bytes past the last record: %v", err)
	}
}
