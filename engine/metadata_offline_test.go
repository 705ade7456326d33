package engine

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/uring"
)

// TestMetadataReportsOfflinePartitionWithoutLeader fails one partition's
// disk: Metadata answers it without a leader (LEADER_NOT_AVAILABLE, this
// broker offline), as Kafka does for a partition on a failed log
// directory, so a producer spreads keyless records over the partitions
// that can take them and none fails; once the disk answers again the
// partition has its leader back.
func TestMetadataReportsOfflinePartitionWithoutLeader(t *testing.T) {
	fo := newFaultOpener(uring.PwriteOpener{})
	tb := startBrokerWith(t, fo, "num.shards=1", "log.flush.policy=always", "log.flush.wal.enable=false")
	createTestTopic(t, tb, "mo", 3)
	cl := fetchClient(tb)
	if code, _ := produceCode(t, cl, "mo"); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	node := tb.cfg.NodeID
	partitions := func() []kmsg.MetadataResponseTopicPartition { return metadataPartitions(t, cl, "mo") }
	led := func(p kmsg.MetadataResponseTopicPartition) error {
		if p.ErrorCode != 0 || p.Leader != node || len(p.OfflineReplicas) != 0 {
			return fmt.Errorf("partition %d: %v, leader %d, offline %v; want a leader (%d) and none offline",
				p.Partition, kerr.ErrorForCode(p.ErrorCode), p.Leader, p.OfflineReplicas, node)
		}
		return nil
	}
	for _, p := range partitions() {
		if err := led(p); err != nil {
			t.Fatal(err)
		}
	}

	// A failed fdatasync fails the log; the open fault fails its reopens.
	fo.setSync("mo-0", syscall.EIO)
	fo.setOpen("mo-0", syscall.EIO)
	if code, _ := produceCode(t, cl, "mo"); code != kerr.KafkaStorageError.Code {
		t.Fatalf("produce with failing fdatasync: %v", kerr.ErrorForCode(code))
	}
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		ps := partitions()
		if p := ps[0]; p.ErrorCode != kerr.LeaderNotAvailable.Code || p.Leader != -1 || !slices.Equal(p.OfflineReplicas, []int32{node}) {
			return fmt.Errorf("failed partition: %v, leader %d, offline %v; want LEADER_NOT_AVAILABLE, -1, [%d]",
				kerr.ErrorForCode(p.ErrorCode), p.Leader, p.OfflineReplicas, node)
		}
		for _, p := range ps[1:] {
			if err := led(p); err != nil {
				t.Fatal(err)
			}
		}
		return nil
	})

	// Keyless records, round robin over the partitions with a leader.
	prod := tb.client(kgo.DefaultProduceTopic("mo"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.RecordDeliveryTimeout(5*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 30 {
		r := &kgo.Record{Value: fmt.Appendf(nil, "v%d", i)}
		if err := prod.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("keyless record %d while partition 0 is offline: %v", i, err)
		}
		if r.Partition == 0 {
			t.Fatalf("keyless record %d sent to the offline partition", i)
		}
	}

	fo.setSync("mo-0", nil)
	fo.setOpen("mo-0", nil)
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error { return led(partitions()[0]) })
	if code, _ := produceCode(t, cl, "mo"); code != 0 {
		t.Fatalf("produce after the fault cleared: %v", kerr.ErrorForCode(code))
	}
}

// metadataPartitions returns topic's partitions as Metadata answers them.
func metadataPartitions(t *testing.T, cl *kgo.Client, topic string) []kmsg.MetadataResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions
}

