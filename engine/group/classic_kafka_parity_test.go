package group

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// staticStable makes a stable group of one static member.
func (e *env) staticStable(group, instance string) string {
	e.t.Helper()
	inst := instance
	var r reply
	e.c.JoinGroup(Client{ID: "client"}, joinReq(group, "", &inst), r.fn())
	e.clock.advance(0)
	resp := r.join(e.t)
	if resp.ErrorCode != 0 {
		e.t.Fatalf("static join: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	var s reply
	e.c.SyncGroup(syncReq(group, resp.MemberID, resp.Generation, map[string]string{resp.MemberID: "a"}), s.fn())
	if s.sync(e.t).ErrorCode != 0 {
		e.t.Fatal("static sync failed")
	}
	return resp.MemberID
}

// KIP-345 admin removal by group.instance.id (member id ""): Kafka echoes
// the request's member id in the member response, and the Java Admin
// (RemoveMembersFromConsumerGroupResult) looks the result up by
// (memberId "", instanceId).
func TestClassicLeaveByInstanceEchoesTheRequestsMemberID(t *testing.T) {
	e := newEnv(t)
	e.staticStable("g", "inst-1")
	inst := "inst-1"
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Version = 5
	leave.Group = "g"
	leave.Members = []kmsg.LeaveGroupRequestMember{{MemberID: "", InstanceID: &inst}}
	resp := e.c.LeaveGroup(leave)
	m := resp.Members[0]
	if m.ErrorCode != 0 {
		t.Fatalf("leave: %v", kerr.ErrorForCode(m.ErrorCode))
	}
	if m.MemberID != "" {
		t.Fatalf("member response names member id %q, want the request's \"\" (Kafka echoes the request)", m.MemberID)
	}
}

// Kafka extends group.initial.rebalance.delay.ms while members keep
// arriving whenever the group entered PreparingRebalance from Empty
// (GroupMetadataManager.addMemberThenRebalanceOrCompleteJoin:
// previousState() == EMPTY), not only for a group at generation 0.
func TestClassicInitialDelayExtendedForAGroupBackFromEmpty(t *testing.T) {
	e := newEnv(t)
	e.cfg.InitialRebalanceDelay = 3 * time.Second
	e.c = New(e.cfg, e.clock, e.journal, e.topics)
	e.c.Loaded()
	// A first generation, then everyone leaves: Empty at generation 2.
	id, r := e.newMember("g")
	e.clock.advance(3 * time.Second)
	if r.join(t).ErrorCode != 0 {
		t.Fatal("first generation")
	}
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Version = 5
	leave.Group = "g"
	leave.Members = []kmsg.LeaveGroupRequestMember{{MemberID: id}}
	e.c.LeaveGroup(leave)
	e.clock.advance(0)
	if d := e.c.DescribeGroup(6, "g"); d.State != "Empty" {
		t.Fatalf("state %s", d.State)
	}
	// The fleet comes back: same scenario as TestClassicInitialRebalanceDelay.
	_, a := e.newMember("g")
	e.clock.advance(2 * time.Second)
	_, b := e.newMember("g")
	e.clock.advance(1500 * time.Millisecond)
	if a.n != 0 || b.n != 0 {
		t.Fatal("initial delay not extended for a group back from Empty although a member arrived during it")
	}
}

// Kafka's acceptJoiningMember accepts any join while the group is Empty
// and counts only members (not KIP-394 pending ids) in Stable; a pending
// id a crashed client never used must not make the next consumer fail
// with the fatal GROUP_MAX_SIZE_REACHED.
func TestClassicMaxSizeDoesNotCountPendingIDs(t *testing.T) {
	e := newEnv(t)
	e.cfg.MaxSize = 2
	e.c = New(e.cfg, e.clock, e.journal, e.topics)
	e.c.Loaded()
	e.stableGroup("g", 1)
	var stale reply // a client that got its id and died
	e.c.JoinGroup(Client{ID: "x"}, joinReq("g", "", nil), stale.fn())
	if stale.join(t).ErrorCode != kerr.MemberIDRequired.Code {
		t.Fatal("want MEMBER_ID_REQUIRED")
	}
	var r reply
	e.c.JoinGroup(Client{ID: "y"}, joinReq("g", "", nil), r.fn())
	if code := r.join(t).ErrorCode; code != kerr.MemberIDRequired.Code {
		t.Fatalf("second newcomer to a group of 1 member (max 2): %v, want MEMBER_ID_REQUIRED", kerr.ErrorForCode(code))
	}
}

// Kafka's validateMember: a request naming a group.instance.id the group
// does not know is UNKNOWN_MEMBER_ID, even with a valid dynamic member id.
func TestClassicHeartbeatWithAnUnknownInstanceID(t *testing.T) {
	e := newEnv(t)
	ids := e.stableGroup("g", 1)
	inst := "nobody"
	req := kmsg.NewPtrHeartbeatRequest()
	req.Version = 4
	req.Group, req.MemberID, req.Generation, req.InstanceID = "g", ids[0], 1, &inst
	if code := e.c.Heartbeat(req).ErrorCode; code != kerr.UnknownMemberID.Code {
		t.Fatalf("heartbeat with an unknown instance id: %v, want UNKNOWN_MEMBER_ID", kerr.ErrorForCode(code))
	}
}

// Kafka checks offset.metadata.max.bytes against the metadata's Java
// String.length() (UTF-16 code units, OffsetMetadataManager), not its
// UTF-8 byte count.
func TestOffsetMetadataLimitCountsCharactersAsJava(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 1)
	md := ""
	for i := 0; i < 60; i++ {
		md += "é" // 60 chars, 120 bytes; the limit is 100
	}
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 9
	req.Group, req.Generation = "simple", -1
	req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1, Metadata: &md}}}}
	if code := e.c.OffsetCommit(req).Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("60-character metadata under a 100 limit: %v", kerr.ErrorForCode(code))
	}
}

