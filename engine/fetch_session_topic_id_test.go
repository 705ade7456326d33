package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// v13+ fetch sessions key partitions by topic id (KIP-516): a client that
// forgets a deleted topic's partitions by id must see them leave the
// session. Kafka's FetchSession.update removes CachedPartition(topicId,
// partition) whatever the topic's name now resolves to.
func TestFetchSessionForgetsADeletedTopicByID(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "stay", 1)
	createTestTopic(t, tb, "goes", 1)
	adm := tb.admin()
	stayID, goesID := topicIDOf(t, adm, "stay"), topicIDOf(t, adm, "goes")
	cl := tb.client()
	ctx := adminCtx(t)

	req := newSessionFetchByID(stayID, goesID)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || resp.ErrorCode != 0 || resp.SessionID == 0 {
		t.Fatalf("full fetch: %v %+v", err, resp)
	}
	sid := resp.SessionID

	if _, err := adm.DeleteTopics(ctx, "goes"); err != nil {
		t.Fatal(err)
	}

	// Incremental fetch: forget the deleted topic by its id, long poll.
	inc := kmsg.NewPtrFetchRequest()
	inc.Version, inc.ReplicaID, inc.MaxBytes, inc.MinBytes, inc.MaxWaitMillis = 13, -1, 1<<20, 1, 1000
	inc.SessionID, inc.SessionEpoch = sid, 1
	ft := kmsg.NewFetchRequestForgottenTopic()
	ft.TopicID, ft.Partitions = goesID, []int32{0}
	inc.ForgottenTopics = append(inc.ForgottenTopics, ft)
	start := time.Now()
	resp, err = inc.RequestWith(ctx, cl)
	took := time.Since(start)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("incremental fetch: %v %+v", err, resp)
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if rt.TopicID == goesID || rt.Topic == "goes" {
				t.Errorf("forgotten partition goes/%d still served: %v", rp.Partition, kerr.ErrorForCode(rp.ErrorCode))
			}
		}
	}
	// Nothing left to report: the fetch must long-poll, not spin.
	if took < 800*time.Millisecond {
		t.Errorf("incremental fetch answered after %v, want it to wait MaxWaitMs (1s)", took)
	}
	// And again: the forgotten partition must not keep answering every fetch at once.
	inc.SessionEpoch, inc.ForgottenTopics = 2, nil
	start = time.Now()
	resp, err = inc.RequestWith(ctx, cl)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("incremental fetch 2: %v %+v", err, resp)
	}
	if took := time.Since(start); took < 800*time.Millisecond {
		t.Errorf("second incremental fetch answered after %v with %+v, want a 1s long poll", took, resp.Topics)
	}
}

// A v13+ session keeps a partition whose topic id this broker does not
// know yet (Kafka's CachedPartition with a null name, resolved on a later
// fetch by maybeResolveUnknownName): the client, which sent it once and got
// UNKNOWN_TOPIC_ID, does not send it again while its offset is unchanged
// (franz-go's fetchSession.used, Java's FetchSessionHandler). Here the
// broker's view lags the client's (another broker applied CreateTopics
// first), simulated by serving an older view for the first fetch.
func TestFetchSessionKeepsAPartitionWhoseTopicIDIsLearnedLater(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "other", 1)
	before := tb.b.view.Load()
	createTestTopic(t, tb, "late", 1)
	after := tb.b.view.Load()
	adm := tb.admin()
	otherID, lateID := topicIDOf(t, adm, "other"), topicIDOf(t, adm, "late")
	cl := tb.client()
	ctx := adminCtx(t)

	tb.b.view.Store(before) // this broker has not applied "late" yet
	req := newSessionFetchByID(otherID, lateID)
	resp, err := req.RequestWith(ctx, cl)
	tb.b.view.Store(after) // now it has
	if err != nil || resp.ErrorCode != 0 || resp.SessionID == 0 {
		t.Fatalf("full fetch: %v %+v", err, resp)
	}
	for _, rt := range resp.Topics {
		if rt.TopicID == lateID {
			wantCode(t, "late/0 before the broker knows it", rt.Partitions[0].ErrorCode, kerr.UnknownTopicID)
		}
	}
	produceValues(t, tb, "late", 0, 1)

	inc := kmsg.NewPtrFetchRequest()
	inc.Version, inc.ReplicaID, inc.MaxBytes, inc.MinBytes, inc.MaxWaitMillis = 13, -1, 1<<20, 1, 2000
	inc.SessionID, inc.SessionEpoch = resp.SessionID, 1
	resp, err = inc.RequestWith(ctx, cl)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("incremental fetch: %v %+v", err, resp)
	}
	for _, rt := range resp.Topics {
		if rt.TopicID == lateID && len(rt.Partitions) == 1 && len(rt.Partitions[0].RecordBatches) > 0 {
			return
		}
	}
	t.Fatalf("the session never serves late/0 once its id is known: %+v", resp.Topics)
}

