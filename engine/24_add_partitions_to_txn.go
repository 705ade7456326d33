package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AddPartitionsToTxn: v0-3
//
// Behaviour:
// * Every partition is checked first: an unknown one (or an internal topic,
//   which Kafka treats as unauthorized) fails with its code and the others
//   get OPERATION_NOT_ATTEMPTED; nothing is added.
// * Then the coordinator's one answer for all: INVALID_PRODUCER_ID_MAPPING,
//   PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before v2), CONCURRENT_
//   TRANSACTIONS while an end is being written; otherwise the partitions
//   join the transaction, which opens (its timeout starts) if none was.
//
// Version notes:
// * v2: PRODUCER_FENCED
// * v3: flexible
// * v4+: the broker-to-broker verification of KIP-890, not served (clients
//   send v3 at most)

func init() { registerAPI(24, 0, 3, (*Broker).handleAddPartitionsToTxn) }

func (b *Broker) handleAddPartitionsToTxn(r *request) {
	req := r.kreq.(*kmsg.AddPartitionsToTxnRequest)
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	v := b.currentView()
	var keys []partKey
	failed := false
	for _, rt := range req.Topics {
		st := kmsg.NewAddPartitionsToTxnResponseTopic()
		st.Topic = rt.Topic
		for _, p := range rt.Partitions {
			sp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			sp.Partition = p
			switch _, _, ok := v.partition(rt.Topic, p); {
			case isInternalTopic(rt.Topic):
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
			case !ok:
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			}
			failed = failed || sp.ErrorCode != 0
			keys = append(keys, partKey{rt.Topic, p})
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	setAll := func(code int16, onlyUnset bool) *kmsg.AddPartitionsToTxnResponse {
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				if sp := &resp.Topics[i].Partitions[j]; !onlyUnset || sp.ErrorCode == 0 {
					sp.ErrorCode = code
				}
			}
		}
		return resp
	}
	if failed {
		r.respond(setAll(kerr.OperationNotAttempted.Code, true))
		return
	}
	if req.TransactionalID == "" {
		r.respond(setAll(kerr.InvalidRequest.Code, false))
		return
	}
	fail := func(code int16) kmsg.Response { return setAll(code, false) }
	b.txns.on(req.TransactionalID, func(code int16) { r.respond(fail(code)) }, func(s *shard, tl *txnLog) {
		m := tl.txns[req.TransactionalID]
		code := m.checkProducer(req.ProducerID, req.ProducerEpoch, fencedCode(req.Version, 2))
		if code == 0 {
			code = b.txns.addToTxn(s, tl, m, keys)
		}
		replyAfterTurn(s, tl.part, r, fail(code), fail)
	})
}
