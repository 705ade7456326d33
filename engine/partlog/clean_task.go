package partlog

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/chronik-go/chronik/uring"
)

// CleanTask is the blocking half of swapping one cleaned group in: the
// fdatasyncs of the cleaned segment and its indexes, the manifest commit,
// the deletion of the old segments' files, the renames and the directory
// syncs (segment_swap.go). Like SyncTask it is captured on the owner and may
// run on any goroutine, so that a slow disk stalls only the cleaner, never
// the produce path; the owner then reports it with CleanTaskDone.
//
// Meanwhile the group's segments stay readable through their open files and
// are pinned: retention and DeleteRecords leave them alone, while
// TruncateTo, Close and Remove first wait for the task.
type CleanTask struct {
	dir      string
	files    []uring.File // the cleaned .log, .index and .timeindex
	manifest swapManifest
	oldFiles []string // every file of the replaced segments
	// beforeCommit, when set, makes the state CleanOptions.BeforeMarkersGo
	// saved durable before the swap commits.
	beforeCommit func() error

	group []*segment // owner state, not touched by Run
	out   *segment

	started   atomic.Bool
	done      chan struct{}
	committed bool // the manifest is durable: the swap must complete
	err       error
}

// newCleanTask captures the swap of l.segs[i:j] (the pass's group, files
// attached and open) for out, whose data and index files are written.
func (l *Log) newCleanTask(i, j int, out *segment) *CleanTask {
	t := &CleanTask{
		dir:      l.dir,
		files:    []uring.File{out.f, out.offsets.f, out.times.f},
		manifest: swapManifest{base: out.base, end: l.segs[j].base, size: out.size},
		group:    l.segs[i:j:j],
		out:      out,
		done:     make(chan struct{}),
	}
	for _, s := range t.group {
		s.pinned = true
		for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
			t.oldFiles = append(t.oldFiles, s.path(suffix))
		}
	}
	return t
}

// Run performs the swap on disk. It is safe on any goroutine; a second call
// waits for the first.
func (t *CleanTask) Run() error {
	if !t.started.CompareAndSwap(false, true) {
		<-t.done
		return t.err
	}
	defer close(t.done)
	if t.beforeCommit != nil {
		if t.err = t.beforeCommit(); t.err != nil {
			return t.err
		}
	}
	for _, f := range t.files {
		if err := f.Datasync(); err != nil {
			t.err = fmt.Errorf("sync cleaned segment %d: %w", t.manifest.base, err)
			return t.err
		}
	}
	if t.err = writeSwapManifest(t.dir, t.manifest); t.err != nil {
		if _, err := os.Stat(filepath.Join(t.dir, swapManifestName)); err == nil {
			// In place, though its directory sync failed: a crash may keep
			// it, so the swap counts as committed (its files are synced)
			// and the log's reopen finishes it. Abandoned instead, it left
			// a manifest that a later pass's unfinished files would meet.
			t.committed = true
		}
		return t.err
	}
	t.committed = true
	for _, path := range t.oldFiles {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.err = fmt.Errorf("remove replaced segment file: %w", err)
			return t.err
		}
	}
	if t.err = promoteCleaned(t.dir, t.manifest.base); t.err != nil {
		return t.err
	}
	if t.err = syncDir(t.dir); t.err != nil {
		return t.err
	}
	t.err = removeSwapManifest(t.dir)
	return t.err
}

// CleanTaskDone applies a finished task on the owner: the cleaned segment
// replaces its group in memory. A task that failed before its commit leaves
// the old segments and abandons the pass; one that failed after it still
// swaps (recovery finishes the files) and stops the log taking writes. It
// returns the task's error.
func (l *Log) CleanTaskDone(t *CleanTask) error {
	<-t.done
	cs := l.cleaner
	if cs == nil || cs.pass == nil || cs.pass.task != t {
		return nil // settled already, by TruncateTo, Close or Remove
	}
	p := cs.pass
	p.task = nil
	for _, s := range t.group {
		s.pinned = false
	}
	if !t.committed {
		for _, s := range t.group {
			l.releaseFiles(s, true) // opened for the task (cleanGroupStep)
		}
		p.cleaned = t.out // deleted with the abandoned pass
		l.abortClean()
		return fmt.Errorf("compact %s: %w", l.dir, t.err)
	}
	i, _ := l.indexOf(t.group[0])
	j := i + len(t.group)
	var removed int64
	var files []uring.File
	for _, s := range t.group {
		removed += s.size
		if l.taskOutBefore(s.rolledAtTask) {
			// A sync task prepared while it was active may still
			// fdatasync its file: closed once those are reported, as a
			// segment retention removes.
			l.retired = append(l.retired, retiredSegment{s, s.rolledAtTask})
			continue
		}
		files = append(files, s.f, s.offsets.f, s.times.f)
		s.f, s.offsets.f, s.times.f = nil, nil, nil
	}
	// The last close of a deleted file frees its blocks, which can take
	// milliseconds on ext4 while a journal commit runs: not on the owner.
	go closeFiles(files, l.opts.Logger)
	out := t.out
	out.sealed, out.indexesReady, out.statsKnown = true, true, true
	n := len(l.segs)
	l.segs = append(l.segs[:i+1], l.segs[j:]...)
	clear(l.segs[len(l.segs):n])
	l.segs[i] = out
	l.size += out.size - removed
	l.unchanged = false
	l.clearHints()
	cs.stats.SegmentsCleaned += int64(len(t.group))
	if t.err == nil {
		out.cleanedPromoted()
		l.releaseFiles(out, true) // idle like any sealed segment (segment_release.go)
	} else {
		l.setFailed(fmt.Errorf("partlog %s: swap in cleaned segment %d: %w", l.dir, out.base, t.err))
	}
	// DeleteRecords may have moved the start offset past the group while it
	// was pinned.
	for len(l.segs) > 1 && l.segmentEnd(0) <= l.start {
		if err := l.removeFirstSegment(); err != nil {
			return fmt.Errorf("compact %s: %w", l.dir, err)
		}
	}
	l.opts.Logger.Debug("swapped in cleaned segment", "dir", filepath.Base(l.dir), "base", out.base, "segments", len(t.group), "bytes", out.size)
	if t.err != nil {
		return fmt.Errorf("compact %s: %w", l.dir, t.err)
	}
	return nil
}

// settleCleanTask waits for a pending task and applies it, before an
// operation that cannot leave pinned segments alone.
func (l *Log) settleCleanTask() {
	if l.cleaner == nil || l.cleaner.pass == nil || l.cleaner.pass.task == nil {
		return
	}
	t := l.cleaner.pass.task
	t.Run() // runs it here if no one has started it, else waits for it
	if err := l.CleanTaskDone(t); err != nil {
		l.opts.Logger.Warn("cleaner swap failed", "dir", l.dir, "err", err)
	}
}

// closeFiles closes the files of replaced segments.
func closeFiles(files []uring.File, logger *slog.Logger) {
	for _, f := range files {
		if f == nil {
			continue
		}
		if err := f.Close(); err != nil {
			logger.Warn("close replaced segment file", "file", f.Name(), "err", err)
		}
	}
}
