package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/group"
)

// ConsumerGroupDescribe: v0-1 (KIP-848)
//
// Behaviour:
// * Group epoch, target assignment epoch, assignor, and per member its
//   epoch, subscription, current and target assignment. A missing group or
//   one that is not a consumer-protocol group gets GROUP_ID_NOT_FOUND.
//
// Version notes:
// * v1: MemberType

func init() { registerAPI(69, 0, 1, (*Broker).handleConsumerGroupDescribe) }

func (b *Broker) handleConsumerGroupDescribe(r *request) {
	req := r.kreq.(*kmsg.ConsumerGroupDescribeRequest)
	out := make([]kmsg.ConsumerGroupDescribeResponseGroup, len(req.Groups))
	b.forGroups(req.Groups, func(i int, c *group.Coordinator) {
		out[i] = c.ConsumerGroupDescribe(req.Groups[i])
	}, func(i int, code int16) {
		out[i] = kmsg.NewConsumerGroupDescribeResponseGroup()
		out[i].Group, out[i].ErrorCode = req.Groups[i], code
	}, func() {
		resp := req.ResponseKind().(*kmsg.ConsumerGroupDescribeResponse)
		resp.Groups = out
		r.respond(resp)
	})
}
