package engine

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// writeTxnMarker sends WriteTxnMarkers for one partition of a producer, as
// kafka-transactions.sh abort does, and returns the partition's error.
func writeTxnMarker(t *testing.T, cl *kgo.Client, topic string, partition int32, pid int64, epoch int16, commit bool) error {
	t.Helper()
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	m := kmsg.NewWriteTxnMarkersRequestMarker()
	m.ProducerID, m.ProducerEpoch, m.Committed, m.CoordinatorEpoch = pid, epoch, commit, 0
	m.Topics = []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: topic, Partitions: []int32{partition}}}
	req.Markers = []kmsg.WriteTxnMarkersRequestMarker{m}
	// Straight to the broker: the client would look the partition up first.
	raw, err := cl.SeedBrokers()[0].Request(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	resp := raw.(*kmsg.WriteTxnMarkersResponse)
	if len(resp.Markers) != 1 || resp.Markers[0].ProducerID != pid || len(resp.Markers[0].Topics) != 1 ||
		resp.Markers[0].Topics[0].Topic != topic || len(resp.Markers[0].Topics[0].Partitions) != 1 ||
		resp.Markers[0].Topics[0].Partitions[0].Partition != partition {
		t.Fatalf("WriteTxnMarkers answer %+v does not match its request", resp)
	}
	return kerr.ErrorForCode(resp.Markers[0].Topics[0].Partitions[0].ErrorCode)
}

// An admin tool ends a transaction left open on a partition (a hanging
// one, found with DescribeProducers) with WriteTxnMarkers: its records are
// aborted, the last stable offset moves on, and offsets the transaction
// sent to a group are dropped; a marker at an older epoch than the
// producer's is refused.
func TestWriteTxnMarkersAbortsAnOpenTransaction(t *testing.T) {
	tb := startBroker(t, "offsets.topic.num.partitions=1")
	createTestTopic(t, tb, "hang", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := tb.client(kgo.TransactionalID("tx-hang"), kgo.DefaultProduceTopic("hang"), kgo.ProducerLinger(0))
	defer cl.Close()
	produce := func(v string) {
		t.Helper()
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produce("open-1")
	produce("open-2")
	txnCommitOffset(t, cl, "tx-hang", "g-hang", "hang", 2)
	if _, code := committedOffset(t, cl, "g-hang", "hang"); code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("offset fetch while the offset is pending: code %d, want UNSTABLE_OFFSET_COMMIT", code)
	}
	described, err := tb.admin().DescribeProducers(ctx, kadm.TopicsSet{"hang": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	var open kadm.DescribedProducer
	described.EachProducer(func(p kadm.DescribedProducer) { open = p })
	if open.CurrentTxnStartOffset != 0 {
		t.Fatalf("DescribeProducers: %+v, want a transaction open from offset 0", open)
	}
	if committed, latest := stableEnds(t, tb, "hang"); committed[0] != 0 || latest[0] != 2 {
		t.Fatalf("before the abort: last stable offset %d, end %d; want 0 and 2", committed[0], latest[0])
	}

	admin := tb.client()
	defer admin.Close()
	if err := writeTxnMarker(t, admin, "hang", 0, open.ProducerID, int16(open.ProducerEpoch), false); err != nil {
		t.Fatalf("abort: %v", err)
	}
	if err := writeTxnMarker(t, admin, offsetsTopic, 0, open.ProducerID, int16(open.ProducerEpoch), false); err != nil {
		t.Fatalf("abort on %s: %v", offsetsTopic, err)
	}
	if committed, latest := stableEnds(t, tb, "hang"); committed[0] != 3 || latest[0] != 3 {
		t.Fatalf("after the abort: last stable offset %d, end %d; want 3 and 3", committed[0], latest[0])
	}
	if off, code := committedOffset(t, cl, "g-hang", "hang"); code != 0 || off != -1 {
		t.Fatalf("offset fetch after the abort: offset %d, code %d; want none committed", off, code)
	}
	described, err = tb.admin().DescribeProducers(ctx, kadm.TopicsSet{"hang": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	described.EachProducer(func(p kadm.DescribedProducer) {
		if p.CurrentTxnStartOffset != -1 {
			t.Fatalf("DescribeProducers after the abort: %+v, want no open transaction", p)
		}
	})
	// The coordinator still ends the transaction it knows of; its marker
	// changes nothing here.
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produce("committed")
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	if got := readValues(t, tb, "hang", true, 1); !slices.Equal(got, []string{"committed"}) {
		t.Fatalf("read_committed: %q, want only the later transaction's record", got)
	}

	// A marker that bumps the epoch fences the producer here; one at an
	// older epoch is refused.
	if err := writeTxnMarker(t, admin, "hang", 0, open.ProducerID, int16(open.ProducerEpoch)+1, false); err != nil {
		t.Fatalf("abort at a newer epoch: %v", err)
	}
	if err := writeTxnMarker(t, admin, "hang", 0, open.ProducerID, int16(open.ProducerEpoch), false); err != kerr.InvalidProducerEpoch {
		t.Fatalf("abort at an older epoch: %v, want INVALID_PRODUCER_EPOCH", err)
	}
	if err := writeTxnMarker(t, admin, "nope", 0, open.ProducerID, int16(open.ProducerEpoch), false); err != kerr.UnknownTopicOrPartition {
		t.Fatalf("abort on an unknown topic: %v, want UNKNOWN_TOPIC_OR_PARTITION", err)
	}
	if err := writeTxnMarker(t, admin, "hang", 0, -1, 0, false); err != kerr.InvalidRequest {
		t.Fatalf("a marker of producer -1: %v, want INVALID_REQUEST", err)
	}
	described, err = tb.admin().DescribeProducers(ctx, kadm.TopicsSet{"hang": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	described.EachProducer(func(p kadm.DescribedProducer) {
		if p.ProducerID < 0 {
			t.Fatalf("DescribeProducers lists %+v", p)
		}
	})
}
