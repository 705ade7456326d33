package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/group"
)

// OffsetDelete: v0 (KIP-496)
//
// Behaviour:
// * Deletes committed offsets of partitions the group does not consume: a
//   group without members loses any, a consumer group with members gets
//   GROUP_SUBSCRIBED_TO_TOPIC for topics its members subscribe to, a live
//   group of another protocol type NON_EMPTY_GROUP, an unknown group
//   GROUP_ID_NOT_FOUND, an unknown partition UNKNOWN_TOPIC_OR_PARTITION.

func init() { registerAPI(47, 0, 0, (*Broker).handleOffsetDelete) }

func (b *Broker) handleOffsetDelete(r *request) {
	req := r.kreq.(*kmsg.OffsetDeleteRequest)
	fail := func(code int16) kmsg.Response {
		resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
		resp.ErrorCode = code
		return resp
	}
	b.coordinate(r, req.Group, fail, func(c *group.Coordinator, reply func(kmsg.Response)) {
		reply(c.OffsetDelete(req))
	})
}
