package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// An idempotent producer's state is dropped once its last batch is older
// than producer.id.expiration.ms, a restart does not restore it from the
// log, and a producer can still write after that: its next batch is
// accepted, and its state is kept again.
func TestIdleProducerStateExpires(t *testing.T) {
	tb := startBroker(t, "producer.id.expiration.ms=1500", "producer.id.expiration.check.interval.ms=50")
	createTestTopic(t, tb, "expiry", 1)
	cl := tb.client(kgo.DefaultProduceTopic("expiry"))
	adm := tb.admin()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	produce := func() {
		t.Helper()
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	producers := func() int {
		t.Helper()
		d, err := adm.DescribeProducers(ctx, kadm.TopicsSet{"expiry": {0: {}}})
		if err != nil {
			t.Fatal(err)
		}
		p := d["expiry"].Partitions[0]
		if p.Err != nil {
			t.Fatal(p.Err)
		}
		return len(p.ActiveProducers)
	}

	start := time.Now() // before the record's timestamp, which the expiry counts from
	produce()
	if n := producers(); n != 1 {
		t.Fatalf("%d producers right after a produce, want 1", n)
	}
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if n := producers(); n != 0 {
			return fmt.Errorf("%d producers %v after the last produce, want none", n, time.Since(start))
		}
		return nil
	})
	if idle := time.Since(start); idle < 1500*time.Millisecond {
		t.Fatalf("producer state dropped after %v, before the 1.5 s expiration", idle)
	}
	// A restart does not bring it back from the log, even before the first
	// expiry check (ten minutes by default).
	tb.sets = []string{"producer.id.expiration.ms=1500"}
	tb.restart()
	adm = tb.admin()
	if n := producers(); n != 0 {
		t.Fatalf("%d producers after a restart, want none", n)
	}
	cl = tb.client(kgo.DefaultProduceTopic("expiry"))
	produce() // its sequence goes on from where it was: accepted all the same
	if n := producers(); n != 1 {
		t.Fatalf("%d producers after writing again, want 1", n)
	}
}

// Expiry counts from when the broker last saw the producer, not from its
// batches' timestamps: a producer writing 1970 timestamps (as a mirroring
// tool copying old records may) keeps its duplicate protection.
func TestOldTimestampsKeepProducerState(t *testing.T) {
	tb := startBroker(t, "producer.id.expiration.ms=60000", "producer.id.expiration.check.interval.ms=20")
	createTestTopic(t, tb, "old-ts", 1)
	cl := tb.client()
	first := produceRaw(t, cl, "old-ts", 0, 11, rawBatchAt(3, 9, 0, 0, 1000))
	if first.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(first.ErrorCode))
	}
	time.Sleep(200 * time.Millisecond) // ten expiry checks
	retry := produceRaw(t, cl, "old-ts", 0, 11, rawBatchAt(3, 9, 0, 0, 1000))
	if retry.ErrorCode != 0 || retry.BaseOffset != first.BaseOffset {
		t.Fatalf("retried batch: %v at offset %d, want the original offset %d (a duplicate)",
			kerr.ErrorForCode(retry.ErrorCode), retry.BaseOffset, first.BaseOffset)
	}
}
