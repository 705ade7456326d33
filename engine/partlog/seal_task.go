package partlog

import (
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/chronik-go/chronik/uring"
)

// SealTask is the blocking half of a segment roll: the fdatasyncs of the
// sealed segment's .log and index files, the directory sync, and the
// recovery point that then moves past the segment. The owner writes the
// index files' last entries when it rolls and appends to the next segment
// at once; like SyncTask and CleanTask the task may run on any goroutine
// (Options.Sealer), so that sealing a full segment — an fdatasync that
// waits for up to a segment's worth of writeback — stalls no append.
//
// Until the recovery point is durable, recovery after a crash validates the
// sealed segment by CRC as it does the active one (open.go). A log has at
// most one task pending: the next roll, Close and TruncateTo wait for it
// (settleSeal), Remove and the removal of the segment drop it (dropSeal),
// and sync tasks prepared meanwhile run or await it before they claim
// anything durable.
type SealTask struct {
	log *Log   // only its syncFailure is touched off the owner goroutine
	dir string // directory of the segment and the recovery point
	// logFile is the sealed .log (f nil when it is not open), synced in
	// step with the sync tasks that may hold it (fileSyncs).
	logFile logFile
	files   []uring.File // the sealed .index and .timeindex
	base    int64        // the sealed segment's
	// recoveryPoint is the next segment's base: the first offset recovery
	// must validate once this task has run.
	recoveryPoint int64
	opener        uring.Opener
	// trim, when set, is the sealed .log to truncate to trimSize first,
	// freeing the blocks reserved past its data (reserve.go). Here and not
	// on the owner: on XFS that truncate writes the file's unsynced tail
	// back before it returns.
	trim     uring.File
	trimSize int64
	logger   *slog.Logger

	seg     *segment // owner state, not touched by Run
	started atomic.Bool
	done    chan struct{}
	err     error
}

// Base is the sealed segment's base offset.
func (t *SealTask) Base() int64 { return t.base }

// Log is the log whose segment the task seals.
func (t *SealTask) Log() *Log { return t.log }

// Run performs the seal on disk. It is safe on any goroutine; a second call
// waits for the first and returns its error.
func (t *SealTask) Run() error {
	if !t.started.CompareAndSwap(false, true) {
		<-t.done
		return t.err
	}
	defer close(t.done)
	if p := t.log.syncFailure.err.Load(); p != nil {
		t.err = *p // a failed fdatasync before this one may have dropped pages of this segment
		return t.err
	}
	t.err = t.run()
	if t.err != nil {
		t.log.syncFailure.err.CompareAndSwap(nil, &t.err)
	}
	return t.err
}

func (t *SealTask) run() error {
	if t.trim != nil {
		if err := t.trim.Truncate(t.trimSize); err != nil {
			t.logger.Warn("free the blocks reserved past a segment's data", "segment", t.trim.Name(), "err", err)
		}
	}
	if f := t.logFile.f; f != nil {
		if err := t.logFile.datasync(); err != nil {
			return fmt.Errorf("seal segment %s: %w", f.Name(), err)
		}
	}
	for _, f := range t.files {
		if err := f.Datasync(); err != nil {
			return fmt.Errorf("seal segment %s: %w", f.Name(), err)
		}
	}
	return commitRecoveryPoint(t.opener, t.dir, t.recoveryPoint)
}

