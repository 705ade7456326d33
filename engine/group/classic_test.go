package group

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func joinReq(group, member string, instance *string) *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 9
	req.Group, req.MemberID, req.InstanceID = group, member, instance
	req.SessionTimeoutMillis = 10000
	req.RebalanceTimeoutMillis = 5000
	req.ProtocolType = "consumer"
	md := kmsg.NewConsumerMemberMetadata()
	md.Topics = []string{"t"}
	req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: md.AppendTo(nil)}}
	return req
}

func syncReq(group, member string, gen int32, assign map[string]string) *kmsg.SyncGroupRequest {
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version = 5
	req.Group, req.MemberID, req.Generation = group, member, gen
	for id, a := range assign {
		req.GroupAssignment = append(req.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{MemberID: id, MemberAssignment: []byte(a)})
	}
	return req
}

func (e *env) heartbeat(group, member string, gen int32) int16 {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.MemberID, req.Generation = group, member, gen
	return e.c.Heartbeat(req).ErrorCode
}

// newMember runs the KIP-394 handshake and parks the member's real join.
func (e *env) newMember(group string) (string, *reply) {
	e.t.Helper()
	var first reply
	e.c.JoinGroup(Client{ID: "client"}, joinReq(group, "", nil), first.fn())
	resp := first.join(e.t)
	if resp.ErrorCode != kerr.MemberIDRequired.Code {
		e.t.Fatalf("first join: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	var r reply
	e.c.JoinGroup(Client{ID: "client"}, joinReq(group, resp.MemberID, nil), r.fn())
	return resp.MemberID, &r
}

// stableGroup makes a group of n members at generation 1, synced.
func (e *env) stableGroup(group string, n int) []string {
	e.t.Helper()
	var ids []string
	var replies []*reply
	for i := 0; i < n; i++ {
		id, r := e.newMember(group)
		ids = append(ids, id)
		replies = append(replies, r)
	}
	e.clock.advance(0)
	assign := make(map[string]string)
	for _, id := range ids {
		assign[id] = "a-" + id
	}
	var leader string
	for i, r := range replies {
		if r.n == 0 {
			e.t.Fatalf("member %d's join not answered", i)
		}
		if resp := r.join(e.t); resp.LeaderID == resp.MemberID {
			leader = resp.MemberID
		}
	}
	syncs := make([]reply, n)
	for i, id := range ids {
		if id != leader {
			e.c.SyncGroup(syncReq(group, id, 1, nil), syncs[i].fn())
		}
	}
	for i, id := range ids {
		if id == leader {
			e.c.SyncGroup(syncReq(group, id, 1, assign), syncs[i].fn())
		}
	}
	for i := range syncs {
		if s := syncs[i].sync(e.t); s.ErrorCode != 0 || string(s.MemberAssignment) != assign[ids[i]] {
			e.t.Fatalf("sync of %s: %v %q", ids[i], kerr.ErrorForCode(s.ErrorCode), s.MemberAssignment)
		}
	}
	return ids
}

// An empty group's first rebalance waits group.initial.rebalance.delay.ms,
// extended while members keep arriving, so a starting fleet lands in one
// generation.
func TestClassicInitialRebalanceDelay(t *testing.T) {
	e := newEnv(t)
	e.cfg.InitialRebalanceDelay = 3 * time.Second
	e.c = New(e.cfg, e.clock, e.journal, e.topics)
	_, a := e.newMember("g")
	e.clock.advance(2 * time.Second)
	if a.n != 0 {
		t.Fatal("first join answered before the initial delay")
	}
	_, b := e.newMember("g")
	e.clock.advance(1500 * time.Millisecond) // the first delay ended with a newcomer: extended
	if a.n != 0 || b.n != 0 {
		t.Fatal("joins answered although a member arrived during the delay")
	}
	e.clock.advance(2 * time.Second) // the extension had no newcomer
	ra, rb := a.join(t), b.join(t)
	if ra.Generation != 1 || rb.Generation != 1 || len(ra.Members)+len(rb.Members) != 2 {
		t.Fatalf("generations %d/%d, members %d/%d", ra.Generation, rb.Generation, len(ra.Members), len(rb.Members))
	}
}

// Members that do not rejoin within the rebalance timeout are dropped.
func TestClassicRebalanceTimeoutDropsSilentMember(t *testing.T) {
	e := newEnv(t)
	ids := e.stableGroup("g", 2)
	c, cr := e.newMember("g") // the newcomer starts a rebalance
	var ar reply
	e.c.JoinGroup(Client{}, joinReq("g", ids[0], nil), ar.fn())
	if code := e.heartbeat("g", ids[1], 1); code != kerr.RebalanceInProgress.Code {
		t.Fatalf("heartbeat during the rebalance: %v", kerr.ErrorForCode(code))
	}
	e.clock.advance(5 * time.Second) // ids[1] never rejoins
	if ar.join(t).Generation != 2 || cr.join(t).Generation != 2 {
		t.Fatal("joins not answered at generation 2")
	}
	if n := len(ar.join(t).Members) + len(cr.join(t).Members); n != 2 {
		t.Fatalf("leader saw %d members, want 2 (a and c)", n)
	}
	if code := e.heartbeat("g", ids[1], 1); code != kerr.UnknownMemberID.Code {
		t.Fatalf("dropped member's heartbeat: %v", kerr.ErrorForCode(code))
	}
	_ = c
}

// A member that stops heartbeating is removed after its session timeout
// and the others are told to rejoin.
func TestClassicSessionTimeout(t *testing.T) {
	e := newEnv(t)
	ids := e.stableGroup("g", 2)
	for i := 0; i < 12; i++ {
		e.clock.advance(time.Second)
		if code := e.heartbeat("g", ids[0], 1); i < 9 && code != 0 {
			t.Fatalf("heartbeat %d: %v", i, kerr.ErrorForCode(code))
		}
	}
	if code := e.heartbeat("g", ids[0], 1); code != kerr.RebalanceInProgress.Code {
		t.Fatalf("after the other member's session expired: %v", kerr.ErrorForCode(code))
	}
	var r reply
	e.c.JoinGroup(Client{}, joinReq("g", ids[0], nil), r.fn())
	if resp := r.join(t); resp.Generation != 2 || len(resp.Members) != 1 {
		t.Fatalf("rejoin: generation %d members %d", resp.Generation, len(resp.Members))
	}
}

// A member that got its JoinGroup answer but never syncs is removed after
// the rebalance timeout.
func TestClassicPendingSyncExpires(t *testing.T) {
	e := newEnv(t)
	_, ar := e.newMember("g")
	_, br := e.newMember("g")
	e.clock.advance(0)
	a, b := ar.join(t), br.join(t)
	leader := a
	if b.LeaderID == b.MemberID {
		leader = b
	}
	var s reply
	e.c.SyncGroup(syncReq("g", leader.MemberID, 1, map[string]string{a.MemberID: "x", b.MemberID: "y"}), s.fn())
	if s.sync(t).ErrorCode != 0 {
		t.Fatal("leader sync failed")
	}
	e.clock.advance(4 * time.Second)
	if code := e.heartbeat("g", leader.MemberID, 1); code != 0 {
		t.Fatalf("heartbeat before the sync deadline: %v", kerr.ErrorForCode(code))
	}
	e.clock.advance(2 * time.Second)
	if code := e.heartbeat("g", leader.MemberID, 1); code != kerr.RebalanceInProgress.Code {
		t.Fatalf("heartbeat after the follower missed its sync: %v", kerr.ErrorForCode(code))
	}
}

// A member id handed out with MEMBER_ID_REQUIRED that is never used
// expires, and the group it alone made disappears at the next sweep.
func TestClassicPendingMemberExpires(t *testing.T) {
	e := newEnv(t)
	var r reply
	e.c.JoinGroup(Client{}, joinReq("g", "", nil), r.fn())
	if r.join(t).ErrorCode != kerr.MemberIDRequired.Code {
		t.Fatal("want MEMBER_ID_REQUIRED")
	}
	if e.c.GroupCount() != 1 {
		t.Fatal("no group for the pending member")
	}
	e.clock.advance(11 * time.Second)
	e.clock.advance(time.Minute) // the sweep
	if e.c.GroupCount() != 0 {
		t.Fatalf("%d groups after the pending member expired", e.c.GroupCount())
	}
}

// The leader's SyncGroup hands every member its bytes; a member the leader
// left out of a consumer group gets a decodable empty assignment.
func TestClassicLeaderOmitsMember(t *testing.T) {
	e := newEnv(t)
	_, ar := e.newMember("g")
	_, br := e.newMember("g")
	e.clock.advance(0)
	a, b := ar.join(t), br.join(t)
	leader, follower := a, b
	if b.LeaderID == b.MemberID {
		leader, follower = b, a
	}
	var fs, ls reply
	e.c.SyncGroup(syncReq("g", follower.MemberID, 1, nil), fs.fn())
	if fs.n != 0 {
		t.Fatal("follower sync answered before the leader's")
	}
	e.c.SyncGroup(syncReq("g", leader.MemberID, 1, map[string]string{leader.MemberID: "mine"}), ls.fn())
	var got kmsg.ConsumerMemberAssignment
	if err := got.ReadFrom(fs.sync(t).MemberAssignment); err != nil || len(got.Topics) != 0 {
		t.Fatalf("left-out member's assignment %q: %v", fs.sync(t).MemberAssignment, err)
	}
	if string(ls.sync(t).MemberAssignment) != "mine" {
		t.Fatal("leader's own assignment lost")
	}
}

// The protocol is the one every member supports that most members prefer.
func TestClassicProtocolSelection(t *testing.T) {
	e := newEnv(t)
	mk := func(names ...string) *kmsg.JoinGroupRequest {
		req := joinReq("g", "", nil)
		req.Protocols = nil
		for _, n := range names {
			req.Protocols = append(req.Protocols, kmsg.JoinGroupRequestProtocol{Name: n, Metadata: []byte(n)})
		}
		return req
	}
	var replies []*reply
	for _, ps := range [][]string{{"sticky", "range"}, {"roundrobin", "range", "sticky"}, {"roundrobin", "sticky", "range"}} {
		var first, r reply
		e.c.JoinGroup(Client{}, mk(ps...), first.fn())
		req := mk(ps...)
		req.MemberID = first.join(t).MemberID
		e.c.JoinGroup(Client{}, req, r.fn())
		replies = append(replies, &r)
	}
	e.clock.advance(0)
	for _, r := range replies {
		if p := *r.join(t).Protocol; p != "sticky" {
			t.Fatalf("protocol %q, want sticky (roundrobin is not supported by all)", p)
		}
	}
	var r reply
	e.c.JoinGroup(Client{}, mk("roundrobin"), r.fn())
	if r.join(t).ErrorCode != kerr.InconsistentGroupProtocol.Code {
		t.Fatal("a member sharing no protocol was let in")
	}
}

// A restart replays the group: members, generation and assignments come
// back, and restored members expire if they stay silent.
func TestClassicReplayRestoresMembers(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 2)
	ids := e.stableGroup("g", 2)
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Version = 9
	commit.Group, commit.MemberID, commit.Generation = "g", ids[0], 1
	commit.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 1, Offset: 77, LeaderEpoch: 3}}}}
	if code := e.c.OffsetCommit(commit).Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("commit: %v", kerr.ErrorForCode(code))
	}

	e.reload()
	d := e.c.DescribeGroup(6, "g")
	if d.State != "Stable" || len(d.Members) != 2 || d.Protocol != "range" {
		t.Fatalf("restored: %+v", d)
	}
	for _, m := range d.Members {
		if string(m.MemberAssignment) != "a-"+m.MemberID {
			t.Fatalf("member %s restored with assignment %q", m.MemberID, m.MemberAssignment)
		}
	}
	if code := e.heartbeat("g", ids[0], 1); code != 0 {
		t.Fatalf("restored member's heartbeat: %v", kerr.ErrorForCode(code))
	}
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = "g"
	f := e.c.OffsetFetch(9, &rg)
	if len(f.Topics) != 1 || f.Topics[0].Partitions[0].Offset != 77 || f.Topics[0].Partitions[0].LeaderEpoch != 3 {
		t.Fatalf("restored offsets: %+v", f)
	}
	// Only ids[0] keeps heartbeating; ids[1] expires.
	for i := 0; i < 11; i++ {
		e.clock.advance(time.Second)
		e.heartbeat("g", ids[0], 1)
	}
	if code := e.heartbeat("g", ids[0], 1); code != kerr.RebalanceInProgress.Code {
		t.Fatalf("after the silent restored member expired: %v", kerr.ErrorForCode(code))
	}
}

