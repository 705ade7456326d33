package partlog

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/chronik-go/chronik/engine/batch"
)

// ErrMalformedRecords reports a records section that does not parse as the
// count of records its batch header declares, and nothing more.
var ErrMalformedRecords = errors.New("malformed records")

// forEachRecord walks the records of an uncompressed records section (count
// of them), calling fn with each record's offset delta and timestamp delta
// until fn returns false. Only those two fields are decoded; the rest of a
// record is skipped by its length.
//
//	record: length varint | attributes int8 | timestampDelta varlong |
//	        offsetDelta varint | key | value | headers
func forEachRecord(recs []byte, count int32, fn func(offsetDelta int32, timestampDelta int64) bool) error {
	for i := int32(0); i < count; i++ {
		length, n := binary.Varint(recs)
		if n <= 0 || length < 0 || length > int64(len(recs)-n) {
			return fmt.Errorf("%w: record %d length", ErrMalformedRecords, i)
		}
		body := recs[n : n+int(length)]
		recs = recs[n+int(length):]
		if len(body) < 1 {
			return fmt.Errorf("%w: record %d is empty", ErrMalformedRecords, i)
		}
		body = body[1:] // attributes
		tsDelta, n := binary.Varint(body)
		if n <= 0 {
			return fmt.Errorf("%w: record %d timestamp delta", ErrMalformedRecords, i)
		}
		offDelta, n := binary.Varint(body[n:])
		if n <= 0 {
			return fmt.Errorf("%w: record %d offset delta", ErrMalformedRecords, i)
		}
		if !fn(int32(offDelta), tsDelta) {
			return nil
		}
	}
	return nil
}

// batchRecords returns the uncompressed records section of a whole batch.
func batchRecords(raw []byte, h *batch.Header) ([]byte, error) {
	recs := raw[batch.HeaderSize:]
	if h.Codec() == 0 {
		return recs, nil
	}
	return decompress(h.Codec(), recs)
}

// firstRecordAtOrAfter finds the first record of a whole batch whose
// timestamp is >= ts and whose offset is >= minOffset. In a LogAppendTime
// batch every record carries the batch's max timestamp; one compaction
// left gaps in (or emptied, keeping a producer's last sequence) is walked
// for a record that is there.
func firstRecordAtOrAfter(raw []byte, h *batch.Header, ts, minOffset int64) (offset, timestamp int64, found bool, err error) {
	appendTime := h.LogAppendTime()
	if appendTime {
		if h.MaxTimestamp < ts || h.LastOffset() < minOffset || h.NumRecords == 0 {
			return 0, 0, false, nil
		}
		if int64(h.NumRecords) == int64(h.LastOffsetDelta)+1 { // every offset holds a record
			return max(h.BaseOffset, minOffset), h.MaxTimestamp, true, nil
		}
	}
	recs, err := batchRecords(raw, h)
	if err != nil {
		return 0, 0, false, err
	}
	err = forEachRecord(recs, h.NumRecords, func(offDelta int32, tsDelta int64) bool {
		o, t := h.BaseOffset+int64(offDelta), h.BaseTimestamp+tsDelta
		if appendTime {
			t = h.MaxTimestamp
		}
		if t >= ts && o >= minOffset {
			offset, timestamp, found = o, t, true
		}
		return !found
	})
	return offset, timestamp, found, err
}
