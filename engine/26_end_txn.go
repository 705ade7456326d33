package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// EndTxn: v0-4
//
// Behaviour:
// * An open transaction is decided (PrepareCommit or PrepareAbort, written
//   to the transaction log), its markers are written to every partition it
//   added (a group's transactional offsets commit or drop with them), it is
//   complete, and only then answered: a read_committed consumer asked
//   afterwards sees the outcome.
// * A retry of the same end after it completed is answered NONE; the other
//   end then is INVALID_TXN_STATE, as is an end with no transaction (Empty).
// * CONCURRENT_TRANSACTIONS while an end is being written.
//
// Version notes:
// * v2: PRODUCER_FENCED
// * v3: flexible
// * v5: an epoch bump per transaction (KIP-890 part 2): not served, so
//   clients that find no transaction.version feature stay at v4

func init() { registerAPI(26, 0, 4, (*Broker).handleEndTxn) }

func (b *Broker) handleEndTxn(r *request) {
	req := r.kreq.(*kmsg.EndTxnRequest)
	fail := func(code int16) kmsg.Response {
		resp := req.ResponseKind().(*kmsg.EndTxnResponse)
		resp.ErrorCode = code
		return resp
	}
	if req.TransactionalID == "" {
		r.respond(fail(kerr.InvalidRequest.Code))
		return
	}
	b.txns.on(req.TransactionalID, func(code int16) { r.respond(fail(code)) }, func(s *shard, tl *txnLog) {
		m := tl.txns[req.TransactionalID]
		if code := m.checkProducer(req.ProducerID, req.ProducerEpoch, fencedCode(req.Version, 2)); code != 0 {
			r.respond(fail(code))
			return
		}
		if m.ending {
			r.respond(fail(kerr.ConcurrentTransactions.Code))
			return
		}
		switch {
		case m.state == kmsg.TransactionStateOngoing:
			m.state = kmsg.TransactionStatePrepareAbort
			if req.Commit {
				m.state = kmsg.TransactionStatePrepareCommit
			}
			b.txns.setOpen(m) // no write of it is taken from now on
			m.waiters = append(m.waiters, func() { replyAfterTurn(s, tl.part, r, fail(0), fail) })
			b.txns.decide(s, tl, m)
		case m.state == kmsg.TransactionStateCompleteCommit && req.Commit,
			m.state == kmsg.TransactionStateCompleteAbort && !req.Commit:
			r.respond(fail(0)) // a retry of the end that completed
		default:
			r.respond(fail(kerr.InvalidTxnState.Code))
		}
	})
}