// Commits that fail to reach the journal are refused and not remembered.
func TestClassicCommitJournalFailure(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 1)
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Version = 9
	commit.Group = "simple"
	commit.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 5}}}}
	e.journal.failing = true
	if code := e.c.OffsetCommit(commit).Topics[0].Partitions[0].ErrorCode; code != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("commit with a failing journal: %v", kerr.ErrorForCode(code))
	}
	if e.c.GroupCount() != 0 {
		t.Fatal("a failed commit created a group")
	}
	e.journal.failing = false
	if code := e.c.OffsetCommit(commit).Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("commit: %v", kerr.ErrorForCode(code))
	}
}

// Offsets expire after offsets.retention.minutes (KIP-211): a simple
// group's from the commit, an empty group's from when it became empty,
// and a stable consumer group keeps the offsets of topics it consumes.
func TestOffsetExpiry(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 1)
	e.topics.add("other", 1)
	commit := func(group, member string, gen int32, topic string) {
		t.Helper()
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version = 9
		req.Group, req.MemberID, req.Generation = group, member, gen
		req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: topic, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1}}}}
		if code := e.c.OffsetCommit(req).Topics[0].Partitions[0].ErrorCode; code != 0 {
			t.Fatalf("commit %s/%s: %v", group, topic, kerr.ErrorForCode(code))
		}
	}
	has := func(group, topic string) bool {
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = group
		rg.Topics = []kmsg.OffsetFetchRequestGroupTopic{{Topic: topic, Partitions: []int32{0}}}
		return e.c.OffsetFetch(9, &rg).Topics[0].Partitions[0].Offset >= 0
	}
	commit("simple", "", -1, "t")
	ids := e.stableGroup("live", 1)
	commit("live", ids[0], 1, "t")     // subscribed (the members' metadata names t)
	commit("live", ids[0], 1, "other") // not subscribed

	for i := 0; i < 70*12; i++ { // keep the live member alive past the retention
		e.clock.advance(5 * time.Second)
		if code := e.heartbeat("live", ids[0], 1); code != 0 {
			t.Fatalf("heartbeat: %v", kerr.ErrorForCode(code))
		}
	}
	if has("simple", "t") || e.c.groups["simple"] != nil {
		t.Fatal("the simple group's offset and group outlived the retention")
	}
	if !has("live", "t") {
		t.Fatal("a stable group lost the offset of a topic it consumes")
	}
	if has("live", "other") {
		t.Fatal("a stable group kept the offset of a topic it does not consume")
	}
	var tombstones int
	for _, r := range e.journal.recs {
		if r.Value == nil {
			tombstones++
		}
	}
	if tombstones < 3 {
		t.Fatalf("%d tombstones written, want the two offsets and the group", tombstones)
	}
}

