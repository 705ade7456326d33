package engine

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

func startOffset(ctx context.Context, adm *kadm.Client, topic string) (int64, error) {
	offs, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return 0, err
	}
	o, ok := offs.Lookup(topic, 0)
	if !ok || o.Err != nil {
		return 0, fmt.Errorf("start offset of %s: %v", topic, o.Err)
	}
	return o.Offset, nil
}

// Retention by size and by time deletes whole old segments; the log start
// offset moves and Fetch below it is out of range.
func TestRetentionBySizeAndTime(t *testing.T) {
	tb := startBroker(t, "log.retention.check.interval.ms=50")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	adm := tb.admin()
	// rawBatch stamps 1970 timestamps, so the size topic must not expire by time.
	bySize, forever := "1024", "-1"
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"segment.bytes": &bySize, "retention.bytes": &bySize, "retention.ms": &forever}, "ret-size"); err != nil {
		t.Fatal(err)
	}
	segMs, byTime := "1024", "1000"
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"segment.bytes": &segMs, "retention.ms": &byTime}, "ret-time"); err != nil {
		t.Fatal(err)
	}
	cl := fetchClient(tb)
	for i := 0; i < 40; i++ {
		for _, topic := range []string{"ret-size", "ret-time"} {
			// rawBatch stamps timestamps around 1970+1s: long expired for retention.ms.
			if p := produceRaw(t, cl, topic, 0, 11, rawBatch(5, -1, -1, -1)); p.ErrorCode != 0 {
				t.Fatal(kerr.ErrorForCode(p.ErrorCode))
			}
		}
	}
	// A fresh last batch keeps the time-retention topic from expiring whole
	// (Kafka, too, deletes an active segment whose records all expired).
	if p := produceRaw(t, cl, "ret-time", 0, 11, rawBatchAt(5, -1, -1, -1, time.Now().UnixMilli())); p.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(p.ErrorCode))
	}
	ends := map[string]int64{"ret-size": 200, "ret-time": 205}
	for _, topic := range []string{"ret-size", "ret-time"} {
		// Retention works a tick at a time: wait until the start offset has
		// moved and then holds still across a few ticks.
		var start, last int64 = 0, -1
		checkFor(t, 10*time.Second, 200*time.Millisecond, func() error {
			var err error
			if start, err = startOffset(ctx, adm, topic); err != nil {
				return err
			}
			if start == 0 || start != last {
				last = start
				return fmt.Errorf("%s: log start offset %d not settled", topic, start)
			}
			return nil
		})
		if start%5 != 0 || start >= ends[topic] {
			t.Fatalf("%s: start offset %d is not a batch boundary below the end", topic, start)
		}
		resp, err := fetchReq(topic, 0, 0, 1, 0, 1<<20).RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if c := resp.Topics[0].Partitions[0].ErrorCode; c != kerr.OffsetOutOfRange.Code {
			t.Fatalf("%s: fetch below the start offset: %v", topic, kerr.ErrorForCode(c))
		}
		resp, _ = fetchReq(topic, 0, start, 1, 0, 1<<20).RequestWith(ctx, cl)
		if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.LogStartOffset != start || len(p.RecordBatches) == 0 {
			t.Fatalf("%s: fetch at start %d: %v, log start %d", topic, start, kerr.ErrorForCode(p.ErrorCode), p.LogStartOffset)
		}
	}
}

// A retention.ms of centuries keeps everything: Kafka takes any long, and
// 18446744073710 ms (584 years) times a million nanoseconds wraps int64 to
// under half a millisecond, which deleted every segment at the next check.
func TestRetentionOfCenturiesKeepsEverything(t *testing.T) {
	tb := startBroker(t, "log.retention.check.interval.ms=20")
	ctx := adminCtx(t)
	centuries, small := "18446744073710", "1024"
	if _, err := tb.admin().CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": &centuries, "segment.bytes": &small}, "ret-long"); err != nil {
		t.Fatal(err)
	}
	cl := fetchClient(tb)
	for i := 0; i < 20; i++ {
		if p := produceRaw(t, cl, "ret-long", 0, 11, rawBatchAt(5, -1, -1, -1, time.Now().UnixMilli())); p.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(p.ErrorCode))
		}
	}
	time.Sleep(300 * time.Millisecond) // 15 retention checks
	if start, err := startOffset(ctx, tb.admin(), "ret-long"); err != nil || start != 0 {
		t.Fatalf("start offset %d (%v), want 0: retention deleted records centuries early", start, err)
	}
}

func TestMsDurationSaturates(t *testing.T) {
	for ms, want := range map[int64]time.Duration{
		1000: time.Second, -1: -time.Millisecond, 0: 0,
		18446744073710: math.MaxInt64, math.MaxInt64: math.MaxInt64, math.MinInt64: math.MinInt64,
	} {
		if got := msDuration(ms); got != want {
			t.Errorf("msDuration(%d) = %v, want %v", ms, got, want)
		}
	}
}

// segment.bytes altered on a live topic applies from the next produce, as in
// Kafka: retention.bytes, which deletes whole segments, then trims a log that
// had grown in one 1 GiB segment. Before, the new size waited for a restart.
func TestAlteredSegmentBytesAppliesWithoutRestart(t *testing.T) {
	tb := startBroker(t, "log.retention.check.interval.ms=20")
	ctx := adminCtx(t)
	adm := tb.admin()
	small, forever := "2048", "-1"
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"retention.bytes": &small, "retention.ms": &forever}, "seg-live"); err != nil {
		t.Fatal(err)
	}
	cl := fetchClient(tb)
	produce := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			if p := produceRaw(t, cl, "seg-live", 0, 11, rawBatchAt(5, -1, -1, -1, time.Now().UnixMilli())); p.ErrorCode != 0 {
				t.Fatal(kerr.ErrorForCode(p.ErrorCode))
			}
		}
	}
	produce(40)
	time.Sleep(100 * time.Millisecond) // 5 retention checks
	if start, err := startOffset(ctx, adm, "seg-live"); err != nil || start != 0 {
		t.Fatalf("start offset %d (%v) with one segment, want 0", start, err)
	}
	res, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "segment.bytes", Value: kadm.StringPtr("1024")}}, "seg-live")
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := res.On("seg-live", nil); r.Err != nil {
		t.Fatal(r.Err)
	}
	produce(40)
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		start, err := startOffset(ctx, adm, "seg-live")
		if err != nil {
			return err
		}
		if start < 200 {
			return fmt.Errorf("start offset %d: retention has not trimmed below the altered segments", start)
		}
		return nil
	})
}
