package engine

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/batch"
	"github.com/chronik-go/chronik/engine/partlog"
)

// A partition's side of transactions, as Kafka's ProducerStateManager keeps
// it: the first offset of each producer's open transaction here, which holds
// back the last stable offset (LSO) that read_committed consumers read up
// to, and the aborted transactions, which those consumers are told of so
// they drop the aborted records. Both are kept in the producer-state
// snapshots and rebuilt from the log's batches after them.

// abortedTxn is one aborted transaction of a partition: its producer's
// records from FirstOffset up to the abort marker at LastOffset.
type abortedTxn struct {
	ProducerID  int64 `json:"producer_id"`
	FirstOffset int64 `json:"first_offset"`
	LastOffset  int64 `json:"last_offset"`
}

// txnState is a partition's transaction bookkeeping.
type txnState struct {
	// Ongoing maps a producer id to the first offset of its open
	// transaction on this partition.
	Ongoing map[int64]int64 `json:"ongoing,omitempty"`
	// Aborted lists aborted transactions by LastOffset, those wholly below
	// the log start dropped.
	Aborted []abortedTxn `json:"aborted,omitempty"`
}

func (t *txnState) empty() bool { return len(t.Ongoing) == 0 && len(t.Aborted) == 0 }

func (t *txnState) clone() txnState {
	return txnState{Ongoing: maps.Clone(t.Ongoing), Aborted: slices.Clone(t.Aborted)}
}

// noteData records a transactional data batch at base: the start of its
// producer's transaction here, unless one is open.
func (t *txnState) noteData(h *batch.Header, base int64) {
	if !h.Transactional() || h.Control() {
		return
	}
	if _, open := t.Ongoing[h.ProducerID]; open {
		return
	}
	if t.Ongoing == nil {
		t.Ongoing = make(map[int64]int64)
	}
	t.Ongoing[h.ProducerID] = base
}

// noteMarker records a transaction marker of producerID at offset: its
// transaction here ends, and an abort of records written here is indexed.
func (t *txnState) noteMarker(producerID int64, typ int16, offset int64) {
	first, open := t.Ongoing[producerID]
	if !open {
		return // a marker of a transaction that wrote nothing here (or a retried one)
	}
	delete(t.Ongoing, producerID)
	if typ == batch.ControlAbort {
		t.Aborted = append(t.Aborted, abortedTxn{ProducerID: producerID, FirstOffset: first, LastOffset: offset})
	}
}

// lastStable is the LSO: the first offset of the oldest open transaction,
// or the high watermark, never below the log start.
func (t *txnState) lastStable(highWatermark, logStart int64) int64 {
	lso := highWatermark
	for _, first := range t.Ongoing {
		lso = min(lso, first)
	}
	return max(lso, logStart)
}

// abortedFrom lists the aborted transactions a read_committed fetch of
// offsets [from, upTo) must be told of.
func (t *txnState) abortedFrom(from, upTo int64) []kmsg.FetchResponseTopicPartitionAbortedTransaction {
	i := sort.Search(len(t.Aborted), func(i int) bool { return t.Aborted[i].LastOffset >= from })
	var out []kmsg.FetchResponseTopicPartitionAbortedTransaction
	for _, a := range t.Aborted[i:] {
		if a.FirstOffset >= upTo {
			continue
		}
		e := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
		e.ProducerID, e.FirstOffset = a.ProducerID, a.FirstOffset
		out = append(out, e)
	}
	return out
}

// aborted reports whether the record of producerID at offset belongs to an
// aborted transaction. A producer's transactions do not overlap, so only
// its first one ending at or after offset can hold it.
func (t *txnState) aborted(producerID, offset int64) bool {
	i := sort.Search(len(t.Aborted), func(i int) bool { return t.Aborted[i].LastOffset >= offset })
	for _, a := range t.Aborted[i:] {
		if a.ProducerID == producerID {
			return a.FirstOffset <= offset
		}
	}
	return false
}

// snapshotBeforeMarkersGo writes the producer-state snapshot at the log
// end for the cleaner, before a swap removes transaction markers: an older
// state adopted after a crash could name them (an aborted transaction a
// consumer would be told of and wait for the end of, skipping its
// producer's later transactions; an open one whose end is gone). What it
// returns, run by the swap before it commits, syncs the snapshot (the
// swap's directory sync persists its name) and retires the state kept from
// the last clean shutdown, which is older. (While producer state is
// unreliable, cleanOptions keeps every marker: this is not called.)
func (p *partition) snapshotBeforeMarkersGo() (func() error, error) {
	if err := p.writeProducerSnapshot(p.log.NextOffset()); err != nil {
		return nil, err
	}
	path, b := filepath.Join(p.dir, producerStateFile), p.shard.b
	return func() error {
		if err := syncPathErr(path); err != nil {
			return fmt.Errorf("sync producer state: %w", err)
		}
		return b.retireLastCleanState()
	}, nil
}

// dropAborted drops the aborted transaction of producerID that ended at
// markerOffset, reporting whether there was one.
func (t *txnState) dropAborted(producerID, markerOffset int64) bool {
	i := sort.Search(len(t.Aborted), func(i int) bool { return t.Aborted[i].LastOffset >= markerOffset })
	if i == len(t.Aborted) || t.Aborted[i].LastOffset != markerOffset || t.Aborted[i].ProducerID != producerID {
		return false
	}
	t.Aborted = slices.Delete(t.Aborted, i, i+1)
	return true
}