// A session created naming topics by id (v13+) cannot be continued by a
// fetch naming them by name, nor the other way: Kafka answers
// FETCH_SESSION_TOPIC_ID_ERROR, and the client starts a new session.
func TestFetchSessionRefusesTheOtherWayOfNamingTopics(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "named", 1)
	id := topicIDOf(t, tb.admin(), "named")
	ctx := adminCtx(t)
	byVersion := map[int16]*kgo.Client{12: pinnedClient(tb, 1, 12), 13: pinnedClient(tb, 1, 13)}
	for _, versions := range [][2]int16{{13, 12}, {12, 13}} {
		full := kmsg.NewPtrFetchRequest()
		full.ReplicaID, full.MaxBytes, full.MinBytes, full.MaxWaitMillis = -1, 1<<20, 1, 0
		full.SessionID, full.SessionEpoch = 0, 0
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = "named", id
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = 1<<20, -1
		rt.Partitions = append(rt.Partitions, rp)
		full.Topics = append(full.Topics, rt)
		resp, err := full.RequestWith(ctx, byVersion[versions[0]])
		if err != nil || resp.ErrorCode != 0 || resp.SessionID == 0 || resp.Version != versions[0] {
			t.Fatalf("v%d full fetch: %v %+v", versions[0], err, resp)
		}
		inc := kmsg.NewPtrFetchRequest()
		inc.ReplicaID, inc.MaxBytes, inc.MinBytes, inc.MaxWaitMillis = -1, 1<<20, 1, 0
		inc.SessionID, inc.SessionEpoch = resp.SessionID, 1
		resp, err = inc.RequestWith(ctx, byVersion[versions[1]])
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, fmt.Sprintf("v%d fetch in a v%d session", versions[1], versions[0]), resp.ErrorCode, kerr.FetchSessionTopicIDError)
	}
}

// A partition an incremental fetch both names and forgets leaves the
// session, as in Kafka (FetchSession.update adds the named partitions, then
// removes the forgotten ones): the next fetch does not serve it.
func TestFetchSessionForgetsAPartitionAlsoNamed(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "both", 2)
	id := topicIDOf(t, tb.admin(), "both")
	cl := tb.client()
	ctx := adminCtx(t)
	fetch := func(sessionID, epoch int32, parts []int32, forget []int32) *kmsg.FetchResponse {
		t.Helper()
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID, req.MaxBytes, req.MinBytes, req.MaxWaitMillis = -1, 1<<20, 1, 0
		req.SessionID, req.SessionEpoch = sessionID, epoch
		if len(parts) > 0 {
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic, rt.TopicID = "both", id
			for _, p := range parts {
				rp := kmsg.NewFetchRequestTopicPartition()
				rp.Partition, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = p, 1<<20, -1
				rt.Partitions = append(rt.Partitions, rp)
			}
			req.Topics = append(req.Topics, rt)
		}
		if len(forget) > 0 {
			ft := kmsg.NewFetchRequestForgottenTopic()
			ft.Topic, ft.TopicID, ft.Partitions = "both", id, forget
			req.ForgottenTopics = append(req.ForgottenTopics, ft)
		}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || resp.ErrorCode != 0 {
			t.Fatalf("fetch: %v %+v", err, resp)
		}
		return resp
	}
	sid := fetch(0, 0, []int32{0, 1}, nil).SessionID
	fetch(sid, 1, []int32{1}, []int32{1})
	produceValues(t, tb, "both", 0, 20) // both partitions get records
	for _, rt := range fetch(sid, 2, nil, nil).Topics {
		for _, rp := range rt.Partitions {
			if rp.Partition == 1 {
				t.Fatalf("partition 1, named and forgotten, still served (%d bytes)", len(rp.RecordBatches))
			}
		}
	}
}

// newSessionFetchByID is a full fetch (v13) that opens a session over
// partition 0 of each topic id, from offset 0, answering at once.
func newSessionFetchByID(ids ...[16]byte) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.ReplicaID, req.MaxBytes, req.MinBytes, req.MaxWaitMillis = 13, -1, 1<<20, 1, 0
	req.SessionID, req.SessionEpoch = 0, 0
	for _, id := range ids {
		rt := kmsg.NewFetchRequestTopic()
		rt.TopicID = id
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = 0, 0, 1<<20, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
	}
	return req
}
