package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/group"
)

// ConsumerGroupHeartbeat: v0-1 (KIP-848)
//
// Behaviour (engine/group/consumer.go):
// * Epoch 0 joins (the member's owned partitions must be an empty list),
//   -1 leaves, -2 parks a static member, which keeps its partitions until it
//   rejoins or its group.consumer.session.timeout.ms passes.
// * The broker assigns (group.consumer.assignors: uniform, range; the
//   member's ServerAssignor picks one, UNSUPPORTED_ASSIGNOR otherwise) and
//   reconciles each member towards its target: partitions are revoked from
//   one member before another gets them, and a member that does not revoke
//   within its rebalance timeout is fenced.
// * Epoch errors: FENCED_MEMBER_EPOCH (a member must rejoin), with the
//   previous epoch still accepted when the member owns a subset of its
//   assignment (its last answer was lost); UNKNOWN_MEMBER_ID;
//   UNRELEASED_INSTANCE_ID for an instance id another live member holds.
// * A group that has classic members gets GROUP_ID_NOT_FOUND.
//
// Version notes:
// * v0: the coordinator names new members
// * v1: members name themselves; SubscribedTopicRegex (RE2, whole-name match)

func init() { registerAPI(68, 0, 1, (*Broker).handleConsumerGroupHeartbeat) }

func (b *Broker) handleConsumerGroupHeartbeat(r *request) {
	req := r.kreq.(*kmsg.ConsumerGroupHeartbeatRequest)
	fail := func(code int16) kmsg.Response {
		resp := req.ResponseKind().(*kmsg.ConsumerGroupHeartbeatResponse)
		resp.ErrorCode = code
		return resp
	}
	cl := group.Client{ID: r.clientID, Host: clientHost(r)}
	b.coordinate(r, req.Group, fail, func(c *group.Coordinator, reply func(kmsg.Response)) {
		reply(c.ConsumerGroupHeartbeat(cl, req))
	})
}
