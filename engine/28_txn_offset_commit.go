package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/group"
)

// TxnOffsetCommit: v0-4
//
// Behaviour:
// * Served by the group's coordinator: the producer's transaction must be
//   open at its epoch and have added the group (AddOffsetsToTxn), else
//   INVALID_PRODUCER_EPOCH or INVALID_TXN_STATE, as Kafka 3.6+ verifies.
// * The offsets are written to __consumer_offsets in a transactional batch
//   and stay pending, invisible to OffsetFetch (UNSTABLE_OFFSET_COMMIT with
//   RequireStable), until the transaction's marker commits or drops them.
//
// Version notes:
// * v2: CommittedLeaderEpoch
// * v3: flexible; GenerationID, MemberID, GroupInstanceID (KIP-447)
// * v5: the group is added implicitly (KIP-890 part 2): not served

func init() { registerAPI(28, 0, 4, (*Broker).handleTxnOffsetCommit) }

func (b *Broker) handleTxnOffsetCommit(r *request) {
	req := r.kreq.(*kmsg.TxnOffsetCommitRequest)
	fail := func(code int16) kmsg.Response {
		resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewTxnOffsetCommitResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp
	}
	if req.Group == "" {
		r.respond(fail(kerr.InvalidGroupID.Code))
		return
	}
	_, p, _ := b.routeGroup(req.Group) // (coordinate answers a group not served here)
	k := partKey{offsetsTopic, p}
	b.coordinate(r, req.Group, fail, func(c *group.Coordinator, reply func(kmsg.Response)) {
		if code := b.txns.checkWrite(req.ProducerID, req.ProducerEpoch, k); code != 0 {
			reply(fail(code))
			return
		}
		c.TxnOffsetCommit(req, reply)
	})
}
