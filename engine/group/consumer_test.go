package group

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// cmember drives one KIP-848 member by hand.
type cmember struct {
	e     *env
	id    string
	inst  *string
	epoch int32
	owned assignment
}

func (e *env) cjoin(id string, topics ...string) (*cmember, *kmsg.ConsumerGroupHeartbeatResponse) {
	m := &cmember{e: e, id: id, owned: make(assignment)}
	resp := m.send(0, topics, []kmsg.ConsumerGroupHeartbeatRequestTopic{})
	return m, resp
}

func (m *cmember) send(epoch int32, topics []string, owned []kmsg.ConsumerGroupHeartbeatRequestTopic) *kmsg.ConsumerGroupHeartbeatResponse {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version = 1
	req.Group, req.MemberID, req.MemberEpoch, req.InstanceID = "g", m.id, epoch, m.inst
	req.RebalanceTimeoutMillis = 5000
	req.SubscribedTopicNames = topics
	req.Topics = owned
	if epoch != 0 && topics == nil {
		req.RebalanceTimeoutMillis = -1
	}
	resp := m.e.c.ConsumerGroupHeartbeat(Client{ID: m.id}, req)
	if resp.ErrorCode == 0 {
		m.epoch = resp.MemberEpoch
		if resp.Assignment != nil {
			m.owned = make(assignment)
			for _, t := range resp.Assignment.Topics {
				for _, p := range t.Partitions {
					m.owned.add(t.TopicID, p)
				}
			}
		}
	}
	return resp
}

// beat is a full heartbeat reporting what the member owns.
func (m *cmember) beat() *kmsg.ConsumerGroupHeartbeatResponse {
	m.e.t.Helper()
	var owned []kmsg.ConsumerGroupHeartbeatRequestTopic
	owned = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	for _, id := range sortedIDs(m.owned) {
		owned = append(owned, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: id, Partitions: m.owned[id]})
	}
	resp := m.send(m.epoch, nil, owned)
	if resp.ErrorCode != 0 {
		m.e.t.Fatalf("heartbeat of %s: %v", m.id, kerr.ErrorForCode(resp.ErrorCode))
	}
	return resp
}

// settle heartbeats every member until nobody's assignment changes.
func (e *env) settle(ms ...*cmember) {
	e.t.Helper()
	for round := 0; round < 20; round++ {
		changed := false
		for _, m := range ms {
			before := m.owned.clone()
			epoch := m.epoch
			m.beat()
			changed = changed || !before.equal(m.owned) || epoch != m.epoch
		}
		if !changed {
			return
		}
	}
	e.t.Fatal("assignments did not settle in 20 rounds")
}

// A second member gets partitions only after the first released them:
// revoke first, then assign.
func TestConsumerRevokeBeforeAssign(t *testing.T) {
	e := newEnv(t)
	tid := e.topics.add("t", 4)
	a, resp := e.cjoin("a", "t")
	if resp.ErrorCode != 0 || resp.MemberEpoch != 1 || a.owned.count() != 4 {
		t.Fatalf("first member: %v epoch %d owns %d", kerr.ErrorForCode(resp.ErrorCode), resp.MemberEpoch, a.owned.count())
	}
	b, resp := e.cjoin("b", "t")
	if resp.MemberEpoch != 2 || b.owned.count() != 0 {
		t.Fatalf("second member: epoch %d owns %d, want epoch 2 and nothing yet", resp.MemberEpoch, b.owned.count())
	}
	// a is asked to revoke two partitions and keeps its epoch meanwhile;
	// a keep-alive (no owned partitions reported) does not count as done.
	if resp := a.send(a.epoch, nil, nil); resp.MemberEpoch != 1 || resp.Assignment == nil || a.owned.count() != 2 {
		t.Fatalf("first member after the join: epoch %d owns %d", resp.MemberEpoch, a.owned.count())
	}
	if b.beat(); b.owned.count() != 0 {
		t.Fatal("second member got partitions the first still holds")
	}
	a.beat() // reports only its two remaining partitions: revocation done
	if a.epoch != 2 {
		t.Fatalf("first member at epoch %d after revoking, want 2", a.epoch)
	}
	b.beat()
	if b.owned.count() != 2 || b.owned.overlaps(a.owned) {
		t.Fatalf("owned after reconciling: a %v b %v", a.owned, b.owned)
	}
	d := e.c.ConsumerGroupDescribe("g")
	if d.State != "Stable" || d.Epoch != 2 || d.AssignmentEpoch != 2 || len(d.Members) != 2 || d.AssignorName != "uniform" {
		t.Fatalf("described: %+v", d)
	}
	_ = tid
}

