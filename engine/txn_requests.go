package engine

import (
	"maps"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fencedCode is PRODUCER_FENCED, or INVALID_PRODUCER_EPOCH for a request
// version older than the one that introduced it (as Kafka maps it).
func fencedCode(version, since int16) int16 {
	if version < since {
		return kerr.InvalidProducerEpoch.Code
	}
	return kerr.ProducerFenced.Code
}

// checkProducer validates a request's producer id and epoch against the
// transactional id's state (AddPartitionsToTxn, AddOffsetsToTxn, EndTxn).
func (m *txnMeta) checkProducer(pid int64, epoch int16, fenced int16) int16 {
	switch {
	case m == nil || m.pid != pid:
		return kerr.InvalidProducerIDMapping.Code
	case m.epoch != epoch:
		return fenced
	}
	return 0
}

// addToTxn adds keys to m's transaction, opening it if none is open, and
// writes the change (answered by the caller after the turn commits).
func (tc *txnCoordinators) addToTxn(s *shard, tl *txnLog, m *txnMeta, keys []partKey) int16 {
	if m.ending || m.state == kmsg.TransactionStatePrepareCommit || m.state == kmsg.TransactionStatePrepareAbort {
		return kerr.ConcurrentTransactions.Code
	}
	added := false
	for _, k := range keys {
		if _, ok := m.parts[k]; !ok {
			added = true
		}
	}
	if m.state == kmsg.TransactionStateOngoing && !added && !m.unsynced {
		return 0
	}
	before, state, startMs := maps.Clone(m.parts), m.state, m.startMs
	for _, k := range keys {
		m.parts[k] = struct{}{}
	}
	starts := m.state != kmsg.TransactionStateOngoing
	if starts {
		m.state = kmsg.TransactionStateOngoing
		m.startMs = time.Now().UnixMilli()
	}
	if err := tc.persist(tl, m); err != nil {
		// Not in the log: a partition the coordinator does not know
		// after a restart would get no marker and hold its last stable
		// offset for good.
		m.parts, m.state, m.startMs = before, state, startMs
		tc.b.log.Error("add partitions to transaction", "transactional_id", m.id, "err", err)
		return kerr.CoordinatorNotAvailable.Code
	}
	tc.setOpen(m)
	if starts {
		tc.armTimeout(s, tl, m)
	}
	return 0
}
