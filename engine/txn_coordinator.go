package engine

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/group"
	"github.com/chronik-go/chronik/engine/meta"
)

// The transaction coordinator (Kafka's TransactionCoordinator, KIP-98, at
// transaction version 0/1: the epoch is bumped by InitProducerId and by a
// timeout, not per transaction). A transactional id lives on partition
// hash(id) of __transaction_state, on the shard that owns that partition,
// which keeps its transactions' state, writes every change to the
// partition's log (Kafka's TxnMetadataKey/Value records) and answers only
// once that write is durable. Ending a transaction writes its markers to
// every partition it touched, each on its own shard, before the end is
// answered: a single node has no marker channel to wait on, so EndTxn,
// like kfake's, returns with the transaction complete.
const txnStateTopic = "__transaction_state"

// txnMeta is one transactional id's state.
type txnMeta struct {
	id        string
	pid       int64
	epoch     int16
	lastEpoch int16 // the epoch before the last client bump (KIP-360 retries), or -1
	timeoutMs int32
	state     kmsg.TransactionState
	parts     map[partKey]struct{}
	startMs   int64 // the transaction's start, -1 when none ran
	updateMs  int64

	timer *time.Timer // the open transaction's timeout
	// unsynced says the last record written of this state may not have
	// reached the disk: a request that would change nothing writes it
	// again rather than answer from memory alone.
	unsynced bool
	// ending is set while markers are written; waiters are answered when
	// the transaction is complete.
	ending  bool
	waiters []func()
}

// txnLog is one loaded __transaction_state partition.
type txnLog struct {
	part   *partition
	txns   map[string]*txnMeta
	expiry *time.Timer // the next sweep of expired transactional ids
}

// txnCoordinators holds the loaded __transaction_state partitions of each
// shard (byShard[i] touched only by shard i) and the open transactions that
// produce and TxnOffsetCommit check against.
type txnCoordinators struct {
	b       *Broker
	byShard []map[int32]*txnLog
	creator internalTopicCreator

	mu   sync.Mutex
	open map[int64]*openTxn // by producer id, every one a loaded coordinator holds
}

// openTxn is what the partitions' shards check a transactional write
// against: the producer's epoch and the partitions its open transaction
// added (nil when none is open).
type openTxn struct {
	epoch int16
	parts map[partKey]struct{}
}

func newTxnCoordinators(b *Broker) *txnCoordinators {
	tc := &txnCoordinators{b: b, byShard: make([]map[int32]*txnLog, len(b.shards)), open: make(map[int64]*openTxn)}
	for i := range tc.byShard {
		tc.byShard[i] = make(map[int32]*txnLog)
	}
	tc.creator = internalTopicCreator{b: b, name: txnStateTopic, spec: func() meta.Topic {
		return internalTopicSpec(b, txnStateTopic, b.cfg.TransactionStateNumPartitions, b.cfg.TransactionStateSegmentBytes)
	}}
	return tc
}

// checkWrite decides whether a transactional batch of producerID at epoch
// may be appended to k: its transaction must be open and have added k.
func (tc *txnCoordinators) checkWrite(producerID int64, epoch int16, k partKey) int16 {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	o := tc.open[producerID]
	switch {
	case o == nil:
		return kerr.InvalidTxnState.Code
	case epoch < o.epoch:
		// A fenced producer (a zombie), as Kafka answers it.
		return kerr.InvalidProducerEpoch.Code
	case epoch > o.epoch || o.parts == nil:
		return kerr.InvalidTxnState.Code
	}
	if _, ok := o.parts[k]; !ok {
		return kerr.InvalidTxnState.Code
	}
	return 0
}

// setOpen publishes m's open transaction (or its end) to checkWrite.
func (tc *txnCoordinators) setOpen(m *txnMeta) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if m.state != kmsg.TransactionStateOngoing {
		tc.open[m.pid] = &openTxn{epoch: m.epoch}
		return
	}
	parts := make(map[partKey]struct{}, len(m.parts))
	for k := range m.parts {
		parts[k] = struct{}{}
	}
	tc.open[m.pid] = &openTxn{epoch: m.epoch, parts: parts}
}

