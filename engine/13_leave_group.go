package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/group"
)

// LeaveGroup: v0-5
//
// Behaviour:
// * Removes the members and rebalances the group once for the batch.
// * From v3 members are a batch, named by member id or by instance id
//   (KIP-345): an unknown instance gets UNKNOWN_MEMBER_ID, an instance held
//   by another member id FENCED_INSTANCE_ID; errors are per member.
//
// Version notes:
// * v1: ThrottleMillis
// * v3: batched Members with InstanceID (KIP-345)
// * v4: flexible
// * v5: Reason (KIP-800)

func init() { registerAPI(13, 0, 5, (*Broker).handleLeaveGroup) }

func (b *Broker) handleLeaveGroup(r *request) {
	req := r.kreq.(*kmsg.LeaveGroupRequest)
	fail := func(code int16) kmsg.Response {
		resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
		resp.ErrorCode = code
		return resp
	}
	b.coordinate(r, req.Group, fail, func(c *group.Coordinator, reply func(kmsg.Response)) {
		reply(c.LeaveGroup(req))
	})
}
