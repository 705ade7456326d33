package partlog

import (
	"github.com/chronik-go/chronik/engine/batch"
)

// Compaction of transactions, as Kafka's cleaner does it: the records of an
// aborted transaction go in the first pass that reads them; its marker, and
// a committed transaction's marker, go once no batch of their transaction is
// left, after a delete horizon (delete.retention.ms) stamped on them as on
// tombstones, so that a consumer already inside the transaction still reads
// its end. A producer's last marker stays: it carries the producer's epoch.

// TxnOutcome is what became of a transactional batch's transaction.
type TxnOutcome uint8

const (
	// TxnOpen: the transaction has not ended below the last stable
	// offset; its batch stays as it is.
	TxnOpen TxnOutcome = iota
	// TxnCommitted: its records are as final as any other and are
	// compacted like them.
	TxnCommitted
	// TxnAborted: its records are removed.
	TxnAborted
)

// txnOutcome asks the options what became of h's transaction.
func (c *batchCleaner) txnOutcome(h *batch.Header) TxnOutcome {
	if c.outcome == nil {
		return TxnOpen
	}
	return c.outcome(h.ProducerID, h.BaseOffset)
}

// noteTxnBatch records that the pass read a batch of its producer's current
// transaction: the marker that ends it stays in this pass.
func (c *batchCleaner) noteTxnBatch(h *batch.Header) {
	if c.txnRead == nil {
		c.txnRead = make(map[int64]bool)
	}
	c.txnRead[h.ProducerID] = true
}

// cleanMarker appends what stays of the transaction marker raw (header h).
// A pass reads every batch from the log start, so a marker whose producer
// had no batch read since its previous marker ends a transaction with
// nothing left in the log.
func (c *batchCleaner) cleanMarker(dst, raw []byte, h *batch.Header) ([]byte, error) {
	if h.ProducerID < 0 {
		return append(dst, raw...), nil
	}
	read := c.txnRead[h.ProducerID]
	delete(c.txnRead, h.ProducerID)
	if read {
		return append(dst, raw...), nil
	}
	typ, err := batch.ControlType(raw)
	if err != nil {
		return append(dst, raw...), nil // not a marker this cleaner knows: kept, as Kafka keeps unknown control batches
	}
	if typ == batch.ControlAbort && c.abortGone != nil {
		// Consumers need not skip anything of it any more.
		c.abortGone(h.ProducerID, h.BaseOffset)
	}
	if c.keepMarkers || c.lastMarker == nil || c.lastMarker(h.ProducerID, h.ProducerEpoch) {
		return append(dst, raw...), nil
	}
	if h.Attributes&deleteHorizonFlag != 0 {
		if c.now >= h.BaseTimestamp {
			c.removedRecords += int64(h.NumRecords)
			c.markersRemoved++
			return dst, nil
		}
		c.minHorizon = min(c.minHorizon, h.BaseTimestamp)
		return append(dst, raw...), nil
	}
	if !batch.CRCValid(raw) {
		return dst, errCorruptBatch(h)
	}
	recs, err := batchRecords(raw, h)
	if err != nil {
		return dst, err
	}
	c.kept = c.kept[:0]
	err = forEachRecordView(recs, h.NumRecords, func(r *recordView) error {
		c.kept = append(c.kept, *r)
		return nil
	})
	if err != nil {
		return dst, err
	}
	horizon := c.now + c.deleteRetention
	c.minHorizon = min(c.minHorizon, horizon)
	return c.rewrite(dst, raw, h, true, horizon)
}
