package engine

import (
	"context"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// InitProducerId: v0-5
//
// Behaviour:
// * Idempotent producers (no transactional id) get a fresh producer id at
//   epoch 0, as Kafka's coordinator gives them, ids reserved in blocks in the
//   replicated metadata so they never repeat.
// * A transactional id is served by its transaction coordinator
//   (txn_coordinator.go): a new id gets a producer id at epoch 0; a known
//   one the next epoch, fencing older producers of the id (a new producer
//   id once the epoch is exhausted); one with an open transaction has it
//   aborted at a bumped epoch and is answered CONCURRENT_TRANSACTIONS, which
//   the client retries; one whose end is being written the same.
// * KIP-360: a request naming the id's producer id and current epoch bumps
//   it, one naming the epoch before the last bump is a retry answered with
//   the current one, anything else is PRODUCER_FENCED (INVALID_PRODUCER_
//   EPOCH before v4). Exactly one of id and epoch -1 is INVALID_REQUEST.
// * A transaction timeout above transaction.max.timeout.ms, or not
//   positive, is INVALID_TRANSACTION_TIMEOUT.
//
// Version notes:
// * v2: flexible
// * v3: ProducerID/ProducerEpoch for epoch bumps (KIP-360)
// * v4: PRODUCER_FENCED
// * v5: KIP-890 part 1 (TRANSACTION_ABORTABLE understood; never sent here)

func init() { registerAPI(22, 0, 5, (*Broker).handleInitProducerID) }

func (b *Broker) handleInitProducerID(r *request) {
	req := r.kreq.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	fail := func(code int16) kmsg.Response {
		resp.ProducerID, resp.ProducerEpoch, resp.ErrorCode = -1, -1, code
		return resp
	}
	if (req.ProducerID == -1) != (req.ProducerEpoch == -1) {
		r.respond(fail(kerr.InvalidRequest.Code))
		return
	}
	if req.TransactionalID != nil {
		b.initTransactionalProducer(r, req, fail)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), b.cfg.IOTimeout)
		defer cancel()
		id, err := b.pids.allocate(ctx)
		if err != nil {
			b.log.Error("init producer id", "err", err)
			r.respond(fail(kerr.CoordinatorNotAvailable.Code))
			return
		}
		resp.ProducerID, resp.ProducerEpoch = id, 0
		r.respond(resp)
	}()
}

// initTransactionalProducer serves InitProducerId for a transactional id on
// its coordinator's shard.
func (b *Broker) initTransactionalProducer(r *request, req *kmsg.InitProducerIDRequest, fail func(int16) kmsg.Response) {
	id := *req.TransactionalID
	switch {
	case id == "":
		r.respond(fail(kerr.InvalidRequest.Code))
		return
	case req.TransactionTimeoutMillis <= 0 || time.Duration(req.TransactionTimeoutMillis)*time.Millisecond > b.cfg.TransactionMaxTimeout:
		r.respond(fail(kerr.InvalidTransactionTimeout.Code))
		return
	}
	var serve func(s *shard, tl *txnLog, newPID int64)
	serve = func(s *shard, tl *txnLog, newPID int64) {
		m := tl.txns[id]
		if m != nil && (m.ending || m.state == kmsg.TransactionStatePrepareCommit || m.state == kmsg.TransactionStatePrepareAbort) {
			r.respond(fail(kerr.ConcurrentTransactions.Code))
			return
		}
		expected := req.ProducerID != -1
		if m != nil && expected && req.ProducerID != m.pid {
			r.respond(fail(fencedCode(req.Version, 4)))
			return
		}
		if m != nil && m.state == kmsg.TransactionStateOngoing {
			// The id's producer left a transaction open: it is fenced
			// and the transaction aborted; the retry gets the next epoch.
			b.txns.fenceAndAbort(s, tl, m)
			r.respond(fail(kerr.ConcurrentTransactions.Code))
			return
		}
		if m != nil && expected && req.ProducerEpoch != m.epoch {
			if req.ProducerEpoch == m.lastEpoch {
				resp := r.kreq.ResponseKind().(*kmsg.InitProducerIDResponse)
				resp.ProducerID, resp.ProducerEpoch = m.pid, m.epoch // a retry of the bump
				r.respond(resp)
				return
			}
			r.respond(fail(fencedCode(req.Version, 4)))
			return
		}
		if (m == nil || m.epoch >= math.MaxInt16-1) && newPID < 0 {
			// A producer id is reserved in the metadata log: off the shard.
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), b.cfg.IOTimeout)
				defer cancel()
				pid, err := b.pids.allocate(ctx)
				if err != nil {
					b.log.Error("init transactional producer id", "err", err)
					r.respond(fail(kerr.CoordinatorNotAvailable.Code))
					return
				}
				b.txns.on(id, func(code int16) { r.respond(fail(code)) }, func(s *shard, tl *txnLog) { serve(s, tl, pid) })
			}()
			return
		}
		if m == nil {
			m = &txnMeta{id: id, pid: newPID, epoch: -1, lastEpoch: -1, parts: make(map[partKey]struct{})}
			tl.txns[id] = m
		}
		if m.epoch >= math.MaxInt16-1 && newPID >= 0 {
			m.pid, m.epoch = newPID, -1
		}
		m.lastEpoch = -1
		if expected {
			m.lastEpoch = m.epoch
		}
		m.epoch++
		m.timeoutMs = req.TransactionTimeoutMillis
		m.state = kmsg.TransactionStateEmpty
		m.parts = make(map[partKey]struct{})
		m.startMs = -1
		if err := b.txns.persist(tl, m); err != nil {
			b.log.Error("init transactional producer", "transactional_id", id, "err", err)
			r.respond(fail(kerr.CoordinatorNotAvailable.Code))
			return
		}
		b.txns.setOpen(m) // its older epochs are fenced on the partitions too
		resp := r.kreq.ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ProducerID, resp.ProducerEpoch = m.pid, m.epoch
		replyAfterTurn(s, tl.part, r, resp, fail)
	}
	b.txns.on(id, func(code int16) { r.respond(fail(code)) }, func(s *shard, tl *txnLog) { serve(s, tl, -1) })
}
