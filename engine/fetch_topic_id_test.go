package engine

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/meta"
)

// parkFetchByID sends a Fetch v13 (topic by id) that waits up to 20 s for a
// record on partition 0 and returns the channel its answer arrives on.
func parkFetchByID(t *testing.T, tb *testBroker, id [16]byte) <-chan *kmsg.FetchResponseTopicPartition {
	t.Helper()
	req := fetchReq("", 0, 0, 1, 20_000, 1<<20)
	req.Version, req.Topics[0].TopicID = 13, id

	cl := tb.client()
	t.Cleanup(cl.Close)
	answer := make(chan *kmsg.FetchResponseTopicPartition, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Errorf("fetch by id: %v, %+v", err, resp)
			answer <- nil
			return
		}
		answer <- &resp.Topics[0].Partitions[0]
	}()
	select {
	case p := <-answer:
		t.Fatalf("fetch answered before it could wait: %+v", p)
	case <-time.After(300 * time.Millisecond):
	}
	return answer
}

// awaitFetchAnswer waits for a parked fetch's answer, well before its
// 20 s MaxWait.
func awaitFetchAnswer(t *testing.T, answer <-chan *kmsg.FetchResponseTopicPartition) *kmsg.FetchResponseTopicPartition {
	t.Helper()
	select {
	case p := <-answer:
		if p == nil {
			t.FailNow()
		}
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting fetch was not answered when its topic went away")
		return nil
	}
}

// A fetch by topic id that waits while its topic is deleted is answered
// at once with UNKNOWN_TOPIC_ID, as a new fetch for that id would be.
func TestWaitingFetchByIDAnswersUnknownIDWhenTopicDeleted(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "goes", 1)
	adm := tb.admin()
	answer := parkFetchByID(t, tb, topicIDOf(t, adm, "goes"))
	if _, err := adm.DeleteTopics(adminCtx(t), "goes"); err != nil {
		t.Fatal(err)
	}
	p := awaitFetchAnswer(t, answer)
	wantCode(t, "waiting fetch of a deleted topic", p.ErrorCode, kerr.UnknownTopicID)
	if len(p.RecordBatches) != 0 {
		t.Fatalf("answer carries %d bytes", len(p.RecordBatches))
	}
}

// A topic deleted and created again under the same name can reach a shard
// as one metadata change: the old partition removed and the new one opened
// in the same shard call, before the woken fetch reads again. The fetch,
// which named the old id, must not go on to read (or wait on) the new
// topic's partition.
func TestWaitingFetchByIDDoesNotReadATopicCreatedAgain(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "reborn", 1)
	id := topicIDOf(t, tb.admin(), "reborn")
	answer := parkFetchByID(t, tb, id)

	k := partKey{"reborn", 0}
	onShard(t, tb.b.shardFor(k), func(s *shard) {
		old := s.parts[k]
		old.remove()
		delete(s.parts, k)
		p, err := s.openPartition(k, meta.TopicID{0xee, 1}, old.leaderEpoch, false)
		if err != nil {
			t.Error(err)
			return
		}
		s.parts[k] = p
	})
	p := awaitFetchAnswer(t, answer)
	wantCode(t, "waiting fetch of a topic created again", p.ErrorCode, kerr.UnknownTopicID)
}