// A log that fails inside an append (here a roll whose fdatasync fails) is
// reported without a leader too, without waiting for another produce: the failed produce schedules
// the reopen, and the partition is offline until it has finished.
func TestMetadataOfflineAfterFailedAppend(t *testing.T) {
	fo := newFaultOpener(uring.PwriteOpener{})
	tb := startBrokerWith(t, fo, "num.shards=1", "log.flush.policy=never", "log.segment.bytes=1024", "log.flush.wal.enable=false")
	createTestTopic(t, tb, "fs", 1)
	cl := fetchClient(tb)
	node := tb.cfg.NodeID
	big := func() int16 { // 120 records: over 1 KiB, a segment of its own
		return produceRaw(t, cl, "fs", 0, 11, rawBatch(120, -1, -1, -1)).ErrorCode
	}
	if code := big(); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	// The reopen's recovery reads hang, so the partition stays without a
	// log until released.
	release := fo.blockRead("fs-0")
	defer release()
	fo.setSync("fs-0", syscall.EIO)
	// A roll now fails the log: writing the recovery point before the seal,
	// or (once there is one) the seal itself, which the next roll waits for.
	failed := false
	for range 3 {
		code := big()
		if code == kerr.KafkaStorageError.Code {
			failed = true
			break
		}
		if code != 0 {
			t.Fatal(kerr.ErrorForCode(code))
		}
	}
	if !failed {
		t.Fatal("no produce failed although every roll's fdatasync fails")
	}
	// No further produce: the failed one must be enough.
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if p := metadataPartitions(t, cl, "fs")[0]; p.ErrorCode != kerr.LeaderNotAvailable.Code || p.Leader != -1 || !slices.Equal(p.OfflineReplicas, []int32{node}) {
			return fmt.Errorf("failed partition: %v, leader %d, offline %v; want LEADER_NOT_AVAILABLE, -1, [%d]",
				kerr.ErrorForCode(p.ErrorCode), p.Leader, p.OfflineReplicas, node)
		}
		return nil
	})
	fo.setSync("fs-0", nil)
	release()
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		if p := metadataPartitions(t, cl, "fs")[0]; p.ErrorCode != 0 || p.Leader != node || len(p.OfflineReplicas) != 0 {
			return fmt.Errorf("after the fault cleared: %v, leader %d, offline %v", kerr.ErrorForCode(p.ErrorCode), p.Leader, p.OfflineReplicas)
		}
		return nil
	})
	if code := big(); code != 0 {
		t.Fatalf("produce after the fault cleared: %v", kerr.ErrorForCode(code))
	}
}

// A partition closed or removed says nothing about the partition that took
// its key since (a topic deleted and created again in one reconcile pass,
// whose new partition could not open): a late note from the old one, as
// writeTurn makes for a removed partition whose produce shared the turn,
// must not clear the new one's entry.
func TestOfflineNoteOfReplacedPartitionKeepsNewOne(t *testing.T) {
	b := &Broker{}
	s := &shard{b: b}
	k := partKey{"re", 0}
	old := &partition{key: k, shard: s}
	old.noteOffline() // no log: offline
	old.closed = true // removed
	old.noteOffline()
	if b.offline.has(k) {
		t.Fatal("a removed partition is still offline")
	}
	fresh := &partition{key: k, shard: s} // served offline: its open failed
	fresh.noteOffline()
	if !b.offline.has(k) {
		t.Fatal("the new partition without a log is not offline")
	}
	old.noteOffline() // the removed partition's late note
	if !b.offline.has(k) {
		t.Fatal("a late note of the removed partition cleared the new partition's entry")
	}
	if n := b.offline.n.Load(); n != 1 {
		t.Fatalf("count %d, want 1", n)
	}
	fresh.closed = true
	fresh.noteOffline()
	if b.offline.has(k) || b.offline.n.Load() != 0 {
		t.Fatalf("after the new partition closed: has %v, count %d", b.offline.has(k), b.offline.n.Load())
	}
}

