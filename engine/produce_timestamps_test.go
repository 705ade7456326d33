package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// batchWithTimestamps builds a batch whose records carry the given
// timestamps while its header claims header (first and max timestamp), as a
// producer with a wrong header would send it.
func batchWithTimestamps(header int64, ts ...int64) []byte {
	values := make([][]byte, len(ts))
	for i := range values {
		values[i] = []byte("v")
	}
	return compressedRecords(0, header, ts, values)
}

// CreateTime timestamps must lie within message.timestamp.before.max.ms
// before the broker's clock and message.timestamp.after.max.ms after it
// (Kafka 4's defaults: no bound, an hour), judged per record; otherwise the
// partition answers INVALID_TIMESTAMP and nothing is appended. Before, any
// timestamp was taken.
func TestProduceTimestampBounds(t *testing.T) {
	tb := startBroker(t)
	ctx := adminCtx(t)
	adm := tb.admin()
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "ts-default"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"message.timestamp.before.max.ms": kadm.StringPtr("60000"),
		"message.timestamp.after.max.ms": kadm.StringPtr("0")}, "ts-tight"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"message.timestamp.type": kadm.StringPtr("LogAppendTime")}, "ts-append"); err != nil {
		t.Fatal(err)
	}
	// Kafka 3.6-3.9: the deprecated key bounds each side its successors
	// leave at Kafka 3's default (no bound).
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"message.timestamp.difference.max.ms": kadm.StringPtr("60000")}, "ts-diff"); err != nil {
		t.Fatal(err)
	}
	cl := fetchClient(tb)
	now := time.Now().UnixMilli()
	hour, minute := int64(time.Hour/time.Millisecond), int64(time.Minute/time.Millisecond)
	for _, c := range []struct {
		name, topic string
		raw         []byte
		want        int16
	}{
		{"now", "ts-default", rawBatchAt(3, -1, -1, -1, now), 0},
		{"1970, no past bound by default", "ts-default", rawBatchAt(3, -1, -1, -1, 1000), 0},
		{"half an hour ahead", "ts-default", rawBatchAt(3, -1, -1, -1, now+30*minute), 0},
		{"two hours ahead", "ts-default", rawBatchAt(3, -1, -1, -1, now+2*hour), kerr.InvalidTimestamp.Code},
		{"one record two hours ahead under an honest-looking header", "ts-default", batchWithTimestamps(now, now, now+2*hour, now), kerr.InvalidTimestamp.Code},
		{"near the int64 maximum", "ts-default", batchWithTimestamps(1<<62, 1<<62), kerr.InvalidTimestamp.Code},
		{"two minutes old, before bound one minute", "ts-tight", rawBatchAt(3, -1, -1, -1, now-2*minute), kerr.InvalidTimestamp.Code},
		{"one record two minutes old", "ts-tight", batchWithTimestamps(now, now, now-2*minute), kerr.InvalidTimestamp.Code},
		{"near the int64 minimum", "ts-tight", batchWithTimestamps(-(1 << 62), -(1 << 62)), kerr.InvalidTimestamp.Code},
		{"within a tight bound", "ts-tight", rawBatchAt(1, -1, -1, -1, time.Now().UnixMilli()-1000), 0},
		{"LogAppendTime topics take any producer timestamp", "ts-append", rawBatchAt(3, -1, -1, -1, now+2*hour), 0},
		{"two minutes old, deprecated difference bound one minute", "ts-diff", rawBatchAt(1, -1, -1, -1, now-2*minute), kerr.InvalidTimestamp.Code},
		{"within the deprecated difference bound", "ts-diff", rawBatchAt(1, -1, -1, -1, time.Now().UnixMilli()-1000), 0},
		{"two minutes ahead, deprecated difference bound one minute", "ts-diff", rawBatchAt(1, -1, -1, -1, now+2*minute), kerr.InvalidTimestamp.Code},
	} {
		if p := produceRaw(t, cl, c.topic, 0, 11, c.raw); p.ErrorCode != c.want {
			t.Errorf("%s: %v, want %v", c.name, kerr.ErrorForCode(p.ErrorCode), kerr.ErrorForCode(c.want))
		}
	}
	// The answer says why (v8+).
	p := produceRaw(t, cl, "ts-default", 0, 11, rawBatchAt(1, -1, -1, -1, now+2*hour))
	if p.ErrorMessage == nil || !strings.Contains(*p.ErrorMessage, "3600000 ms after") {
		t.Fatalf("INVALID_TIMESTAMP answered with message %v, want the bounds", p.ErrorMessage)
	}
	// Refused batches were not appended: 3+3+3 on the default topic.
	ends, err := adm.ListEndOffsets(ctx, "ts-default", "ts-tight")
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := ends.Lookup("ts-default", 0); e.Offset != 9 {
		t.Fatalf("ts-default ends at %d, want 9", e.Offset)
	}
	if e, _ := ends.Lookup("ts-tight", 0); e.Offset != 1 {
		t.Fatalf("ts-tight ends at %d, want 1", e.Offset)
	}

	// A stock client sees the error on its record.
	pcl := tb.client(kgo.DefaultProduceTopic("ts-default"), kgo.RecordRetries(0))
	defer pcl.Close()
	pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = pcl.ProduceSync(pctx, &kgo.Record{Value: []byte("from the future"), Timestamp: time.Now().Add(3 * time.Hour)}).FirstErr()
	if !errors.Is(err, kerr.InvalidTimestamp) {
		t.Fatalf("franz-go produce of a record 3 hours ahead: %v, want INVALID_TIMESTAMP", err)
	}
}

