package batch

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// A marker is a valid batch that kmsg reads back as Kafka's control record.
func TestControlBatchRoundTrip(t *testing.T) {
	for _, commit := range []bool{false, true} {
		raw := AppendControlBatch(nil, 77, 3, commit, 5, 1700000000000)
		h, err := Validate(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !h.Control() || !h.Transactional() || h.ProducerID != 77 || h.ProducerEpoch != 3 || h.BaseSequence != -1 {
			t.Fatalf("header %+v", h)
		}
		typ, err := ControlType(raw)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int16{false: ControlAbort, true: ControlCommit}[commit]; typ != want {
			t.Fatalf("type %d, want %d", typ, want)
		}
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(raw); err != nil {
			t.Fatal(err)
		}
		var rec kmsg.Record
		if err := rec.ReadFrom(rb.Records); err != nil {
			t.Fatal(err)
		}
		var v kmsg.EndTxnMarker
		if err := v.ReadFrom(rec.Value); err != nil || v.CoordinatorEpoch != 5 {
			t.Fatalf("value %+v %v", v, err)
		}
	}
	data := AppendControlBatch(nil, 1, 0, true, 0, 0)
	data[len(data)-9] = 9 // the type's low byte: no such marker type
	if _, err := ControlType(data); err == nil {
		t.Fatal("a marker of type 9 was read")
	}
}
