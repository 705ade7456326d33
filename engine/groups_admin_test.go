package engine

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func commitOffsets(t *testing.T, adm *kadm.Client, group, topic string, offsets map[int32]int64) {
	t.Helper()
	var os kadm.Offsets
	for p, o := range offsets {
		os.Add(kadm.Offset{Topic: topic, Partition: p, At: o, LeaderEpoch: -1, Metadata: fmt.Sprintf("m%d", p)})
	}
	if err := adm.CommitAllOffsets(adminCtx(t), group, os); err != nil {
		t.Fatalf("commit %s: %v", group, err)
	}
}

// Lag is what kadm computes from DescribeGroups, ListOffsets and
// OffsetFetch: for a stopped consumer, end offset minus committed offset.
func TestGroupLagWithKadm(t *testing.T) {
	tb := startGroupBroker(t)
	createTestTopic(t, tb, "lagged", 2)
	cl := tb.client(kgo.DefaultProduceTopic("lagged"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for i := 0; i < 30; i++ {
		r := &kgo.Record{Value: []byte{byte(i)}, Partition: int32(i % 2)}
		if err := cl.ProduceSync(adminCtx(t), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	adm := tb.admin()
	commitOffsets(t, adm, "lag-group", "lagged", map[int32]int64{0: 5, 1: 15})
	lags, err := adm.Lag(adminCtx(t), "lag-group")
	if err != nil {
		t.Fatal(err)
	}
	l := lags["lag-group"]
	if l.Error() != nil || l.State != "Empty" {
		t.Fatalf("lag of lag-group: state %q err %v", l.State, l.Error())
	}
	for p, want := range map[int32]int64{0: 10, 1: 0} {
		got := l.Lag["lagged"][p]
		if got.Err != nil || got.Lag != want || got.End.Offset != 15 {
			t.Fatalf("partition %d: lag %d (end %d, err %v), want %d", p, got.Lag, got.End.Offset, got.Err, want)
		}
	}

	// A live member that consumed everything has no lag; its partitions
	// are attributed to it.
	led := newConsumedLedger()
	m := startMember(t, tb, "live", "live-group", "lagged", led)
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		lags, err := adm.Lag(adminCtx(t), "live-group")
		if err != nil {
			return err
		}
		l := lags["live-group"]
		if l.State != "Stable" || l.Lag.Total() != 0 || len(l.Lag["lagged"]) != 2 || l.Lag["lagged"][0].Member == nil {
			return fmt.Errorf("state %q total lag %d partitions %d", l.State, l.Lag.Total(), len(l.Lag["lagged"]))
		}
		return nil
	})
	m.leave()
}

func TestGroupAdminListDescribeDelete(t *testing.T) {
	tb := startGroupBroker(t)
	createTestTopic(t, tb, "t", 2)
	createTestTopic(t, tb, "u", 1)
	adm := tb.admin()
	ctx := adminCtx(t)
	commitOffsets(t, adm, "idle", "t", map[int32]int64{0: 1, 1: 2})
	commitOffsets(t, adm, "busy", "u", map[int32]int64{0: 3}) // a topic it will not consume
	led := newConsumedLedger()
	m := startMember(t, tb, "m", "busy", "t", led)
	waitOwned(t, "t", 10*time.Second, []*groupMember{m}, []int{2})
	// An admin commit (no member, generation -1) to a group with members
	// is refused, as Kafka refuses it.
	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: "u", Partition: 0, At: 4})
	if err := adm.CommitAllOffsets(ctx, "busy", os); !errors.Is(err, kerr.UnknownMemberID) {
		t.Fatalf("admin commit to a live group: %v, want UNKNOWN_MEMBER_ID", err)
	}

	listed, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if listed["idle"].State != "Empty" || listed["busy"].State != "Stable" || listed["busy"].ProtocolType != "consumer" {
		t.Fatalf("listed: %+v", listed)
	}
	if _, ok := listed[offsetsTopic]; ok {
		t.Fatal("the offsets topic listed as a group")
	}
	listed, err = adm.ListGroups(ctx, "empty") // states match case-insensitively
	if err != nil || len(listed) != 1 || listed["idle"].Group != "idle" {
		t.Fatalf("listed Empty groups: %v %+v", err, listed)
	}

	described, err := adm.DescribeGroups(ctx, "busy", "nope")
	if err != nil {
		t.Fatal(err)
	}
	busy := described["busy"]
	if busy.Err != nil || busy.State != "Stable" || busy.Protocol != "cooperative-sticky" || len(busy.Members) != 1 {
		t.Fatalf("busy: %+v", busy)
	}
	assigned, ok := busy.Members[0].Assigned.AsConsumer()
	if !ok || len(assigned.Topics) != 1 || len(assigned.Topics[0].Partitions) != 2 || busy.Members[0].ClientID != "m" {
		t.Fatalf("busy's member: %+v", busy.Members[0])
	}
	if !errors.Is(described["nope"].Err, kerr.GroupIDNotFound) {
		t.Fatalf("unknown group: %v", described["nope"].Err)
	}

	// Offsets of a topic the live group consumes cannot be deleted.
	dres, err := adm.DeleteOffsets(ctx, "busy", kadm.TopicsSet{"t": {0: {}}, "u": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(dres["t"][0], kerr.GroupSubscribedToTopic) || dres["u"][0] != nil {
		t.Fatalf("delete offsets: %v", dres)
	}
	fetched, err := adm.FetchOffsets(ctx, "busy")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fetched.Lookup("u", 0); ok {
		t.Fatalf("offset of u survived its deletion: %+v", fetched)
	}

	del, err := adm.DeleteGroups(ctx, "busy", "idle", "nope")
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(del["busy"].Err, kerr.NonEmptyGroup) || del["idle"].Err != nil || !errors.Is(del["nope"].Err, kerr.GroupIDNotFound) {
		t.Fatalf("delete groups: busy %v idle %v nope %v", del["busy"].Err, del["idle"].Err, del["nope"].Err)
	}
	fetched, err = adm.FetchOffsets(ctx, "idle")
	if err != nil || len(fetched) != 0 {
		t.Fatalf("offsets of a deleted group: %v %+v", err, fetched)
	}
	m.leave()
}

// Committed offsets and a classic group's membership are records of
// __consumer_offsets: a restart replays them.
func TestGroupStateSurvivesRestart(t *testing.T) {
	tb := startGroupBroker(t)
	createTestTopic(t, tb, "durable", 3)
	adm := tb.admin()
	commitOffsets(t, adm, "offsets-only", "durable", map[int32]int64{0: 7, 2: 9})

	// A member that joined and synced, then goes silent across the restart.
	createTestTopic(t, tb, "raw", 1)
	a := newRawMember(t, tb, "members")
	a.id = a.join(a.joinReq()).MemberID
	wantCode(t, "join", a.join(a.joinReq()).ErrorCode, nil)
	wantCode(t, "sync", a.sync(1, []kmsg.SyncGroupRequestGroupAssignment{{MemberID: a.id, MemberAssignment: []byte("a")}}).ErrorCode, nil)
	wantCode(t, "commit", a.commit(a.id, 1, "raw", 0, 42), nil)

	tb.restart()
	adm = tb.admin()
	ctx := adminCtx(t)
	fetched, err := adm.FetchOffsets(ctx, "offsets-only")
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[int32]int64{0: 7, 2: 9} {
		o, ok := fetched.Lookup("durable", p)
		if !ok || o.Err != nil || o.At != want || o.Metadata != fmt.Sprintf("m%d", p) {
			t.Fatalf("after restart, partition %d: %+v (found %v), want %d", p, o, ok, want)
		}
	}
	if _, ok := fetched.Lookup("durable", 1); ok {
		t.Fatal("an offset never committed appeared")
	}
	described, err := adm.DescribeGroups(ctx, "members")
	if err != nil {
		t.Fatal(err)
	}
	g := described["members"]
	if g.State != "Stable" || len(g.Members) != 1 || g.Members[0].MemberID != a.id {
		t.Fatalf("after restart the group is %q with %+v", g.State, g.Members)
	}
	b := newRawMember(t, tb, "members")
	b.id, b.gen = a.id, 1
	wantCode(t, "restored member's heartbeat", b.heartbeat(a.id, 1), nil)
	wantCode(t, "restored member's commit", b.commit(a.id, 1, "raw", 0, 43), nil)
}

// A consumer that stops and a new one after a broker restart: the new one
// starts at the committed offsets, so it reads only what came after.
func TestGroupResumesFromCommittedOffsetsAfterRestart(t *testing.T) {
	tb := startGroupBroker(t)
	createTestTopic(t, tb, "resume", 2)
	produceValues(t, tb, "resume", 0, 100)
	first := newConsumedLedger()
	m := startMember(t, tb, "first", "resume-group", "resume", first)
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if missing, _ := first.check(100); len(missing) > 0 {
			return fmt.Errorf("%d not consumed", len(missing))
		}
		return nil
	})
	m.leave() // commits what it consumed

	tb.restart()
	produceValues(t, tb, "resume", 100, 50)
	second := newConsumedLedger()
	m2 := startMember(t, tb, "second", "resume-group", "resume", second)
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if n := second.distinct(); n < 50 {
			return fmt.Errorf("%d of 50 new records consumed", n)
		}
		return nil
	})
	m2.leave()
	for i := 0; i < 100; i++ {
		if second.seen[fmt.Sprint(i)] > 0 {
			t.Fatalf("record %d, committed before the restart, was consumed again", i)
		}
	}
}