// Epoch checks: a newer epoch is fenced, the previous one accepted when
// the member owns a subset of its assignment (its last answer was lost).
func TestConsumerEpochFencing(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 2)
	a, _ := e.cjoin("a", "t")
	if resp := a.send(a.epoch+1, nil, nil); resp.ErrorCode != kerr.FencedMemberEpoch.Code {
		t.Fatalf("future epoch: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	b, _ := e.cjoin("b", "t")
	e.settle(a, b)
	if a.epoch != 2 {
		t.Fatalf("a at epoch %d", a.epoch)
	}
	owned := []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	for _, id := range sortedIDs(a.owned) {
		owned = append(owned, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: id, Partitions: a.owned[id]})
	}
	if resp := a.send(1, nil, owned); resp.ErrorCode != 0 || resp.MemberEpoch != 2 {
		t.Fatalf("previous epoch with a subset: %v epoch %d", kerr.ErrorForCode(resp.ErrorCode), resp.MemberEpoch)
	}
	if resp := a.send(1, nil, nil); resp.ErrorCode != kerr.FencedMemberEpoch.Code {
		t.Fatalf("previous epoch without owned partitions: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	if resp := (&cmember{e: e, id: "ghost"}).send(5, nil, nil); resp.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown member: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
}

// A member that does not revoke within its rebalance timeout is fenced and
// its partitions go to the others.
func TestConsumerRebalanceTimeoutFences(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 2)
	a, _ := e.cjoin("a", "t")
	b, _ := e.cjoin("b", "t")
	a.send(a.epoch, nil, nil) // learns of the revocation, never confirms
	e.clock.advance(4 * time.Second)
	b.beat()
	e.clock.advance(2 * time.Second)
	if resp := a.send(a.epoch, nil, nil); resp.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("member past its rebalance timeout: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	e.settle(b)
	if b.owned.count() != 2 {
		t.Fatalf("remaining member owns %d partitions", b.owned.count())
	}
}

// A member that stops heartbeating is removed after the session timeout.
func TestConsumerSessionTimeout(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 2)
	a, _ := e.cjoin("a", "t")
	b, _ := e.cjoin("b", "t")
	e.settle(a, b)
	for i := 0; i < 12; i++ {
		e.clock.advance(time.Second)
		a.beat()
	}
	e.settle(a)
	if a.owned.count() != 2 || len(e.c.ConsumerGroupDescribe("g").Members) != 1 {
		t.Fatalf("after b's session expired a owns %d", a.owned.count())
	}
}

// A static member that leaves with -2 keeps its partitions reserved and
// takes them back without an epoch bump; another member may not take its
// instance id meanwhile.
func TestConsumerStaticMember(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 4)
	inst := "i1"
	a := &cmember{e: e, id: "a", inst: &inst, owned: make(assignment)}
	a.send(0, []string{"t"}, []kmsg.ConsumerGroupHeartbeatRequestTopic{})
	b, _ := e.cjoin("b", "t")
	e.settle(a, b)
	epoch := e.c.ConsumerGroupDescribe("g").Epoch
	aOwned := a.owned.clone()

	if resp := a.send(-2, nil, nil); resp.ErrorCode != 0 || resp.MemberEpoch != -2 {
		t.Fatalf("static leave: %v %d", kerr.ErrorForCode(resp.ErrorCode), resp.MemberEpoch)
	}
	e.settle(b)
	if b.owned.count() != 2 {
		t.Fatalf("b took the parked member's partitions: owns %d", b.owned.count())
	}
	a2 := &cmember{e: e, id: "a2", inst: &inst, owned: make(assignment)}
	if resp := a2.send(0, []string{"t"}, []kmsg.ConsumerGroupHeartbeatRequestTopic{}); resp.ErrorCode != 0 || !a2.owned.equal(aOwned) {
		t.Fatalf("returning static member: %v owns %v, had %v", kerr.ErrorForCode(resp.ErrorCode), a2.owned, aOwned)
	}
	if got := e.c.ConsumerGroupDescribe("g").Epoch; got != epoch {
		t.Fatalf("group epoch moved from %d to %d", epoch, got)
	}
	a3 := &cmember{e: e, id: "a3", inst: &inst, owned: make(assignment)}
	if resp := a3.send(0, []string{"t"}, []kmsg.ConsumerGroupHeartbeatRequestTopic{}); resp.ErrorCode != kerr.UnreleasedInstanceID.Code {
		t.Fatalf("taking a live instance id: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	// A parked static member whose session ends is removed for good.
	a2.send(-2, nil, nil)
	for i := 0; i < 11; i++ {
		e.clock.advance(time.Second)
		b.beat()
	}
	e.settle(b)
	if b.owned.count() != 4 {
		t.Fatalf("after the parked member expired b owns %d", b.owned.count())
	}
}

// Growing a subscribed topic moves the group epoch at the next heartbeat
// and the new partitions get assigned.
func TestConsumerTopicGrowth(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 2)
	a, _ := e.cjoin("a", "t")
	epoch := a.epoch
	tp := e.topics.topics["t"]
	tp.partitions = 5
	e.topics.topics["t"] = tp
	e.topics.version++
	e.settle(a)
	if a.owned.count() != 5 || a.epoch <= epoch {
		t.Fatalf("after growth: owns %d at epoch %d (was %d)", a.owned.count(), a.epoch, epoch)
	}
}

// Regex subscriptions match whole topic names, and new matching topics
// join the assignment.
func TestConsumerRegexSubscription(t *testing.T) {
	e := newEnv(t)
	e.topics.add("logs-a", 1)
	e.topics.add("metrics", 1)
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version = 1
	req.Group, req.MemberID, req.RebalanceTimeoutMillis = "g", "m", 5000
	re := "logs-.*"
	req.SubscribedTopicRegex = &re
	req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	resp := e.c.ConsumerGroupHeartbeat(Client{}, req)
	if resp.ErrorCode != 0 || len(resp.Assignment.Topics) != 1 {
		t.Fatalf("regex join: %v %+v", kerr.ErrorForCode(resp.ErrorCode), resp.Assignment)
	}
	m := &cmember{e: e, id: "m", epoch: resp.MemberEpoch, owned: assignment{resp.Assignment.Topics[0].TopicID: {0}}}
	e.topics.add("logs-b", 2)
	e.topics.add("xlogs-c", 1)
	e.settle(m)
	if m.owned.count() != 3 {
		t.Fatalf("owns %v, want logs-a and logs-b", m.owned)
	}
	bad := "logs-("
	req.MemberID = "n"
	req.SubscribedTopicRegex = &bad
	if resp := e.c.ConsumerGroupHeartbeat(Client{}, req); resp.ErrorCode != kerr.InvalidRegularExpression.Code {
		t.Fatalf("bad regex: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
}

// Malformed heartbeats get INVALID_REQUEST or UNSUPPORTED_ASSIGNOR before
// any state changes.
func TestConsumerHeartbeatValidation(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 1)
	f := func(mod func(*kmsg.ConsumerGroupHeartbeatRequest), want *kerr.Error) {
		t.Helper()
		req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
		req.Version = 1
		req.Group, req.MemberID, req.RebalanceTimeoutMillis = "g", "m", 5000
		req.SubscribedTopicNames = []string{"t"}
		req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		mod(req)
		if resp := e.c.ConsumerGroupHeartbeat(Client{}, req); resp.ErrorCode != want.Code {
			t.Fatalf("got %v, want %v", kerr.ErrorForCode(resp.ErrorCode), want)
		}
	}
	f(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberID = "" }, kerr.InvalidRequest)
	f(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Topics = nil }, kerr.InvalidRequest)
	f(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.SubscribedTopicNames = nil }, kerr.InvalidRequest)
	f(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.RebalanceTimeoutMillis = -1 }, kerr.InvalidRequest)
	f(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = -3 }, kerr.InvalidRequest)
	f(func(r *kmsg.ConsumerGroupHeartbeatRequest) { s := "sticky"; r.ServerAssignor = &s }, kerr.UnsupportedAssignor)
	f(func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Group = "" }, kerr.InvalidGroupID)
	if e.c.GroupCount() != 0 {
		t.Fatal("a refused heartbeat created a group")
	}
}

