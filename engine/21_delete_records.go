package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteRecords: v0-2
//
// Behaviour:
// * Moves a partition's log start offset up to the requested offset; -1
//   means the high watermark (the log end on a single node). The answer's
//   LowWatermark is the log start offset afterwards.
// * An offset past the high watermark (the written end: what fetch and
//   ListOffsets show), or below -1, is OFFSET_OUT_OF_RANGE. An offset at or
//   below the current log start changes nothing and succeeds, as in Kafka.
// * Internal topics (__consumer_offsets) are INVALID_TOPIC_EXCEPTION, and
//   topics whose cleanup.policy lacks delete POLICY_VIOLATION, as in Kafka:
//   a compacted log's start must not move under its readers (the group
//   coordinator rebuilds its state from __consumer_offsets).
// * The partition must be led here (NOT_LEADER_OR_FOLLOWER); unknown
//   partitions are UNKNOWN_TOPIC_OR_PARTITION. A failed delete on disk is
//   KAFKA_STORAGE_ERROR.
// * The work runs on the shard that owns each partition; the answer is
//   sent when the last shard has finished, without blocking the event loop.
//
// Version notes:
// * v1: ThrottleMillis
// * v2: flexible

func init() { registerAPI(21, 0, 2, (*Broker).handleDeleteRecords) }

// deleteRecordsJob is one partition's delete on its shard.
type deleteRecordsJob struct {
	out    *kmsg.DeleteRecordsResponseTopicPartition
	offset int64
}

func (b *Broker) handleDeleteRecords(r *request) {
	req := r.kreq.(*kmsg.DeleteRecordsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	v := b.currentView()

	var (
		keys []partKey
		jobs []deleteRecordsJob
	)
	resp.Topics = make([]kmsg.DeleteRecordsResponseTopic, len(req.Topics))
	for i, rt := range req.Topics {
		st := &resp.Topics[i]
		*st = kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.DeleteRecordsResponseTopicPartition, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			sp := &st.Partitions[j]
			*sp = kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LowWatermark = -1
			_, p, ok := v.partition(rt.Topic, rp.Partition)
			switch {
			case !ok:
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case isInternalTopic(rt.Topic):
				sp.ErrorCode = kerr.InvalidTopicException.Code
			case p.Leader != b.nodeID:
				sp.ErrorCode = kerr.NotLeaderForPartition.Code
			case !v.settings[rt.Topic].deletable:
				sp.ErrorCode = kerr.PolicyViolation.Code
			case rp.Offset < -1:
				sp.ErrorCode = kerr.OffsetOutOfRange.Code
			default:
				keys = append(keys, partKey{rt.Topic, rp.Partition})
				jobs = append(jobs, deleteRecordsJob{out: sp, offset: rp.Offset})
			}
		}
	}
	b.runOnShards(keys, func(s *shard, i int) {
		s.deleteRecords(keys[i], &jobs[i])
	}, func() { r.respond(resp) })
}

// deleteRecords moves one partition's log start; it runs on the shard.
func (s *shard) deleteRecords(k partKey, j *deleteRecordsJob) {
	out := j.out
	p, ok := s.parts[k]
	if code := logErrorCode(p, ok); code != 0 {
		out.ErrorCode = code
		return
	}
	hw := p.log.WrittenOffset()
	to := j.offset
	if to == -1 {
		to = hw
	}
	if to > hw {
		out.ErrorCode = kerr.OffsetOutOfRange.Code
		return
	}
	if to > p.log.StartOffset() {
		if err := p.log.DeleteBefore(to); err != nil {
			s.b.log.Error("delete records", "topic", k.topic, "partition", k.partition, "offset", to, "err", err)
			out.ErrorCode = kerr.KafkaStorageError.Code
			return
		}
		p.txns.trimBelow(p.log.StartOffset())
	}
	out.LowWatermark = p.log.StartOffset()
}
