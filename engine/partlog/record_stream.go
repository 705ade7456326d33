package partlog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/chronik-go/chronik/engine/batch"
)

// The produce path walks every compressed batch's records as Kafka does,
// streaming them through the decompressor: memory stays at the codec's
// window (zstd's at most maxStreamZstdWindow; a raw snappy block, which
// cannot be streamed, whole: at most 32 times its size) plus a 64 KiB
// buffer, where decompress would build the whole section (up to
// maxDecompressedBytes) for each batch of each request.

// streamBufSize is the window records are parsed in place from; a longer
// record is read field by field.
const streamBufSize = 64 << 10

// maxStreamZstdWindow bounds the history a zstd frame may ask the walk to
// keep: the decoder allocates it on the frame header's word, so a batch of
// a few bytes could otherwise claim 256 MiB per event loop. Most producers'
// frames need far less (a batch-sized window, or 2-8 MiB at levels up to
// 19); larger ones (levels 20-22: 32-128 MiB, which Kafka's zstd-jni
// allows) are decoded whole instead (walkZstdWhole).
const maxStreamZstdWindow = 8 << 20

var (
	streamBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, streamBufSize) }}
	// zstdStreams are single-goroutine decoders: Reset is not safe for
	// concurrent use, unlike the shared zstdDecoder's DecodeAll.
	zstdStreams sync.Pool
	// snappyStreams keep their block buffers.
	snappyStreams sync.Pool
)

// walkCompressed checks a compressed batch's records as CheckRecords does an
// uncompressed one's, reading at most limit bytes of them through the
// codec's decompressor (ErrDecompressedTooLarge past it).
func walkCompressed(raw []byte, h *batch.Header, rules *RecordRules, limit int64) (RecordsSeen, error) {
	seen, err := walkStream(raw, h, rules, limit)
	if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		return walkZstdWhole(raw, h, rules, limit)
	}
	return seen, err
}

// walkZstdWhole walks a zstd section the streaming walk would not keep a
// history for: a frame naming a window past maxStreamZstdWindow (Java
// producers at levels 20-22 write 32-128 MiB windows), or a single-segment
// frame of more content than that. Kafka accepts those; here they are
// decoded whole, once the frame and block headers show the section decodes
// to at most maxWholeZstdBytes (and the caller's limit), so memory follows
// what the blocks can hold and not what a header claims.
func walkZstdWhole(raw []byte, h *batch.Header, rules *RecordRules, limit int64) (RecordsSeen, error) {
	section := raw[batch.HeaderSize:]
	bound, err := zstdDecodedBound(section)
	if err != nil {
		return RecordsSeen{}, fmt.Errorf("%w: %w", ErrMalformedRecords, err)
	}
	// One block of slack past the caller's limit: the bound counts every
	// compressed block as full, so a section that decodes to the limit
	// can bound a little over it.
	if most := min(maxWholeZstdBytes, limit+zstdBlockMax); bound > most {
		return RecordsSeen{}, fmt.Errorf("zstd frame past the streaming walk's %d-byte history: %w: its blocks may hold %d bytes, over %d", maxStreamZstdWindow, ErrDecompressedTooLarge, bound, most)
	}
	d, err := zstdWholeDecoder()
	if err != nil {
		return RecordsSeen{}, fmt.Errorf("%w: zstd: %w", ErrMalformedRecords, err)
	}
	// The buffer is the blocks' bound, which the decoder cannot write past
	// (each block holds at most its maximum), and the decoder is told not
	// to size its output from a frame's content-size claim instead.
	recs, err := d.DecodeAll(section, make([]byte, 0, bound))
	if err != nil {
		return RecordsSeen{}, fmt.Errorf("%w: zstd: %w", ErrMalformedRecords, err)
	}
	if int64(len(recs)) > limit {
		return RecordsSeen{}, fmt.Errorf("zstd: %w: over %d bytes", ErrDecompressedTooLarge, limit)
	}
	return walkRecords(recs, h, rules)
}

// maxWholeZstdBytes bounds what walkZstdWhole decodes of one batch: a
// legitimate large-window batch holds far less (a producer's batch is at
// most a few MiB before compression), and a larger claim is refused
// (MESSAGE_TOO_LARGE, which producers answer by splitting the batch)
// before any of it is decoded.
const maxWholeZstdBytes = 32 << 20

// zstdBlockMax is the most one zstd block decodes to (RFC 8878).
const zstdBlockMax = 128 << 10

// zstdWholeDecoder decodes such sections whole; DecodeAll is safe for
// concurrent use. The decoder bounds a frame's window by its memory bound,
// so that is Kafka's window bound (zstd-jni's 2^27); zstdDecodedBound keeps
// the output itself to maxWholeZstdBytes.
var zstdWholeDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<27), zstd.WithDecoderMaxWindow(1<<27),
		zstd.WithDecodeAllCapLimit(true))
})