// Offset commits of KIP-848 members carry the member epoch; an older epoch
// is accepted for partitions owned since then (KIP-1251).
func TestConsumerOffsetCommitEpochs(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 2)
	a, _ := e.cjoin("a", "t")
	commit := func(epoch int32, p int32) int16 {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version = 9
		req.Group, req.MemberID, req.Generation = "g", "a", epoch
		req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: p, Offset: 3}}}}
		return e.c.OffsetCommit(req).Topics[0].Partitions[0].ErrorCode
	}
	if code := commit(1, 0); code != 0 {
		t.Fatalf("commit at the member epoch: %v", kerr.ErrorForCode(code))
	}
	if code := commit(2, 0); code != kerr.StaleMemberEpoch.Code {
		t.Fatalf("commit from the future: %v", kerr.ErrorForCode(code))
	}
	b, _ := e.cjoin("b", "t")
	e.settle(a, b)
	kept := a.owned[sortedIDs(a.owned)[0]][0]
	if code := commit(1, kept); code != 0 {
		t.Fatalf("older epoch, partition owned since epoch 1: %v", kerr.ErrorForCode(code))
	}
	if code := commit(1, 1-kept); code != kerr.StaleMemberEpoch.Code {
		t.Fatalf("older epoch, partition no longer owned: %v", kerr.ErrorForCode(code))
	}
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 8
	req.Group, req.MemberID, req.Generation = "g", "a", a.epoch
	req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: kept, Offset: 3}}}}
	if code := e.c.OffsetCommit(req).Topics[0].Partitions[0].ErrorCode; code != kerr.UnsupportedVersion.Code {
		t.Fatalf("v8 commit of a consumer-protocol member: %v", kerr.ErrorForCode(code))
	}
}

