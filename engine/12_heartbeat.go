package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/group"
)

// Heartbeat: v0-4
//
// Behaviour:
// * Restarts the member's session timer. REBALANCE_IN_PROGRESS tells a
//   member of a rebalancing group to rejoin; a stale generation gets
//   ILLEGAL_GENERATION, an unknown member UNKNOWN_MEMBER_ID, a static member
//   replaced by a newer instance FENCED_INSTANCE_ID.
//
// Version notes:
// * v1: ThrottleMillis
// * v3: InstanceID (KIP-345)
// * v4: flexible

func init() { registerAPI(12, 0, 4, (*Broker).handleHeartbeat) }

func (b *Broker) handleHeartbeat(r *request) {
	req := r.kreq.(*kmsg.HeartbeatRequest)
	fail := func(code int16) kmsg.Response {
		resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
		resp.ErrorCode = code
		return resp
	}
	b.coordinate(r, req.Group, fail, func(c *group.Coordinator, reply func(kmsg.Response)) {
		reply(c.Heartbeat(req))
	})
}
