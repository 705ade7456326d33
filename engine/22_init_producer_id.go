package engine

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// InitProducerId: v0-5
//
// Behaviour:
// * Idempotent producers (no transactional id) get a fresh producer id at
//   epoch 0, as Kafka's coordinator gives them, ids reserved in blocks in the
//   replicated metadata so they never repeat.
// * Transactional ids are not served: INVALID_REQUEST, which clients treat
//   as fatal (this answer has no message field; FindCoordinator, which
//   transactional producers send first, carries the reason).
//
// Version notes:
// * v2: flexible
// * v3: ProducerID/ProducerEpoch for epoch bumps (KIP-360)
// * v5: KIP-890 (transactions only)

func init() { registerAPI(22, 0, 5, (*Broker).handleInitProducerID) }

func (b *Broker) handleInitProducerID(r *request) {
	req := r.kreq.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	if req.TransactionalID != nil {
		if b.txnRefusedWarn.allow() {
			b.log.Warn("transactional producer refused: transactions are not supported (logged at most once a minute)", "transactional_id", *req.TransactionalID)
		}
		resp.ProducerID, resp.ProducerEpoch = -1, -1
		resp.ErrorCode = kerr.InvalidRequest.Code
		r.respond(resp)
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), b.cfg.IOTimeout)
		defer cancel()
		id, err := b.pids.allocate(ctx)
		if err != nil {
			b.log.Error("init producer id", "err", err)
			resp.ProducerID, resp.ProducerEpoch = -1, -1
			resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		} else {
			resp.ProducerID, resp.ProducerEpoch = id, 0
		}
		r.respond(resp)
	}()
}
