package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/group"
)

// OffsetFetch: v0-10
//
// Behaviour:
// * Partitions without a committed offset, and groups that do not exist,
//   read offset -1 with no error; null topics (v2+) return every committed
//   offset of the group.
// * v8+ batches groups, each answered by its own coordinator shard.
// * RequireStable (v7+): a partition with a transactional offset commit
//   still pending (its transaction not ended) answers UNSTABLE_OFFSET_COMMIT,
//   which consumers retry; without it the last committed offset is answered.
// * KIP-848 groups check MemberID/MemberEpoch when given (v9+):
//   UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH.
//
// Version notes:
// * v2: null topics = all, top-level ErrorCode
// * v5: LeaderEpoch in the response
// * v6: flexible
// * v7: RequireStable (KIP-447)
// * v8: several groups per request
// * v9: MemberID, MemberEpoch (KIP-848)
// * v10: topic IDs instead of names

func init() { registerAPI(9, 0, 10, (*Broker).handleOffsetFetch) }

func (b *Broker) handleOffsetFetch(r *request) {
	req := r.kreq.(*kmsg.OffsetFetchRequest)
	groups := req.Groups
	if req.Version < 8 {
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = req.Group
		if req.Topics != nil || req.Version < 2 {
			rg.Topics = make([]kmsg.OffsetFetchRequestGroupTopic, 0, len(req.Topics))
		}
		for _, t := range req.Topics {
			rt := kmsg.NewOffsetFetchRequestGroupTopic()
			rt.Topic, rt.Partitions = t.Topic, t.Partitions
			rg.Topics = append(rg.Topics, rt)
		}
		groups = []kmsg.OffsetFetchRequestGroup{rg}
	}
	out := make([]kmsg.OffsetFetchResponseGroup, len(groups))
	ids := make([]string, len(groups))
	for i := range groups {
		ids[i] = groups[i].Group
	}
	b.forGroups(ids, func(i int, c *group.Coordinator) {
		out[i] = c.OffsetFetchStable(req.Version, &groups[i], req.RequireStable)
	}, func(i int, code int16) {
		out[i] = kmsg.NewOffsetFetchResponseGroup()
		out[i].Group, out[i].ErrorCode = groups[i].Group, code
	}, func() {
		resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
		if req.Version >= 8 {
			resp.Groups = out
			r.respond(resp)
			return
		}
		r.respond(singleGroupOffsetFetch(req, &groups[0], &out[0], resp))
	})
}

// singleGroupOffsetFetch shapes a one-group answer as OffsetFetch v0-7
// has it. Before v2 there is no top-level error, so a group error goes on
// every requested partition.
func singleGroupOffsetFetch(req *kmsg.OffsetFetchRequest, rg *kmsg.OffsetFetchRequestGroup, g *kmsg.OffsetFetchResponseGroup, resp *kmsg.OffsetFetchResponse) *kmsg.OffsetFetchResponse {
	resp.ErrorCode = g.ErrorCode
	topics := g.Topics
	if g.ErrorCode != 0 {
		topics = nil
		if req.Version < 2 {
			for _, rt := range rg.Topics {
				st := kmsg.NewOffsetFetchResponseGroupTopic()
				st.Topic = rt.Topic
				for _, p := range rt.Partitions {
					sp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					sp.Partition, sp.Offset, sp.ErrorCode = p, -1, g.ErrorCode
					st.Partitions = append(st.Partitions, sp)
				}
				topics = append(topics, st)
			}
		}
	}
	for _, t := range topics {
		st := kmsg.NewOffsetFetchResponseTopic()
		st.Topic = t.Topic
		for _, p := range t.Partitions {
			sp := kmsg.NewOffsetFetchResponseTopicPartition()
			sp.Partition, sp.Offset, sp.LeaderEpoch, sp.Metadata, sp.ErrorCode = p.Partition, p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
