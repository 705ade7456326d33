package engine

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Transactional offset commits stay pending until their transaction ends:
// RequireStable fetches answer UNSTABLE_OFFSET_COMMIT, plain ones the last
// committed offset; a commit applies them, an abort drops them, and a
// pending one survives a restart and is committed after it.
func TestTransactionalOffsetsPendingUntilTheEnd(t *testing.T) {
	tb := startBroker(t, "listeners=PLAINTEXT://"+freeLoopbackAddr(t))
	createTestTopic(t, tb, "txo", 1)
	ctx := context.Background()
	cl := tb.client(kgo.TransactionalID("tx-o"), kgo.DefaultProduceTopic("txo"), kgo.TransactionTimeout(time.Minute))
	plain := tb.client()
	fetch := func(stable bool) (int64, int16) {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = 8
		req.RequireStable = stable
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = "grp"
		rg.Topics = []kmsg.OffsetFetchRequestGroupTopic{{Topic: "txo", Partitions: []int32{0}}}
		req.Groups = []kmsg.OffsetFetchRequestGroup{rg}
		resp, err := req.RequestWith(ctx, plain)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Groups[0].ErrorCode != 0 {
			t.Fatalf("OffsetFetch: group error %d", resp.Groups[0].ErrorCode)
		}
		p := resp.Groups[0].Topics[0].Partitions[0]
		return p.Offset, p.ErrorCode
	}
	txnCommit := func(offset int64) {
		pid, epoch, err := cl.ProducerID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		add := kmsg.NewPtrAddOffsetsToTxnRequest()
		add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = "tx-o", pid, epoch, "grp"
		ar, err := add.RequestWith(ctx, cl)
		if err != nil || ar.ErrorCode != 0 {
			t.Fatalf("add offsets: %v %d", err, ar.ErrorCode)
		}
		req := kmsg.NewPtrTxnOffsetCommitRequest()
		req.Version = 3
		req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = "tx-o", "grp", pid, epoch
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = 0, offset
		req.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: "txo", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{rp}}}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || resp.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("txn offset commit: %v %+v", err, resp)
		}
	}
	begin := func() {
		beginTxn(t, cl, &kgo.Record{Value: []byte("v")})
	}
	begin()
	txnCommit(5)
	if o, c := fetch(true); c != 88 {
		t.Fatalf("stable fetch while pending: %d %d", o, c)
	}
	if o, c := fetch(false); o != -1 || c != 0 {
		t.Fatalf("fetch while pending: %d %d", o, c)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	if o, c := fetch(true); o != 5 || c != 0 {
		t.Fatalf("after commit: %d %d", o, c)
	}
	begin()
	txnCommit(9)
	if err := cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	if o, c := fetch(true); o != 5 || c != 0 {
		t.Fatalf("after abort: %d %d", o, c)
	}
	begin()
	txnCommit(12)
	tb.restart()
	if o, c := fetch(true); c != 88 {
		t.Fatalf("stable fetch pending after restart: %d %d", o, c)
	}
	if o, c := fetch(false); o != 5 || c != 0 {
		t.Fatalf("fetch after restart: %d %d", o, c)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	if o, c := fetch(true); o != 12 || c != 0 {
		t.Fatalf("after commit post-restart: %d %d", o, c)
	}
	tb.restart()
	if o, c := fetch(true); o != 12 || c != 0 {
		t.Fatalf("after second restart: %d %d", o, c)
	}
}
