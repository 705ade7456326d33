package engine

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/uring"
)

// syncGroupSets sync every partition file directly, a turn of two or more
// partitions with one syncfs.
var syncGroupSets = []string{"num.shards=1", "log.flush.policy=always", "log.flush.wal.enable=false",
	"log.flush.syncfs.min.partitions=2"}

// produceToEveryPartition sends one request with a batch for each of the
// topic's parts partitions: one shard turn with one shard. It returns each
// partition's answer.
func produceToEveryPartition(cl *kgo.Client, topic string, parts int32) ([]kmsg.ProduceResponseTopicPartition, error) {
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 7, -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	for p := range parts {
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = p, rawBatch(3, -1, -1, -1)
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	out := make([]kmsg.ProduceResponseTopicPartition, parts)
	for _, rp := range resp.Topics[0].Partitions {
		out[rp.Partition] = rp
	}
	return out, nil
}

// everyOneFailed says whether every partition answered
// KAFKA_STORAGE_ERROR.
func everyOneFailed(answers []kmsg.ProduceResponseTopicPartition) error {
	for p, a := range answers {
		if a.ErrorCode != kerr.KafkaStorageError.Code {
			return fmt.Errorf("partition %d answered %v, want KAFKA_STORAGE_ERROR", p, kerr.ErrorForCode(a.ErrorCode))
		}
	}
	return nil
}

// A turn that syncs several partitions directly does it with one syncfs
// (log.flush.syncfs.min.partitions). When that syncfs fails, every partition
// of the group answers KAFKA_STORAGE_ERROR, since syncfs cannot say whose
// pages were lost; the partitions take writes again once reopened; and the
// stop writes no clean-shutdown marker, so the next start validates every
// log. Every acknowledged batch is there after it.
func TestFailedSyncfsOfASyncGroup(t *testing.T) {
	var failNext atomic.Bool
	syncfs := func(f *os.File) error {
		if failNext.CompareAndSwap(true, false) {
			return errWriteback
		}
		return syncFilesystem(f)
	}
	tb := launchBroker(&testBroker{t: t, dir: t.TempDir(), sets: syncGroupSets, syncfs: syncfs})
	const parts = 4
	createTestTopic(t, tb, "group", parts)
	cl := fetchClient(tb)
	acked := make(map[int32][]int64)
	produce := func() []kmsg.ProduceResponseTopicPartition {
		t.Helper()
		answers, err := produceToEveryPartition(cl, "group", parts)
		if err != nil {
			t.Fatal(err)
		}
		for p, a := range answers {
			if a.ErrorCode == 0 {
				acked[int32(p)] = append(acked[int32(p)], a.BaseOffset)
			}
		}
		return answers
	}
	produce()
	failNext.Store(true)
	answers := produce()
	if failNext.Load() {
		t.Fatal("the turn of every partition was not synced with one syncfs")
	}
	if err := everyOneFailed(answers); err != nil {
		t.Fatalf("after their group's syncfs failed: %v", err)
	}
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		for _, a := range produce() {
			if a.ErrorCode != 0 {
				return kerr.ErrorForCode(a.ErrorCode)
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

// A syncfs reports a writeback error once per descriptor, so the syncfs of
// a turn queued behind a failing one returns success though the failing
// one may have written back, and lost, that turn's pages: such a turn is
// answered KAFKA_STORAGE_ERROR too.
func TestSyncGroupBehindAFailedSyncfsFails(t *testing.T) {
	var inject atomic.Bool
	holding, release := make(chan struct{}), make(chan struct{})
	syncfs := func(f *os.File) error {
		err := syncFilesystem(f)
		if inject.CompareAndSwap(true, false) {
			close(holding)
			<-release
			return errWriteback
		}
		return err // the error went to the first syncfs through f
	}
	tb := launchBroker(&testBroker{t: t, dir: t.TempDir(), sets: syncGroupSets, syncfs: syncfs})
	const parts = 4
	createTestTopic(t, tb, "behind", parts)
	cl := fetchClient(tb)
	if _, err := produceToEveryPartition(cl, "behind", parts); err != nil {
		t.Fatal(err)
	}
	type result struct {
		answers []kmsg.ProduceResponseTopicPartition
		err     error
	}
	send := func() chan result {
		c := make(chan result, 1)
		go func() {
			a, err := produceToEveryPartition(cl, "behind", parts)
			c <- result{a, err}
		}()
		return c
	}
	inject.Store(true)
	first := send()
	<-holding
	second := send()
	// The second turn has written its pages and waits behind the first.
	s := tb.b.shards[0]
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if len(s.syncQ) == 0 {
			return fmt.Errorf("the second turn is not queued")
		}
		return nil
	})
	close(release)
	for i, c := range []chan result{first, second} {
		r := <-c
		if r.err != nil {
			t.Fatal(r.err)
		}
		if err := everyOneFailed(r.answers); err != nil {
			t.Fatalf("turn %d: %v", i+1, err)
		}
	}
	cl.Close()
	tb.stopAfterFailedSync()
}

// After a syncfs that succeeded, each partition of the group still syncs
// its own file, which then has nothing left to write but reports that
// file's writeback error: the kernel reports one to the first syncfs
// through each descriptor only, and an earlier syncfs may have taken it. A
// partition whose file reports one answers KAFKA_STORAGE_ERROR; the others
// of the group are acknowledged.
func TestSyncGroupHearsEachFilesOwnError(t *testing.T) {
	fo := newFaultOpener(uring.PwriteOpener{})
	var syncfsCalls atomic.Int32
	syncfs := func(f *os.File) error {
		syncfsCalls.Add(1)
		return syncFilesystem(f)
	}
	tb := launchBroker(&testBroker{t: t, dir: t.TempDir(), sets: syncGroupSets, syncfs: syncfs, opener: fo})
	const parts = 4
	createTestTopic(t, tb, "own", parts)
	cl := fetchClient(tb)
	if _, err := produceToEveryPartition(cl, "own", parts); err != nil {
		t.Fatal(err)
	}
	fo.setSync("own-2", errWriteback) // its pages' writeback failed
	before := syncfsCalls.Load()
	answers, err := produceToEveryPartition(cl, "own", parts)
	if err != nil {
		t.Fatal(err)
	}
	if syncfsCalls.Load() == before {
		t.Fatal("the turn of every partition was not synced with one syncfs")
	}
	for p, a := range answers {
		want := int16(0)
		if p == 2 {
			want = kerr.KafkaStorageError.Code
		}
		if a.ErrorCode != want {
			t.Fatalf("own-%d answered %v, want %v", p, kerr.ErrorForCode(a.ErrorCode), kerr.ErrorForCode(want))
		}
	}
	fo.setSync("own-2", nil)
	cl.Close()
}