// trimBelow drops aborted transactions wholly below the log start.
func (t *txnState) trimBelow(logStart int64) {
	i := sort.Search(len(t.Aborted), func(i int) bool { return t.Aborted[i].LastOffset >= logStart })
	if i > 0 {
		t.Aborted = slices.Delete(t.Aborted, 0, i)
	}
}

// lastStableOffset is the partition's LSO over what its log has written.
func (p *partition) lastStableOffset() int64 {
	return p.txns.lastStable(p.log.WrittenOffset(), p.log.StartOffset())
}

// txnBatchOutcome tells the log cleaner what became of the transaction of
// producerID's batch at offset: below the LSO it ended, aborted if the
// aborted transactions hold it.
func (p *partition) txnBatchOutcome(producerID, offset int64) partlog.TxnOutcome {
	switch {
	case offset >= p.lastStableOffset():
		return partlog.TxnOpen
	case p.txns.aborted(producerID, offset):
		return partlog.TxnAborted
	}
	return partlog.TxnCommitted
}

// isLastProducerMarker reports, for the log cleaner, whether a marker of
// producerID at epoch is the producer's last entry: its epoch is the
// producer's and no batch came after it (a later batch would carry the
// epoch instead).
func (p *partition) isLastProducerMarker(producerID int64, epoch int16) bool {
	ps := p.producers[producerID]
	return ps != nil && ps.Epoch == epoch && len(ps.Batches) == 0
}

// abortedTxnGone drops the aborted transaction whose marker is at
// markerOffset: the cleaner removed all its records, so read_committed
// consumers have nothing to skip (and once the marker goes too, an entry
// left behind would make them skip the producer's later transactions).
func (p *partition) abortedTxnGone(producerID, markerOffset int64) {
	if p.txns.dropAborted(producerID, markerOffset) {
		p.producersSavedAt = -1
	}
}

// appendMarker writes the end of producerID's transaction to the partition,
// at producerEpoch (a coordinator that aborted a timed-out transaction bumps
// it, fencing the producer's older epoch here).
func (p *partition) appendMarker(producerID int64, producerEpoch int16, commit bool, coordinatorEpoch int32, st *topicSettings) appendResult {
	if err := p.log.Failed(); err != nil {
		return appendResult{err: err, baseOffset: -1, logAppendTime: -1}
	}
	ps := p.producers[producerID]
	if ps != nil && producerEpoch < ps.Epoch {
		return appendResult{errCode: kerr.InvalidProducerEpoch.Code, baseOffset: -1, logAppendTime: -1}
	}
	now := time.Now().UnixMilli()
	raw := batch.AppendControlBatch(nil, producerID, producerEpoch, commit, coordinatorEpoch, now)
	h, err := batch.ParseHeader(raw)
	if err != nil {
		return appendResult{err: fmt.Errorf("encode transaction marker: %w", err), baseOffset: -1, logAppendTime: -1}
	}
	base, err := p.stage(raw, &h, st)
	if err != nil {
		return appendResult{err: err, baseOffset: -1, logAppendTime: -1}
	}
	p.noteMarkerEpoch(producerID, producerEpoch, now)
	typ := batch.ControlAbort
	if commit {
		typ = batch.ControlCommit
	}
	p.txns.noteMarker(producerID, typ, base)
	p.afterAppend(1, st)
	return appendResult{baseOffset: base, logAppendTime: -1}
}

// errNoLog says a partition has no log now (its reopen after a fault has
// not succeeded): a marker for it waits.
var errNoLog = errors.New("partition has no log")

// writeMarker writes a transaction marker to partition k of s (reopening
// its log first if it failed) and, on __consumer_offsets, ends the
// transaction's pending offsets there. The partition is nil when s does
// not hold it.
func (s *shard) writeMarker(k partKey, producerID int64, producerEpoch int16, commit bool, coordinatorEpoch int32) (*partition, appendResult) {
	p := s.parts[k]
	if p == nil {
		return nil, appendResult{}
	}
	p.reopenIfFailed()
	if p.log == nil {
		return p, appendResult{err: fmt.Errorf("%s-%d: %w", k.topic, k.partition, errNoLog), baseOffset: -1, logAppendTime: -1}
	}
	res := p.appendMarker(producerID, producerEpoch, commit, coordinatorEpoch, s.b.settingsFor(k.topic))
	if res.err == nil && res.errCode == 0 && k.topic == offsetsTopic {
		if c := s.b.groups.coordinatorOn(s, k.partition); c != nil {
			c.CompleteTxn(producerID, commit)
		}
	}
	return p, res
}

// noteMarkerEpoch applies a marker to its producer's idempotence state: a
// higher epoch replaces it (its sequences start again at 0), as Kafka's
// appendEndTxnMarker does.
func (p *partition) noteMarkerEpoch(producerID int64, epoch int16, seenAtMs int64) {
	ps := p.producers[producerID]
	if ps == nil || epoch > ps.Epoch {
		ps = &producerState{Epoch: epoch}
		p.producers[producerID] = ps
	}
	ps.SeenAtMs = seenAtMs
	p.producersSavedAt = -1
}