// An empty group's offsets expire a retention period after the group
// became empty, not after the commit.
func TestOffsetExpiryCountsFromEmpty(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 1)
	ids := e.stableGroup("g", 1)
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 9
	req.Group, req.MemberID, req.Generation = "g", ids[0], 1
	req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1}}}}
	if code := e.c.OffsetCommit(req).Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	for i := 0; i < 50*12; i++ { // 50 minutes of membership
		e.clock.advance(5 * time.Second)
		e.heartbeat("g", ids[0], 1)
	}
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Version = 5
	leave.Group = "g"
	leave.Members = []kmsg.LeaveGroupRequestMember{{MemberID: ids[0]}}
	if code := e.c.LeaveGroup(leave).Members[0].ErrorCode; code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	e.clock.advance(0) // the join phase of the now empty group ends
	if d := e.c.DescribeGroup(6, "g"); d.State != "Empty" {
		t.Fatalf("state %q after the last member left", d.State)
	}
	e.clock.advance(50 * time.Minute) // 100 minutes after the commit, 50 after emptying
	if _, ok := e.c.groups["g"].offset("t", 0); !ok {
		t.Fatal("offset expired counting from the commit, not from the group emptying")
	}
	e.clock.advance(15 * time.Minute)
	if e.c.groups["g"] != nil {
		t.Fatal("empty group without offsets not removed")
	}
}

