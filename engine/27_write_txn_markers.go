package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// WriteTxnMarkers: v0-1
//
// Behaviour:
// * In Kafka the transaction coordinator sends it to partition leaders; a
//   single node's coordinator writes its markers itself, so here it comes
//   from admin tools: kafka-transactions.sh abort ends a hanging
//   transaction with it (KIP-664), the producer id and epoch read off
//   DescribeProducers.
// * Each partition gets the marker (commit or abort) of the producer at the
//   given epoch, as the coordinator writes it: an abort of the producer's
//   open transaction there joins the aborted transactions and moves the
//   last stable offset on; on __consumer_offsets the transaction's pending
//   offsets end with it. The coordinator's own view of the transaction is
//   left as it is (as in Kafka: a transaction it still tracks writes its
//   own markers later, which change nothing where one was written).
// * A producer id below 0 is INVALID_REQUEST. An epoch below the
//   producer's current one here is INVALID_PRODUCER_EPOCH; the
//   coordinator epoch is written into the marker and not checked (a
//   single node has one coordinator). Unknown partitions are
//   UNKNOWN_TOPIC_OR_PARTITION, partitions led elsewhere
//   NOT_LEADER_OR_FOLLOWER, a failed or unsynced write KAFKA_STORAGE_ERROR.
// * The answer goes once every marker is durable under the flush policy, as
//   a produce's.
//
// Version notes:
// * v1: flexible versions.
// * v2 (transaction version 2's markers, KIP-1228) is not served: Chronik
//   serves transaction version 0/1.

func init() { registerAPI(27, 0, 1, (*Broker).handleWriteTxnMarkers) }

func (b *Broker) handleWriteTxnMarkers(r *request) {
	req := r.kreq.(*kmsg.WriteTxnMarkersRequest)
	resp := req.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	v := b.currentView()

	// One entry per partition to write, in request order.
	type markerWrite struct {
		marker *kmsg.WriteTxnMarkersRequestMarker
		out    *kmsg.WriteTxnMarkersResponseMarkerTopicPartition
	}
	var keys []partKey
	var writes []markerWrite
	resp.Markers = make([]kmsg.WriteTxnMarkersResponseMarker, len(req.Markers))
	for i := range req.Markers {
		m := &req.Markers[i]
		rm := &resp.Markers[i]
		*rm = kmsg.NewWriteTxnMarkersResponseMarker()
		rm.ProducerID = m.ProducerID
		rm.Topics = make([]kmsg.WriteTxnMarkersResponseMarkerTopic, len(m.Topics))
		for j, mt := range m.Topics {
			rt := &rm.Topics[j]
			*rt = kmsg.NewWriteTxnMarkersResponseMarkerTopic()
			rt.Topic = mt.Topic
			rt.Partitions = make([]kmsg.WriteTxnMarkersResponseMarkerTopicPartition, len(mt.Partitions))
			for n, p := range mt.Partitions {
				rp := &rt.Partitions[n]
				*rp = kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
				rp.Partition = p
				_, mp, ok := v.partition(mt.Topic, p)
				switch {
				case m.ProducerID < 0:
					rp.ErrorCode = kerr.InvalidRequest.Code // a marker ends a producer's transaction
				case !ok:
					rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				case mp.Leader != b.nodeID:
					rp.ErrorCode = kerr.NotLeaderForPartition.Code
				default:
					keys = append(keys, partKey{mt.Topic, p})
					writes = append(writes, markerWrite{marker: m, out: rp})
				}
			}
		}
	}
	b.fanOut(keys, func() { r.respond(resp) }, func(s *shard, idx []int, finish func()) {
		written := make(map[int]*partition, len(idx))
		for _, i := range idx {
			w := writes[i]
			m := w.marker
			p, res := s.writeMarker(keys[i], m.ProducerID, m.ProducerEpoch, m.Committed, m.CoordinatorEpoch)
			switch {
			case p == nil:
				w.out.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case res.err != nil:
				s.b.log.Error("write transaction marker", "topic", keys[i].topic, "partition", keys[i].partition, "err", res.err)
				w.out.ErrorCode = kerr.KafkaStorageError.Code
			case res.errCode != 0:
				w.out.ErrorCode = res.errCode
			default:
				written[i] = p
			}
		}
		s.afterTurn = append(s.afterTurn, func(syncErrs map[*partition]error) {
			for i, p := range written {
				if syncErrs[p] != nil {
					writes[i].out.ErrorCode = kerr.KafkaStorageError.Code
				}
			}
			finish()
		})
	})
}
