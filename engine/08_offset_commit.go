package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/group"
)

// OffsetCommit: v0-10
//
// Behaviour:
// * Offsets are records of __consumer_offsets (OffsetCommitKey/Value v3),
//   appended on the coordinator's shard; the answer leaves after that turn
//   commits, so a committed offset survives a restart.
// * Classic groups: generation -1 commits are accepted only while the group
//   has no members (simple and admin commits, which may also create the
//   group); members need their current member id and generation
//   (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID), and get
//   REBALANCE_IN_PROGRESS between JoinGroup and SyncGroup.
// * KIP-848 groups: member id and member epoch (STALE_MEMBER_EPOCH), v9+
//   only; an older epoch is still accepted for partitions the member owned
//   at it (KIP-1251).
// * A topic or partition that does not exist gets UNKNOWN_TOPIC_OR_PARTITION;
//   metadata past offset.metadata.max.bytes gets OFFSET_METADATA_TOO_LARGE.
//
// Version notes:
// * v1: Generation, MemberID; per-commit Timestamp (ignored, as Kafka 3+)
// * v2-4: RetentionTimeMillis (ignored: offsets.retention.minutes applies)
// * v6: LeaderEpoch (KIP-320)
// * v7: InstanceID (KIP-345)
// * v8: flexible
// * v9: KIP-848 member epochs in Generation
// * v10: topic IDs instead of names (UNKNOWN_TOPIC_ID)

func init() { registerAPI(8, 0, 10, (*Broker).handleOffsetCommit) }

func (b *Broker) handleOffsetCommit(r *request) {
	req := r.kreq.(*kmsg.OffsetCommitRequest)
	fail := func(code int16) kmsg.Response {
		resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewOffsetCommitResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewOffsetCommitResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp
	}
	b.coordinate(r, req.Group, fail, func(c *group.Coordinator, reply func(kmsg.Response)) {
		reply(c.OffsetCommit(req))
	})
}
