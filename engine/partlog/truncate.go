package partlog

import (
	"errors"
	"fmt"
	"time"
)

// TruncateTo drops everything at and above offset (replica truncation). The
// cut is at a batch boundary: when offset falls inside a batch, that whole
// batch goes and NextOffset becomes its base offset. An offset below the
// first segment empties the log and restarts it at offset. The truncation is
// not synced; the next Sync makes it durable.
func (l *Log) TruncateTo(offset int64) error {
	if err := l.writable(); err != nil {
		return err
	}
	if err := l.writeStaged(); err != nil {
		return err
	}
	if err := l.settleSeal(); err != nil {
		return err // the pending seal's segment may be cut or reactivated below
	}
	if offset >= l.next {
		return nil
	}
	if offset < 0 {
		return fmt.Errorf("%w: truncate to %d", ErrOffsetOutOfRange, offset)
	}
	l.cleanerTruncated(offset)
	l.clearHints()
	l.unchanged = false
	full := len(l.segs) == 0 || offset <= l.segs[0].base
	if err := l.lowerRecoveryPoint(full, offset); err != nil {
		return l.truncateFailed(err)
	}
	if full {
		return l.truncateFully(offset)
	}
	// A stale clean checkpoint could match the truncated-then-regrown active
	// segment's size; retract it before changing anything.
	if l.checkpointClean {
		if err := l.persistStart(l.start); err != nil {
			return err
		}
	}
	si := l.segmentFor(offset)
	for len(l.segs) > si+1 {
		last := l.segs[len(l.segs)-1]
		l.segs = l.segs[:len(l.segs)-1]
		l.size -= last.size
		if err := last.remove(); err != nil {
			return l.truncateFailed(err)
		}
	}
	s := l.segs[si]
	cutPos, h, err := l.locate(s, offset)
	if errors.Is(err, errPastSegment) {
		// Compaction left nothing in s at or above offset.
		cutPos, h.BaseOffset, err = s.size, offset, nil
	}
	if err != nil {
		return err
	}
	// In a gap compaction left, the batch found starts past offset; the log
	// then ends at offset, as in Kafka, not at that batch.
	end := min(h.BaseOffset, offset)
	if err := l.reactivate(s, cutPos, end); err != nil {
		return l.truncateFailed(err)
	}
	l.next = end
	if l.start > l.next {
		return l.persistStart(l.next)
	}
	return nil
}

// lowerRecoveryPoint brings the recovery point down to the segment that
// becomes active, before the cut: left past it, it would vouch for a
// rolled segment written again after the cut whose seal never finished.
// A log without one gets one too: recovery would otherwise trust every
// segment but the last, the one written again included.
func (l *Log) lowerRecoveryPoint(full bool, offset int64) error {
	if err := l.ensureDir(); err != nil {
		return err
	}
	base := offset
	if !full {
		base = l.segs[l.segmentFor(offset)].base
	}
	if err := commitRecoveryPoint(l.opts.Opener, l.dir, base); err != nil {
		return err
	}
	l.recoveryPointWritten = true
	return nil
}

// truncateFully removes every segment; the log restarts empty at offset.
func (l *Log) truncateFully(offset int64) error {
	if err := l.persistStart(offset); err != nil {
		return err
	}
	var err error
	for len(l.segs) > 0 {
		last := l.segs[len(l.segs)-1]
		l.segs = l.segs[:len(l.segs)-1]
		l.size -= last.size
		err = errors.Join(err, last.remove())
	}
	l.next = offset
	if err != nil {
		return l.truncateFailed(err)
	}
	return nil
}

func (l *Log) truncateFailed(err error) error {
	l.setFailed(fmt.Errorf("partlog %s: truncate: %w", l.dir, err))
	return l.failed
}

// reactivate cuts s at cutPos (the batch with base offset cutOffset) and
// makes it the active segment again: its indexes lose the entries at or past
// the cut, and its timestamp stats are rebuilt from the last surviving index
// entry onwards.
func (l *Log) reactivate(s *segment, cutPos, cutOffset int64) error {
	f, err := s.file()
	if err != nil {
		return err
	}
	if err := f.Truncate(cutPos); err != nil {
		return fmt.Errorf("truncate segment %s to %d: %w", s.path(logSuffix), cutPos, err)
	}
	l.size -= s.size - cutPos
	s.size = cutPos
	s.reserved = 0 // the truncate freed the blocks past cutPos
	s.dirty = true
	s.sealed = false
	rel := cutOffset - s.base
	if err := s.offsets.truncateAtRel(rel); err != nil {
		return err
	}
	if err := s.times.truncateAtRel(rel); err != nil {
		return err
	}

	// Every batch before the last offset index entry has a max timestamp at
	// most the last surviving time entry's (an index point always records
	// the running maximum), so only the tail needs reading.
	s.maxTS, s.maxTSOffset = noTimestamp, -1
	if ts, r, ok, err := s.times.last(); err != nil {
		return err
	} else if ok {
		s.maxTS, s.maxTSOffset = ts, s.base+r
	}
	_, from, _, err := s.offsets.last()
	if err != nil {
		return err
	}
	sc := newHeaderScanner(s, from, cutPos, scanChunkSize)
	defer sc.release()
	for {
		h, _, ok, err := sc.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if h.MaxTimestamp > s.maxTS {
			s.maxTS, s.maxTSOffset = h.MaxTimestamp, h.BaseOffset
		}
	}
	s.statsKnown = true
	s.bytesSinceIndex = cutPos - from
	if cutPos == 0 {
		s.firstAppend = time.Time{}
		s.firstTSKnown = false // its first batch is gone
	}
	return nil
}
