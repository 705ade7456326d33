package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/group"
)

// DeleteGroups: v0-2
//
// Behaviour:
// * A group without members is deleted with its committed offsets
//   (tombstones in __consumer_offsets, written before the answer); one with
//   members gets NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND.
//
// Version notes:
// * v1: ThrottleMillis
// * v2: flexible

func init() { registerAPI(42, 0, 2, (*Broker).handleDeleteGroups) }

func (b *Broker) handleDeleteGroups(r *request) {
	req := r.kreq.(*kmsg.DeleteGroupsRequest)
	out := make([]kmsg.DeleteGroupsResponseGroup, len(req.Groups))
	set := func(i int, code int16) {
		out[i] = kmsg.NewDeleteGroupsResponseGroup()
		out[i].Group, out[i].ErrorCode = req.Groups[i], code
	}
	b.forGroups(req.Groups, func(i int, c *group.Coordinator) {
		set(i, c.DeleteGroup(req.Groups[i]))
	}, set, func() {
		resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
		resp.Groups = out
		r.respond(resp)
	})
}
