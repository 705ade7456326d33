package raftmeta

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chronik-go/chronik/engine/meta"
)

func TestOpenNewClusterIsReady(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{ClusterID: "c-1", NodeID: 7})
	defer closeStore(t, s)
	cur := s.Current()
	if cur == nil || cur.ClusterID != "c-1" || cur.ControllerID != 7 {
		t.Fatalf("Current after Open = %+v, want cluster c-1 with controller 7", cur)
	}
	if len(cur.Topics) != 0 || len(cur.Brokers) != 0 {
		t.Fatalf("new cluster is not empty: %+v", cur)
	}
	if err := s.Health(); err != nil {
		t.Fatalf("Health = %v", err)
	}
}

func TestCreateAndDeleteTopics(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	defer closeStore(t, s)
	mustApply(t, s, registerBroker(1))
	mustApply(t, s, createTopic("orders", 1, 100))

	cur := s.Current()
	orders := cur.Topics["orders"]
	if orders == nil || len(orders.Partitions) != 100 {
		t.Fatalf("after create, orders = %+v", orders)
	}
	if b := cur.Brokers[1]; b.Host != "127.0.0.1" {
		t.Fatalf("broker 1 = %+v", b)
	}

	mustApply(t, s, meta.Op{Kind: meta.OpDeleteTopics, Names: []string{"orders"}})
	if _, ok := s.Current().Topics["orders"]; ok {
		t.Fatalf("orders still present after delete")
	}
	if cur.Topics["orders"] == nil {
		t.Fatalf("an older snapshot changed after the delete")
	}
}

func TestProposeResultsPerOp(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	defer closeStore(t, s)
	mustApply(t, s, registerBroker(1), createTopic("a", 1, 3))

	res := propose(t, s,
		createTopic("b", 2, 1),
		createTopic("a", 3, 1),
		meta.Op{Kind: meta.OpDeleteTopics, Names: []string{"nope"}},
		meta.Op{Kind: meta.OpCreatePartitions, Names: []string{"a"}},
		meta.Op{Kind: meta.OpCreatePartitions, Names: []string{"a"}, NewPartitions: createTopic("", 0, 2).Topics[0].Partitions},
		meta.Op{Kind: meta.OpCreateTopics, Topics: []meta.Topic{{Name: "c", ID: meta.TopicID{9}, Partitions: []meta.Partition{{Leader: 5, Replicas: []int32{5}}}}}},
		meta.Op{Kind: meta.OpAllocateProducerIDs, Count: 100},
		meta.Op{Kind: meta.OpAllocateProducerIDs, Count: 100},
	)
	want := []error{nil, meta.ErrTopicExists, meta.ErrUnknownTopic, meta.ErrInvalidPartitions, nil, meta.ErrUnknownBroker, nil, nil}
	for i, w := range want {
		if (w == nil && res[i].Err != nil) || !errors.Is(res[i].Err, w) {
			t.Errorf("op %d: err = %v, want %v", i, res[i].Err, w)
		}
	}
	if res[6].FirstProducerID != 0 || res[7].FirstProducerID != 100 {
		t.Errorf("producer id blocks start at %d, %d; want 0, 100", res[6].FirstProducerID, res[7].FirstProducerID)
	}
	cur := s.Current()
	if _, ok := cur.Topics["b"]; !ok {
		t.Errorf("topic b missing")
	}
	if n := len(cur.Topics["a"].Partitions); n != 5 {
		t.Errorf("topic a has %d partitions, want 5", n)
	}
	if _, ok := cur.Topics["c"]; ok {
		t.Errorf("topic c on an unknown broker was created")
	}
}

