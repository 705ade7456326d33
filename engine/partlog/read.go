package partlog

import (
	"errors"
	"fmt"
	"slices"

	"github.com/chronik-go/chronik/engine/batch"
)

// readHintSlots is how many read continuations a log remembers: one per
// concurrently tailing consumer or follower keeps their reads index-free.
const readHintSlots = 4

// readHint remembers where a read stopped, so that the next read from that
// offset (a consumer's next fetch) starts there without an index lookup and
// header walk. Hints are cleared whenever positions may have changed.
type readHint struct {
	offset int64
	seg    *segment
	pos    int64
}

// errStaleHint reports that a remembered position no longer holds the
// wanted offset.
var errStaleHint = errors.New("stale read hint")

func (l *Log) clearHints() { l.hints = [readHintSlots]readHint{} }

func (l *Log) rememberRead(offset int64, si int, pos int64) {
	if s := l.segs[si]; pos == s.size && si+1 < len(l.segs) {
		si, pos = si+1, 0
	}
	h := readHint{offset: offset, seg: l.segs[si], pos: pos}
	for i := range l.hints {
		if l.hints[i].seg != nil && l.hints[i].offset == offset {
			l.hints[i] = h
			return
		}
	}
	l.hints[l.hintNext] = h
	l.hintNext = (l.hintNext + 1) % readHintSlots
}

// hinted returns the segment holding offset and, if a hint knows it, the
// position of the batch holding offset.
func (l *Log) hinted(offset int64) (si int, pos int64, ok bool) {
	si = l.segmentFor(offset)
	for i := range l.hints {
		h := &l.hints[i]
		if h.seg != nil && h.offset == offset && h.seg == l.segs[si] && h.pos < h.seg.size {
			return si, h.pos, true
		}
	}
	return si, 0, false
}

// errPastSegment reports that every batch of a segment lies below the offset
// looked for: compaction removed the batches at the segment's end (or all of
// them), so the offset lies in a gap before the next segment.
var errPastSegment = errors.New("offset past the segment's last batch")

// locate returns the position and header of the first batch in s whose last
// offset is at or above offset (the batch holding offset, or in a compacted
// log the first batch after a gap): the offset index gives a nearby earlier
// batch, then headers are walked.
func (l *Log) locate(s *segment, offset int64) (int64, batch.Header, error) {
	if err := l.prepare(s); err != nil {
		return 0, batch.Header{}, err
	}
	pos, err := s.offsets.floor(offset - s.base)
	if err != nil {
		return 0, batch.Header{}, err
	}
	l.keepOpen(s) // for the reads that follow and the next lookups in s
	sc := newHeaderScanner(s, pos, s.size, int(l.opts.IndexIntervalBytes)+batch.HeaderSize)
	defer sc.release()
	for {
		h, p, ok, err := sc.next()
		if err != nil {
			return 0, h, err
		}
		if !ok {
			return 0, h, fmt.Errorf("%w: offset %d in %s", errPastSegment, offset, s.path(logSuffix))
		}
		if h.LastOffset() >= offset {
			return p, h, nil
		}
	}
}

// Read returns whole batches from the batch containing offset, at most
// maxBytes in total, except that the first batch is returned whole even if
// larger (KIP-74). offset == NextOffset returns no bytes; an offset below
// StartOffset or above NextOffset returns ErrOffsetOutOfRange. The first
// batch may start before offset (the consumer skips those records).
func (l *Log) Read(offset int64, maxBytes int32) ([]byte, error) {
	return l.ReadAppend(nil, offset, -1, maxBytes, true)
}

// ReadAppend is Read for the fetch path: it appends to dst, returns only
// batches whose base offset is below end (the high watermark or last stable
// offset; end < 0 means NextOffset), and returns a first batch larger than
// maxBytes only when minOneBatch is set (KIP-74 applies to the first
// partition of a response only).
func (l *Log) ReadAppend(dst []byte, offset, end int64, maxBytes int32, minOneBatch bool) ([]byte, error) {
	if err := l.usable(); err != nil {
		return dst, err
	}
	if offset < l.start || offset > l.next {
		return dst, fmt.Errorf("%w: offset %d, log has [%d, %d]", ErrOffsetOutOfRange, offset, l.start, l.next)
	}
	if end < 0 || end > l.next {
		end = l.next
	}
	if offset >= end || len(l.segs) == 0 {
		return dst, nil
	}
	si, pos, ok := l.hinted(offset)
	if ok {
		out, err := l.readBatches(dst, si, pos, offset, end, int64(maxBytes), minOneBatch, false)
		if !errors.Is(err, errStaleHint) {
			return out, err
		}
		l.clearHints()
	}
	pos, _, err := l.locate(l.segs[si], offset)
	for errors.Is(err, errPastSegment) && si+1 < len(l.segs) {
		// A compacted segment ends below offset: the next batch is the
		// first of a later segment.
		si++
		pos, _, err = l.locate(l.segs[si], offset)
	}
	if errors.Is(err, errPastSegment) {
		return dst, nil
	}
	if err != nil {
		return dst, err
	}
	out, err := l.readBatches(dst, si, pos, offset, end, int64(maxBytes), minOneBatch, true)
	if errors.Is(err, errStaleHint) {
		err = fmt.Errorf("%w: batch at %s:%d does not hold offset %d", ErrCorrupt, l.segs[si].path(logSuffix), pos, offset)
	}
	return out, err
}

