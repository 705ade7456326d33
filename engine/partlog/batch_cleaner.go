package partlog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/chronik-go/chronik/engine/batch"
)

// deleteHorizonFlag is batch attributes bit 6 (KIP-534): the batch's base
// timestamp holds its delete horizon, the time from which the cleaner may
// drop its tombstones. Record timestamps stay base timestamp + delta, so
// consumers read the same timestamps as before.
const deleteHorizonFlag = 0x40

// noHorizon is "no tombstone waits for a delete horizon".
const noHorizon = math.MaxInt64

// batchCleaner decides, record by record, what survives one cleaning pass,
// and rewrites batches as Kafka's cleaner does: a batch keeps its base
// offset, last offset delta, producer fields and codec; kept records keep
// their offset deltas; a batch whose records all survive is copied as it is.
type batchCleaner struct {
	keys            *keyMap
	now             int64 // wall clock, Unix ms
	deleteRetention int64 // delete.retention.ms
	// keepEmpty says whether an idempotent batch whose records were all
	// removed must stay as an empty batch, because it is its producer's
	// last and carries the producer's sequence state.
	keepEmpty func(h *batch.Header) bool
	// outcome says what became of a transactional batch's transaction;
	// nil: every one is open.
	outcome func(producerID, baseOffset int64) TxnOutcome
	// lastMarker says whether a marker at producerID's epoch is the
	// producer's last entry in the log; nil: every marker is.
	lastMarker func(producerID int64, epoch int16) bool
	// abortGone is told of an abort marker whose transaction has no batch
	// left in the log.
	abortGone func(producerID, markerOffset int64)
	// keepMarkers keeps every marker as it is.
	keepMarkers bool
	// txnRead holds the producers with a transactional batch read since
	// their last marker in this pass.
	txnRead map[int64]bool

	plain []byte // scratch: the rewritten records, before compression
	kept  []recordView
	// decompressed is the size of the last batch's records section when it
	// was compressed, for the cleaner's work budget.
	decompressed int64

	// minHorizon is the earliest delete horizon of a written batch that
	// still holds tombstones: a pass after it can remove them.
	minHorizon     int64
	removedRecords int64
	// markersRemoved counts the transaction markers removed since the
	// current group's swap was last handed out.
	markersRemoved int
}

// clean appends the cleaned form of the whole batch raw (header h) to dst:
// raw itself, a rewritten batch, an empty batch, or nothing.
func (c *batchCleaner) clean(dst, raw []byte, h *batch.Header) ([]byte, error) {
	if h.Control() {
		return c.cleanMarker(dst, raw, h)
	}
	if h.Transactional() {
		c.noteTxnBatch(h)
		switch c.txnOutcome(h) {
		case TxnOpen:
			return append(dst, raw...), nil
		case TxnAborted:
			c.kept = c.kept[:0]
			c.removedRecords += int64(h.NumRecords)
			return c.emptied(dst, raw, h)
		}
	}
	recs, err := batchRecords(raw, h)
	if err != nil {
		return dst, err
	}
	if h.Codec() != 0 {
		c.decompressed = int64(len(recs))
	}
	hadHorizon := h.Attributes&deleteHorizonFlag != 0
	// Tombstones of a batch stay until its delete horizon, which the first
	// pass that keeps them sets.
	retainDeletes := !hadHorizon || c.now < h.BaseTimestamp
	c.kept = c.kept[:0]
	tombstones := false
	err = forEachRecordView(recs, h.NumRecords, func(r *recordView) error {
		if r.key == nil {
			return nil // Kafka's cleaner drops records it cannot compact
		}
		if latest, ok := c.keys.latest(r.key); ok && h.BaseOffset+int64(r.offsetDelta) < latest {
			return nil
		}
		if r.nullValue {
			if !retainDeletes {
				return nil
			}
			tombstones = true
		}
		c.kept = append(c.kept, *r)
		return nil
	})
	if err != nil {
		return dst, err
	}
	c.removedRecords += int64(h.NumRecords) - int64(len(c.kept))
	setHorizon := tombstones && !hadHorizon
	horizon := h.BaseTimestamp
	if setHorizon {
		horizon = c.now + c.deleteRetention
	}
	if tombstones {
		c.minHorizon = min(c.minHorizon, horizon)
	}
	if len(c.kept) == int(h.NumRecords) && !setHorizon && h.NumRecords > 0 {
		return append(dst, raw...), nil
	}
	if len(c.kept) == 0 {
		return c.emptied(dst, raw, h)
	}
	if !batch.CRCValid(raw) {
		return dst, errCorruptBatch(h)
	}
	return c.rewrite(dst, raw, h, setHorizon, horizon)
}

