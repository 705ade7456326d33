package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AddOffsetsToTxn: v0-4
//
// Behaviour:
// * Adds the group's __consumer_offsets partition to the transaction, as
//   AddPartitionsToTxn adds a partition (same errors), so that the
//   producer's TxnOffsetCommit for that group is accepted and the end of
//   the transaction commits or drops those offsets.
//
// Version notes:
// * v2: PRODUCER_FENCED
// * v3: flexible
// * v4: TRANSACTION_ABORTABLE may be answered (never here)

func init() { registerAPI(25, 0, 4, (*Broker).handleAddOffsetsToTxn) }

func (b *Broker) handleAddOffsetsToTxn(r *request) {
	req := r.kreq.(*kmsg.AddOffsetsToTxnRequest)
	fail := func(code int16) kmsg.Response {
		resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
		resp.ErrorCode = code
		return resp
	}
	if req.TransactionalID == "" {
		r.respond(fail(kerr.InvalidRequest.Code))
		return
	}
	if req.Group == "" {
		r.respond(fail(kerr.InvalidGroupID.Code))
		return
	}
	t, ok := b.currentView().topic(offsetsTopic)
	if !ok {
		b.groups.startCreate()
		r.respond(fail(kerr.CoordinatorNotAvailable.Code))
		return
	}
	k := partKey{offsetsTopic, offsetsPartitionFor(req.Group, len(t.Partitions))}
	b.txns.on(req.TransactionalID, func(code int16) { r.respond(fail(code)) }, func(s *shard, tl *txnLog) {
		m := tl.txns[req.TransactionalID]
		code := m.checkProducer(req.ProducerID, req.ProducerEpoch, fencedCode(req.Version, 2))
		if code == 0 {
			code = b.txns.addToTxn(s, tl, m, []partKey{k})
		}
		replyAfterTurn(s, tl.part, r, fail(code), fail)
	})
}
