package engine

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/meta"
)

// startFollowingBroker starts a broker (node 1) that follows partition 0
// of topic "led-elsewhere", led by broker 2 at 127.0.0.1:1 in rack r2, and
// returns the topic's id.
func startFollowingBroker(t *testing.T) (*testBroker, [16]byte) {
	t.Helper()
	tb := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := tb.store.Propose(ctx, []meta.Op{{Kind: meta.OpRegisterBroker, Broker: &meta.Broker{NodeID: 2, Host: "127.0.0.1", Port: 1, Rack: "r2"}}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("register broker 2: %v %v", err, res)
	}
	creq := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = "led-elsewhere", -1, -1
	a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	a.Partition, a.Replicas = 0, []int32{2, 1} // broker 2 leads, this broker (1) follows
	ct.ReplicaAssignment = append(ct.ReplicaAssignment, a)
	creq.Topics = append(creq.Topics, ct)
	cresp, err := creq.RequestWith(ctx, tb.client())
	if err != nil || cresp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create: %v %+v", err, cresp)
	}
	return tb, cresp.Topics[0].TopicID
}

// A broker that only follows a partition refuses produces to it with
// NOT_LEADER_OR_FOLLOWER, as Kafka does (the records would never reach the
// leader's log), and from v10 names the leader and its address (KIP-951).
func TestProduceToAFollowerIsRefused(t *testing.T) {
	tb, _ := startFollowingBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, version := range []int16{9, 11} {
		preq := produceRequestOf("led-elsewhere", 0, -1, rawBatch(3, -1, -1, -1))
		resp, err := pinnedClient(tb, 0, version).Broker(1).Request(ctx, preq)
		if err != nil {
			t.Fatal(err)
		}
		presp := resp.(*kmsg.ProduceResponse)
		if presp.Version != version {
			t.Fatalf("answered at v%d, want v%d", presp.Version, version)
		}
		p := presp.Topics[0].Partitions[0]
		if p.ErrorCode != kerr.NotLeaderForPartition.Code {
			t.Fatalf("v%d produce to a follower: %v at offset %d, want NOT_LEADER_OR_FOLLOWER", version, kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
		}
		if version < 10 {
			continue
		}
		if p.CurrentLeader.LeaderID != 2 || p.CurrentLeader.LeaderEpoch < 0 {
			t.Fatalf("v%d current leader %+v, want broker 2 with its epoch", version, p.CurrentLeader)
		}
		if len(presp.Brokers) != 1 || presp.Brokers[0].NodeID != 2 || presp.Brokers[0].Host != "127.0.0.1" ||
			presp.Brokers[0].Port != 1 || presp.Brokers[0].Rack == nil || *presp.Brokers[0].Rack != "r2" {
			t.Fatalf("v%d node endpoints %+v, want broker 2 at 127.0.0.1:1 in rack r2", version, presp.Brokers)
		}
	}
}

// A broker that only follows a partition holds none of its records, so a
// consumer fetching there (stale metadata) must be sent to the leader, not
// answered from an empty log: OFFSET_OUT_OF_RANGE there would reset its
// position. From v12 the answer names the leader, from v16 its address.
func TestFetchFromAFollowerIsRefused(t *testing.T) {
	tb, topicID := startFollowingBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, version := range []int16{4, 11, 12, 16} {
		freq := kmsg.NewPtrFetchRequest()
		freq.ReplicaID, freq.MaxWaitMillis, freq.MinBytes, freq.MaxBytes = -1, 500, 1, 1<<20
		ft := kmsg.NewFetchRequestTopic()
		ft.Topic, ft.TopicID = "led-elsewhere", topicID
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition, fp.FetchOffset, fp.PartitionMaxBytes = 0, 5, 1<<20
		fp.CurrentLeaderEpoch = -1
		ft.Partitions = append(ft.Partitions, fp)
		freq.Topics = append(freq.Topics, ft)
		resp, err := pinnedClient(tb, 1, version).Broker(1).Request(ctx, freq)
		if err != nil {
			t.Fatal(err)
		}
		fresp := resp.(*kmsg.FetchResponse)
		if fresp.Version != version {
			t.Fatalf("answered at v%d, want v%d", fresp.Version, version)
		}
		if fresp.ErrorCode != 0 || len(fresp.Topics) != 1 || len(fresp.Topics[0].Partitions) != 1 {
			t.Fatalf("v%d fetch: %+v", version, fresp)
		}
		p := fresp.Topics[0].Partitions[0]
		if p.ErrorCode != kerr.NotLeaderForPartition.Code || len(p.RecordBatches) != 0 {
			t.Fatalf("v%d fetch from a follower: %v with %d bytes, want NOT_LEADER_OR_FOLLOWER", version, kerr.ErrorForCode(p.ErrorCode), len(p.RecordBatches))
		}
		if version < 12 {
			continue
		}
		if p.CurrentLeader.LeaderID != 2 || p.CurrentLeader.LeaderEpoch < 0 {
			t.Fatalf("v%d current leader %+v, want broker 2 with its epoch", version, p.CurrentLeader)
		}
		if version < 16 {
			continue
		}
		if len(fresp.Brokers) != 1 || fresp.Brokers[0].NodeID != 2 || fresp.Brokers[0].Host != "127.0.0.1" ||
			fresp.Brokers[0].Port != 1 || fresp.Brokers[0].Rack == nil || *fresp.Brokers[0].Rack != "r2" {
			t.Fatalf("v%d node endpoints %+v, want broker 2 at 127.0.0.1:1 in rack r2", version, fresp.Brokers)
		}
	}
}