// OffsetCommit and OffsetFetch v10 name topics by id.
func TestGroupOffsetsByTopicID(t *testing.T) {
	tb := startGroupBroker(t)
	createTestTopic(t, tb, "ids", 1)
	id := tb.b.currentView().snap.Topics["ids"].ID
	cl := tb.client()
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Version = 10
	commit.Group = "by-id"
	commit.Topics = []kmsg.OffsetCommitRequestTopic{
		{TopicID: id, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 11}}},
		{TopicID: [16]byte{1}, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1}}},
	}
	cresp, err := commit.RequestWith(adminCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "commit by id", cresp.Topics[0].Partitions[0].ErrorCode, nil)
	wantCode(t, "commit to an unknown id", cresp.Topics[1].Partitions[0].ErrorCode, kerr.UnknownTopicID)

	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Version = 10
	fetch.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "by-id", MemberEpoch: -1, Topics: []kmsg.OffsetFetchRequestGroupTopic{{TopicID: id, Partitions: []int32{0}}}}}
	fresp, err := fetch.RequestWith(adminCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if p := fresp.Groups[0].Topics[0].Partitions[0]; p.ErrorCode != 0 || p.Offset != 11 || fresp.Groups[0].Topics[0].TopicID != id {
		t.Fatalf("fetch by id: %+v", fresp.Groups[0])
	}
}

// Deleting a topic takes its committed offsets with it: a topic created
// again under the name starts without them.
func TestGroupOffsetsOfDeletedTopic(t *testing.T) {
	tb := startGroupBroker(t)
	createTestTopic(t, tb, "doomed", 1)
	adm := tb.admin()
	commitOffsets(t, adm, "g", "doomed", map[int32]int64{0: 4})
	if _, err := adm.DeleteTopics(adminCtx(t), "doomed"); err != nil {
		t.Fatal(err)
	}
	createTestTopic(t, tb, "doomed", 1)
	fetched, err := adm.FetchOffsets(adminCtx(t), "g")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := fetched.Lookup("doomed", 0); ok && o.At >= 0 {
		t.Fatalf("re-created topic inherited committed offset %d", o.At)
	}
}