// Offsets of a deleted topic are not served, not even to a topic created
// again under its name, and the next sweep deletes them.
func TestOffsetsOfDeletedTopic(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 1)
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 9
	req.Group = "g"
	req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 9}}}}
	if code := e.c.OffsetCommit(req).Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	fetch := func() int64 {
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = "g"
		rg.Topics = []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}
		return e.c.OffsetFetch(9, &rg).Topics[0].Partitions[0].Offset
	}
	e.reload() // the topic id survives in the record
	if got := fetch(); got != 9 {
		t.Fatalf("offset %d before the deletion", got)
	}
	delete(e.topics.topics, "t")
	e.topics.version++
	e.topics.topics["t"] = fakeTopic{id: [16]byte{0xee}, partitions: 1} // re-created
	if got := fetch(); got != -1 {
		t.Fatalf("re-created topic inherited offset %d", got)
	}
	e.clock.advance(time.Minute)
	if e.c.groups["g"] != nil {
		t.Fatal("the sweep kept a group whose only offset belonged to a deleted topic")
	}
}

// A commit naming a generation of a group that does not exist: from v9
// Kafka answers GROUP_ID_NOT_FOUND, before that ILLEGAL_GENERATION.
func TestCommitToMissingGroupCodeByVersion(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 1)
	for version, want := range map[int16]*kerr.Error{8: kerr.IllegalGeneration, 9: kerr.GroupIDNotFound} {
		commit := kmsg.NewPtrOffsetCommitRequest()
		commit.Version = version
		commit.Group, commit.MemberID, commit.Generation = "missing", "m", 3
		commit.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1, LeaderEpoch: -1}}}}
		if code := e.c.OffsetCommit(commit).Topics[0].Partitions[0].ErrorCode; code != want.Code {
			t.Fatalf("v%d: %v, want %v", version, kerr.ErrorForCode(code), want)
		}
	}
	if n := e.c.GroupCount(); n != 0 {
		t.Fatalf("refused commits left %d groups", n)
	}
}

