package engine

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FindCoordinator: v0-6
//
// Behaviour:
// * Group keys (type 0) are placed as Kafka places them: partition
//   abs(javaHash(group)) % partitions of __consumer_offsets, whose leader
//   is the coordinator; while that partition's log cannot serve (a storage
//   fault), COORDINATOR_NOT_AVAILABLE, as Metadata names it no leader.
// * The first lookup creates __consumer_offsets (internal, compacted,
//   offsets.topic.num.partitions partitions) and is answered once it
//   exists; COORDINATOR_NOT_AVAILABLE if it cannot be created in time.
// * Transactional ids (type 1) are placed the same way on
//   __transaction_state (transaction.state.log.num.partitions), created on
//   the first lookup likewise. Other types INVALID_REQUEST.
//
// Version notes:
// * v1: CoordinatorType, ThrottleMillis, ErrorMessage
// * v3: flexible
// * v4: several keys per request (KIP-699)
// * v6: share coordinator type 2 (KIP-932, not served)

func init() { registerAPI(10, 0, 6, (*Broker).handleFindCoordinator) }

func (b *Broker) handleFindCoordinator(r *request) {
	req := r.kreq.(*kmsg.FindCoordinatorRequest)
	topic, ensure := offsetsTopic, b.ensureOffsetsTopic
	if req.CoordinatorType == 1 {
		topic, ensure = txnStateTopic, b.txns.creator.ensure
	}
	if _, ok := b.currentView().topic(topic); ok || req.CoordinatorType > 1 {
		r.respond(b.findCoordinatorResponse(req, r.conn.Listener))
		return
	}
	// Creating the topic waits on the metadata log: off the event loop.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), b.cfg.IOTimeout)
		defer cancel()
		if err := ensure(ctx); err != nil {
			b.log.Warn("find coordinator", "err", err)
		}
		r.respond(b.findCoordinatorResponse(req, r.conn.Listener))
	}()
}

func (b *Broker) findCoordinatorResponse(req *kmsg.FindCoordinatorRequest, listener string) *kmsg.FindCoordinatorResponse {
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	keys := req.CoordinatorKeys
	if req.Version < 4 {
		keys = []string{req.CoordinatorKey}
	}
	v := b.currentView()
	// Broker endpoints come from the newest snapshot: right after a restart
	// on a new port the served view may still hold this broker's old one.
	brokers := b.store.Current().Brokers
	for _, key := range keys {
		sc := kmsg.NewFindCoordinatorResponseCoordinator()
		sc.Key = key
		sc.NodeID, sc.Port = -1, -1
		fail := func(code *kerr.Error, msg string) {
			sc.ErrorCode = code.Code
			sc.ErrorMessage = &msg
		}
		switch req.CoordinatorType {
		case 0, 1:
			topic := offsetsTopic
			if req.CoordinatorType == 1 {
				topic = txnStateTopic
			}
			t, ok := v.topic(topic)
			if !ok {
				fail(kerr.CoordinatorNotAvailable, "The coordinator is not available.")
				break
			}
			p := offsetsPartitionFor(key, len(t.Partitions))
			br, ok := brokers[t.Partitions[p].Leader]
			host, port, reachable := br.Endpoint(listener)
			if !ok || !reachable || b.offline.has(partKey{topic, int32(p)}) {
				// No broker, or (as Metadata says) no leader while the
				// group's offsets partition cannot serve: Kafka's
				// coordinator resigns with its log directory. A
				// coordinator without the client's listener is as
				// unreachable.
				fail(kerr.CoordinatorNotAvailable, "The coordinator is not available.")
				break
			}
			sc.NodeID, sc.Host, sc.Port = br.NodeID, host, port
		default:
			fail(kerr.InvalidRequest, "Unsupported coordinator type.")
		}
		resp.Coordinators = append(resp.Coordinators, sc)
	}
	if req.Version < 4 {
		c := resp.Coordinators[0]
		resp.ErrorCode, resp.ErrorMessage = c.ErrorCode, c.ErrorMessage
		resp.NodeID, resp.Host, resp.Port = c.NodeID, c.Host, c.Port
		resp.Coordinators = nil
	}
	return resp
}