// walkStream is walkCompressed's streaming walk.
func walkStream(raw []byte, h *batch.Header, rules *RecordRules, limit int64) (RecordsSeen, error) {
	src, release, err := openRecordStream(h.Codec(), raw[batch.HeaderSize:], limit)
	if err != nil {
		return RecordsSeen{}, fmt.Errorf("%w: %w", ErrMalformedRecords, err)
	}
	defer release()
	br := streamBufs.Get().(*bufio.Reader)
	lr := &boundedReader{r: src, left: limit}
	br.Reset(lr)
	defer func() {
		br.Reset(nil)
		streamBufs.Put(br)
	}()
	seen := RecordsSeen{MaxTimestamp: noTimestamp}
	var r recordView
	for i := int32(0); i < h.NumRecords; i++ {
		if err := nextStreamRecord(br, &r); err != nil {
			if errors.Is(err, ErrDecompressedTooLarge) {
				return RecordsSeen{}, fmt.Errorf("%w: over %d bytes", ErrDecompressedTooLarge, limit)
			}
			return RecordsSeen{}, fmt.Errorf("%w: record %d of %d: %w", ErrMalformedRecords, i, h.NumRecords, err)
		}
		seen.saw(rules, h.BaseTimestamp, i, &r)
	}
	// The stream must end with the last record (a corrupt stream's checksum
	// error shows up here too).
	switch _, err := br.ReadByte(); {
	case err == nil:
		return RecordsSeen{}, fmt.Errorf("%w: data past the %d records the header counts", ErrMalformedRecords, h.NumRecords)
	case errors.Is(err, ErrDecompressedTooLarge):
		return RecordsSeen{}, fmt.Errorf("%w: over %d bytes", ErrDecompressedTooLarge, limit)
	case !errors.Is(err, io.EOF):
		return RecordsSeen{}, fmt.Errorf("%w: after the last record: %w", ErrMalformedRecords, err)
	}
	seen.Bytes = limit - lr.left
	return seen, seen.refusal()
}

// nextStreamRecord reads the next record into r: parsed in place in br's
// buffer when it fits (r's slices then point into the buffer, valid until
// the next read), otherwise field by field with its key and value skipped,
// so that no record is ever copied out whole (a long one's key is then
// reported present but not kept).
func nextStreamRecord(br *bufio.Reader, r *recordView) error {
	p, err := br.Peek(binary.MaxVarintLen64)
	switch {
	case err != nil && !errors.Is(err, io.EOF):
		// A decoder's error comes with the bytes before it; bufio hands
		// it out once, so it is not to be skipped here.
		return err
	case len(p) == 0:
		return io.ErrUnexpectedEOF // fewer records than the header counts
	}
	length, n := binary.Varint(p)
	if n <= 0 || length < 1 || length > maxDecompressedBytes {
		return errors.New("bad length")
	}
	size := n + int(length)
	if size <= br.Size() {
		rec, err := br.Peek(size)
		if err != nil {
			return truncated(err)
		}
		if _, err := parseRecordView(rec, r); err != nil {
			return err
		}
		if err := r.checkProduced(); err != nil {
			return err
		}
		br.Discard(size)
		return nil
	}
	br.Discard(n)
	return skipLongRecord(br, length, r)
}

// skipLongRecord reads a record body of length bytes field by field, with
// parseRecordView's and checkProduced's checks, discarding the key, value
// and headers.
func skipLongRecord(br *bufio.Reader, length int64, r *recordView) error {
	cr := &countingByteReader{br: br}
	attrs, err := cr.ReadByte()
	if err != nil {
		return truncated(err)
	}
	*r = recordView{attributes: attrs}
	if r.timestampDelta, err = binary.ReadVarint(cr); err != nil {
		return fmt.Errorf("bad timestamp delta: %w", truncated(err))
	}
	off, err := binary.ReadVarint(cr)
	if err != nil {
		return fmt.Errorf("bad offset delta: %w", truncated(err))
	}
	if off != int64(int32(off)) {
		return errors.New("bad offset delta")
	}
	r.offsetDelta = int32(off)
	for _, field := range []string{"key", "value"} {
		l, err := binary.ReadVarint(cr)
		if err != nil {
			return fmt.Errorf("bad %s: %w", field, truncated(err))
		}
		if l < -1 || l > length-cr.n {
			return fmt.Errorf("bad %s", field)
		}
		if field == "key" && l >= 0 {
			r.key = []byte{} // present; its bytes are not kept
		}
		if field == "value" {
			r.nullValue = l == -1
		}
		if err := cr.discard(max(l, 0)); err != nil {
			return truncated(err)
		}
	}
	headers, err := binary.ReadVarint(cr)
	if err != nil {
		return fmt.Errorf("bad header count: %w", truncated(err))
	}
	if headers < 0 || cr.n > length {
		return errors.New("bad header count")
	}
	for i := int64(0); i < headers; i++ {
		for _, field := range []string{"key", "value"} {
			l, err := binary.ReadVarint(cr)
			if err != nil {
				return fmt.Errorf("bad header %d %s: %w", i, field, truncated(err))
			}
			// A negative value length is a null value, as Kafka reads it.
			if field == "key" && l < 0 || l > length-cr.n {
				return fmt.Errorf("bad header %d %s", i, field)
			}
			if err := cr.discard(max(l, 0)); err != nil {
				return truncated(err)
			}
		}
	}
	if cr.n != length {
		return fmt.Errorf("%d bytes past the last header", length-cr.n)
	}
	return nil
}

