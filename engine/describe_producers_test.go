package engine

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeProducers lists the idempotent producer that wrote to a partition
// with its id, epoch, last sequence and last batch timestamp; a partition
// nobody wrote to idempotently lists none, an unknown one is an error.
func TestDescribeProducers(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "producers", 2)
	cl := tb.client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	const n = 7
	ts := time.UnixMilli(1_700_000_000_000)
	for i := range n {
		r := &kgo.Record{Topic: "producers", Partition: 0, Value: []byte("v"), Timestamp: ts.Add(time.Duration(i) * time.Millisecond)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	id, epoch, err := cl.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A plain (not idempotent) producer on partition 1 leaves no state.
	plain := tb.client(kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DisableIdempotentWrite())
	if err := plain.ProduceSync(ctx, &kgo.Record{Topic: "producers", Partition: 1, Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	described, err := tb.admin().DescribeProducers(ctx, kadm.TopicsSet{"producers": {0: {}, 1: {}}})
	if err != nil {
		t.Fatal(err)
	}
	p0 := described["producers"].Partitions[0]
	if p0.Err != nil || len(p0.ActiveProducers) != 1 {
		t.Fatalf("partition 0: err %v, producers %+v; want one", p0.Err, p0.ActiveProducers)
	}
	got := p0.ActiveProducers[id]
	want := kadm.DescribedProducer{Leader: 1, Topic: "producers", Partition: 0, ProducerID: id, ProducerEpoch: epoch,
		LastSequence: n - 1, LastTimestamp: ts.Add((n - 1) * time.Millisecond).UnixMilli(), CoordinatorEpoch: -1, CurrentTxnStartOffset: -1}
	if got != want {
		t.Fatalf("partition 0 producer %+v, want %+v", got, want)
	}
	if p1 := described["producers"].Partitions[1]; p1.Err != nil || len(p1.ActiveProducers) != 0 {
		t.Fatalf("partition 1: err %v, producers %+v; want none", p1.Err, p1.ActiveProducers)
	}

	req := kmsg.NewPtrDescribeProducersRequest()
	rt := kmsg.NewDescribeProducersRequestTopic()
	rt.Topic, rt.Partitions = "producers", []int32{5}
	req.Topics = append(req.Topics, rt)
	kresp, err := cl.Broker(1).Request(ctx, req) // past the client's own check of the partition
	if err != nil {
		t.Fatal(err)
	}
	if code := kresp.(*kmsg.DescribeProducersResponse).Topics[0].Partitions[0].ErrorCode; code != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("partition 5 of a 2-partition topic: %v, want UNKNOWN_TOPIC_OR_PARTITION", kerr.ErrorForCode(code))
	}
}