// txnPartitionFor places a transactional id as Kafka does, like a group.
func txnPartitionFor(id string, partitions int) int32 { return offsetsPartitionFor(id, partitions) }

// route finds the shard and partition of a transactional id's coordinator.
func (tc *txnCoordinators) route(id string) (*shard, int32, int16) {
	t, ok := tc.b.currentView().topic(txnStateTopic)
	if !ok {
		tc.creator.startCreate()
		return nil, 0, kerr.CoordinatorNotAvailable.Code
	}
	p := txnPartitionFor(id, len(t.Partitions))
	if t.Partitions[p].Leader != tc.b.nodeID {
		return nil, 0, kerr.NotCoordinator.Code
	}
	return tc.b.shardFor(partKey{txnStateTopic, p}), p, 0
}

// on runs fn with the transactional id's log on its shard, or fail with the
// code of an id this broker cannot serve.
func (tc *txnCoordinators) on(id string, fail func(code int16), fn func(s *shard, tl *txnLog)) {
	s, p, code := tc.route(id)
	if code != 0 {
		fail(code)
		return
	}
	s.submit(func(s *shard) {
		tl := tc.logOn(s, p)
		if tl == nil {
			fail(kerr.NotCoordinator.Code)
			return
		}
		fn(s, tl)
	})
}

// logOn returns partition p's loaded transactions, loading them from the log
// on first use; nil when shard s does not hold p. It runs on s.
func (tc *txnCoordinators) logOn(s *shard, p int32) *txnLog {
	loaded := tc.byShard[s.id]
	part, ok := s.parts[partKey{txnStateTopic, p}]
	tl := loaded[p]
	if tl != nil && (!ok || tl.part != part) {
		tc.unload(tl)
		delete(loaded, p)
		tl = nil
	}
	if !ok || part.log == nil {
		return nil
	}
	if tl != nil {
		return tl
	}
	tl = &txnLog{part: part, txns: make(map[string]*txnMeta)}
	err := replayGroupLog(part.log, func(k, v []byte) error {
		if err := tl.replay(k, v); err != nil {
			tc.b.log.Warn("skip unreadable transaction record", "partition", p, "err", err)
		}
		return nil
	})
	if err != nil {
		tc.b.log.Error("replay transaction records", "partition", p, "err", err)
	}
	loaded[p] = tl
	for _, m := range tl.txns {
		tc.resume(s, tl, m)
	}
	tc.armExpiry(s, tl)
	if len(tl.txns) > 0 {
		tc.b.log.Info("transaction coordinator loaded", "partition", p, "transactional_ids", len(tl.txns))
	}
	return tl
}

// armExpiry schedules the next sweep of tl's expired transactional ids.
func (tc *txnCoordinators) armExpiry(s *shard, tl *txnLog) {
	tl.expiry = time.AfterFunc(tc.b.cfg.TransactionalIDExpirationCheckInterval, func() {
		s.submit(func(s *shard) {
			if tc.byShard[s.id][tl.part.key.partition] != tl {
				return // unloaded
			}
			tc.expire(tl, time.Now())
			tc.armExpiry(s, tl)
		})
	})
}

// expire removes the transactional ids of tl that have had no transaction
// open and no change for transactional.id.expiration.ms, as Kafka does, so
// that ids used once (a fresh one per run or per checkpoint) do not pile up
// in memory and in the log. Their records are tombstoned in one batch.
func (tc *txnCoordinators) expire(tl *txnLog, now time.Time) {
	cutoff := now.Add(-tc.b.cfg.TransactionalIDExpiration).UnixMilli()
	var recs []group.Record
	var ids []string
	for id, m := range tl.txns {
		switch m.state {
		case kmsg.TransactionStateEmpty, kmsg.TransactionStateCompleteCommit, kmsg.TransactionStateCompleteAbort:
		default:
			continue
		}
		if m.ending || m.updateMs >= cutoff {
			continue
		}
		recs = append(recs, group.Record{Key: (&kmsg.TxnMetadataKey{TransactionalID: id}).AppendTo(nil)})
		ids = append(ids, id)
	}
	if len(recs) == 0 {
		return
	}
	if err := (offsetsJournal{s: tl.part.shard, key: tl.part.key}).Append(recs); err != nil {
		tc.b.log.Error("expire transactional ids", "err", err)
		return // the next sweep tries again
	}
	tc.mu.Lock()
	for _, id := range ids {
		delete(tc.open, tl.txns[id].pid)
		delete(tl.txns, id)
	}
	tc.mu.Unlock()
	tc.b.log.Info("expired transactional ids", "partition", tl.part.key.partition, "count", len(ids))
}

