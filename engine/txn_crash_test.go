package engine

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/chronik-go/chronik/uring"
)

// txnTarget picks a partition of topic whose shard is not the shard of the
// transactional id's coordinator, so their writes become durable apart.
func txnTarget(t *testing.T, tb *testBroker, id, topic string, partitions int32) (coord *shard, target int32) {
	t.Helper()
	ts, ok := tb.b.currentView().topic(txnStateTopic)
	if !ok {
		t.Fatal("no __transaction_state")
	}
	coord = tb.b.shardFor(partKey{txnStateTopic, txnPartitionFor(id, len(ts.Partitions))})
	for p := range partitions {
		if tb.b.shardFor(partKey{topic, p}) != coord {
			return coord, p
		}
	}
	t.Fatalf("every partition of %s is on the coordinator's shard", topic)
	return nil, 0
}

// openTxnAt reports whether producerID's transaction is open on k.
func openTxnAt(t *testing.T, tb *testBroker, k partKey, producerID int64) bool {
	t.Helper()
	var open bool
	onShard(t, tb.b.shardFor(k), func(s *shard) { _, open = s.parts[k].txns.Ongoing[producerID] })
	return open
}

// An end's markers are written only once its decision (PrepareCommit) is
// durable in the transaction log. Written before it, a crash in between
// would leave a partition committed while the restarted coordinator, back
// at Ongoing, times the transaction out and aborts the others.
func TestTransactionMarkersWaitForTheDecision(t *testing.T) {
	fo := newFaultOpener(uring.PwriteOpener{})
	tb := startBrokerWith(t, fo, "num.shards=2", "log.flush.policy=always", "log.flush.wal.enable=false")
	createTestTopic(t, tb, "dec", 8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := tb.client(kgo.TransactionalID("tx-dec"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	pid, _, err := cl.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, target := txnTarget(t, tb, "tx-dec", "dec", 8)
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "dec", Partition: target, Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	k := partKey{"dec", target}
	if !openTxnAt(t, tb, k, pid) {
		t.Fatal("the transaction is not open on its partition")
	}

	release := fo.blockSync(txnStateTopic)
	defer release()
	ended := make(chan error, 1)
	go func() { ended <- cl.EndTransaction(ctx, kgo.TryCommit) }()
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if fo.blockedSyncs.Load() == 0 {
			return context.DeadlineExceeded
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond) // room for a marker written too early
	if !openTxnAt(t, tb, k, pid) {
		t.Fatal("the commit marker was written before the decision to commit was durable")
	}
	release()
	if err := <-ended; err != nil {
		t.Fatalf("commit: %v", err)
	}
	if openTxnAt(t, tb, k, pid) {
		t.Fatal("the transaction is still open on its partition after the commit")
	}
}
