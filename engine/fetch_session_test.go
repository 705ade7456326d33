package engine

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/batch"
)

// A full session cache makes room as Kafka's does: a stale session, or one
// smaller than the newcomer, goes; otherwise the newcomer fetches without a
// session and the sessions in use keep working, so clients past the cache's
// size do not evict one another round after round.
func TestFetchSessionCacheEviction(t *testing.T) {
	fs := newFetchSessions(2)
	open := func(size int) *fetchSession {
		t.Helper()
		s, created, code := fs.acquire(0, 0, size, false)
		if code != 0 || (s != nil) != created {
			t.Fatalf("create: %v created=%v code %v", s, created, kerr.ErrorForCode(code))
		}
		if s != nil {
			for i := range size {
				s.add(sessionKey{topic: "t", partition: int32(i)})
			}
		}
		return s
	}
	use := func(what string, s *fetchSession) {
		t.Helper()
		if _, _, code := fs.acquire(s.id, s.epoch, 0, false); code != 0 {
			t.Fatalf("%s: incremental fetch: %v", what, kerr.ErrorForCode(code))
		}
	}
	a, b := open(5), open(5)
	if a.id <= 0 || b.id <= 0 || a.id == b.id {
		t.Fatalf("session ids %d and %d", a.id, b.id)
	}
	for round := 0; round < 3; round++ {
		if c := open(5); c != nil {
			t.Fatalf("round %d: a third session of the same size evicted one in use", round)
		}
		use("a", a)
		use("b", b)
	}

	// A bigger newcomer evicts a smaller session, least recently used first,
	// once they are two minutes old.
	if big := open(10); big != nil {
		t.Fatal("a session of 10 partitions evicted a session created just now")
	}
	fs.mu.Lock()
	for _, s := range []*fetchSession{a, b} {
		s.created = s.created.Add(-fetchSessionStaleAfter)
	}
	fs.mu.Unlock()
	big := open(10)
	if big == nil {
		t.Fatal("a session of 10 partitions found no room beside two of 5")
	}
	if _, _, code := fs.acquire(a.id, a.epoch, 0, false); code != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("the least recently used small session: %v, want it evicted", kerr.ErrorForCode(code))
	}
	use("b", b)

	// A session unused for two minutes goes for any newcomer.
	fs.mu.Lock()
	big.lastUsed = time.Now().Add(-fetchSessionStaleAfter - time.Second)
	fs.mu.Unlock()
	if small := open(1); small == nil {
		t.Fatal("a stale session kept its slot")
	}
	use("b", b)
}

// sessionFetch builds a v12 session fetch, MaxBytes 1 (one batch a
// response), of the topic's partitions at offsets (from[p] is partition p's).
func sessionFetch(topic string, id, epoch int32, offsets map[int32]int64) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.ReplicaID, req.MaxBytes = 12, -1, 1
	req.SessionID, req.SessionEpoch = id, epoch
	if len(offsets) == 0 {
		return req
	}
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	for p := int32(0); len(rt.Partitions) < len(offsets); p++ {
		if off, ok := offsets[p]; ok {
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, off, 1<<20
			rt.Partitions = append(rt.Partitions, rp)
		}
	}
	req.Topics = append(req.Topics, rt)
	return req
}

// servedBatch returns the one partition of resp that returned records and
// the offset after its batches.
func servedBatch(t *testing.T, resp *kmsg.FetchResponse) (int32, int64) {
	t.Helper()
	if resp.ErrorCode != 0 {
		t.Fatalf("fetch: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	part, next := int32(-1), int64(-1)
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if rp.ErrorCode != 0 {
				t.Fatalf("partition %d: %v", rp.Partition, kerr.ErrorForCode(rp.ErrorCode))
			}
			if len(rp.RecordBatches) == 0 {
				continue
			}
			if part >= 0 {
				t.Fatalf("partitions %d and %d both returned records under MaxBytes 1", part, rp.Partition)
			}
			part = rp.Partition
			batch.Split(rp.RecordBatches, func(h batch.Header, _ []byte) error {
				next = h.LastOffset() + 1
				return nil
			})
		}
	}
	if part < 0 {
		t.Fatalf("no partition returned records: %+v", resp.Topics)
	}
	return part, next
}

