package partlog

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/chronik-go/chronik/engine/batch"
	"github.com/chronik-go/chronik/uring"
)

const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
	baseNameDigits  = 20
)

// segmentFileName is Kafka's naming: the base offset zero-padded to 20
// digits, so that names sort as offsets do.
func segmentFileName(base int64, suffix string) string {
	return fmt.Sprintf("%020d%s", base, suffix)
}

// parseSegmentFileName splits "<20 digits><suffix>"; ok is false for any
// other name.
func parseSegmentFileName(name string) (base int64, suffix string, ok bool) {
	if len(name) <= baseNameDigits {
		return 0, "", false
	}
	for _, c := range name[:baseNameDigits] {
		if c < '0' || c > '9' {
			return 0, "", false
		}
	}
	base, err := strconv.ParseInt(name[:baseNameDigits], 10, 64)
	if err != nil {
		return 0, "", false
	}
	switch suffix = name[baseNameDigits:]; suffix {
	case logSuffix, indexSuffix, timeIndexSuffix:
		return base, suffix, true
	}
	return 0, "", false
}

// segment is one .log file and its two indexes. Only the last segment of a
// Log (the active one) is appended to.
type segment struct {
	base   int64
	dir    string
	opener uring.Opener
	size   int64      // bytes of whole batches in .log
	f      uring.File // .log, opened on first use
	// syncs orders the fdatasyncs of .log that may overlap (file_syncs.go).
	syncs fileSyncs
	// pathSuffix follows every file name of a segment being written by the
	// cleaner (".cleaned") until it is swapped in.
	pathSuffix string
	// pinned marks a sealed segment whose files a cleaner swap task is
	// replacing: retention and DeleteRecords leave it in place meanwhile.
	pinned bool

	offsets offsetIndex
	times   timeIndex
	sealed  bool // no longer appended to; its index files are complete (durable once its SealTask ran)
	// indexesReady says the index files of a segment found at Open were
	// checked and attached; that happens on first use.
	indexesReady bool

	// maxTS is the largest batch max timestamp and maxTSOffset the base
	// offset of the first batch reaching it (noTimestamp and -1 when no batch
	// carries a timestamp). A sealed segment found at Open loads them from
	// its time index on first use (statsKnown).
	maxTS       int64
	maxTSOffset int64
	statsKnown  bool
	// firstTS is the first batch's max timestamp, read once on demand for
	// max.compaction.lag.ms (firstTSKnown); a sealed segment's first batch
	// does not change.
	firstTS      int64
	firstTSKnown bool

	// Active segment bookkeeping.
	bytesSinceIndex int64 // bytes appended since the last offset index entry
	// firstAppend is when the segment took its first append, or for a
	// segment found on disk its first append after the open: SegmentMs rolls
	// of a segment whose first batch has no timestamp (Log.reachedRollMs).
	firstAppend time.Time
	dirty       bool // .log has writes not yet fdatasynced
	// rolledAtTask is the log's next sync task number when the segment
	// was rolled: tasks numbered below it may hold its .log
	// (segment_release.go).
	rolledAtTask uint64
	// reserved is where the blocks reserved ahead of the writes end (0:
	// none); noReserve says the file cannot reserve; tailUnknown says a
	// crash may have left blocks reserved past the data of a segment found
	// on disk (reserve.go).
	reserved    int64
	noReserve   bool
	tailUnknown bool
	// sizeAtQuietCheck is size at the previous QuietReserve.
	sizeAtQuietCheck int64
	// staged are appended batches not yet written, from file position
	// stagedAt on; size counts them (staged.go).
	staged   [][]byte
	stagedAt int64
}

func newSegment(dir string, base int64, op uring.Opener) *segment {
	return &segment{
		base:        base,
		dir:         dir,
		opener:      op,
		offsets:     newOffsetIndex(filepath.Join(dir, segmentFileName(base, indexSuffix)), op),
		times:       newTimeIndex(filepath.Join(dir, segmentFileName(base, timeIndexSuffix)), op),
		maxTS:       noTimestamp,
		maxTSOffset: -1,
		statsKnown:  true,
		// A new segment has no index files to check.
		indexesReady: true,
	}
}

func (s *segment) path(suffix string) string {
	return filepath.Join(s.dir, segmentFileName(s.base, suffix)) + s.pathSuffix
}

// file returns the open .log, opening it on first use.
func (s *segment) file() (uring.File, error) {
	if s.f != nil {
		return s.f, nil
	}
	f, err := s.opener.Open(s.path(logSuffix))
	if err != nil {
		return nil, fmt.Errorf("open segment %s: %w", s.path(logSuffix), err)
	}
	s.f = f
	return f, nil
}

// readAt fills p from position pos of the .log, staged bytes included.
func (s *segment) readAt(p []byte, pos int64) error {
	if len(s.staged) > 0 && pos+int64(len(p)) > s.stagedAt {
		return s.readStaged(p, pos)
	}
	return s.readFile(p, pos)
}

// readFile fills p from position pos of the file itself.
func (s *segment) readFile(p []byte, pos int64) error {
	f, err := s.file()
	if err != nil {
		return err
	}
	n, err := f.ReadAt(p, pos)
	if n == len(p) {
		return nil
	}
	if err == nil {
		err = fmt.Errorf("short read: %d of %d bytes", n, len(p))
	}
	return fmt.Errorf("read segment %s at %d: %w", s.path(logSuffix), pos, err)
}

// canHold reports whether a batch of n bytes whose last offset is lastOffset
// still fits: positions and relative offsets are int32 in the indexes.
func (s *segment) canHold(n int64, lastOffset int64, segmentBytes int64) bool {
	if s.size == 0 {
		return lastOffset-s.base <= math.MaxInt32
	}
	return s.size+n <= segmentBytes && lastOffset-s.base <= math.MaxInt32
}

