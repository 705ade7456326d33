package engine

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/netpoll"
)

// FuzzGroupRequests feeds mutated group-API frames to a live broker. None
// may panic; every one must be answered (or close its connection) at once,
// except JoinGroup and SyncGroup, which wait for a rebalance as in Kafka and
// may stay parked.
func FuzzGroupRequests(f *testing.F) {
	md := kmsg.NewConsumerMemberMetadata()
	md.Topics = []string{"fuzz"}
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.ProtocolType, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = "g", "consumer", 10000, 1000
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: md.AppendTo(nil)}}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.MemberID, sync.Generation = "g", "m", 1
	sync.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: "m", MemberAssignment: []byte{0, 1}}}
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID = "g", "m"
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Group, leave.MemberID = "g", "m"
	leave.Members = []kmsg.LeaveGroupRequestMember{{MemberID: "m"}}
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group = "g"
	commit.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "fuzz", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Offset: 1}}}}
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Group = "g"
	fetch.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g"}}
	find := kmsg.NewPtrFindCoordinatorRequest()
	find.CoordinatorKey, find.CoordinatorKeys = "g", []string{"g", "h"}
	describe := kmsg.NewPtrDescribeGroupsRequest()
	describe.Groups = []string{"g"}
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"g"}
	odel := kmsg.NewPtrOffsetDeleteRequest()
	odel.Group = "g"
	odel.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "fuzz", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}}}
	cgh := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	cgh.Group, cgh.MemberID, cgh.RebalanceTimeoutMillis = "c", "m", 1000
	cgh.SubscribedTopicNames = []string{"fuzz"}
	cgh.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	cgd := kmsg.NewPtrConsumerGroupDescribeRequest()
	cgd.Groups = []string{"c"}
	for _, r := range []kmsg.Request{join, sync, hb, leave, commit, fetch, find, describe, del, odel, cgh, cgd, kmsg.NewPtrListGroupsRequest()} {
		for v := int16(0); v <= r.MaxVersion(); v++ {
			f.Add(encodeRequest(r, v))
		}
	}

	tb := startBroker(f, append(append([]string(nil), groupTestSets...), "fetch.max.wait.cap.ms=200")...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if res, err := tb.admin().CreateTopic(ctx, 2, 1, nil, "fuzz"); err != nil || res.Err != nil {
		f.Fatalf("create topic: %v %v", err, res.Err)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		r := &fuzzResponder{done: make(chan struct{})}
		tb.b.Serve(netpoll.ConnInfo{ID: 1, Remote: "127.0.0.1:1"}, frame, r)
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			if h, err := parseRequestHeader(frame); err != nil || (h.key != 11 && h.key != 14) {
				t.Fatalf("request %x neither answered nor closed", frame)
			}
		}
	})
}
