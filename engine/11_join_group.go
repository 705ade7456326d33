package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/group"
)

// JoinGroup: v0-9
//
// Behaviour (classic protocol, engine/group/classic.go):
// * The first join of a dynamic member (v4+) gets MEMBER_ID_REQUIRED and
//   its generated id (KIP-394); it joins again with it.
// * The request is parked until the join phase ends: every member has
//   rejoined, the largest rebalance timeout passed, or, for an empty group,
//   group.initial.rebalance.delay.ms (extended while members keep coming).
// * The leader's answer carries every member's metadata for the chosen
//   protocol (the one all members support that most prefer); the broker
//   never reads it, so eager, cooperative and custom assignors all work.
// * Static members (group.instance.id, KIP-345) rejoin under a new member id
//   and fence the old one (FENCED_INSTANCE_ID); in a stable group with an
//   unchanged protocol they take their old assignment without a rebalance.
// * Session timeouts outside group.min/max.session.timeout.ms:
//   INVALID_SESSION_TIMEOUT; protocols no member shares:
//   INCONSISTENT_GROUP_PROTOCOL; a full group: GROUP_MAX_SIZE_REACHED.
//
// Version notes:
// * v1: RebalanceTimeoutMillis
// * v2: ThrottleMillis
// * v4: MEMBER_ID_REQUIRED (KIP-394)
// * v5: InstanceID (KIP-345)
// * v6: flexible
// * v7: ProtocolType and Protocol nullable in the response
// * v8: Reason (KIP-800)
// * v9: SkipAssignment for a returning static leader (KIP-814)

func init() { registerAPI(11, 0, 9, (*Broker).handleJoinGroup) }

func (b *Broker) handleJoinGroup(r *request) {
	req := r.kreq.(*kmsg.JoinGroupRequest)
	fail := func(code int16) kmsg.Response {
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode, resp.MemberID = code, req.MemberID
		return resp
	}
	cl := group.Client{ID: r.clientID, Host: clientHost(r)}
	b.coordinate(r, req.Group, fail, func(c *group.Coordinator, reply func(kmsg.Response)) {
		c.JoinGroup(cl, req, reply)
	})
}
