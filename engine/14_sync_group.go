package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/group"
)

// SyncGroup: v0-5
//
// Behaviour:
// * Followers wait for the leader's SyncGroup; the leader's assignment is
//   written to __consumer_offsets (GroupMetadataValue v3) and then each
//   waiting member gets its bytes, unread. A member the leader left out of
//   a "consumer" group gets an empty consumer assignment.
// * In a stable group SyncGroup returns the member's current assignment.
// * Stale generation: ILLEGAL_GENERATION; rebalance under way:
//   REBALANCE_IN_PROGRESS; protocol type/name (v5) not the group's:
//   INCONSISTENT_GROUP_PROTOCOL; replaced static member: FENCED_INSTANCE_ID.
//
// Version notes:
// * v1: ThrottleMillis
// * v3: InstanceID (KIP-345)
// * v4: flexible
// * v5: ProtocolType and Protocol in request and response

func init() { registerAPI(14, 0, 5, (*Broker).handleSyncGroup) }

func (b *Broker) handleSyncGroup(r *request) {
	req := r.kreq.(*kmsg.SyncGroupRequest)
	fail := func(code int16) kmsg.Response {
		resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = code
		return resp
	}
	b.coordinate(r, req.Group, fail, func(c *group.Coordinator, reply func(kmsg.Response)) {
		c.SyncGroup(req, reply)
	})
}