// An incremental fetch serves the session's partitions in the session's
// order and moves each one that returned records to the back, as Kafka
// does, so under a small MaxBytes the partitions take turns. Serving the
// request's partitions first served the partition that had just returned
// records, the only one a client lists, again every time.
func TestFetchSessionRotatesPartitions(t *testing.T) {
	const parts, batches = 3, 10
	tb := startBroker(t)
	createTestTopic(t, tb, "rot", parts)
	cl := fetchClient(tb)
	for p := int32(0); p < parts; p++ {
		for i := 0; i < batches; i++ {
			if r := produceRaw(t, cl, "rot", p, 11, rawBatch(2, -1, -1, -1)); r.ErrorCode != 0 {
				t.Fatal(kerr.ErrorForCode(r.ErrorCode))
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The full fetch serves in request order and makes it the session's.
	resp, err := sessionFetch("rot", 0, 0, map[int32]int64{0: 0, 1: 0, 2: 0}).RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.SessionID == 0 {
		t.Fatal("no session created")
	}
	p, next := servedBatch(t, resp)
	if p != 0 {
		t.Fatalf("full fetch served partition %d, want 0 (request order)", p)
	}
	// Each incremental fetch lists only the partition that just returned
	// records, at its new offset, as clients do. Updating it keeps its
	// place; returning records sends it to the back: 0 1 2 0 1 2 ...
	for epoch := int32(1); epoch <= 3*parts; epoch++ {
		resp, err := sessionFetch("rot", resp.SessionID, epoch, map[int32]int64{p: next}).RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		p, next = servedBatch(t, resp)
		if want := (epoch - 1) % parts; p != want {
			t.Fatalf("incremental fetch %d served partition %d, want %d", epoch, p, want)
		}
	}
}

// A stock consumer with a small FetchMaxBytes reads every partition of a
// backlog in turn, not one partition to its end before the next.
func TestFetchSessionConsumerServesEveryPartition(t *testing.T) {
	const parts, batches, perBatch = 3, 40, 10
	tb := startBroker(t)
	createTestTopic(t, tb, "fair", parts)
	cl := fetchClient(tb)
	for p := int32(0); p < parts; p++ {
		for i := 0; i < batches; i++ {
			if r := produceRaw(t, cl, "fair", p, 11, rawBatch(perBatch, -1, -1, -1)); r.ErrorCode != 0 {
				t.Fatal(kerr.ErrorForCode(r.ErrorCode))
			}
		}
	}
	cons := tb.client(kgo.ConsumeTopics("fair"), kgo.FetchMaxBytes(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make([]int, parts)
	for {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("records per partition %v: %v", got, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) { got[r.Partition]++ })
		t.Logf("records per partition %v", got)
		if slices.Min(got) > 0 {
			break
		}
		if slices.Max(got) >= batches*perBatch/4 {
			t.Fatalf("records per partition %v: a partition read a quarter of its backlog before every partition made progress", got)
		}
	}
}

// countingWaiter is a long-poll fetch that never finishes.
type countingWaiter struct{ wakes int }

func (w *countingWaiter) wake()          { w.wakes++ }
func (w *countingWaiter) finished() bool { return false }

// A fetch registers itself on each read round; a partition keeps it once,
// however many rounds it waits through.
func TestPartitionKeepsAWaiterOnce(t *testing.T) {
	p := &partition{}
	w, other := &countingWaiter{}, &countingWaiter{}
	for range 100 {
		p.addWaiter(w)
	}
	p.addWaiter(other)
	if len(p.waiters) != 2 {
		t.Fatalf("%d waiters after 100 rounds of one fetch and one of another, want 2", len(p.waiters))
	}
}
