package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawMember speaks the classic group protocol by hand, one client (and so
// one connection) per member, because a parked JoinGroup holds its
// connection's later answers back.
type rawMember struct {
	t     *testing.T
	cl    *kgo.Client
	group string
	id    string
	inst  *string
	gen   int32
}

// newRawMember's client commits with OffsetCommit v9, which names topics
// (v10 names them by id).
func newRawMember(t *testing.T, tb *testBroker, group string) *rawMember {
	return &rawMember{t: t, cl: pinnedClient(tb, 8, 9), group: group}
}

func (m *rawMember) joinReq() *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group = m.group
	req.MemberID = m.id
	req.InstanceID = m.inst
	req.SessionTimeoutMillis = 10000
	req.RebalanceTimeoutMillis = 5000
	req.ProtocolType = "consumer"
	md := kmsg.NewConsumerMemberMetadata()
	md.Topics = []string{"raw"}
	req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: md.AppendTo(nil)}}
	return req
}

func (m *rawMember) join(req *kmsg.JoinGroupRequest) *kmsg.JoinGroupResponse {
	m.t.Helper()
	resp, err := req.RequestWith(adminCtx(m.t), m.cl)
	if err != nil {
		m.t.Fatalf("join: %v", err)
	}
	if resp.ErrorCode == 0 {
		m.id, m.gen = resp.MemberID, resp.Generation
	}
	return resp
}

func (m *rawMember) sync(gen int32, assign []kmsg.SyncGroupRequestGroupAssignment) *kmsg.SyncGroupResponse {
	m.t.Helper()
	req := kmsg.NewPtrSyncGroupRequest()
	req.Group, req.MemberID, req.InstanceID, req.Generation, req.GroupAssignment = m.group, m.id, m.inst, gen, assign
	resp, err := req.RequestWith(adminCtx(m.t), m.cl)
	if err != nil {
		m.t.Fatalf("sync: %v", err)
	}
	return resp
}

func (m *rawMember) heartbeat(id string, gen int32) int16 {
	m.t.Helper()
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.MemberID, req.InstanceID, req.Generation = m.group, id, m.inst, gen
	resp, err := req.RequestWith(adminCtx(m.t), m.cl)
	if err != nil {
		m.t.Fatalf("heartbeat: %v", err)
	}
	return resp.ErrorCode
}

func (m *rawMember) commitMetadata(md string) int16 {
	m.t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.MemberID, req.Generation = m.group, m.id, m.gen
	req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "raw", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1, Metadata: &md}}}}
	resp, err := req.RequestWith(adminCtx(m.t), m.cl)
	if err != nil {
		m.t.Fatalf("commit: %v", err)
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}

