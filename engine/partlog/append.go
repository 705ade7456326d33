package partlog

import (
	"fmt"
	"math"

	"github.com/chronik-go/chronik/engine/batch"
	"github.com/chronik-go/chronik/uring"
)

// checkAppendable parses b's header and checks that b is exactly one batch.
// The produce path has validated the batch; this guards the log's framing.
func checkAppendable(b []byte) (batch.Header, error) {
	h, err := batch.ParseHeader(b)
	if err != nil {
		return h, fmt.Errorf("append: %w", err)
	}
	if h.Size() != len(b) {
		return h, fmt.Errorf("append: %w: header says %d bytes, got %d", batch.ErrLength, h.Size(), len(b))
	}
	if h.LastOffsetDelta < 0 {
		return h, fmt.Errorf("append: %w: last offset delta %d", batch.ErrNumRecords, h.LastOffsetDelta)
	}
	return h, nil
}

// Append writes one validated v2 batch at the end of the log. It stamps b in
// place with its base offset and leaderEpoch, indexes it and returns the base
// offset. The data is not durable until Sync.
func (l *Log) Append(b []byte, leaderEpoch int32) (int64, error) {
	if err := l.writable(); err != nil {
		return -1, err
	}
	if err := l.writeStaged(); err != nil {
		return -1, err
	}
	s, h, err := l.place(b, leaderEpoch)
	if err != nil {
		return -1, err
	}
	pos := s.size
	l.reserveAhead(s, pos, pos+int64(len(b)))
	if _, err := s.f.WriteAt(b, pos); err != nil {
		return -1, l.writeFailed(s, err)
	}
	l.appended(s, &h, pos)
	return h.BaseOffset, nil
}

// place checks that b is one appendable batch, finds the segment it goes to
// (rolling if needed) and stamps b with the next offset and leaderEpoch. The
// caller then writes or stages b at the segment's end and calls appended.
func (l *Log) place(b []byte, leaderEpoch int32) (*segment, batch.Header, error) {
	h, err := checkAppendable(b)
	if err != nil {
		return nil, h, err
	}
	s, err := l.activeFor(int64(len(b)), l.next+int64(h.LastOffsetDelta), h.MaxTimestamp)
	if err != nil {
		return nil, h, err
	}
	batch.SetBaseOffset(b, l.next)
	batch.SetLeaderEpoch(b, leaderEpoch)
	h.BaseOffset, h.PartitionLeaderEpoch = l.next, leaderEpoch
	return s, h, nil
}

// AppendMany appends several batches with one WritevAt per segment they land
// in, or more where uring.WritevChunk splits them; otherwise as Append. It returns each batch's
// base offset.
func (l *Log) AppendMany(bs [][]byte, leaderEpoch int32) ([]int64, error) {
	if err := l.writable(); err != nil {
		return nil, err
	}
	if err := l.writeStaged(); err != nil {
		return nil, err
	}
	maxTimestamps := make([]int64, len(bs))
	for i, b := range bs {
		h, err := checkAppendable(b)
		if err != nil {
			return nil, fmt.Errorf("batch %d: %w", i, err)
		}
		maxTimestamps[i] = h.MaxTimestamp
	}
	bases := make([]int64, len(bs))
	for i := 0; i < len(bs); {
		s, err := l.activeFor(int64(len(bs[i])), l.next+int64(lastOffsetDelta(bs[i])), maxTimestamps[i])
		if err != nil {
			return bases[:i], err
		}
		// Stamp as many batches as the segment takes: within its size, and
		// within segment.ms of its first batch (batch i's when it is new).
		pastRollMs := func(j int) bool {
			if s.size > 0 {
				return l.reachedRollMs(s, maxTimestamps[j])
			}
			return maxTimestamps[i] >= 0 && l.pastSegmentMs(maxTimestamps[i], maxTimestamps[j])
		}
		next, end, j, limit := l.next, s.size, i, i+uring.WritevChunk(bs[i:])
		for j < limit {
			n, last := int64(len(bs[j])), next+int64(lastOffsetDelta(bs[j]))
			if j > i && (end+n > l.opts.SegmentBytes || last-s.base > math.MaxInt32 || pastRollMs(j)) {
				break
			}
			batch.SetBaseOffset(bs[j], next)
			batch.SetLeaderEpoch(bs[j], leaderEpoch)
			bases[j] = next
			next, end = last+1, end+n
			j++
		}
		pos := s.size
		l.reserveAhead(s, pos, end)
		if _, err := s.f.WritevAt(bs[i:j], pos); err != nil {
			return bases[:i], l.writeFailed(s, err)
		}
		for k := i; k < j; k++ {
			h, _ := batch.ParseHeader(bs[k])
			l.appended(s, &h, pos)
			pos += int64(len(bs[k]))
		}
		i = j
	}
	return bases, nil
}

