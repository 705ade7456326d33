package partlog

import (
	"encoding/binary"
	"fmt"

	"github.com/chronik-go/chronik/engine/batch"
)

// RenumberRecords returns a batch rebuilt with its records' offset deltas
// set to 0, 1, 2, ... in order, compressed again with the producer's codec
// (and framing), if any: a compressed batch, or an uncompressed one that its
// topic recompresses. Kafka rebuilds a compressed batch whose
// inner offsets are not consecutive rather than refuse it (some older
// clients wrote them wrong); stored as sent, a consumer would compute the
// records' offsets from the deltas and skip or repeat records. Only such
// batches take this path (CheckRecords reports them), so it decodes the
// section whole; the caller bounds its size (prepareProduce: 16 ×
// max.message.bytes).
func RenumberRecords(raw []byte, h *batch.Header) ([]byte, error) {
	section := raw[batch.HeaderSize:]
	recs, err := batchRecords(raw, h)
	if err != nil {
		return nil, fmt.Errorf("renumber records: %w", err)
	}
	renumbered := make([]byte, 0, len(recs)+int(h.NumRecords)*binary.MaxVarintLen32)
	var r recordView
	for i := int32(0); i < h.NumRecords; i++ {
		n, err := parseRecordView(recs, &r)
		if err != nil {
			return nil, fmt.Errorf("renumber records: %w: record %d: %w", ErrMalformedRecords, i, err)
		}
		recs = recs[n:]
		renumbered = appendRecordRenumbered(renumbered, &r, i)
	}
	dst := appendBatchHeader(make([]byte, 0, len(raw)+64), h)
	if dst, err = compressLike(dst, h.Codec(), renumbered, section); err != nil {
		return nil, fmt.Errorf("renumber records: %w", err)
	}
	finishBatch(dst)
	return dst, nil
}