func (m *rawMember) commit(id string, gen int32, topic string, partition int32, offset int64) int16 {
	m.t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.MemberID, req.Generation = m.group, id, gen
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = partition, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(adminCtx(m.t), m.cl)
	if err != nil {
		m.t.Fatalf("commit: %v", err)
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}

// The classic protocol's errors, each where a Kafka broker returns it.
func TestGroupClassicProtocolErrors(t *testing.T) {
	tb := startGroupBroker(t)
	createTestTopic(t, tb, "raw", 2)
	a := newRawMember(t, tb, "raw-group")

	// KIP-394: the first join only hands out a member id.
	resp := a.join(a.joinReq())
	wantCode(t, "first join", resp.ErrorCode, kerr.MemberIDRequired)
	if resp.MemberID == "" {
		t.Fatal("MEMBER_ID_REQUIRED without a member id")
	}
	a.id = resp.MemberID
	resp = a.join(a.joinReq())
	wantCode(t, "join with id", resp.ErrorCode, nil)
	if resp.Generation != 1 || resp.LeaderID != a.id || len(resp.Members) != 1 || *resp.Protocol != "range" {
		t.Fatalf("join: generation %d leader %q members %d protocol %v", resp.Generation, resp.LeaderID, len(resp.Members), resp.Protocol)
	}

	wantCode(t, "sync, wrong generation", a.sync(2, nil).ErrorCode, kerr.IllegalGeneration)
	mine := []byte("assignment-of-a")
	sresp := a.sync(1, []kmsg.SyncGroupRequestGroupAssignment{{MemberID: a.id, MemberAssignment: mine}})
	wantCode(t, "leader sync", sresp.ErrorCode, nil)
	if string(sresp.MemberAssignment) != string(mine) {
		t.Fatalf("sync returned %q, want the leader's bytes %q", sresp.MemberAssignment, mine)
	}

	wantCode(t, "heartbeat", a.heartbeat(a.id, 1), nil)
	wantCode(t, "heartbeat, unknown member", a.heartbeat("nobody", 1), kerr.UnknownMemberID)
	wantCode(t, "heartbeat, old generation", a.heartbeat(a.id, 0), kerr.IllegalGeneration)

	wantCode(t, "commit", a.commit(a.id, 1, "raw", 0, 5), nil)
	wantCode(t, "commit, old generation", a.commit(a.id, 0, "raw", 0, 6), kerr.IllegalGeneration)
	wantCode(t, "commit, unknown member", a.commit("nobody", 1, "raw", 0, 6), kerr.UnknownMemberID)
	wantCode(t, "commit, no group generation", a.commit("", -1, "raw", 0, 6), kerr.UnknownMemberID)
	wantCode(t, "commit, unknown topic", a.commit(a.id, 1, "no-such-topic", 0, 6), kerr.UnknownTopicOrPartition)
	wantCode(t, "commit, unknown partition", a.commit(a.id, 1, "raw", 9, 6), kerr.UnknownTopicOrPartition)
	long := make([]byte, 5000)
	wantCode(t, "commit, metadata too large", a.commitMetadata(string(long)), kerr.OffsetMetadataTooLarge)

	// A second member's join parks until the first rejoins; meanwhile the
	// first member is told to rejoin by its heartbeat.
	b := newRawMember(t, tb, "raw-group")
	b.id = b.join(b.joinReq()).MemberID
	bDone := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { bDone <- b.join(b.joinReq()) }()
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if code := a.heartbeat(a.id, 1); code != kerr.RebalanceInProgress.Code {
			return fmt.Errorf("heartbeat during rebalance: %v", kerr.ErrorForCode(code))
		}
		return nil
	})
	wantCode(t, "sync while preparing", a.sync(1, nil).ErrorCode, kerr.RebalanceInProgress)
	resp = a.join(a.joinReq())
	wantCode(t, "rejoin", resp.ErrorCode, nil)
	bResp := <-bDone
	wantCode(t, "second member's join", bResp.ErrorCode, nil)
	if resp.Generation != 2 || bResp.Generation != 2 || bResp.LeaderID != a.id || len(resp.Members) != 2 || len(bResp.Members) != 0 {
		t.Fatalf("generation %d/%d, leader %q, members %d/%d", resp.Generation, bResp.Generation, bResp.LeaderID, len(resp.Members), len(bResp.Members))
	}
	wantCode(t, "commit between join and sync", a.commit(a.id, 2, "raw", 0, 7), kerr.RebalanceInProgress)

	// b's sync waits for the leader's.
	bSync := make(chan *kmsg.SyncGroupResponse, 1)
	go func() { bSync <- b.sync(2, nil) }()
	wantCode(t, "leader sync", a.sync(2, []kmsg.SyncGroupRequestGroupAssignment{
		{MemberID: a.id, MemberAssignment: []byte("a2")}, {MemberID: b.id, MemberAssignment: []byte("b2")},
	}).ErrorCode, nil)
	if s := <-bSync; s.ErrorCode != 0 || string(s.MemberAssignment) != "b2" {
		t.Fatalf("follower sync: %v %q", kerr.ErrorForCode(s.ErrorCode), s.MemberAssignment)
	}

	// Requests the group cannot take.
	bad := a.joinReq()
	bad.MemberID = ""
	bad.SessionTimeoutMillis = 100
	wantCode(t, "session timeout below the minimum", a.join(bad).ErrorCode, kerr.InvalidSessionTimeout)
	bad = a.joinReq()
	bad.ProtocolType = "connect"
	wantCode(t, "another protocol type", a.join(bad).ErrorCode, kerr.InconsistentGroupProtocol)
	bad = a.joinReq()
	bad.Protocols[0].Name = "roundrobin"
	wantCode(t, "no protocol in common", a.join(bad).ErrorCode, kerr.InconsistentGroupProtocol)
	bad = a.joinReq()
	bad.Group = ""
	wantCode(t, "empty group id", a.join(bad).ErrorCode, kerr.InvalidGroupID)
}