// indexBatch updates the indexes and timestamp stats for the batch at pos,
// the same way on append, recovery and index rebuilds.
func (s *segment) indexBatch(h *batch.Header, pos int64, interval int32) error {
	if h.MaxTimestamp > s.maxTS {
		s.maxTS, s.maxTSOffset = h.MaxTimestamp, h.BaseOffset
	}
	if s.bytesSinceIndex > int64(interval) {
		s.bytesSinceIndex = 0
		if err := s.offsets.append(int32(h.BaseOffset-s.base), int32(pos)); err != nil {
			return err
		}
		if err := s.times.maybeAppend(s.maxTS, int32(s.maxTSOffset-s.base)); err != nil {
			return err
		}
	}
	s.bytesSinceIndex += int64(h.Size())
	return nil
}

// resetIndexes drops all index state and files, before a rebuild from the data.
func (s *segment) resetIndexes() error {
	err := errors.Join(s.offsets.reset(), s.times.reset())
	s.sealed, s.indexesReady = false, true
	s.maxTS, s.maxTSOffset, s.statsKnown = noTimestamp, -1, true
	s.bytesSinceIndex = 0
	return err
}

// seal makes the segment durable and self-describing in place: fdatasync
// the .log, record the final largest timestamp, then write out and fdatasync
// both index files. A roll uses sealWith(false) and a SealTask instead.
func (s *segment) seal() error { return s.sealWith(true) }

// sealWith seals the segment, fdatasyncing it first only when sync is set.
func (s *segment) sealWith(sync bool) error {
	if s.sealed {
		return nil
	}
	if err := s.writeStaged(false); err != nil {
		return fmt.Errorf("seal segment %s: %w", s.path(logSuffix), err)
	}
	// Even a segment whose bytes a sync task has claimed (PrepareSync
	// clears dirty) is synced here: that task may not have run yet, and
	// once the next segment exists recovery trusts this one unchecked.
	if sync && s.f != nil {
		if err := s.syncs.datasync(s.f); err != nil {
			return fmt.Errorf("seal segment %s: %w", s.path(logSuffix), err)
		}
		s.dirty = false
	}
	if s.maxTSOffset >= 0 {
		if err := s.times.maybeAppend(s.maxTS, int32(s.maxTSOffset-s.base)); err != nil {
			return err
		}
	}
	persist := (*indexEntries).persist
	if !sync {
		persist = (*indexEntries).writeOut
	}
	if err := persist(&s.offsets.indexEntries); err != nil {
		return err
	}
	if err := persist(&s.times.indexEntries); err != nil {
		return err
	}
	s.sealed, s.indexesReady = true, true
	return nil
}

// loadStats reads a sealed segment's largest timestamp from the last time
// index entry (sealing always writes one).
func (s *segment) loadStats() error {
	if s.statsKnown {
		return nil
	}
	ts, rel, ok, err := s.times.last()
	if err != nil {
		return err
	}
	if ok {
		s.maxTS, s.maxTSOffset = ts, s.base+rel
	}
	s.statsKnown = true
	return nil
}

// firstBatchTimestamp is the max timestamp of the segment's first batch
// (noTimestamp when the segment is empty), what Kafka's cleaner ages a
// segment by for max.compaction.lag.ms.
func (s *segment) firstBatchTimestamp() (int64, error) {
	if s.firstTSKnown {
		return s.firstTS, nil
	}
	if s.size < batch.HeaderSize {
		return noTimestamp, nil
	}
	var buf [batch.HeaderSize]byte
	if err := s.readAt(buf[:], 0); err != nil {
		return 0, err
	}
	h, err := batch.ParseHeader(buf[:])
	if err != nil {
		return 0, fmt.Errorf("%w: first batch of %s: %v", ErrCorrupt, s.path(logSuffix), err)
	}
	s.firstTS, s.firstTSKnown = h.MaxTimestamp, true
	return s.firstTS, nil
}

// largestTimestamp is what time retention compares: the largest batch
// timestamp, or the file's modification time when no batch carries one.
func (s *segment) largestTimestamp() (int64, error) {
	if s.maxTS > noTimestamp {
		return s.maxTS, nil
	}
	st, err := os.Stat(s.path(logSuffix))
	if err != nil {
		return 0, fmt.Errorf("stat segment %s: %w", s.path(logSuffix), err)
	}
	return st.ModTime().UnixMilli(), nil
}

func (s *segment) close() error {
	var err error
	if len(s.staged) > 0 {
		if werr := s.writeStaged(false); werr != nil {
			err = fmt.Errorf("write staged batches of %s: %w", s.path(logSuffix), werr)
		}
	}
	if s.f != nil {
		if cerr := s.f.Close(); cerr != nil {
			err = fmt.Errorf("close segment %s: %w", s.path(logSuffix), cerr)
		}
		s.f = nil
	}
	return errors.Join(err, s.offsets.close(), s.times.close())
}

// remove closes the segment and deletes its files, the .log first so that a
// crash in between leaves only orphan indexes, which Open deletes.
func (s *segment) remove() error {
	s.staged = nil // the data goes with the file
	return errors.Join(s.close(), s.deleteFiles())
}

// unlink deletes the segment's files but leaves them open, for a sync task
// that may still fdatasync the .log (harmless on a deleted file); close
// follows.
func (s *segment) unlink() error {
	s.staged = nil // the data goes with the file
	return s.deleteFiles()
}

func (s *segment) deleteFiles() error {
	var err error
	for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
		if rerr := os.Remove(s.path(suffix)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("remove segment file: %w", rerr))
		}
	}
	return err
}
