package partlog

import (
	"fmt"
	"time"
)

// EnforceRetention removes the oldest segments while they are expired by
// time (their largest timestamp is older than now-retention) or by size (the
// log without them is still at least retentionBytes); a negative retention
// or retentionBytes disables that check. The active segment is removed too
// when it is wholly expired; the next append then starts a new segment at
// the same offset. The start offset advances to the first remaining batch.
func (l *Log) EnforceRetention(now time.Time, retention time.Duration, retentionBytes int64) (removedSegments int, err error) {
	if err := l.writable(); err != nil {
		return 0, err
	}
	// Segments wholly below the start offset (DeleteRecords while a
	// compaction swap pinned them, and the swap then failed) go whatever
	// the policy, as Kafka's deleteLogStartOffsetBreachedSegments does.
	for len(l.segs) > 1 && l.segmentEnd(0) <= l.start && !l.segs[0].pinned {
		if err := l.removeFirstSegment(); err != nil {
			return removedSegments, fmt.Errorf("retention in %s: %w", l.dir, err)
		}
		removedSegments++
	}
	if retention < 0 && retentionBytes < 0 {
		return removedSegments, nil
	}
	cutoff := now.Add(-retention).UnixMilli()
	for len(l.segs) > 0 {
		s := l.segs[0]
		if s.size == 0 && len(l.segs) == 1 || s.pinned {
			break // an empty active segment holds nothing to expire; a pinned one is being swapped
		}
		// A sealed segment compaction emptied holds no record to keep.
		expired := s.size == 0
		if !expired && retention >= 0 {
			if err := l.prepare(s); err != nil {
				return removedSegments, err
			}
			ts, err := s.largestTimestamp()
			if err != nil {
				return removedSegments, err
			}
			expired = ts < cutoff
		}
		if !expired && retentionBytes >= 0 {
			expired = l.size-s.size >= retentionBytes
		}
		if !expired {
			break
		}
		if len(l.segs) == 1 {
			// Removing the last segment leaves no file that names the log end
			// offset: persist it as the new start offset first.
			if err := l.persistStart(l.next); err != nil {
				return removedSegments, err
			}
		}
		if err := l.removeFirstSegment(); err != nil {
			return removedSegments, fmt.Errorf("retention in %s: %w", l.dir, err)
		}
		removedSegments++
	}
	if removedSegments > 0 && len(l.segs) > 0 {
		l.start = max(l.start, l.segs[0].base)
	}
	return removedSegments, nil
}

// DeleteBefore makes offset the log start offset (DeleteRecords): records
// below it are no longer readable, the new start offset is persisted before
// anything is removed, and segments wholly below it are deleted. An offset
// above NextOffset is ErrOffsetOutOfRange; one at or below StartOffset is a
// no-op.
func (l *Log) DeleteBefore(offset int64) error {
	if err := l.writable(); err != nil {
		return err
	}
	if offset > l.next || offset < 0 {
		return fmt.Errorf("%w: delete before %d, log has [%d, %d]", ErrOffsetOutOfRange, offset, l.start, l.next)
	}
	if offset <= l.start {
		return nil
	}
	if err := l.persistStart(offset); err != nil {
		return err
	}
	for len(l.segs) > 0 && l.segmentEnd(0) <= offset && !l.segs[0].pinned {
		if err := l.removeFirstSegment(); err != nil {
			return fmt.Errorf("delete records in %s: %w", l.dir, err)
		}
	}
	l.clearHints()
	return nil
}

// AppendAcrossStart appends b, keeping its base offset, to a log that
// holds nothing and whose start offset lies inside b (base < start <= last
// offset): a WAL replay's batch, when DeleteRecords moved the start into a
// batch that only the WAL held and a crash then left the log empty. Kafka
// keeps such a batch whole; readers skip the records below the start.
func (l *Log) AppendAcrossStart(b []byte, leaderEpoch int32) (int64, error) {
	h, err := checkAppendable(b)
	if err != nil {
		return -1, err
	}
	if len(l.segs) > 0 || l.next != l.start || h.BaseOffset >= l.start || h.LastOffset() < l.start {
		return -1, fmt.Errorf("%w: batch [%d, %d] does not hold the start of the empty log [%d, %d]",
			ErrOffsetOutOfRange, h.BaseOffset, h.LastOffset(), l.start, l.next)
	}
	l.next = h.BaseOffset
	off, err := l.Append(b, leaderEpoch)
	if err != nil && len(l.segs) == 0 {
		l.next = l.start // nothing was placed
	}
	return off, err
}

// persistStart durably records start as the log start offset, then adopts it.
// The checkpoint no longer claims a clean shutdown.
func (l *Log) persistStart(start int64) error {
	if err := l.ensureDir(); err != nil {
		return err
	}
	if err := writeCheckpoint(l.opts.Opener, l.dir, checkpoint{logStart: start}); err != nil {
		return err
	}
	l.start, l.checkpointClean, l.unchanged = start, false, false
	return nil
}
