package partlog

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/chronik-go/chronik/uring"
)

// Defaults for zero Options fields (Kafka's log.segment.bytes and log.index.interval.bytes).
const (
	DefaultSegmentBytes       = 1 << 30
	DefaultIndexIntervalBytes = 4096
)

// ErrOffsetOutOfRange is returned for offsets below the log start offset or
// above the log end offset (Kafka's OFFSET_OUT_OF_RANGE).
var ErrOffsetOutOfRange = errors.New("partlog: offset out of range")

// ErrClosed is returned by operations on a closed Log.
var ErrClosed = errors.New("partlog: log is closed")

// Options configure a Log. Zero fields take defaults.
type Options struct {
	Opener             uring.Opener  // default uring.PwriteOpener{}
	SegmentBytes       int64         // roll when the active segment would exceed this (log.segment.bytes)
	SegmentMs          time.Duration // roll when an incoming batch is more than this past the active segment's first (Log.reachedRollMs); 0 = never
	IndexIntervalBytes int32         // sparse index entry every this many bytes
	Logger             *slog.Logger  // default slog.Default()
	// Now is the wall clock for SegmentMs rolls of records without
	// timestamps, retention and compaction; default time.Now. Tests inject one.
	Now func() time.Time
	// CleanState, with Open's clean=true, stands in for the checkpoint's
	// clean claim and the active segment's index files: the state the
	// log's CloseToState returned at the shutdown that preceded this open.
	// When it does not match the segment on disk the log is recovered.
	CleanState *CleanState
	// Sealer, when set, runs the seal task of each rolled segment (the
	// segment's fdatasyncs) off the owner goroutine; unset, a roll seals in
	// place.
	Sealer func(*SealTask)
	// Writeback, when set, takes the hints that start the kernel writing
	// back bytes written behind a WAL, so that the owner does not block in
	// them; unset, the owner starts writeback itself.
	Writeback func(WritebackHint)
	// Preallocate reserves the active segment's blocks ahead of its
	// writes (topic preallocate; reserve.go).
	Preallocate bool
	// Owner, when set, says whose directory this is (the topic id): it is
	// written into the directory when the log creates it, and Open fails
	// with ErrOtherOwner on a directory that names another (owner.go). A
	// clean open with CleanState skips the check: the broker matched that
	// state to the owner already.
	Owner []byte
}

// WritebackHint asks for writeback of N bytes at Off in a segment file.
type WritebackHint struct {
	File   uring.WritebackStarter
	Off, N int64
}

// SetRollLimits changes when the active segment rolls, for a topic's
// segment.bytes or segment.ms altered while the log is open: Kafka applies
// them from the next append on, without a restart. Zero or less takes the
// default size and never rolls by age.
func (l *Log) SetRollLimits(segmentBytes int64, segmentMs time.Duration) {
	if segmentBytes <= 0 {
		segmentBytes = DefaultSegmentBytes
	}
	l.opts.SegmentBytes, l.opts.SegmentMs = min(segmentBytes, math.MaxInt32), max(segmentMs, 0)
}

// SetIndexIntervalBytes changes how many bytes of batches lie between
// offset index entries from the next append on, for a topic's
// index.interval.bytes altered while the log is open; zero or less takes
// the default.
func (l *Log) SetIndexIntervalBytes(n int32) {
	if n <= 0 {
		n = DefaultIndexIntervalBytes
	}
	l.opts.IndexIntervalBytes = n
}

