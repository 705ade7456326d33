package partlog

import (
	"fmt"

	"github.com/chronik-go/chronik/uring"
)

// Reserving the active segment's blocks ahead of its writes (preallocate).
//
// A page-cache write that grows a file costs ext4 its delayed-allocation
// bookkeeping for every block; into blocks reserved beforehand with
// fallocate(FALLOC_FL_KEEP_SIZE) the same write skips it (BENCHMARKS.md,
// "Segment blocks reserved ahead"). A segment reserves only once it holds
// reserveFromBytes, in steps no larger than its own size, maxReserveStep
// or an eighth of segment.bytes, so a quiet partition reserves nothing and
// a busy one at most doubles its active segment's footprint. The file's
// size never changes, so readers and recovery see only the data; sealing
// the segment (its SealTask after a roll, or a clean close) frees what lies
// past the data. A crash leaves the active segment's reservation behind:
// appends after recovery fill it, a torn tail's truncation frees it, and
// the segment's seal frees whatever is left (tailUnknown, set by recovery).
// A partition that goes quiet frees its reservation after the broker's
// next retention checks (QuietReserve) rather than holding it until its
// segment rolls. A crash before a roll's seal reached the disk leaves the
// rolled segment's reservation too: recovery, which validates that segment
// then, frees it (recoverRolled). A journal that let the recovery point
// reach the disk before the seal's truncate would leave that reservation
// (at most maxReserveStep) until the segment is deleted.

const (
	reserveFromBytes = 1 << 20
	maxReserveStep   = 8 << 20
)

// SetPreallocate turns reserving ahead on or off from the next write, for
// a topic's preallocate altered while the log is open.
func (l *Log) SetPreallocate(on bool) { l.opts.Preallocate = on }

// reserveAhead makes sure the blocks of the active segment s up to end (a
// write's end, from from on) are reserved, with a step beyond. It is
// advisory: a file or filesystem that cannot reserve (or a full disk) is
// written as before, and s stops trying.
func (l *Log) reserveAhead(s *segment, from, end int64) {
	if !l.opts.Preallocate || s.noReserve || s.f == nil || end < reserveFromBytes || end <= s.reserved {
		return
	}
	r, ok := s.f.(uring.SpaceReserver)
	if !ok {
		s.noReserve = true
		return
	}
	from = max(from, s.reserved)
	to := end + min(end, maxReserveStep, max(l.opts.SegmentBytes/8, 1))
	if err := r.ReserveSpace(from, to-from); err != nil {
		// A full disk may have granted part of the range before failing:
		// the seal frees whatever it did.
		l.opts.Logger.Debug("reserve segment blocks; writing without", "err", err)
		s.noReserve, s.tailUnknown = true, true
		return
	}
	s.reserved = to
}

// holdsReserve says blocks may be reserved past the data of s.
func (s *segment) holdsReserve() bool { return s.reserved > s.size || s.tailUnknown }

// takeReserve says whether s, whose .log is open, may hold blocks reserved
// past its data, and forgets them: the caller truncates the file to s.size,
// which frees them.
func (s *segment) takeReserve() bool {
	if s.f == nil || !s.holdsReserve() {
		return false
	}
	s.reserved, s.tailUnknown = 0, false
	return true
}

// freeReserve truncates s, whose every byte is in its file, to its own
// size when it may hold blocks reserved past its data, which frees them. A
// failed truncate leaves them to the segment's seal.
func (s *segment) freeReserve() error {
	if !s.takeReserve() {
		return nil
	}
	if err := s.f.Truncate(s.size); err != nil {
		s.tailUnknown = true // the seal tries again
		return fmt.Errorf("free the blocks reserved past %s: %w", s.path(logSuffix), err)
	}
	return nil
}

// releaseReserved frees the blocks reserved past the data of the active
// segment s at a clean close. Only with every byte of s in its file; a
// failure leaves the blocks until the segment is deleted. (A roll frees
// them in its SealTask.)
func (l *Log) releaseReserved(s *segment) {
	if s == nil || len(s.staged) > 0 {
		return
	}
	if err := s.freeReserve(); err != nil {
		l.opts.Logger.Warn("free the blocks reserved past a segment's data", "err", err)
	}
}

// QuietReserve says whether the active segment may hold blocks reserved
// past its data and took no append since the previous call; the caller then
// frees them with ReleaseQuietReserve. Reserved blocks are disk space that
// DescribeLogDirs and retention.bytes do not count, and a busy partition
// that went quiet would otherwise keep them until its segment rolls, which
// may be days away. The broker asks at each retention check.
func (l *Log) QuietReserve() bool {
	s := l.active()
	if s == nil || l.writable() != nil {
		return false
	}
	quiet := s.size == s.sizeAtQuietCheck
	s.sizeAtQuietCheck = s.size
	return quiet && s.f != nil && s.holdsReserve()
}

// ReleaseQuietReserve frees the blocks reserved past the active segment's
// data if it took no append since QuietReserve found it quiet. Written
// behind a WAL, its last batches may still be staged, waiting for a
// checkpoint that a quiet broker may not reach for long: they are written
// first, as that checkpoint would (the WAL keeps them durable meanwhile).
// It writes and truncates the file, so it runs on the log's owner between
// its turns.
func (l *Log) ReleaseQuietReserve() error {
	s := l.active()
	if s == nil || l.writable() != nil || s.size != s.sizeAtQuietCheck || !s.holdsReserve() {
		return nil
	}
	if err := l.writeStaged(); err != nil {
		return err
	}
	return s.freeReserve()
}
