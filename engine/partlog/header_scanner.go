package partlog

import (
	"errors"
	"fmt"
	"sync"

	"github.com/chronik-go/chronik/engine/batch"
)

// ErrCorrupt reports bytes in a trusted part of the log that are not whole,
// well-formed batches.
var ErrCorrupt = errors.New("partlog: corrupt segment")

// scanChunkSize bounds one read of a header walk: big enough to cover many
// small batches with one syscall, small enough to pool.
const scanChunkSize = 64 << 10

var scanChunks = sync.Pool{New: func() any {
	b := make([]byte, scanChunkSize)
	return &b
}}

// headerScanner walks the batch headers of one segment from a position,
// reading the file in chunks rather than one syscall per header.
type headerScanner struct {
	seg      *segment
	pos, end int64   // next batch position, end of data
	readSize int     // bytes per refill (<= len(*buf))
	buf      *[]byte // pooled chunk
	bufPos   int64   // file position of (*buf)[0]
	bufLen   int     // valid bytes in *buf
}

// newHeaderScanner scans [pos, end) of s, refilling readSize bytes at a time;
// call release when done.
func newHeaderScanner(s *segment, pos, end int64, readSize int) headerScanner {
	readSize = max(min(readSize, scanChunkSize), batch.HeaderSize)
	return headerScanner{seg: s, pos: pos, end: end, readSize: readSize, buf: scanChunks.Get().(*[]byte)}
}

func (sc *headerScanner) release() {
	if sc.buf != nil {
		scanChunks.Put(sc.buf)
		sc.buf = nil
	}
}

// next returns the next batch header and its position; ok is false at the end.
func (sc *headerScanner) next() (h batch.Header, pos int64, ok bool, err error) {
	if sc.pos >= sc.end {
		return h, 0, false, nil
	}
	if sc.end-sc.pos < batch.HeaderSize {
		return h, 0, false, fmt.Errorf("%w: %s: %d trailing bytes at %d", ErrCorrupt, sc.seg.path(logSuffix), sc.end-sc.pos, sc.pos)
	}
	if sc.pos < sc.bufPos || sc.pos+batch.HeaderSize > sc.bufPos+int64(sc.bufLen) {
		n := int(min(int64(sc.readSize), sc.end-sc.pos))
		if err := sc.seg.readAt((*sc.buf)[:n], sc.pos); err != nil {
			return h, 0, false, err
		}
		sc.bufPos, sc.bufLen = sc.pos, n
	}
	off := int(sc.pos - sc.bufPos)
	h, err = batch.ParseHeader((*sc.buf)[off:sc.bufLen])
	if err != nil {
		return h, 0, false, fmt.Errorf("%w: %s at %d: %w", ErrCorrupt, sc.seg.path(logSuffix), sc.pos, err)
	}
	if sc.pos+int64(h.Size()) > sc.end {
		return h, 0, false, fmt.Errorf("%w: %s: batch at %d runs past the end", ErrCorrupt, sc.seg.path(logSuffix), sc.pos)
	}
	pos = sc.pos
	sc.pos += int64(h.Size())
	return h, pos, true, nil
}