func lastOffsetDelta(b []byte) int32 {
	return int32(uint32(b[23])<<24 | uint32(b[24])<<16 | uint32(b[25])<<8 | uint32(b[26]))
}

// appended records a batch written at pos of the active segment.
func (l *Log) appended(s *segment, h *batch.Header, pos int64) {
	l.unchanged = false
	if s.size == 0 {
		// Kept whatever SegmentMs is now: SetRollLimits may set one later.
		s.firstAppend = l.opts.Now()
		s.firstTS, s.firstTSKnown = h.MaxTimestamp, true
	}
	if err := s.indexBatch(h, pos, l.opts.IndexIntervalBytes); err != nil {
		// The batch is written; only its index entry could not be. The
		// disk is failing: take no more writes.
		l.setFailed(fmt.Errorf("partlog %s: %w", l.dir, err))
	}
	n := int64(h.Size())
	s.size += n
	s.dirty = true
	l.size += n
	l.next = h.LastOffset() + 1
}

// activeFor returns the segment the next batch (n bytes, last offset
// lastOffset, max timestamp maxTimestamp) goes to, rolling the active
// segment when it is full or old and creating a segment file when there is
// none.
func (l *Log) activeFor(n, lastOffset, maxTimestamp int64) (*segment, error) {
	s := l.active()
	if s != nil && s.size > 0 {
		full := !s.canHold(n, lastOffset, l.opts.SegmentBytes)
		if full || l.reachedRollMs(s, maxTimestamp) {
			if err := l.roll(); err != nil {
				return nil, err
			}
			s = nil
		}
	}
	if s == nil {
		if err := l.ensureDir(); err != nil {
			return nil, err
		}
		s = newSegment(l.dir, l.next, l.opts.Opener)
		if _, err := s.file(); err != nil {
			return nil, err
		}
		l.segs = append(l.segs, s)
		l.dirDirty = true
		if n := len(l.segs); n > 1 && l.sealing == nil {
			// Sealed in place (no Sealer): it was still the last segment
			// when its seal was applied.
			l.releaseSealed(l.segs[n-2])
		}
	}
	if s.f == nil {
		if _, err := s.file(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// reachedRollMs is Kafka's time rule for rolling the active segment
// (LogSegment.shouldRoll): the incoming batch's max timestamp more than
// SegmentMs past the segment's first batch's, so that data loaded late is
// split by the time it holds, not by when it arrived, and a segment's age
// survives restarts; or, when that first batch carries no timestamp, more
// than SegmentMs since the segment's first append (for a segment found on
// disk, since its first append after the open).
func (l *Log) reachedRollMs(s *segment, incomingTimestamp int64) bool {
	if l.opts.SegmentMs <= 0 {
		return false
	}
	if first, err := s.firstBatchTimestamp(); err == nil && first >= 0 {
		return l.pastSegmentMs(first, incomingTimestamp)
	}
	if s.firstAppend.IsZero() {
		s.firstAppend = l.opts.Now()
	}
	return l.opts.Now().Sub(s.firstAppend) > l.opts.SegmentMs
}

// pastSegmentMs says whether a batch stamped incoming is more than
// SegmentMs later than a segment's first batch, stamped first (>= 0).
func (l *Log) pastSegmentMs(first, incoming int64) bool {
	return l.opts.SegmentMs > 0 && incoming-first > l.opts.SegmentMs.Milliseconds()
}

// roll seals the active segment: its index files are written here and its
// syncs handed to a SealTask (seal_task.go), after the previous roll's task
// has finished; the next append creates the new segment.
func (l *Log) roll() error {
	s := l.active()
	if err := l.writeStaged(); err != nil {
		return err // kept staged under write-behind; the log stops taking writes
	}
	if err := l.settleSeal(); err != nil {
		return err
	}
	s.rolledAtTask = l.nextSyncTask
	if err := s.sealWith(false); err != nil {
		l.setFailed(fmt.Errorf("partlog %s: roll: %w", l.dir, err))
		// Sync tasks already handed out cover this segment's bytes too.
		l.syncFailure.err.CompareAndSwap(nil, &l.failed)
		return l.failed
	}
	return l.startSeal(s)
}

// writeFailed cuts a partial write back off the active segment; if even that
// fails the log's on-disk state is unknown and it stops taking writes.
func (l *Log) writeFailed(s *segment, err error) error {
	err = fmt.Errorf("append to %s: %w", s.path(logSuffix), err)
	if terr := s.f.Truncate(s.size); terr != nil {
		l.setFailed(fmt.Errorf("%w (and truncating the partial write failed: %v)", err, terr))
		return l.failed
	}
	return err
}
