package partlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// maxDecompressedBytes bounds one batch's decompressed records, so a
// hostile batch cannot exhaust memory when a timestamp search opens it.
const maxDecompressedBytes = 256 << 20

// MaxDecompressedBytes is the most CheckRecords walks of one batch.
const MaxDecompressedBytes = maxDecompressedBytes

// ErrDecompressedTooLarge reports a records section that decompresses past
// the bound its reader was given.
var ErrDecompressedTooLarge = errors.New("decompressed records exceed the bound")

// xerialMagic starts snappy data framed the way the Java client's
// snappy-java stream writes it: an 8-byte magic, two int32 versions, then
// blocks each prefixed by a big-endian int32 length.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const xerialHeaderSize = 16

// zstdDecoder is shared by all shards; DecodeAll is safe for concurrent use.
var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxDecompressedBytes), zstd.WithDecoderConcurrency(0))
})

// Readers are pooled: the compactor decompresses batch after batch, and a
// fresh gzip or lz4 reader allocates its whole window each time.
var (
	gzipReaders sync.Pool
	lz4Readers  = sync.Pool{New: func() any { return lz4.NewReader(nil) }}
)

// decompress returns the records section of a batch compressed with codec
// (1 gzip, 2 snappy, 3 lz4 frame, 4 zstd).
func decompress(codec int8, src []byte) ([]byte, error) {
	switch codec {
	case 1:
		r, err := pooledGzipReader(src)
		if err != nil {
			return nil, err
		}
		defer gzipReaders.Put(r)
		return readBounded("gzip", r)
	case 2:
		return decompressSnappy(src)
	case 3:
		r := lz4Readers.Get().(*lz4.Reader)
		defer lz4Readers.Put(r)
		r.Reset(bytes.NewReader(src))
		return readBounded("lz4", r)
	case 4:
		d, err := zstdDecoder()
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		out, err := d.DecodeAll(src, nil)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown compression codec %d", codec)
}

// pooledGzipReader is a pooled gzip reader over src (put it back in
// gzipReaders when done).
func pooledGzipReader(src []byte) (*gzip.Reader, error) {
	r, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	if r == nil {
		r, err = gzip.NewReader(bytes.NewReader(src))
	} else {
		err = r.Reset(bytes.NewReader(src))
	}
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return r, nil
}

func readBounded(name string, r io.Reader) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, maxDecompressedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(out) > maxDecompressedBytes {
		return nil, fmt.Errorf("%s: %w: over %d bytes", name, ErrDecompressedTooLarge, maxDecompressedBytes)
	}
	return out, nil
}

func decompressSnappy(src []byte) ([]byte, error) {
	if len(src) < xerialHeaderSize || !bytes.HasPrefix(src, xerialMagic) {
		return snappyBlock(nil, src)
	}
	var out []byte
	for rest := src[xerialHeaderSize:]; len(rest) > 0; {
		if len(rest) < 4 {
			return nil, errors.New("snappy: truncated xerial block length")
		}
		n := binary.BigEndian.Uint32(rest)
		rest = rest[4:]
		if uint64(n) > uint64(len(rest)) {
			return nil, errors.New("snappy: truncated xerial block")
		}
		var err error
		if out, err = snappyBlock(out, rest[:n]); err != nil {
			return nil, err
		}
		rest = rest[n:]
	}
	return out, nil
}

// maxSnappyExpansion bounds how many times larger than its encoding a snappy
// block can decode (22 at most; the bound leaves room).
const maxSnappyExpansion = 32

// snappyBlock appends one decoded raw snappy block to dst.
func snappyBlock(dst, block []byte) ([]byte, error) {
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	if len(dst)+n > maxDecompressedBytes {
		return nil, fmt.Errorf("snappy: %w: over %d bytes", ErrDecompressedTooLarge, maxDecompressedBytes)
	}
	// The decoder allocates the length the block's header claims before it
	// reads the data; no snappy element expands more than 64 bytes from 3
	// (a two-byte-offset copy), so a longer claim is a lie, not a block.
	if n > maxSnappyExpansion*len(block)+maxSnappyExpansion {
		return nil, fmt.Errorf("snappy: block of %d bytes claims %d decoded", len(block), n)
	}
	dec, err := snappy.Decode(nil, block)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	return append(dst, dec...), nil
}