func (o Options) withDefaults() Options {
	if o.Opener == nil {
		o.Opener = uring.PwriteOpener{}
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = DefaultSegmentBytes
	}
	// Positions in the offset index are int32.
	o.SegmentBytes = min(o.SegmentBytes, math.MaxInt32)
	if o.IndexIntervalBytes <= 0 {
		o.IndexIntervalBytes = DefaultIndexIntervalBytes
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Log is the segmented log of one partition. It is owned by one goroutine.
type Log struct {
	dir  string
	opts Options
	segs []*segment // ascending base offsets; the last is active

	start int64 // log start offset
	next  int64 // log end offset
	size  int64 // sum of segment sizes

	dirMissing  bool // a new partition's directory is created by its first write
	dirDirty    bool // a file was created in dir since the last directory sync
	parentDirty bool // dir itself was created and its entry is not yet durable
	// checkpointClean says the checkpoint on disk still claims a clean
	// shutdown; mutations that could fool its size check rewrite it first.
	checkpointClean bool
	// unchanged says the log is exactly as a clean checkpoint describes it
	// (opened cleanly, not modified since), so Close has nothing to write.
	unchanged bool
	// fromState says Open trusted Options.CleanState.
	fromState bool

	hints    [readHintSlots]readHint
	hintNext int
	// recent are the sealed segments the last reads and lookups stopped
	// in, whose files stay open for the next ones (segment_release.go);
	// recentNext is the slot to reuse.
	recent     [recentSegments]*segment
	recentNext int

	cleaner *cleanerState // compaction bookkeeping, nil until first used
	sealing *SealTask     // the last roll's seal, until the owner applies it
	// recoveryPointWritten says the directory holds a readable recovery
	// point (a roll writes one before handing off its seal if not; see
	// markUnsealed and recoverRolled).
	recoveryPointWritten bool

	// syncTasksOut are the numbers of sync tasks prepared and not yet
	// reported to SyncDone, ascending; nextSyncTask numbers the next. A
	// segment removed meanwhile (DeleteRecords, retention) may be the file
	// such a task is about to fdatasync: its files are deleted at once but
	// it stays open, in retired, until every task prepared before its
	// removal has been reported.
	syncTasksOut []uint64
	nextSyncTask uint64
	retired      []retiredSegment
	// awaitingRelease are sealed segments whose descriptors close once the
	// sync tasks prepared before their roll are reported
	// (segment_release.go).
	awaitingRelease []*segment

	onFail func() // OnFail's hook, called by setFailed
	failed error  // set when a write left the log in an unknown state
	// unsynced makes Close skip its fdatasyncs and directory syncs; see CloseUnsynced.
	unsynced bool
	closed   bool
	// syncFailure makes the log's sync tasks fail for good once one has
	// failed (sync_task.go); a reopened log starts without it.
	syncFailure syncFailure

	// Write-behind (write_behind.go): staged batches a write-ahead log makes
	// durable stay staged across turns. walLogged is the offset up to which
	// batches were handed to the WAL, durable the offset up to which the
	// WAL (or a direct sync) has made them durable: the one field written
	// off the owner goroutine (MarkDurable), by the syncer that answers the
	// acknowledgements, so that readers see a batch once it is acknowledged.
	writeBehind bool
	walLogged   int64
	durable     atomic.Int64
	// unloggedWritten are batches a write inside a turn (a roll) took out
	// of staging before the turn's end handed them to the WAL: the next
	// UnloggedStaged hands them over with the staged ones.
	unloggedWritten [][]byte
}

// StartOffset is the log start offset: the first offset that can be read.
func (l *Log) StartOffset() int64 { return l.start }

// NextOffset is the log end offset: the offset the next append gets.
func (l *Log) NextOffset() int64 { return l.next }

// Size is the number of bytes of batches on disk over all segments.
func (l *Log) Size() int64 { return l.size }

// SegmentCount is the number of segments on disk (0 for a log that never
// received an append or whose segments were all removed).
func (l *Log) SegmentCount() int { return len(l.segs) }

// Dir is the partition directory.
func (l *Log) Dir() string { return l.dir }

func (l *Log) active() *segment {
	if len(l.segs) == 0 {
		return nil
	}
	return l.segs[len(l.segs)-1]
}

// segmentFor returns the index of the segment holding offset, or -1 when
// offset lies below the first segment.
func (l *Log) segmentFor(offset int64) int {
	lo, hi := 0, len(l.segs)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if l.segs[mid].base <= offset {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}

// segmentEnd is the offset after segment i's last batch.
func (l *Log) segmentEnd(i int) int64 {
	if i+1 < len(l.segs) {
		return l.segs[i+1].base
	}
	return l.next
}

func (l *Log) usable() error {
	if l.closed {
		return ErrClosed
	}
	return nil
}

func (l *Log) writable() error {
	if l.closed {
		return ErrClosed
	}
	l.pollSeal()
	return l.failed
}

// Sync makes everything appended so far durable: the active segment's data,
// the directory entries of files created since the last Sync and a rolled
// segment whose seal is pending.
func (l *Log) Sync() error {
	t, err := l.PrepareSync()
	if err != nil || t == nil {
		return err
	}
	err = t.Run()
	l.SyncDone(t, err)
	if err != nil {
		return l.failed
	}
	return nil
}

// CloseUnsynced is Close without any fdatasync or directory sync. A broker
// closing thousands of partitions uses it and then makes the whole
// filesystem durable with one syncfs before it records a clean shutdown: a
// crash before that leaves no clean-shutdown claim at broker level, so the
// next start recovers every partition by CRC as after kill -9.
func (l *Log) CloseUnsynced() error {
	l.unsynced = true
	return l.Close()
}

// Close flushes the log and persists the active segment's indexes and the
// clean-shutdown checkpoint, so the next Open(clean=true) reads no segment
// data. The Log is unusable afterwards.
func (l *Log) Close() error {
	if l.closed {
		return nil
	}
	l.finishWrites()
	var err error
	if l.dirMissing {
		// A partition never written to: leave its (empty) directory behind so
		// that it is found again, and nothing else.
		err = l.ensureDir()
	} else if l.failed == nil {
		err = l.persistClean()
	} else {
		// Leave no claim of a clean shutdown behind a failed log.
		err = writeCheckpointDurable(l.opts.Opener, l.dir, checkpoint{logStart: l.start}, !l.unsynced)
	}
	l.closed = true
	for _, s := range l.segs {
		err = errors.Join(err, s.close())
	}
	err = errors.Join(err, l.closeRetired(true))
	if err != nil {
		return fmt.Errorf("close partition log %s: %w", l.dir, err)
	}
	return nil
}

// finishWrites is the first step of every close: the cleaner's work is
// settled or abandoned, and the staged batches are written (or dropped, on a
// failed log); a failed write marks the log failed, which the caller honours.
func (l *Log) finishWrites() {
	l.settleCleanTask()
	l.settleSeal()
	l.abortClean()
	if l.failed != nil {
		l.DiscardStaged()
	}
	if l.writeStaged() == nil && l.failed == nil {
		l.releaseReserved(l.active())
	}
}

func (l *Log) persistClean() error {
	if l.parentDirty && !l.unsynced {
		if err := syncDir(filepath.Dir(l.dir)); err != nil {
			return err
		}
		l.parentDirty = false
	}
	if l.unchanged || (len(l.segs) == 0 && l.start == 0 && l.next == 0) {
		return nil // the files on disk already say it all
	}
	cp := checkpoint{logStart: l.start, clean: true, next: l.next, activeBase: -1}
	if s := l.active(); s != nil {
		if err := s.sealWith(!l.unsynced); err != nil {
			return err
		}
		cp.activeBase, cp.activeSize = s.base, s.size
	}
	// The checkpoint's directory sync also covers the new index files.
	return writeCheckpointDurable(l.opts.Opener, l.dir, cp, !l.unsynced)
}

// Remove closes the log without persisting anything and deletes the whole
// partition directory (DeleteTopics).
func (l *Log) Remove() error {
	var err error
	if !l.closed {
		l.settleCleanTask()
		l.dropSeal()
		l.abortClean()
		l.closed = true
		for _, s := range l.segs {
			err = errors.Join(err, s.close())
		}
		err = errors.Join(err, l.closeRetired(true))
	}
	l.segs = nil
	if rerr := os.RemoveAll(l.dir); rerr != nil {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return fmt.Errorf("remove partition log %s: %w", l.dir, err)
	}
	return nil
}

// removeFirstSegment deletes the oldest segment's files.
//
// A segment whose seal is dropped unrun leaves the recovery point short of
// the next segment, and recovery would validate it again were a power cut
// to undo its deletion — and, finding the tail it never synced gone, drop
// every later segment. So the start offset past it is made durable first:
// recovery drops segments below the start before it validates any.
func (l *Log) removeFirstSegment() error {
	s := l.segs[0]
	if l.sealing != nil && l.sealing.seg == s && l.dropSeal() && len(l.segs) > 1 && l.start < l.segs[1].base {
		// (DeleteBefore has persisted a start past it already.)
		if err := l.persistStart(l.segs[1].base); err != nil {
			// A retry would delete the segment without it: stop here.
			l.setFailed(fmt.Errorf("partlog %s: persist the start offset past a segment whose seal was dropped: %w", l.dir, err))
			return l.failed
		}
	}
	l.segs[0] = nil
	l.segs = l.segs[1:]
	l.size -= s.size
	l.unchanged = false
	l.clearHints()
	if len(l.syncTasksOut) > 0 {
		l.retired = append(l.retired, retiredSegment{s, l.nextSyncTask})
		return s.unlink()
	}
	return s.remove()
}

// retiredSegment is a removed segment kept open for the sync tasks numbered
// below before.
type retiredSegment struct {
	seg    *segment
	before uint64
}

// taskOutBefore says a sync task numbered below seq is still out: one
// prepared before that point (a roll, a removal), which may still sync the
// files it captured then. Tasks are reported in any order; the oldest out
// decides.
func (l *Log) taskOutBefore(seq uint64) bool {
	return len(l.syncTasksOut) > 0 && l.syncTasksOut[0] < seq
}

// closeRetired closes the removed segments no task still out may sync: all
// of them when all is set.
func (l *Log) closeRetired(all bool) error {
	var err error
	kept := l.retired[:0]
	for _, r := range l.retired {
		if all || !l.taskOutBefore(r.before) {
			err = errors.Join(err, r.seg.close())
		} else {
			kept = append(kept, r)
		}
	}
	clear(l.retired[len(kept):])
	l.retired = kept
	return err
}