func TestConcurrentProposalsAppliedOnce(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	mustApply(t, s, registerBroker(1))
	syncsBefore := s.syncs.count.Load()

	const n = 50
	var wg sync.WaitGroup
	firstIDs := make([]int64, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := s.Propose(ctx, []meta.Op{
				createTopic(fmt.Sprintf("t-%02d", i), uint32(100+i), 4),
				{Kind: meta.OpAllocateProducerIDs, Count: 1},
			})
			if err == nil {
				err = errors.Join(res[0].Err, res[1].Err)
				firstIDs[i] = res[1].FirstProducerID
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("proposal %d: %v", i, err)
		}
	}
	seen := map[int64]bool{}
	for _, id := range firstIDs {
		if id < 0 || id >= n || seen[id] {
			t.Fatalf("producer ids %v are not exactly 0..%d", firstIDs, n-1)
		}
		seen[id] = true
	}
	syncs := s.syncs.count.Load() - syncsBefore
	t.Logf("%d concurrent proposals took %d log syncs", n, syncs)
	if syncs > n/2 {
		t.Errorf("%d concurrent proposals took %d syncs; want them batched", n, syncs)
	}
	want := s.Current()
	if len(want.Topics) != n || want.NextProducerID != n {
		t.Fatalf("after %d proposals: %d topics, next producer id %d", n, len(want.Topics), want.NextProducerID)
	}
	closeStore(t, s)

	// Replaying the log applies each entry once more, not twice.
	s = openStore(t, dir, Options{})
	defer closeStore(t, s)
	sameMetadata(t, s.Current(), want)
}

func TestWatchDeliversNewSnapshots(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ch, cancel := s.Watch()
	defer cancel()

	first := <-ch
	if first != s.Current() {
		t.Fatalf("Watch did not start with the current snapshot")
	}
	mustApply(t, s, registerBroker(1), createTopic("w", 1, 1))
	timeout := time.After(10 * time.Second)
	for got := false; !got; {
		select {
		case snap := <-ch:
			_, got = snap.Topics["w"]
		case <-timeout:
			t.Fatal("no snapshot with topic w delivered")
		}
	}

	// A reader that falls behind gets the newest snapshot, not a backlog.
	for i := range 5 {
		mustApply(t, s, meta.Op{Kind: meta.OpAllocateProducerIDs, Count: int64(i + 1)})
	}
	select {
	case snap := <-ch:
		if snap != s.Current() || snap.NextProducerID != 15 {
			t.Fatalf("slow watcher got index %d (next pid %d), want the newest %d",
				snap.AppliedIndex, snap.NextProducerID, s.Current().AppliedIndex)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing delivered to the slow watcher")
	}
	select {
	case snap := <-ch:
		t.Fatalf("stale snapshot %d still queued", snap.AppliedIndex)
	default:
	}

	ch2, cancel2 := s.Watch()
	<-ch2
	cancel2()
	if _, ok := <-ch2; ok {
		t.Fatal("cancelled watch channel still open")
	}

	closeStore(t, s)
	checkFor(t, 5*time.Second, func() error {
		select {
		case _, ok := <-ch:
			if !ok {
				return nil
			}
			return errors.New("channel still delivering")
		default:
			return errors.New("channel not closed")
		}
	})
}

func TestProposeAfterClose(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	closeStore(t, s)
	if _, err := s.Propose(context.Background(), []meta.Op{registerBroker(1)}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Propose after Close: err = %v, want ErrClosed", err)
	}
	if err := s.Health(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Health after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ch, _ := s.Watch()
	if _, ok := <-ch; ok {
		t.Fatal("Watch after Close delivered")
	}
}

func TestProposeFailsFastWhileSyncStalled(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	defer closeStore(t, s)
	mustApply(t, s, registerBroker(1))
	// Hold the raft loop inside a sync so the proposal cannot finish.
	s.syncs.start.Store(1)
	defer s.syncs.start.Store(0)
	_, err := s.Propose(context.Background(), []meta.Op{registerBroker(2)})
	if !errors.Is(err, ErrSyncStalled) {
		t.Fatalf("Propose while a sync is stalled: err = %v, want ErrSyncStalled", err)
	}
	if err := s.Health(); !errors.Is(err, ErrSyncStalled) {
		t.Fatalf("Health while stalled = %v", err)
	}
}

func TestProposeWithEndedContext(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	defer closeStore(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Propose(ctx, []meta.Op{registerBroker(1)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Propose with a cancelled ctx: err = %v", err)
	}
	if len(s.Current().Brokers) != 0 {
		t.Fatalf("a cancelled proposal was applied")
	}
}

func TestOpenRejectsZeroNodeID(t *testing.T) {
	if _, err := Open(t.TempDir(), Options{Logger: quietLogger()}); err == nil {
		t.Fatal("Open with NodeID 0 succeeded")
	}
}