// countingByteReader counts the bytes read from br.
type countingByteReader struct {
	br *bufio.Reader
	n  int64
}

func (c *countingByteReader) ReadByte() (byte, error) {
	b, err := c.br.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

func (c *countingByteReader) discard(n int64) error {
	for n > 0 {
		step := int(min(n, 1<<30))
		d, err := c.br.Discard(step)
		c.n += int64(d)
		n -= int64(d)
		if err != nil {
			return err
		}
	}
	return nil
}

func truncated(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// boundedReader fails once more than left bytes were read, as decompress
// fails past maxDecompressedBytes. Its first error sticks: a probe byte
// past the bound is gone, so no later read may report a clean end.
type boundedReader struct {
	r    io.Reader
	left int64
	err  error
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.left <= 0 {
		// One byte more tells a stream that ends here from a longer one.
		var one [1]byte
		n, err := b.r.Read(one[:])
		switch {
		case n > 0:
			b.err = ErrDecompressedTooLarge
		case err == nil:
			b.err = io.EOF
		default:
			b.err = err
		}
		return 0, b.err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if err != nil {
		b.err = err
	}
	return n, err
}

// openRecordStream returns a reader of the decompressed records of src and
// the function that returns its decoder to its pool.
func openRecordStream(codec int8, src []byte, limit int64) (io.Reader, func(), error) {
	switch codec {
	case 1:
		r, err := pooledGzipReader(src)
		if err != nil {
			return nil, func() {}, err
		}
		return r, func() { gzipReaders.Put(r) }, nil
	case 2:
		s, _ := snappyStreams.Get().(*snappyStream)
		if s == nil {
			s = new(snappyStream)
		}
		*s = snappyStream{src: src, buf: s.buf, left: limit}
		return s, func() {
			s.src, s.out, s.err = nil, nil, nil
			snappyStreams.Put(s)
		}, nil
	case 3:
		r := lz4Readers.Get().(*lz4.Reader)
		r.Reset(bytes.NewReader(src))
		return r, func() { lz4Readers.Put(r) }, nil
	case 4:
		d, _ := zstdStreams.Get().(*zstd.Decoder)
		var err error
		if d == nil {
			d, err = zstd.NewReader(bytes.NewReader(src), zstd.WithDecoderConcurrency(1),
				zstd.WithDecoderMaxMemory(maxDecompressedBytes), zstd.WithDecoderMaxWindow(maxStreamZstdWindow))
		} else {
			err = d.Reset(bytes.NewReader(src))
		}
		if err != nil {
			return nil, func() {}, fmt.Errorf("zstd: %w", err)
		}
		return d, func() {
			d.Reset(nil) // drop the reference to src
			zstdStreams.Put(d)
		}, nil
	}
	return nil, func() {}, fmt.Errorf("unknown compression codec %d", codec)
}

// snappyStream reads snappy records sections block by block: a xerial
// stream (as the Java client frames it) one block at a time, a raw block
// whole. Each block's claimed length is checked before it is decoded, as
// snappyBlock does.
type snappyStream struct {
	src     []byte
	started bool
	xerial  bool
	out     []byte // the current block's unread bytes
	buf     []byte
	err     error // sticky: after a bad block the stream ends in error
	left    int64 // decoded bytes the walk's bound still allows
}

func (s *snappyStream) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		s.err = s.nextBlock()
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	return n, nil
}

func (s *snappyStream) nextBlock() error {
	if !s.started {
		s.started = true
		if len(s.src) >= xerialHeaderSize && bytes.HasPrefix(s.src, xerialMagic) {
			s.xerial, s.src = true, s.src[xerialHeaderSize:]
		} else {
			block := s.src
			s.src = nil
			return s.decode(block)
		}
	}
	if !s.xerial || len(s.src) == 0 {
		return io.EOF
	}
	if len(s.src) < 4 {
		return errors.New("snappy: truncated xerial block length")
	}
	n := binary.BigEndian.Uint32(s.src)
	s.src = s.src[4:]
	if uint64(n) > uint64(len(s.src)) {
		return errors.New("snappy: truncated xerial block")
	}
	block := s.src[:n]
	s.src = s.src[n:]
	return s.decode(block)
}

func (s *snappyStream) decode(block []byte) error {
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return fmt.Errorf("snappy: %w", err)
	}
	if n > maxSnappyExpansion*len(block)+maxSnappyExpansion {
		return fmt.Errorf("snappy: block of %d bytes claims %d decoded", len(block), n)
	}
	if int64(n) > s.left {
		// Refused before the block is allocated: a raw block is decoded
		// whole, so the walk's bound must stop it here.
		return fmt.Errorf("snappy: %w: a block decodes to %d bytes", ErrDecompressedTooLarge, n)
	}
	s.left -= int64(n)
	if cap(s.buf) < n {
		s.buf = make([]byte, n)
	}
	out, err := snappy.Decode(s.buf[:n], block)
	if err != nil {
		return fmt.Errorf("snappy: %w", err)
	}
	s.out = out
	return nil
}