// unload stops a log's timers and forgets its open transactions.
func (tc *txnCoordinators) unload(tl *txnLog) {
	if tl.expiry != nil {
		tl.expiry.Stop()
	}
	for _, m := range tl.txns {
		if m.timer != nil {
			m.timer.Stop()
		}
		tc.mu.Lock()
		delete(tc.open, m.pid)
		tc.mu.Unlock()
	}
}

// replay applies one record of the log.
func (tl *txnLog) replay(k, v []byte) error {
	var key kmsg.TxnMetadataKey
	if err := key.ReadFrom(k); err != nil {
		return fmt.Errorf("key: %w", err)
	}
	if v == nil {
		delete(tl.txns, key.TransactionalID)
		return nil
	}
	var val kmsg.TxnMetadataValue
	if err := val.ReadFrom(v); err != nil {
		return fmt.Errorf("transactional id %q: %w", key.TransactionalID, err)
	}
	m := &txnMeta{id: key.TransactionalID, pid: val.ProducerID, epoch: val.ProducerEpoch, lastEpoch: -1,
		timeoutMs: val.TimeoutMillis, state: val.State, startMs: val.StartTimestamp, updateMs: val.LastUpdateTimestamp,
		parts: make(map[partKey]struct{})}
	for _, t := range val.Topics {
		for _, p := range t.Partitions {
			m.parts[partKey{t.Topic, p}] = struct{}{}
		}
	}
	tl.txns[m.id] = m
	return nil
}

// resume carries on with a loaded transaction: one whose end was decided
// writes its markers, an open one gets its timeout back.
func (tc *txnCoordinators) resume(s *shard, tl *txnLog, m *txnMeta) {
	tc.setOpen(m)
	switch m.state {
	case kmsg.TransactionStatePrepareCommit, kmsg.TransactionStatePrepareAbort:
		tc.finish(s, tl, m)
	case kmsg.TransactionStateOngoing:
		tc.armTimeout(s, tl, m)
	}
}

// persist writes m's state to the log; the caller answers after the turn's
// commit (reply), which fails the answer if the write did not reach disk.
func (tc *txnCoordinators) persist(tl *txnLog, m *txnMeta) error {
	m.updateMs = time.Now().UnixMilli()
	key := (&kmsg.TxnMetadataKey{TransactionalID: m.id}).AppendTo(nil)
	val := kmsg.TxnMetadataValue{ProducerID: m.pid, ProducerEpoch: m.epoch, TimeoutMillis: m.timeoutMs,
		State: m.state, LastUpdateTimestamp: m.updateMs, StartTimestamp: m.startMs}
	byTopic := make(map[string][]int32)
	for k := range m.parts {
		byTopic[k.topic] = append(byTopic[k.topic], k.partition)
	}
	for t, ps := range byTopic {
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
		val.Topics = append(val.Topics, kmsg.TxnMetadataValueTopic{Topic: t, Partitions: ps})
	}
	sort.Slice(val.Topics, func(i, j int) bool { return val.Topics[i].Topic < val.Topics[j].Topic })
	s := tl.part.shard
	if err := (offsetsJournal{s: s, key: tl.part.key}).Append([]group.Record{{Key: key, Value: val.AppendTo(nil)}}); err != nil {
		m.unsynced = true
		return err
	}
	m.unsynced = false
	s.afterTurn = append(s.afterTurn, func(syncErrs map[*partition]error) {
		if syncErrs[tl.part] != nil {
			s.submit(func(*shard) { m.unsynced = true }) // (this may run on the syncer)
		}
	})
	return nil
}