// emptied appends what stays of the batch raw (header h) once all its
// records are removed: an empty batch while it is its producer's last
// (including one emptied by an earlier pass), else nothing.
func (c *batchCleaner) emptied(dst, raw []byte, h *batch.Header) ([]byte, error) {
	if !batch.CRCValid(raw) {
		return dst, errCorruptBatch(h)
	}
	switch {
	case !h.Idempotent() || !c.keepEmpty(h):
		return dst, nil
	case h.NumRecords == 0:
		return append(dst, raw...), nil
	}
	return appendEmptyBatch(dst, h), nil
}

// errCorruptBatch refuses to clean a batch that fails its CRC: decisions on
// corrupt bytes are wrong, and a rewritten batch gets a fresh CRC, so a
// corrupt one would be laundered.
func errCorruptBatch(h *batch.Header) error {
	return fmt.Errorf("%w: batch %d fails its CRC", ErrCorrupt, h.BaseOffset)
}

// rewrite appends a batch holding only the kept records. A new delete
// horizon becomes the base timestamp and the records' timestamp deltas are
// rebased on it; otherwise records are copied unchanged.
func (c *batchCleaner) rewrite(dst, raw []byte, h *batch.Header, setHorizon bool, horizon int64) ([]byte, error) {
	out := *h
	out.NumRecords = int32(len(c.kept))
	if setHorizon {
		out.Attributes |= deleteHorizonFlag
		out.BaseTimestamp = horizon
	}
	if !h.LogAppendTime() {
		out.MaxTimestamp = noTimestamp
		for i := range c.kept {
			out.MaxTimestamp = max(out.MaxTimestamp, h.BaseTimestamp+c.kept[i].timestampDelta)
		}
	}
	c.plain = c.plain[:0]
	for i := range c.kept {
		r := &c.kept[i]
		if setHorizon {
			c.plain = appendRecordRebased(c.plain, r, h.BaseTimestamp+r.timestampDelta-horizon)
		} else {
			c.plain = append(c.plain, r.raw...)
		}
	}
	start := len(dst)
	dst = appendBatchHeader(dst, &out)
	compressed, err := compressLike(dst, h.Codec(), c.plain, raw[batch.HeaderSize:])
	if err != nil {
		return dst[:start], err // compressed may be nil
	}
	dst = compressed
	finishBatch(dst[start:])
	return dst, nil
}

// appendEmptyBatch appends Kafka's empty batch for h: its offsets, producer
// fields and attributes (codec none) without records, so the producer's last
// sequence survives compaction. It keeps h's max timestamp as both of its
// timestamps (Kafka's writeEmptyHeader), so the producer's last timestamp and
// the segment's age for retention survive too.
func appendEmptyBatch(dst []byte, h *batch.Header) []byte {
	out := *h
	out.Attributes &^= 0x07 | deleteHorizonFlag
	out.BaseTimestamp = h.MaxTimestamp
	out.NumRecords = 0
	start := len(dst)
	dst = appendBatchHeader(dst, &out)
	finishBatch(dst[start:])
	return dst
}

// appendBatchHeader appends h's 61 header bytes with the length and CRC left
// for finishBatch.
func appendBatchHeader(dst []byte, h *batch.Header) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.BaseOffset))
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(h.PartitionLeaderEpoch))
	dst = append(dst, 2)
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(h.Attributes))
	dst = binary.BigEndian.AppendUint32(dst, uint32(h.LastOffsetDelta))
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.BaseTimestamp))
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.MaxTimestamp))
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.ProducerID))
	dst = binary.BigEndian.AppendUint16(dst, uint16(h.ProducerEpoch))
	dst = binary.BigEndian.AppendUint32(dst, uint32(h.BaseSequence))
	return binary.BigEndian.AppendUint32(dst, uint32(h.NumRecords))
}

// finishBatch fills in the length and CRC-32C of the whole batch b.
func finishBatch(b []byte) {
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-batch.LengthFieldEnd))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32c))
}