// readBatches appends whole batches starting at (segment si, pos), which must
// hold offset (or, when afterGap, be the first batch after offset in a
// compacted log), moving on to later segments while the budget lasts.
func (l *Log) readBatches(dst []byte, si int, pos, offset, end, budget int64, minOneBatch, afterGap bool) ([]byte, error) {
	start := len(dst)
	first := true // no batch appended yet
	next, lastSi, lastPos := offset, -1, int64(0)
	// in is a segment read and not left behind: its files stay open for
	// the next read, within bounds (keepOpen).
	var in *segment
	defer func() {
		if in != nil {
			l.keepOpen(in)
		}
	}()
	for ; si < len(l.segs); si, pos = si+1, 0 {
		s := l.segs[si]
		if s.base >= end && !first {
			break
		}
		avail := s.size - pos
		if avail <= 0 {
			continue
		}
		want := min(avail, budget)
		if first && minOneBatch {
			want = max(want, min(avail, batch.HeaderSize))
		}
		if want < batch.HeaderSize {
			break
		}
		at := len(dst)
		dst = slices.Grow(dst, int(want))[:at+int(want)]
		in = s
		if err := s.readAt(dst[at:], pos); err != nil {
			return dst[:start], err
		}
		if first {
			h, err := batch.ParseHeader(dst[at:])
			if err != nil {
				return dst[:start], fmt.Errorf("%w: %s at %d: %w", ErrCorrupt, s.path(logSuffix), pos, err)
			}
			if h.BaseOffset > offset && !afterGap || h.LastOffset() < offset {
				return dst[:start], errStaleHint
			}
			if h.BaseOffset >= end {
				return dst[:start], nil // the gap reaches the end of what may be read
			}
			if size := int64(h.Size()); minOneBatch && size > want {
				if size > avail {
					return dst[:start], fmt.Errorf("%w: %s: batch at %d runs past the end", ErrCorrupt, s.path(logSuffix), pos)
				}
				dst = slices.Grow(dst, int(size-want))[:at+int(size)]
				if err := s.readAt(dst[at+int(want):], pos+want); err != nil {
					return dst[:start], err
				}
				want = size
			}
		}
		n, after, err := wholeBatches(dst[at:], end)
		if err != nil {
			return dst[:start], fmt.Errorf("%w: %s after %d: %w", ErrCorrupt, s.path(logSuffix), pos, err)
		}
		dst = dst[:at+n]
		if n > 0 {
			first, next = false, after
			lastSi, lastPos = si, pos+int64(n)
		}
		budget -= int64(n)
		if int64(n) < avail {
			break
		}
		// Read to its end: a reader going on to later segments is done
		// with this one (segment_release.go).
		if si+1 < len(l.segs) {
			l.releaseFiles(s, true)
			in = nil
		}
	}
	if lastSi >= 0 {
		l.rememberRead(next, lastSi, lastPos)
	}
	return dst, nil
}

// wholeBatches measures the complete batches at the start of b whose base
// offsets are below end; next is the offset after the last of them.
func wholeBatches(b []byte, end int64) (n int, next int64, err error) {
	for len(b)-n >= batch.HeaderSize {
		h, err := batch.ParseHeader(b[n:])
		if err != nil {
			return n, next, err
		}
		if h.BaseOffset >= end || h.Size() > len(b)-n {
			break
		}
		n += h.Size()
		next = h.LastOffset() + 1
	}
	return n, next, nil
}

// ScanBatches calls fn with the header of every batch from the one holding
// from (clamped to StartOffset) to the end of the log, for rebuilding
// producer state. fn must not modify the log; its error stops the scan.
func (l *Log) ScanBatches(from int64, fn func(h batch.Header) error) error {
	if err := l.usable(); err != nil {
		return err
	}
	from = max(from, l.start)
	if from >= l.next || len(l.segs) == 0 {
		return nil
	}
	si := l.segmentFor(from)
	pos, _, err := l.locate(l.segs[si], from)
	if errors.Is(err, errPastSegment) {
		si, pos, err = si+1, 0, nil
	}
	if err != nil {
		return err
	}
	for ; si < len(l.segs); si, pos = si+1, 0 {
		s := l.segs[si]
		if err := scanSegment(s, pos, fn); err != nil {
			return err
		}
		// Scanned to its end, as a read going past it (segment_release.go).
		l.releaseFiles(s, true)
	}
	return nil
}

func scanSegment(s *segment, pos int64, fn func(h batch.Header) error) error {
	sc := newHeaderScanner(s, pos, s.size, scanChunkSize)
	defer sc.release()
	for {
		h, _, ok, err := sc.next()
		if err != nil || !ok {
			return err
		}
		if err := fn(h); err != nil {
			return err
		}
	}
}