// A consumer-protocol group that never commits is removed once its members
// have left, even on a coordinator that held no group before it (nothing
// had started the expiry sweeps).
func TestConsumerEmptyGroupWithoutOffsetsExpires(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 2)
	m, resp := e.cjoin("m1", "t")
	if resp.ErrorCode != 0 {
		t.Fatalf("join: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	if resp := m.send(-1, nil, nil); resp.ErrorCode != 0 {
		t.Fatalf("leave: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	e.clock.advance(48 * time.Hour)
	if n := e.c.GroupCount(); n != 0 {
		t.Fatalf("%d groups two days after the last member left, want 0", n)
	}
}

// A group that changed protocol and was then removed stays removed after a
// restart, also once compaction kept only the last record of each key and
// dropped the tombstones: the old protocol's metadata record is tombstoned
// too.
func TestGroupRemovedAfterTypeChangeStaysRemoved(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 2)
	m, _ := e.cjoin("m1", "t")
	if resp := m.send(-1, nil, nil); resp.ErrorCode != 0 {
		t.Fatalf("leave: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	// A classic join turns the empty group classic; the KIP-394 first join
	// leaves only a pending member, which expires.
	var first reply
	e.c.JoinGroup(Client{ID: "client"}, joinReq("g", "", nil), first.fn())
	if resp := first.join(t); resp.ErrorCode != kerr.MemberIDRequired.Code {
		t.Fatalf("first classic join: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	e.clock.advance(48 * time.Hour)
	if n := e.c.GroupCount(); n != 0 {
		t.Fatalf("%d groups after the sweep, want 0", n)
	}
	e.reload()
	if n := e.c.GroupCount(); n != 0 {
		t.Fatalf("%d groups after a restart, want 0", n)
	}
	e.reloadCompacted() // the last record of each key, tombstones dropped
	if n := e.c.GroupCount(); n != 0 {
		t.Fatalf("%d groups after compaction and a restart, want 0: %+v", n, e.c.ListGroups(nil, nil))
	}
}

// A KIP-848 join with an empty (not null) topic list is a subscription to
// nothing yet, as Kafka takes it (a regex consumer joining before any
// topic matches); only both subscription fields null is refused.
func TestConsumerJoinWithEmptySubscription(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 1)
	m := &cmember{e: e, id: "a", owned: make(assignment)}
	resp := m.send(0, []string{}, []kmsg.ConsumerGroupHeartbeatRequestTopic{})
	if resp.ErrorCode != 0 || m.epoch < 1 {
		t.Fatalf("join with an empty topic list: %v %v", kerr.ErrorForCode(resp.ErrorCode), resp.ErrorMessage)
	}
}

// A heartbeat that is not a join (member epoch above 0) to an empty
// classic group is refused without turning the group into a consumer
// group, as Kafka converts only on a join.
func TestConsumerHeartbeatDoesNotConvertClassicGroupUnlessJoining(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 1)
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Version = 8
	commit.Group, commit.Generation = "g", -1
	commit.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1, LeaderEpoch: -1}}}}
	if code := e.c.OffsetCommit(commit).Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	m := &cmember{e: e, id: "stray", owned: make(assignment)}
	if resp := m.send(5, nil, nil); resp.ErrorCode == 0 {
		t.Fatal("a stray heartbeat at epoch 5 was taken")
	}
	if g := e.c.groups["g"]; g == nil || g.classic == nil || g.consumer != nil {
		t.Fatal("a refused heartbeat changed the group's type")
	}
}