// replyAfterTurn sends resp once the shard's turn committed, or the answer
// of fail(COORDINATOR_NOT_AVAILABLE) if what it rests on did not reach
// the disk.
func replyAfterTurn(s *shard, part *partition, r *request, resp kmsg.Response, fail func(int16) kmsg.Response) {
	s.afterTurn = append(s.afterTurn, func(syncErrs map[*partition]error) {
		if syncErrs[part] != nil {
			resp = fail(kerr.CoordinatorNotAvailable.Code)
		}
		r.respond(resp)
	})
}

// armTimeout aborts m's open transaction once it has run for its timeout.
func (tc *txnCoordinators) armTimeout(s *shard, tl *txnLog, m *txnMeta) {
	if m.timer != nil {
		m.timer.Stop()
	}
	pid, epoch, start := m.pid, m.epoch, m.startMs
	due := time.UnixMilli(m.startMs + int64(m.timeoutMs))
	m.timer = time.AfterFunc(time.Until(due), func() {
		s.submit(func(s *shard) {
			if !tc.holds(s, tl, m) {
				return
			}
			if m.state != kmsg.TransactionStateOngoing || m.pid != pid || m.epoch != epoch || m.startMs != start || m.ending {
				return
			}
			tc.b.log.Info("transaction timed out: aborting it and fencing its producer", "transactional_id", m.id,
				"producer_id", m.pid, "epoch", m.epoch, "timeout_ms", m.timeoutMs)
			tc.fenceAndAbort(s, tl, m)
		})
	})
}

// fenceAndAbort bumps m's epoch (the producer's older one is fenced) and
// aborts its open transaction with markers at the new epoch.
func (tc *txnCoordinators) fenceAndAbort(s *shard, tl *txnLog, m *txnMeta) {
	// The last epoch (32767) is never given to a producer, as in Kafka:
	// it is there for this fence of one at 32766, which the next
	// InitProducerId then gives a new producer id. Left at its epoch, that
	// producer could still start and commit a transaction.
	if m.epoch < math.MaxInt16 {
		m.epoch++
		m.lastEpoch = -1
	}
	m.state = kmsg.TransactionStatePrepareAbort
	tc.setOpen(m)
	tc.decide(s, tl, m)
}

// decide writes m's decided end (PrepareCommit or PrepareAbort) to the log
// and its markers only once that record is durable, as Kafka sends them from
// the append's callback: a marker that outlived a crash losing the decision
// would leave the restarted coordinator, back at Ongoing, free to end the
// transaction the other way on the other partitions. A record that did not
// reach the disk is written again.
func (tc *txnCoordinators) decide(s *shard, tl *txnLog, m *txnMeta) {
	m.ending = true // nothing else acts on the transaction meanwhile
	if m.timer != nil {
		m.timer.Stop()
		m.timer = nil
	}
	err := tc.persist(tl, m)
	if err != nil {
		tc.b.log.Error("end transaction", "transactional_id", m.id, "err", err)
	}
	s.afterTurn = append(s.afterTurn, func(syncErrs map[*partition]error) {
		if err == nil && syncErrs[tl.part] == nil {
			m.ending = false
			tc.finish(s, tl, m)
			return
		}
		time.AfterFunc(500*time.Millisecond, func() {
			s.submit(func(s *shard) {
				if tc.holds(s, tl, m) {
					tc.decide(s, tl, m)
				}
			})
		})
	})
}