// finished reports, without waiting, whether Run has returned.
func (t *SealTask) finished() bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// startSeal hands the sealed active segment s to Options.Sealer, or seals it
// in place when there is none. s's index files are written out.
func (l *Log) startSeal(s *segment) error {
	t := &SealTask{
		log:           l,
		dir:           l.dir,
		base:          s.base,
		recoveryPoint: l.next,
		opener:        l.opts.Opener,
		seg:           s,
		done:          make(chan struct{}),
		logger:        l.opts.Logger,
	}
	if s.takeReserve() {
		t.trim, t.trimSize = s.f, s.size
	}
	// A segment not written since a clean open has no .log file open: its
	// data was synced by the shutdown.
	t.logFile = logFile{s.f, &s.syncs}
	for _, f := range []uring.File{s.offsets.f, s.times.f} {
		if f != nil {
			t.files = append(t.files, f)
		}
	}
	if l.opts.Sealer == nil {
		l.sealing = t
		t.Run()
		return l.sealDone(t)
	}
	if err := l.markUnsealed(s.base); err != nil {
		// Not retried in place: a sync that failed once may pass again
		// without the data (sync_task.go). The log reopens from disk.
		l.setFailed(fmt.Errorf("partlog %s: roll: %w", l.dir, err))
		l.syncFailure.err.CompareAndSwap(nil, &l.failed)
		return l.failed
	}
	l.sealing = t
	l.opts.Sealer(t)
	return nil
}

// markUnsealed makes sure recovery will validate the segment at base should
// the log crash before its seal: a directory without a usable recovery
// point tells recovery that every segment but the last is durable (older
// versions sealed in place; a log rolling for the first time has none), so
// one is written at base first — a small file, unlike the segment's sync.
func (l *Log) markUnsealed(base int64) error {
	if l.hasRecoveryPoint() {
		return nil
	}
	if err := commitRecoveryPoint(l.opts.Opener, l.dir, base); err != nil {
		return err
	}
	l.recoveryPointWritten = true
	return nil
}

// hasRecoveryPoint reports whether the directory holds a readable recovery
// point, looking on disk the first time. Recovery treats an unreadable one
// as none, so it must be replaced before a seal leaves the log.
func (l *Log) hasRecoveryPoint() bool {
	if !l.recoveryPointWritten {
		_, found, err := readRecoveryPoint(l.dir)
		l.recoveryPointWritten = found && err == nil
	}
	return l.recoveryPointWritten
}

// ApplySeal applies the pending seal if it has finished; a failed one fails
// the log (OnFail). The owner calls it when its sealer reports a failed
// seal, so that a log with no further writes stops serving as healthy.
func (l *Log) ApplySeal() {
	if !l.closed {
		l.pollSeal()
	}
}

// pollSeal applies a pending seal that has finished, without waiting.
func (l *Log) pollSeal() {
	if t := l.sealing; t != nil && t.finished() {
		l.sealDone(t)
	}
}

// settleSeal waits for a pending seal (running it here if no one has
// started it) and applies it. It returns the log's failure, if any.
func (l *Log) settleSeal() error {
	if t := l.sealing; t != nil {
		t.Run()
		return l.sealDone(t)
	}
	return l.failed
}

// dropSeal lets go of the pending seal of a segment about to be deleted:
// one not yet started never runs (nothing it would sync is kept; a sync
// task or the sealer then finds it done), one running is waited for, since
// it holds the segment's files. skipped says the seal never ran, so the
// recovery point was left short of the next segment.
func (l *Log) dropSeal() (skipped bool) {
	t := l.sealing
	if t == nil {
		return false
	}
	if skipped = t.started.CompareAndSwap(false, true); skipped {
		close(t.done)
	} else {
		<-t.done
	}
	l.sealDone(t)
	return skipped
}

// sealDone applies a finished seal on the owner. A failed one stops the log
// taking writes, as a failed sync does: the kernel may have dropped the
// segment's dirty pages.
func (l *Log) sealDone(t *SealTask) error {
	l.sealing = nil
	if t.err == nil {
		l.recoveryPointWritten = true
		l.releaseSealed(t.seg)
	} else {
		l.setFailed(fmt.Errorf("partlog %s: %w", l.dir, t.err))
	}
	return l.failed
}

// SetSealer replaces Options.Sealer (nil: seal in place). A log recovered
// off its owner's goroutine seals in place until the owner takes it over,
// so that no seal outcome reaches the owner for a log it does not hold.
func (l *Log) SetSealer(fn func(*SealTask)) { l.opts.Sealer = fn }

// SealPending reports whether a rolled segment's seal has not yet been
// applied by the owner.
func (l *Log) SealPending() bool { return l.sealing != nil }