// A classic group in state Empty may be deleted although a KIP-394 first
// join left a pending member id, as in Kafka.
func TestDeleteGroupWithOnlyAPendingMember(t *testing.T) {
	e := newEnv(t)
	var first reply
	e.c.JoinGroup(Client{ID: "client"}, joinReq("g", "", nil), first.fn())
	if resp := first.join(t); resp.ErrorCode != kerr.MemberIDRequired.Code {
		t.Fatalf("first join: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	if code := e.c.DeleteGroup("g"); code != 0 {
		t.Fatalf("DeleteGroup of an Empty group with a pending member: %v", kerr.ErrorForCode(code))
	}
	if n := e.c.GroupCount(); n != 0 {
		t.Fatalf("%d groups after the delete", n)
	}
}

// A follower that sends its JoinGroup again while the group completes its
// rebalance (its answer was lost) is answered again naming the group's
// leader, as Kafka does: told it leads, it would run the assignor over no
// members.
func TestClassicRejoinDuringCompletingRebalanceNamesTheLeader(t *testing.T) {
	e := newEnv(t)
	idA, ra := e.newMember("g")
	idB, rb := e.newMember("g")
	e.clock.advance(0)
	leader := ra.join(t).LeaderID
	if rb.join(t).LeaderID != leader {
		t.Fatal("members disagree on the leader")
	}
	follower := idA
	if follower == leader {
		follower = idB
	}
	var again reply
	e.c.JoinGroup(Client{ID: "client"}, joinReq("g", follower, nil), again.fn())
	resp := again.join(t)
	if resp.ErrorCode != 0 || resp.LeaderID != leader || len(resp.Members) != 0 {
		t.Fatalf("follower's repeated join: %v, leader %q (want %q), %d members", kerr.ErrorForCode(resp.ErrorCode), resp.LeaderID, leader, len(resp.Members))
	}
}

// A commit at generation -1 to a group that does not exist is taken
// whatever member id it names, as Kafka takes it into a new empty group.
func TestGenerationlessCommitWithMemberIDToMissingGroup(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 1)
	for _, version := range []int16{8, 9} {
		commit := kmsg.NewPtrOffsetCommitRequest()
		commit.Version = version
		commit.Group, commit.MemberID, commit.Generation = "simple", "m", -1
		commit.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 7, LeaderEpoch: -1}}}}
		if code := e.c.OffsetCommit(commit).Topics[0].Partitions[0].ErrorCode; code != 0 {
			t.Fatalf("v%d: %v, want success", version, kerr.ErrorForCode(code))
		}
	}
}
