package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetForLeaderEpoch: v0-4
//
// Behaviour:
// * Answers the end offset of the largest leader epoch at or below the
//   requested one, which clients use to detect log truncation (KIP-101,
//   KIP-320). A partition's history here is one epoch, its current
//   LeaderEpoch from the metadata, covering the whole log, so as Kafka's
//   leader-epoch cache answers such a history:
//   - the current epoch: that epoch and the log end offset;
//   - an older epoch (>= 0): that epoch and the log start offset, where
//     the current epoch began as far as the log still knows;
//   - a newer epoch, or -1 (undefined): LeaderEpoch -1, EndOffset -1.
// * CurrentLeaderEpoch (v2+) fences: older than the partition's epoch is
//   FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH, -1 skips the check.
// * The partition must be led here (NOT_LEADER_OR_FOLLOWER). ReplicaID
//   (v3+) is not checked: followers and consumers get the same answer.
// * Offsets are read on the shard that owns each partition.
//
// Version notes:
// * v1: LeaderEpoch in the response
// * v2: CurrentLeaderEpoch fencing (KIP-320)
// * v3: ReplicaID
// * v4: flexible

func init() { registerAPI(23, 0, 4, (*Broker).handleOffsetForLeaderEpoch) }

// leaderEpochJob is one partition's lookup on its shard.
type leaderEpochJob struct {
	out   *kmsg.OffsetForLeaderEpochResponseTopicPartition
	epoch int32
}

func (b *Broker) handleOffsetForLeaderEpoch(r *request) {
	req := r.kreq.(*kmsg.OffsetForLeaderEpochRequest)
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	v := b.currentView()

	var (
		keys []partKey
		jobs []leaderEpochJob
	)
	resp.Topics = make([]kmsg.OffsetForLeaderEpochResponseTopic, len(req.Topics))
	for i, rt := range req.Topics {
		st := &resp.Topics[i]
		*st = kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.OffsetForLeaderEpochResponseTopicPartition, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			sp := &st.Partitions[j]
			*sp = kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			sp.Partition = rp.Partition
			_, p, ok := v.partition(rt.Topic, rp.Partition)
			if !ok {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				continue
			}
			if code := leaderEpochCheck(rp.CurrentLeaderEpoch, p.LeaderEpoch); code != 0 {
				sp.ErrorCode = code
				continue
			}
			if p.Leader != b.nodeID {
				sp.ErrorCode = kerr.NotLeaderForPartition.Code
				continue
			}
			keys = append(keys, partKey{rt.Topic, rp.Partition})
			jobs = append(jobs, leaderEpochJob{out: sp, epoch: rp.LeaderEpoch})
		}
	}
	b.runOnShards(keys, func(s *shard, i int) {
		s.endOffsetForEpoch(keys[i], &jobs[i])
	}, func() { r.respond(resp) })
}

// endOffsetForEpoch answers one partition from its log; it runs on the shard.
func (s *shard) endOffsetForEpoch(k partKey, j *leaderEpochJob) {
	out := j.out
	p, ok := s.parts[k]
	if code := logErrorCode(p, ok); code != 0 {
		out.ErrorCode = code
		return
	}
	switch {
	case j.epoch == p.leaderEpoch:
		out.LeaderEpoch, out.EndOffset = p.leaderEpoch, p.log.NextOffset()
	case j.epoch >= 0 && j.epoch < p.leaderEpoch:
		out.LeaderEpoch, out.EndOffset = j.epoch, p.log.StartOffset()
	default:
		out.LeaderEpoch, out.EndOffset = -1, -1
	}
}
