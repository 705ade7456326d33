package partlog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// xerialBlockSize is the block size snappy-java's stream writes, so a batch
// recompressed by the cleaner is framed as the Java producer framed it.
const xerialBlockSize = 32 << 10

// zstdEncoder is shared by all shards; EncodeAll is safe for concurrent use
// and runs as many calls at once as the encoder's concurrency, so that is
// one per P: shards recompressing for compression.type=zstd (and their
// cleaners) would otherwise take turns.
var zstdEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithLowerEncoderMem(true))
})

var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

var lz4Writers = sync.Pool{New: func() any { return lz4.NewWriter(nil) }}

// compressLike appends recs compressed with codec to dst (as they are for
// codec 0, an uncompressed batch), framed like the
// original compressed records section orig (snappy: xerial framing or a raw
// block, whichever orig used), so a rewritten batch reads back wherever the
// producer's did.
func compressLike(dst []byte, codec int8, recs, orig []byte) ([]byte, error) {
	switch codec {
	case 0:
		return append(dst, recs...), nil
	case 1:
		buf := bytes.NewBuffer(dst)
		w := gzipWriters.Get().(*gzip.Writer)
		defer gzipWriters.Put(w)
		w.Reset(buf)
		if _, err := w.Write(recs); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return buf.Bytes(), nil
	case 2:
		if len(orig) >= xerialHeaderSize && bytes.HasPrefix(orig, xerialMagic) {
			return appendXerial(dst, recs), nil
		}
		return append(dst, snappy.Encode(nil, recs)...), nil
	case 3:
		buf := bytes.NewBuffer(dst)
		w := lz4Writers.Get().(*lz4.Writer)
		defer lz4Writers.Put(w)
		w.Reset(buf)
		if _, err := w.Write(recs); err != nil {
			return nil, fmt.Errorf("lz4: %w", err)
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("lz4: %w", err)
		}
		return buf.Bytes(), nil
	case 4:
		e, err := zstdEncoder()
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return e.EncodeAll(recs, dst), nil
	}
	return nil, fmt.Errorf("unknown compression codec %d", codec)
}

// appendXerial frames recs as snappy-java does: the 16-byte header (magic,
// version 1, compatible version 1), then per block a big-endian length and
// a raw snappy block.
func appendXerial(dst, recs []byte) []byte {
	dst = append(dst, xerialMagic...)
	dst = binary.BigEndian.AppendUint32(dst, 1)
	dst = binary.BigEndian.AppendUint32(dst, 1)
	for len(recs) > 0 {
		n := min(len(recs), xerialBlockSize)
		block := snappy.Encode(nil, recs[:n])
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(block)))
		dst = append(dst, block...)
		recs = recs[n:]
	}
	return dst
}
