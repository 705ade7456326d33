package partlog

import (
	"fmt"

	"github.com/chronik-go/chronik/engine/batch"
)

// OffsetForTimestamp answers ListOffsets by time: the first record whose
// timestamp is >= ts, at or above the start offset. Like Kafka it commits to
// the first segment whose largest timestamp reaches ts, starts at the time
// index entry before ts, opens the first batch there whose max timestamp
// reaches ts and decodes (decompressing if needed) its records; found is
// false when no record qualifies.
func (l *Log) OffsetForTimestamp(ts int64) (offset, timestamp int64, found bool, err error) {
	if err := l.usable(); err != nil {
		return -1, -1, false, err
	}
	for _, s := range l.segs {
		if err := l.prepare(s); err != nil {
			return -1, -1, false, err
		}
		if s.maxTSOffset < 0 || s.maxTS < ts {
			l.releaseFiles(s, false) // its stats are loaded; its indexes not needed
			continue
		}
		defer l.releaseLookup(s, s.f != nil)
		return l.searchSegment(s, ts)
	}
	return -1, -1, false, nil
}

func (l *Log) searchSegment(s *segment, ts int64) (offset, timestamp int64, found bool, err error) {
	// Every batch before the entry's offset has a smaller max timestamp.
	from := int64(0)
	rel, ok, err := s.times.floor(ts)
	if err != nil {
		return -1, -1, false, err
	}
	if ok {
		if from, err = s.offsets.floor(rel); err != nil {
			return -1, -1, false, err
		}
	}
	sc := newHeaderScanner(s, from, s.size, scanChunkSize)
	defer sc.release()
	for {
		h, pos, ok, err := sc.next()
		if err != nil || !ok {
			return -1, -1, false, err
		}
		if h.MaxTimestamp < ts || h.LastOffset() < l.start {
			continue
		}
		raw, err := readBatch(s, pos, &h)
		if err != nil {
			return -1, -1, false, err
		}
		offset, timestamp, found, err = firstRecordAtOrAfter(raw, &h, ts, l.start)
		if err != nil {
			return -1, -1, false, fmt.Errorf("timestamp search in %s at %d: %w", s.path(logSuffix), pos, err)
		}
		if found {
			return offset, timestamp, true, nil
		}
	}
}

// readBatch reads the whole batch at pos whose header is h.
func readBatch(s *segment, pos int64, h *batch.Header) ([]byte, error) {
	raw := make([]byte, h.Size())
	if err := s.readAt(raw, pos); err != nil {
		return nil, err
	}
	return raw, nil
}

// MaxTimestamp answers ListOffsets for the max timestamp (KIP-734): the
// offset of the first record carrying the largest timestamp in the log (the
// earliest segment on a tie), and that timestamp; (-1, -1) for a log with no
// timestamped batch. Like Kafka it does not consult the start offset. If the
// batch cannot be read, the batch's base offset is returned and the error
// logged.
func (l *Log) MaxTimestamp() (offset, timestamp int64) {
	if l.closed {
		return -1, -1
	}
	var best *segment
	for _, s := range l.segs {
		if err := l.prepare(s); err != nil {
			l.opts.Logger.Warn("max timestamp: segment unreadable", "segment", s.path(logSuffix), "err", err)
			continue
		}
		if s.maxTSOffset >= 0 && (best == nil || s.maxTS > best.maxTS) {
			best = s
		}
	}
	if best == nil {
		return -1, -1
	}
	logWasOpen := best.f != nil
	off, err := l.recordWithTimestamp(best, best.maxTSOffset, best.maxTS)
	l.releaseLookup(best, logWasOpen)
	if err != nil {
		l.opts.Logger.Warn("max timestamp: batch unreadable", "segment", best.path(logSuffix), "offset", best.maxTSOffset, "err", err)
		return best.maxTSOffset, best.maxTS
	}
	return off, best.maxTS
}

// recordWithTimestamp returns the offset of the first record carrying ts in
// the batch whose base offset is base.
func (l *Log) recordWithTimestamp(s *segment, base, ts int64) (int64, error) {
	pos, h, err := l.locate(s, base)
	if err != nil {
		return 0, err
	}
	if h.LogAppendTime() {
		return h.BaseOffset, nil
	}
	raw, err := readBatch(s, pos, &h)
	if err != nil {
		return 0, err
	}
	off, t, found, err := firstRecordAtOrAfter(raw, &h, ts, 0)
	if err != nil {
		return 0, err
	}
	if !found || t != ts {
		return 0, fmt.Errorf("%w: no record of batch %d carries its max timestamp %d", ErrCorrupt, h.BaseOffset, ts)
	}
	return off, nil
}
