package engine

import (
	"context"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A turn that syncs several partitions directly does it with one syncfs
// (log.flush.syncfs.min.partitions). When that syncfs fails, every partition
// of the group answers KAFKA_STORAGE_ERROR, since syncfs cannot say whose
// pages were lost; the partitions take writes again once reopened; and the
// stop writes no clean-shutdown marker, so the next start validates every
// log. Every acknowledged batch is there after it.
func TestFailedSyncfsOfASyncGroup(t *testing.T) {
	var failNext, calls atomic.Int32
	syncfs := func(f *os.File) error {
		calls.Add(1)
		if failNext.CompareAndSwap(1, 0) {
			return errWriteback
		}
		return syncFilesystem(f)
	}
	sets := []string{"num.shards=1", "log.flush.policy=always", "log.flush.wal.enable=false",
		"log.flush.syncfs.min.partitions=2"}
	tb := launchBroker(&testBroker{t: t, dir: t.TempDir(), sets: sets, syncfs: syncfs})
	const parts = 4
	createTestTopic(t, tb, "group", parts)
	cl := fetchClient(tb)
	acked := make(map[int32][]int64)
	// produceAll sends one request with a batch for every partition (one
	// shard turn, as a rule) and returns each partition's error code.
	produceAll := func() []int16 {
		t.Helper()
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks, req.TimeoutMillis = 7, -1, 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "group"
		for p := range int32(parts) {
			rp := kmsg.NewProduceRequestTopicPartition()
			rp.Partition, rp.Records = p, rawBatch(3, -1, -1, -1)
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		codes := make([]int16, parts)
		for _, rp := range resp.Topics[0].Partitions {
			codes[rp.Partition] = rp.ErrorCode
			if rp.ErrorCode == 0 {
				acked[rp.Partition] = append(acked[rp.Partition], rp.BaseOffset)
			}
		}
		return codes
	}
	produceAll()
	var failed int
	for try := 0; try < 20 && failed == 0; try++ {
		before := calls.Load()
		failNext.Store(1)
		codes := produceAll()
		if failNext.Load() == 1 {
			// The turn's partitions were synced one by one this time.
			failNext.Store(0)
			continue
		}
		if calls.Load() == before {
			t.Fatal("the injected failure was used without a syncfs")
		}
		for p, c := range codes {
			switch c {
			case 0:
			case kerr.KafkaStorageError.Code:
				failed++
			default:
				t.Fatalf("group-%d: %v after a failed syncfs, want KAFKA_STORAGE_ERROR", p, kerr.ErrorForCode(c))
			}
		}
		if failed < 2 {
			t.Fatalf("%d partitions answered KAFKA_STORAGE_ERROR after their group's syncfs failed, want every one of the group (2 or more)", failed)
		}
	}
	if failed == 0 {
		t.Fatal("no turn synced its partitions with one syncfs in 20 tries")
	}
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		for _, c := range produceAll() {
			if c != 0 {
				return kerr.ErrorForCode(c)
			}
		}
		return nil
	})

	cl.Close()
	tb.stopAfterFailedSync()
	tb.syncfs = nil
	tb.open()
	cl = fetchClient(tb)
	for p := range int32(parts) {
		got := readPartitionBatchOffsets(t, cl, "group", p)
		for _, off := range acked[p] {
			if !slices.Contains(got, off) {
				t.Fatalf("group-%d lost the acknowledged batch at %d: holds %v", p, off, got)
			}
		}
	}
}