// A static member that joins again under its instance id takes the place
// of its old member id, which is fenced from then on (KIP-345).
func TestGroupStaticMemberFencing(t *testing.T) {
	tb := startGroupBroker(t)
	createTestTopic(t, tb, "raw", 1)
	inst := "instance-1"
	old := newRawMember(t, tb, "static-raw")
	old.inst = &inst
	resp := old.join(old.joinReq()) // static members skip MEMBER_ID_REQUIRED
	wantCode(t, "static join", resp.ErrorCode, nil)
	wantCode(t, "sync", old.sync(1, []kmsg.SyncGroupRequestGroupAssignment{{MemberID: old.id, MemberAssignment: []byte("x")}}).ErrorCode, nil)

	fresh := newRawMember(t, tb, "static-raw")
	fresh.inst = &inst
	resp = fresh.join(fresh.joinReq())
	wantCode(t, "rejoin of the instance", resp.ErrorCode, nil)
	if resp.MemberID == old.id || resp.Generation != 1 {
		t.Fatalf("replacement got member %q generation %d; old member %q", resp.MemberID, resp.Generation, old.id)
	}
	if s := fresh.sync(1, nil); s.ErrorCode != 0 || string(s.MemberAssignment) != "x" {
		t.Fatalf("replacement's sync: %v %q, want the old assignment", kerr.ErrorForCode(s.ErrorCode), s.MemberAssignment)
	}
	wantCode(t, "old member's heartbeat", old.heartbeat(old.id, 1), kerr.FencedInstanceID)
	wantCode(t, "old member's sync", old.sync(1, nil).ErrorCode, kerr.FencedInstanceID)
	wantCode(t, "new member's heartbeat", fresh.heartbeat(fresh.id, 1), nil)

	// LeaveGroup by instance id with the old member id is fenced too.
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Group = "static-raw"
	leave.Members = []kmsg.LeaveGroupRequestMember{{MemberID: old.id, InstanceID: &inst}}
	lresp, err := leave.RequestWith(adminCtx(t), fresh.cl)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "leave with the old member id", lresp.Members[0].ErrorCode, kerr.FencedInstanceID)
	leave.Members[0].MemberID = ""
	lresp, err = leave.RequestWith(adminCtx(t), fresh.cl)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "leave by instance id", lresp.Members[0].ErrorCode, nil)
	wantCode(t, "heartbeat after leaving", fresh.heartbeat(fresh.id, 1), kerr.UnknownMemberID)
}

// __consumer_offsets is created by the first coordinator lookup and shows
// in Metadata as an internal topic when asked for by name.
func TestGroupOffsetsTopicIsInternal(t *testing.T) {
	tb := startGroupBroker(t)
	cl := tb.client()
	ctx := adminCtx(t)
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey = "any-group"
	fresp, err := fc.RequestWith(ctx, cl)
	if err != nil || fresp.ErrorCode != 0 || fresp.NodeID != 1 {
		t.Fatalf("find coordinator: %v %+v", err, fresp)
	}
	md := kmsg.NewPtrMetadataRequest()
	name := offsetsTopic
	md.Topics = []kmsg.MetadataRequestTopic{{Topic: &name}}
	mresp, err := md.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	mt := mresp.Topics[0]
	if mt.ErrorCode != 0 || !mt.IsInternal || len(mt.Partitions) != 4 {
		t.Fatalf("metadata of %s: error %v internal %v partitions %d", name, kerr.ErrorForCode(mt.ErrorCode), mt.IsInternal, len(mt.Partitions))
	}

	// Batched keys (v4+, KIP-699) each get their coordinator.
	fc = kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKeys = []string{"g1", "g2"}
	fresp, err = fc.RequestWith(ctx, cl)
	// kgo may split batched keys across requests and merge the answers in
	// any order, so look each key up.
	if err != nil || len(fresp.Coordinators) != 2 {
		t.Fatalf("batched find coordinator: %v %+v", err, fresp)
	}
	for _, want := range []string{"g1", "g2"} {
		found := false
		for _, c := range fresp.Coordinators {
			found = found || (c.Key == want && c.NodeID == 1 && c.ErrorCode == 0)
		}
		if !found {
			t.Fatalf("batched find coordinator: no coordinator for %s in %+v", want, fresp.Coordinators)
		}
	}
}

// Kafka places group "g" on partition abs(javaHash("g")) % n; clients and
// tools that compute it themselves must agree.
func TestOffsetsPartitionMatchesKafka(t *testing.T) {
	f := func(group string, n int, want int32) {
		t.Helper()
		if got := offsetsPartitionFor(group, n); got != want {
			t.Fatalf("offsetsPartitionFor(%q, %d) = %d, want %d", group, n, got, want)
		}
	}
	// Values computed with Java's String.hashCode and Kafka's Utils.abs.
	f("my-group", 50, 12)
	f("test-consumer-group", 50, 31)
	f("", 50, 0)
	f("polygenelubricants", 50, 0) // hashCode is Integer.MIN_VALUE: Utils.abs gives 0
	f("é", 50, 33)
}
