package engine

import (
	"cmp"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeProducers: v0
//
// Behaviour (KIP-664):
// * For each requested partition, the idempotent producers the partition
//   holds state for (the ones whose duplicates it would still recognise):
//   producer id and epoch, the last sequence and the timestamp of the last
//   batch appended, sorted by producer id, and the first offset of its
//   open transaction here (CurrentTxnStartOffset, -1 without one), as
//   kafka-transactions.sh --find-hanging reads it. CoordinatorEpoch is
//   0 for a producer whose transaction is open (the only coordinator
//   epoch a single node has), else -1.
// * Unknown partitions are UNKNOWN_TOPIC_OR_PARTITION, partitions led
//   elsewhere NOT_LEADER_OR_FOLLOWER.
// * The state is read on the shards that own the partitions; the answer is
//   sent when the last has answered.

func init() { registerAPI(61, 0, 0, (*Broker).handleDescribeProducers) }

func (b *Broker) handleDescribeProducers(r *request) {
	req := r.kreq.(*kmsg.DescribeProducersRequest)
	resp := req.ResponseKind().(*kmsg.DescribeProducersResponse)
	v := b.currentView()

	var keys []partKey
	var outs []*kmsg.DescribeProducersResponseTopicPartition
	resp.Topics = make([]kmsg.DescribeProducersResponseTopic, len(req.Topics))
	for i, rt := range req.Topics {
		st := &resp.Topics[i]
		*st = kmsg.NewDescribeProducersResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.DescribeProducersResponseTopicPartition, len(rt.Partitions))
		for j, p := range rt.Partitions {
			sp := &st.Partitions[j]
			*sp = kmsg.NewDescribeProducersResponseTopicPartition()
			sp.Partition = p
			_, mp, ok := v.partition(rt.Topic, p)
			switch {
			case !ok:
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case mp.Leader != b.nodeID:
				sp.ErrorCode = kerr.NotLeaderForPartition.Code
			default:
				keys = append(keys, partKey{rt.Topic, p})
				outs = append(outs, sp)
			}
		}
	}
	b.runOnShards(keys, func(s *shard, i int) {
		p, ok := s.parts[keys[i]]
		if code := logErrorCode(p, ok); code != 0 {
			outs[i].ErrorCode = code
			return
		}
		for id, ps := range p.producers {
			ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
			ap.ProducerID, ap.ProducerEpoch = id, int32(ps.Epoch)
			ap.CoordinatorEpoch = -1
			if first, open := p.txns.Ongoing[id]; open {
				ap.CurrentTxnStartOffset, ap.CoordinatorEpoch = first, 0
			}
			if n := len(ps.Batches); n > 0 {
				ap.LastSequence, ap.LastTimestamp = ps.Batches[n-1].LastSeq, ps.Batches[n-1].Timestamp
			}
			outs[i].ActiveProducers = append(outs[i].ActiveProducers, ap)
		}
		slices.SortFunc(outs[i].ActiveProducers, func(a, b kmsg.DescribeProducersResponseTopicPartitionActiveProducer) int {
			return cmp.Compare(a.ProducerID, b.ProducerID)
		})
	}, func() { r.respond(resp) })
}