// A retried idempotent batch on a LogAppendTime topic is answered with the
// time the broker stamped on the original, as Kafka answers it, also after
// a restart; before, the duplicate's answer said -1 (no append time). Kafka
// answers the original batch's max timestamp on CreateTime topics too.
func TestDuplicateAnsweredWithOriginalAppendTime(t *testing.T) {
	tb := startBroker(t, "num.shards=1")
	if _, err := tb.admin().CreateTopic(adminCtx(t), 1, 1,
		map[string]*string{"message.timestamp.type": kadm.StringPtr("LogAppendTime")}, "dup-append"); err != nil {
		t.Fatal(err)
	}
	cl := fetchClient(tb)
	first := produceRaw(t, cl, "dup-append", 0, 11, rawBatch(2, 7, 0, 0))
	if first.ErrorCode != 0 || first.LogAppendTime < 0 {
		t.Fatalf("first produce: %v, append time %d", kerr.ErrorForCode(first.ErrorCode), first.LogAppendTime)
	}
	check := func(when string) {
		t.Helper()
		time.Sleep(5 * time.Millisecond) // a fresh stamp would differ
		dup := produceRaw(t, cl, "dup-append", 0, 11, rawBatch(2, 7, 0, 0))
		if dup.ErrorCode != 0 || dup.BaseOffset != first.BaseOffset || dup.LogAppendTime != first.LogAppendTime {
			t.Fatalf("duplicate %s: %v at %d, append time %d; want success at %d, append time %d", when,
				kerr.ErrorForCode(dup.ErrorCode), dup.BaseOffset, dup.LogAppendTime, first.BaseOffset, first.LogAppendTime)
		}
	}
	check("while running")
	cl.Close()
	tb.restart()
	cl = fetchClient(tb)
	check("after a restart")
	if got := readBatchOffsets(t, cl, "dup-append"); len(got) != 1 {
		t.Fatalf("stored batches %v, want one", got)
	}
	createTestTopic(t, tb, "dup-create", 1)
	if p := produceRaw(t, cl, "dup-create", 0, 11, rawBatch(2, 8, 0, 0)); p.ErrorCode != 0 || p.LogAppendTime != -1 {
		t.Fatalf("first produce to a CreateTime topic: %v, append time %d", kerr.ErrorForCode(p.ErrorCode), p.LogAppendTime)
	}
	if p := produceRaw(t, cl, "dup-create", 0, 11, rawBatch(2, 8, 0, 0)); p.ErrorCode != 0 || p.LogAppendTime != 1001 {
		t.Fatalf("duplicate on a CreateTime topic: %v, append time %d, want the batch's max timestamp 1001",
			kerr.ErrorForCode(p.ErrorCode), p.LogAppendTime)
	}
}
