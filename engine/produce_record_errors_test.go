package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// batchKeyedAt builds a batch of records with the given timestamps, keyed
// where keyed says so, compressed with codec (0 none, 1 gzip, 4 zstd).
func batchKeyedAt(codec int16, ts []int64, keyed []bool) []byte {
	var recs []byte
	for i := range ts {
		r := kmsg.Record{OffsetDelta: int32(i), TimestampDelta64: ts[i] - ts[0], Value: []byte("v")}
		if keyed[i] {
			r.Key = []byte{byte('a' + i)}
		}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	return batchOfRecords(codec, ts[0], int32(len(ts)), recs)
}

// A batch refused for some of its records names each of them in the answer
// (Produce v8+, KIP-467: their place in the batch and why), with the
// partition's error code chosen as Kafka does — INVALID_TIMESTAMP when any
// timestamp is out of range, INVALID_RECORD for keyless records on a
// compacted topic — and nothing of the batch is appended. Before v8 the code
// alone answers; a compressed batch is judged the same as a plain one.
func TestProduceNamesTheRecordsItRefuses(t *testing.T) {
	tb := startBroker(t)
	ctx := adminCtx(t)
	adm := tb.admin()
	tight := map[string]*string{"message.timestamp.before.max.ms": kadm.StringPtr("60000"), "message.timestamp.after.max.ms": kadm.StringPtr("0")}
	compact := map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}
	both := map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}
	for k, v := range tight {
		both[k] = v
	}
	for topic, configs := range map[string]map[string]*string{"re-tight": tight, "re-compact": compact, "re-both": both} {
		if _, err := adm.CreateTopic(ctx, 1, 1, configs, topic); err != nil {
			t.Fatal(err)
		}
	}
	cl, v7 := fetchClient(tb), pinnedClient(tb, 0, 7)
	now := time.Now().UnixMilli()
	old := now - 2*int64(time.Minute/time.Millisecond)
	type named struct {
		index int32
		says  string // in its message
	}
	for _, c := range []struct {
		name, topic string
		ts          []int64
		keyed       []bool
		code        int16
		records     []named
	}{
		{"two keyless records on a compacted topic", "re-compact", []int64{now, now, now, now}, []bool{true, false, true, false},
			kerr.InvalidRecord.Code, []named{{1, "no key"}, {3, "no key"}}},
		{"one record two minutes old, bound one minute", "re-tight", []int64{now, old, now}, []bool{true, true, true},
			kerr.InvalidTimestamp.Code, []named{{1, "timestamp"}}},
		{"a keyless record and an old one: the timestamp decides the code", "re-both", []int64{now, now, old}, []bool{true, false, true},
			kerr.InvalidTimestamp.Code, []named{{1, "no key"}, {2, "timestamp"}}},
	} {
		for _, codec := range []int16{0, 1, 4} {
			raw := batchKeyedAt(codec, c.ts, c.keyed)
			p := produceRaw(t, cl, c.topic, 0, 11, raw)
			if p.ErrorCode != c.code {
				t.Fatalf("%s, codec %d: %v, want %v", c.name, codec, kerr.ErrorForCode(p.ErrorCode), kerr.ErrorForCode(c.code))
			}
			if p.ErrorMessage == nil || *p.ErrorMessage == "" {
				t.Fatalf("%s, codec %d: no error message", c.name, codec)
			}
			if len(p.ErrorRecords) != len(c.records) {
				t.Fatalf("%s, codec %d: %d records named (%s), want %d", c.name, codec, len(p.ErrorRecords), *p.ErrorMessage, len(c.records))
			}
			for i, want := range c.records {
				got := p.ErrorRecords[i]
				if got.RelativeOffset != want.index || got.ErrorMessage == nil || !strings.Contains(*got.ErrorMessage, want.says) {
					t.Fatalf("%s, codec %d: record error %d is %d %v, want %d saying %q", c.name, codec, i, got.RelativeOffset, got.ErrorMessage, want.index, want.says)
				}
			}
			// Produce v7 has no fields for them (kmsg would not carry
			// them either way): the code alone answers.
			if p := produceRaw(t, v7, c.topic, 0, 7, batchKeyedAt(codec, c.ts, c.keyed)); p.ErrorCode != c.code {
				t.Fatalf("%s, codec %d, v7: %v", c.name, codec, kerr.ErrorForCode(p.ErrorCode))
			}
		}
		// The batch's good records were refused with it.
		if p := produceRaw(t, cl, c.topic, 0, 11, batchKeyedAt(0, []int64{now}, []bool{true})); p.ErrorCode != 0 || p.BaseOffset != 0 {
			t.Fatalf("%s: a good batch afterwards: %v at offset %d, want offset 0", c.name, kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
		}
	}
}
