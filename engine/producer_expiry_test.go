package engine

import (
	"context"
	"fmt"
	"sort"
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
		return len(activeProducers(t, tb, "expiry", 0))
	}

	start := time.Now() // before the broker sees the producer, which the expiry counts from
	produce()
	pid, epoch, err := cl.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
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
	if n := producers(); n != 0 {
		t.Fatalf("%d producers after a restart, want none", n)
	}
	// The same producer writes on at sequence 1: without state for it the
	// broker accepts any sequence, and keeps its state again.
	if p := produceRaw(t, tb.client(), "expiry", 0, 11, rawBatch(1, pid, epoch, 1)); p.ErrorCode != 0 {
		t.Fatalf("the expired producer writing on: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	if n := producers(); n != 1 {
		t.Fatalf("%d producers after writing again, want 1", n)
	}
}

// Restoring state drops producers that expired while the broker was down:
// stopped cleanly, the snapshot remembers when each was last seen, and a
// start past the expiration does not bring them back, before any check.
func TestProducerStateExpiresWhileStopped(t *testing.T) {
	tb := startBroker(t, "producer.id.expiration.ms=1500") // checks every ten minutes
	createTestTopic(t, tb, "expiry-down", 1)
	if p := produceRaw(t, tb.client(), "expiry-down", 0, 11, rawBatch(2, 11, 0, 0)); p.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(p.ErrorCode))
	}
	tb.stop()
	time.Sleep(1700 * time.Millisecond)
	tb.open()
	if got := activeProducers(t, tb, "expiry-down", 0); len(got) != 0 {
		t.Fatalf("after 1.7 s down with a 1.5 s expiration: producers %v; want none", got)
	}
}

// activeProducers is DescribeProducers' producer ids of one partition.
func activeProducers(t *testing.T, tb *testBroker, topic string, part int32) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := tb.admin().DescribeProducers(ctx, kadm.TopicsSet{topic: {part: {}}})
	if err != nil {
		t.Fatal(err)
	}
	p := d[topic].Partitions[part]
	if p.Err != nil {
		t.Fatal(p.Err)
	}
	var ids []int64
	for _, ap := range p.ActiveProducers {
		ids = append(ids, ap.ProducerID)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// expireProducersNow runs an expiry check on every shard and waits for it.
func expireProducersNow(t *testing.T, tb *testBroker) {
	t.Helper()
	for _, s := range tb.b.shards {
		onShard(t, s, (*shard).expireProducers)
	}
}

// Expiry counts from when the broker last saw the producer, not from its
// batches' timestamps: a producer writing 1970 timestamps (as a mirroring
// tool copying old records may) keeps its duplicate protection.
func TestOldTimestampsKeepProducerState(t *testing.T) {
	tb := startBroker(t, "producer.id.expiration.ms=60000")
	createTestTopic(t, tb, "old-ts", 1)
	cl := tb.client()
	first := produceRaw(t, cl, "old-ts", 0, 11, rawBatchAt(3, 9, 0, 0, 1000))
	if first.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(first.ErrorCode))
	}
	expireProducersNow(t, tb)
	retry := produceRaw(t, cl, "old-ts", 0, 11, rawBatchAt(3, 9, 0, 0, 1000))
	if retry.ErrorCode != 0 || retry.BaseOffset != first.BaseOffset {
		t.Fatalf("retried batch: %v at offset %d, want the original offset %d (a duplicate)",
			kerr.ErrorForCode(retry.ErrorCode), retry.BaseOffset, first.BaseOffset)
	}
}