// group.max.size holds for every join, as Kafka's acceptJoiningMember
// checks each: two newcomers whose KIP-394 ids took no place rejoin a
// rebalance of a full group before its member does, and that member is
// then refused, not let in as a third.
func TestClassicMaxSizeHoldsWhenPendingIDsJoinDuringARebalance(t *testing.T) {
	e := newEnv(t)
	e.cfg.MaxSize = 2
	e.c = New(e.cfg, e.clock, e.journal, e.topics)
	e.c.Loaded()
	ids := e.stableGroup("g", 1)
	var b0, c0 reply
	e.c.JoinGroup(Client{ID: "b"}, joinReq("g", "", nil), b0.fn())
	e.c.JoinGroup(Client{ID: "c"}, joinReq("g", "", nil), c0.fn())
	if b0.join(t).ErrorCode != kerr.MemberIDRequired.Code || c0.join(t).ErrorCode != kerr.MemberIDRequired.Code {
		t.Fatal("want MEMBER_ID_REQUIRED for both newcomers")
	}
	var b, c, a reply
	e.c.JoinGroup(Client{ID: "b"}, joinReq("g", b0.join(t).MemberID, nil), b.fn())
	e.c.JoinGroup(Client{ID: "c"}, joinReq("g", c0.join(t).MemberID, nil), c.fn())
	e.c.JoinGroup(Client{ID: "client"}, joinReq("g", ids[0], nil), a.fn())
	if code := a.join(t).ErrorCode; code != kerr.GroupMaxSizeReached.Code {
		t.Fatalf("the member rejoining a full rebalance: %v, want GROUP_MAX_SIZE_REACHED", kerr.ErrorForCode(code))
	}
	// The join phase ends without it (it did not rejoin) at the rebalance
	// timeout (5 s, within the sessions), as in Kafka.
	e.clock.advance(6 * time.Second)
	d := e.c.DescribeGroup(6, "g")
	if len(d.Members) != 2 || b.n != 1 || c.n != 1 {
		t.Fatalf("group.max.size=2: %d members in state %s (newcomers answered %d, %d)", len(d.Members), d.State, b.n, c.n)
	}
}
