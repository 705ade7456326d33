package partlog

import (
	"fmt"

	"github.com/chronik-go/chronik/engine/batch"
)

// Recompress returns the batch raw (header h) with its records compressed
// with codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd) instead of the
// producer's, for a topic whose compression.type names a codec: every header
// field but the codec bits, the length and the CRC stays, so offsets,
// timestamps and producer sequences are the producer's. Snappy is framed as
// the Java broker writes it (xerial). A batch already in codec is returned
// as it is.
func Recompress(raw []byte, h *batch.Header, codec int8) ([]byte, error) {
	if h.Codec() == codec {
		return raw, nil
	}
	recs, err := batchRecords(raw, h)
	if err != nil {
		return nil, err
	}
	out := *h
	out.Attributes = out.Attributes&^0x07 | int16(codec)
	size := len(raw) // compressed output: about the producer's size
	if codec == 0 {
		size = batch.HeaderSize + len(recs)
	}
	dst := appendBatchHeader(make([]byte, 0, size), &out)
	if dst, err = compressLike(dst, codec, recs, xerialMagicHeader); err != nil {
		return nil, fmt.Errorf("recompress batch at %d: %w", h.BaseOffset, err)
	}
	finishBatch(dst)
	return dst, nil
}

// xerialMagicHeader is a xerial stream header, which makes compressLike
// frame snappy as snappy-java does.
var xerialMagicHeader = append(append([]byte{}, xerialMagic...), 0, 0, 0, 1, 0, 0, 0, 1)