// TestFindCoordinatorWhileOffsetsPartitionOffline fails the disk of the
// __consumer_offsets partition a group lives on: FindCoordinator answers
// COORDINATOR_NOT_AVAILABLE (clients retry the lookup) instead of sending
// the group to a coordinator that cannot store its offsets, and names the
// coordinator again once the partition is back.
func TestFindCoordinatorWhileOffsetsPartitionOffline(t *testing.T) {
	fo, tb, _ := startFaultBroker(t, uring.PwriteOpener{}, []string{"offsets.topic.num.partitions=1"}, "fc")
	adm := tb.admin()
	commit := func(ctx context.Context) error {
		offs := make(kadm.Offsets)
		offs.AddOffset("fc", 0, 1, -1)
		resp, err := adm.CommitOffsets(ctx, "fc-group", offs)
		if err != nil {
			return err
		}
		return resp.Error()
	}
	if err := commit(adminCtx(t)); err != nil {
		t.Fatal(err)
	}
	find := func() kmsg.FindCoordinatorResponseCoordinator {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKeys = []string{"fc-group"}
		body, err := rawExchange(t, tb.addr, encodeRequest(req, 4))
		if err != nil {
			t.Fatal(err)
		}
		resp := kmsg.NewPtrFindCoordinatorResponse()
		resp.Version = 4
		if err := resp.ReadFrom(body[5:]); err != nil { // correlation id, empty tags
			t.Fatal(err)
		}
		return resp.Coordinators[0]
	}
	if c := find(); c.ErrorCode != 0 || c.NodeID != tb.cfg.NodeID {
		t.Fatalf("coordinator before the fault: %v, node %d", kerr.ErrorForCode(c.ErrorCode), c.NodeID)
	}
	fo.setSync("__consumer_offsets-0", syscall.EIO)
	fo.setOpen("__consumer_offsets-0", syscall.EIO)
	// Fails the offsets log, and its reopens fail too; the client would
	// retry the commit for as long as it may.
	short, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = commit(short)
	cancel()
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if c := find(); c.ErrorCode != kerr.CoordinatorNotAvailable.Code || c.NodeID != -1 {
			return fmt.Errorf("coordinator while its offsets partition is offline: %v, node %d; want COORDINATOR_NOT_AVAILABLE, -1",
				kerr.ErrorForCode(c.ErrorCode), c.NodeID)
		}
		return nil
	})
	fo.setSync("__consumer_offsets-0", nil)
	fo.setOpen("__consumer_offsets-0", nil)
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		if c := find(); c.ErrorCode != 0 || c.NodeID != tb.cfg.NodeID {
			return fmt.Errorf("coordinator after the fault: %v, node %d", kerr.ErrorForCode(c.ErrorCode), c.NodeID)
		}
		return nil
	})
	if err := commit(adminCtx(t)); err != nil {
		t.Fatalf("commit after the fault cleared: %v", err)
	}
}

// TestFailedSealIsAppliedWithoutFurtherWrites fails the fdatasync of a
// rolled segment's seal, which runs on the shard's sealer after the produce
// that rolled it was answered (flush policy never): the log must be failed
// and reopened from disk at once (offline meanwhile), not only when a
// later produce happens to find the failure.
func TestFailedSealIsAppliedWithoutFurtherWrites(t *testing.T) {
	fo := newFaultOpener(uring.PwriteOpener{})
	tb := startBrokerWith(t, fo, "num.shards=1", "log.flush.policy=never", "log.segment.bytes=1024")
	createTestTopic(t, tb, "sf", 1)
	cl := fetchClient(tb)
	if r := produceRaw(t, cl, "sf", 0, 11, rawBatch(200, -1, -1, -1)); r.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(r.ErrorCode))
	}
	// The first segment's files: its seal's fdatasyncs fail, once the
	// produce that rolled it has been answered (a failure the sealer
	// reported within that produce's turn failed the produce instead, and
	// the test then proved nothing about a quiet partition).
	fo.setSync("sf-0/00000000000000000000.", syscall.EIO)
	release := fo.blockSync("sf-0/00000000000000000000.")
	defer release()
	if r := produceRaw(t, cl, "sf", 0, 11, rawBatch(200, -1, -1, -1)); r.ErrorCode != 0 || r.BaseOffset != 200 {
		t.Fatalf("produce that rolls: %v at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if fo.blockedSyncs.Load() == 0 {
			return fmt.Errorf("the seal has not started")
		}
		return nil
	})
	release()
	// Its reopens re-seal the segment and fail too while the fault lasts.
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if !tb.b.offline.has(partKey{"sf", 0}) || tb.b.Metrics().ReopenFailures == 0 {
			return fmt.Errorf("the log whose seal failed is not offline and being reopened")
		}
		return nil
	})
	fo.setSync("sf-0/00000000000000000000.", nil)
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		if tb.b.offline.has(partKey{"sf", 0}) {
			return fmt.Errorf("partition offline after its reopen")
		}
		return nil
	})
	if r := produceRaw(t, cl, "sf", 0, 11, rawBatch(200, -1, -1, -1)); r.ErrorCode != 0 || r.BaseOffset != 400 {
		t.Fatalf("produce after the reopen: %v at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
}
