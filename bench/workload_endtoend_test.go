package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestRunEndToEndReadsEveryRecordOnce(t *testing.T) {
	b := startKfake(t)
	res, err := RunEndToEnd(context.Background(), EndToEndConfig{
		Produce: ProduceConfig{
			Brokers: []string{b.Addr()}, Topic: "e2e", Partitions: 4, RecordSize: 100,
			Records: 2000, Warmup: 50, Producers: 2, Rate: 20000, Timeout: time.Minute,
		},
		Consumers: 3,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Consumed != 2050 || res.Produce.Records != 2000 || res.Produce.Mode != "open" {
		t.Errorf("consumed %d, produced %d (%s loop); want 2050 read (warm-up included), 2000 measured, open loop", res.Consumed, res.Produce.Records, res.Produce.Mode)
	}
	// Warm-up records are read but not timed.
	if res.Latency.Samples != 2000 {
		t.Errorf("%d end-to-end samples, want one per measured record", res.Latency.Samples)
	}
	checkLatencySane(t, res.Latency)
	if !strings.Contains(res.Verified, "exactly the records written") {
		t.Errorf("verified %q", res.Verified)
	}
}

func TestRunEndToEndRefusesUnstampedRecords(t *testing.T) {
	_, err := RunEndToEnd(context.Background(), EndToEndConfig{
		Produce: ProduceConfig{Brokers: []string{"127.0.0.1:1"}, Records: 10, RecordSize: 10},
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "28-byte stamp") {
		t.Errorf("err = %v, want the stamp size named", err)
	}
}
