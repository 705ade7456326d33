package partlog

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/chronik-go/chronik/engine/batch"
)

// evictForRecovery is evictCachedPages; a test records its calls.
var evictForRecovery = evictCachedPages

// recoveryChunkSize is how much of the active segment recovery reads at once.
const recoveryChunkSize = 1 << 20

// recoverSegment validates the active segment after an unclean shutdown:
// batch by batch it checks the header, offset contiguity and CRC, cuts the
// file at the first batch that fails (a torn write or corruption), and
// rebuilds the segment's indexes. It reads the disk, not clean cached pages
// (evictCachedPages). It returns the log end offset.
func (l *Log) recoverSegment(s *segment) (int64, error) {
	if err := s.resetIndexes(); err != nil {
		return 0, err
	}
	if err := evictForRecovery(s.path(logSuffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		l.opts.Logger.Warn("recovery reads cached pages of the segment, which may include pages whose writeback failed", "dir", l.dir, "err", err)
	}
	f, err := s.file()
	if err != nil {
		return 0, err
	}
	fileSize, err := f.Size()
	if err != nil {
		return 0, fmt.Errorf("recover segment %s: %w", s.path(logSuffix), err)
	}
	buf := make([]byte, min(recoveryChunkSize, fileSize))
	var bufPos int64
	bufLen := 0
	refill := func(pos int64) error {
		n := int(min(int64(len(buf)), fileSize-pos))
		if err := s.readAt(buf[:n], pos); err != nil {
			return err
		}
		bufPos, bufLen = pos, n
		return nil
	}

	pos, expected := int64(0), s.base
	reason := ""
	for pos < fileSize {
		if fileSize-pos < batch.HeaderSize {
			reason = "torn batch header"
			break
		}
		if pos+batch.HeaderSize > bufPos+int64(bufLen) {
			if err := refill(pos); err != nil {
				return 0, err
			}
		}
		h, err := batch.ParseHeader(buf[pos-bufPos : bufLen])
		if err != nil {
			reason = err.Error()
			break
		}
		if h.BaseOffset != expected {
			reason = fmt.Sprintf("batch base offset %d where %d was expected", h.BaseOffset, expected)
			break
		}
		if h.LastOffsetDelta < 0 {
			reason = fmt.Sprintf("negative last offset delta %d", h.LastOffsetDelta)
			break
		}
		size := int64(h.Size())
		if pos+size > fileSize {
			reason = "torn batch"
			break
		}
		if pos+size > bufPos+int64(bufLen) {
			if size > int64(len(buf)) {
				buf = make([]byte, size)
			}
			if err := refill(pos); err != nil {
				return 0, err
			}
		}
		if !batch.CRCValid(buf[pos-bufPos : pos-bufPos+size]) {
			reason = "CRC mismatch"
			break
		}
		if err := s.indexBatch(&h, pos, l.opts.IndexIntervalBytes); err != nil {
			return 0, err
		}
		expected = h.LastOffset() + 1
		pos += size
	}
	if pos < fileSize {
		l.opts.Logger.Warn("truncating partition log tail after unclean shutdown",
			"segment", s.path(logSuffix), "validBytes", pos, "fileBytes", fileSize, "nextOffset", expected, "reason", reason)
		if err := f.Truncate(pos); err != nil {
			return 0, fmt.Errorf("truncate segment %s to %d: %w", s.path(logSuffix), pos, err)
		}
		s.dirty = true
	}
	s.size = pos
	return expected, nil // firstAppend: as in activate, aged by the first batch
}

// recoverRolled validates the segment before the active one when its seal
// may not have reached the disk: when the recovery point is short of the
// active segment's base. It is at or past it once the last roll's seal
// finished (past it when a seal that ran before the next segment's file
// existed outlived that file's name in a power cut). A log without a
// recovery point was written by a version that sealed in place (a roll
// writes one before handing its seal off, so that this holds); an
// unreadable one is treated alike, since validating a compacted segment
// (offset gaps) would cut it. Whole, the segment is sealed again and the
// recovery point moved past it; cut short (its tail was lost while a later
// segment's bytes survived), the later segments go, it becomes the active
// segment, and done says the log's end is known.
func (l *Log) recoverRolled() (done bool, err error) {
	i := len(l.segs) - 2
	s, last := l.segs[i], l.segs[i+1]
	rp, found, err := readRecoveryPoint(l.dir)
	if err != nil {
		l.opts.Logger.Warn("recovery point unreadable; trusting every segment but the last", "dir", l.dir, "err", err)
		return false, nil
	}
	if !found || rp >= last.base {
		l.recoveryPointWritten = found
		return false, nil
	}
	before := s.size
	next, err := l.recoverSegment(s)
	if err != nil {
		return false, err
	}
	l.size -= before - s.size
	// The roll's seal may not have freed the blocks reserved past the data
	// (reserve.go) before the crash: whole or cut, they go now or at the
	// segment's next seal.
	s.tailUnknown = true
	if next == last.base { // every offset up to the next segment is there
		if err := s.freeReserve(); err != nil {
			l.opts.Logger.Warn("free the blocks reserved past a rolled segment's data; they stay until it is deleted", "err", err)
		}
		s.sealed = false // recoverSegment rebuilt its indexes in memory: write them out
		if err := s.seal(); err != nil {
			return false, err
		}
		l.releaseFiles(s, true) // sealed and synced: idle (segment_release.go)
		l.recoveryPointWritten = true
		return false, commitRecoveryPoint(l.opts.Opener, l.dir, last.base)
	}
	l.opts.Logger.Warn("rolled segment lost its tail before its seal reached the disk; dropping the later segments",
		"segment", s.path(logSuffix), "nextOffset", next, "droppedFrom", last.base)
	for len(l.segs) > i+1 {
		drop := l.segs[len(l.segs)-1]
		l.segs = l.segs[:len(l.segs)-1]
		l.size -= drop.size
		if err := drop.remove(); err != nil {
			return false, err
		}
	}
	s.sealed, s.indexesReady = false, true
	l.next, l.dirDirty = next, true
	return true, nil
}

// prepare readies a segment found at Open for index lookups: it checks and
// attaches its index files (rebuilding them from the data when
// missing or malformed) and loads its timestamp stats.
func (l *Log) prepare(s *segment) error {
	attached, logWasOpen := false, s.f != nil
	if !s.indexesReady {
		if err := l.attachIndexFiles(s); err != nil {
			l.opts.Logger.Warn("rebuilding segment indexes", "segment", s.path(logSuffix), "err", err)
			if err := l.rebuildSealedIndexes(s); err != nil {
				return err
			}
		}
		s.indexesReady, attached = true, true
	}
	err := s.loadStats()
	if attached {
		// Checked and its stats read: lookups reopen the index files
		// when they need them, and the .log a rebuild read (segment_release.go).
		l.releaseLookup(s, logWasOpen)
	}
	return err
}

func (l *Log) attachIndexFiles(s *segment) error {
	if err := s.offsets.attach(); err != nil {
		return err
	}
	if err := s.times.attach(); err != nil {
		return err
	}
	_, pos, ok, err := s.offsets.last()
	if err != nil {
		return err
	}
	if ok && pos >= s.size {
		return fmt.Errorf("%w: index entry at %d beyond segment size %d", ErrCorrupt, pos, s.size)
	}
	return nil
}

// rebuildSealedIndexes recreates a sealed segment's index files from its
// batch headers (it is trusted, so no CRC checks).
func (l *Log) rebuildSealedIndexes(s *segment) error {
	if err := s.resetIndexes(); err != nil {
		return err
	}
	sc := newHeaderScanner(s, 0, s.size, scanChunkSize)
	defer sc.release()
	for {
		h, pos, ok, err := sc.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := s.indexBatch(&h, pos, l.opts.IndexIntervalBytes); err != nil {
			return err
		}
	}
	l.dirDirty = true
	return s.seal()
}