// finish writes the markers of m's decided end (PrepareCommit or
// PrepareAbort) to every partition it touched, then completes it and
// answers its waiters. A marker that cannot be written is retried.
func (tc *txnCoordinators) finish(s *shard, tl *txnLog, m *txnMeta) {
	if m.ending {
		return
	}
	m.ending = true
	if m.timer != nil {
		m.timer.Stop()
		m.timer = nil
	}
	commit := m.state == kmsg.TransactionStatePrepareCommit
	pid, epoch := m.pid, m.epoch
	byShard := make(map[*shard][]partKey)
	for k := range m.parts {
		byShard[tc.b.shardFor(k)] = append(byShard[tc.b.shardFor(k)], k)
	}
	var failed atomic.Bool
	var pending atomic.Int32
	pending.Store(int32(len(byShard)))
	done := func() {
		s.submit(func(s *shard) {
			if !tc.holds(s, tl, m) {
				return // unloaded meanwhile: a reload finishes the end again
			}
			if failed.Load() {
				// Kafka retries markers until they are written: a
				// partition whose log failed takes them after its reopen.
				time.AfterFunc(500*time.Millisecond, func() {
					s.submit(func(s *shard) {
						if tc.holds(s, tl, m) {
							m.ending = false
							tc.finish(s, tl, m)
						}
					})
				})
				return
			}
			tc.complete(s, tl, m, commit)
		})
	}
	if len(byShard) == 0 {
		done()
		return
	}
	for ps, keys := range byShard {
		ps.submit(func(ps *shard) {
			var written []*partition
			for _, k := range keys {
				p, res := ps.writeMarker(k, pid, epoch, commit, 0)
				switch {
				case p == nil:
					continue // its topic was deleted: no marker owed
				case res.err != nil:
					if !errors.Is(res.err, errNoLog) { // retried quietly until it reopens
						ps.b.log.Error("write transaction marker", "topic", k.topic, "partition", k.partition, "err", res.err)
					}
					failed.Store(true)
					continue
				case res.errCode != 0:
					// A newer epoch wrote here already: this end is moot.
					ps.b.log.Warn("transaction marker refused", "topic", k.topic, "partition", k.partition, "err", kerr.ErrorForCode(res.errCode))
					continue
				}
				written = append(written, p)
			}
			ps.afterTurn = append(ps.afterTurn, func(syncErrs map[*partition]error) {
				for _, p := range written {
					if syncErrs[p] != nil {
						failed.Store(true)
					}
				}
				if pending.Add(-1) == 0 {
					done()
				}
			})
		})
	}
}

// holds reports whether tl is still loaded on s with m as its id's state
// (a log reloaded after a fault, or closed, has other ones).
func (tc *txnCoordinators) holds(s *shard, tl *txnLog, m *txnMeta) bool {
	return tc.byShard[s.id][tl.part.key.partition] == tl && tl.txns[m.id] == m
}

// complete records the end of m's transaction and answers its waiters.
func (tc *txnCoordinators) complete(s *shard, tl *txnLog, m *txnMeta, commit bool) {
	m.ending = false
	m.state = kmsg.TransactionStateCompleteAbort
	if commit {
		m.state = kmsg.TransactionStateCompleteCommit
	}
	m.parts = make(map[partKey]struct{})
	tc.setOpen(m)
	if err := tc.persist(tl, m); err != nil {
		// The markers are written; a restart finishing the end again
		// writes them twice, which readers ignore.
		tc.b.log.Error("complete transaction", "transactional_id", m.id, "err", err)
	}
	ws := m.waiters
	m.waiters = nil
	for _, w := range ws {
		w()
	}
}

// loadAll loads every coordinator at start-up, so decided ends are written
// and timeouts run without waiting for a request. It waits for the loads:
// the partitions' shards check transactional writes (checkWrite) against
// the open transactions they restore, and a write that came first would be
// refused INVALID_TXN_STATE, failing a transaction open across the restart.
func (tc *txnCoordinators) loadAll() {
	done := make(chan struct{})
	tc.forEachLog(func(*txnLog) {}, func() { close(done) })
	<-done
}

// forEachLog runs fn for every __transaction_state partition this broker
// leads, each on its shard (several at once), then done, once.
func (tc *txnCoordinators) forEachLog(fn func(tl *txnLog), done func()) {
	tc.b.onLedPartitions(txnStateTopic, func(s *shard, p int32) {
		if tl := tc.logOn(s, p); tl != nil {
			fn(tl)
		}
	}, done)
}

// closeAll stops the coordinators' timers on their shards.
func (tc *txnCoordinators) closeAll() {
	var wg sync.WaitGroup
	for _, s := range tc.b.shards {
		wg.Add(1)
		s.submit(func(s *shard) {
			defer wg.Done()
			for p, tl := range tc.byShard[s.id] {
				tc.unload(tl)
				delete(tc.byShard[s.id], p)
			}
		})
	}
	wg.Wait()
}
