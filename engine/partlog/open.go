package partlog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Open opens the partition directory dir, or prepares a new partition there.
//
// clean=true means the broker shut down cleanly: the checkpoint and index
// files written by Close are trusted and no segment data is read (if the
// checkpoint does not match the active segment on disk, Open logs it and
// recovers as for clean=false). clean=false validates the active (last)
// segment batch by batch, truncates a torn or corrupt tail and rebuilds its
// indexes, and does the same for the segment before it when the last roll's
// seal had not reached the disk (see recoverRolled); earlier segments are
// trusted.
//
// Opening a new partition touches nothing on disk but one failed directory
// read: the directory is created by the first write (or by Close), the first
// segment file by the first append.
func Open(dir string, opts Options, clean bool) (*Log, error) {
	opts = opts.withDefaults()
	l := &Log{dir: dir, opts: opts}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		l.dirMissing = true
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open partition log: %w", err)
	}
	if opts.Owner != nil && !(clean && opts.CleanState != nil) {
		if err := checkOwner(dir, entries, opts.Owner); err != nil {
			return nil, fmt.Errorf("open partition log %s: %w", dir, err)
		}
	}
	if changed, err := finishInterruptedSwap(dir, entries, opts.Logger); err != nil {
		return nil, fmt.Errorf("open partition log %s: %w", dir, err)
	} else if changed {
		if entries, err = os.ReadDir(dir); err != nil {
			return nil, fmt.Errorf("open partition log: %w", err)
		}
	}
	if err := l.load(entries, clean); err != nil {
		for _, s := range l.segs {
			s.close()
		}
		return nil, fmt.Errorf("open partition log %s: %w", dir, err)
	}
	return l, nil
}

// ensureDir creates the partition directory before the first file in it.
func (l *Log) ensureDir() error {
	if !l.dirMissing {
		return nil
	}
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return fmt.Errorf("create partition directory: %w", err)
	}
	if l.opts.Owner != nil {
		if err := writeOwner(l.dir, l.opts.Owner); err != nil {
			return err
		}
		l.dirDirty = true
	}
	l.dirMissing, l.parentDirty = false, true
	return nil
}

// segmentFiles is what the directory listing says about one base offset.
type segmentFiles struct {
	base    int64
	hasLog  bool
	logSize int64
}

// listSegments reads dir's segment files in offset order, removing leftovers
// of interrupted writes (a checkpoint temp file, indexes without a .log).
func (l *Log) listSegments(entries []os.DirEntry) ([]segmentFiles, error) {
	var files []segmentFiles // os.ReadDir sorts by name, and names sort as offsets
	for _, e := range entries {
		name := e.Name()
		if name == checkpointTmpName || name == recoveryPointName+".tmp" {
			os.Remove(filepath.Join(l.dir, name))
			continue
		}
		base, suffix, ok := parseSegmentFileName(name)
		if !ok {
			continue
		}
		if len(files) == 0 || files[len(files)-1].base != base {
			files = append(files, segmentFiles{base: base})
		}
		sf := &files[len(files)-1]
		if suffix == logSuffix {
			info, err := e.Info()
			if err != nil {
				return nil, err
			}
			sf.hasLog, sf.logSize = true, info.Size()
		}
	}
	kept := files[:0]
	for _, sf := range files {
		if sf.hasLog {
			kept = append(kept, sf)
			continue
		}
		for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
			if err := os.Remove(filepath.Join(l.dir, segmentFileName(sf.base, suffix))); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
	}
	return kept, nil
}

func (l *Log) load(entries []os.DirEntry, clean bool) error {
	files, err := l.listSegments(entries)
	if err != nil {
		return err
	}
	cp, found, err := readCheckpoint(l.dir)
	if err != nil {
		// Without it the start offset falls back to the first segment.
		l.opts.Logger.Warn("partition checkpoint unreadable, ignoring it", "dir", l.dir, "err", err)
	}
	l.checkpointClean = found && cp.clean
	if found {
		l.start = cp.logStart
	}
	for _, sf := range files {
		s := newSegment(l.dir, sf.base, l.opts.Opener)
		s.size = sf.logSize
		s.sealed, s.statsKnown, s.indexesReady = true, false, false
		l.segs = append(l.segs, s)
		l.size += s.size
	}
	// Segments wholly below the start offset go before any is validated:
	// one may be a rolled segment deleted with its seal unrun, whose
	// deletion a power cut undid (removeFirstSegment).
	for len(l.segs) > 1 && l.segs[1].base <= l.start {
		if err := l.removeFirstSegment(); err != nil {
			return err
		}
	}
	if len(l.segs) == 0 {
		l.next = l.start
		return nil
	}

	last := l.segs[len(l.segs)-1]
	if st := l.opts.CleanState; clean && st != nil {
		return l.loadFromState(last, st)
	}
	trusted := clean && found && cp.clean && cp.activeBase == last.base && cp.activeSize == last.size && cp.next >= last.base
	if clean && !trusted {
		l.opts.Logger.Warn("clean open but the checkpoint does not match the active segment; recovering it",
			"dir", l.dir, "segment", last.base, "size", last.size, "checkpointFound", found)
	}
	if trusted {
		if err := l.loadActive(last); err != nil {
			trusted = false
			l.opts.Logger.Warn("active segment indexes unusable; recovering it", "dir", l.dir, "segment", last.base, "err", err)
		}
	}
	if trusted {
		l.next = cp.next
		l.unchanged = true
	} else if err := l.recoverTail(); err != nil {
		return err
	}
	return l.dropSegmentsBelowStart()
}

// loadFromState opens the active segment from st when it matches the files
// on disk, and recovers it otherwise.
func (l *Log) loadFromState(last *segment, st *CleanState) error {
	trusted := stateMatches(st, last)
	if !trusted {
		l.opts.Logger.Warn("clean open but the clean-shutdown state does not match the active segment; recovering it",
			"dir", l.dir, "segment", last.base, "size", last.size, "state_base", st.ActiveBase, "state_size", st.ActiveSize)
	} else if err := l.loadActiveFromState(last, st); err != nil {
		trusted = false
		l.opts.Logger.Warn("clean-shutdown state unusable; recovering the active segment", "dir", l.dir, "segment", last.base, "err", err)
	}
	if trusted {
		l.start, l.next, l.fromState = max(l.start, st.LogStart), st.Next, true
	} else if err := l.recoverTail(); err != nil {
		return err
	}
	return l.dropSegmentsBelowStart()
}

// recoverTail validates, as after a crash, the active segment and the
// rolled segment before it unless the recovery point says its seal reached
// the disk. Every older segment was sealed before that one was rolled.
func (l *Log) recoverTail() error {
	if len(l.segs) >= 2 {
		done, err := l.recoverRolled()
		if err != nil || done {
			return err
		}
	}
	return l.recoverActive(l.segs[len(l.segs)-1])
}

// recoverActive validates the active segment by CRC, as after a crash.
func (l *Log) recoverActive(last *segment) error {
	before := last.size
	next, err := l.recoverSegment(last)
	if err != nil {
		return err
	}
	last.tailUnknown = true // a crash may have left blocks reserved past its data (reserve.go)
	l.next = next
	l.size -= before - last.size
	return nil
}

// dropSegmentsBelowStart ends a load: segments wholly below the start
// offset are left over from a crash between persisting the start offset and
// deleting them.
func (l *Log) dropSegmentsBelowStart() error {
	for len(l.segs) > 0 && l.segmentEnd(0) <= l.start {
		if len(l.segs) == 1 {
			if s := l.segs[0]; s.size == 0 && s.base == l.start {
				// Empty at the start (retention took the segments before
				// it, a crash cut it): its file names where the log goes
				// on, and without it a crash restarted the log at 0.
				break
			}
			// Nothing else would name the log's end: persist it first.
			if err := l.persistStart(l.start); err != nil {
				return err
			}
		}
		if err := l.removeFirstSegment(); err != nil {
			return err
		}
	}
	if len(l.segs) == 0 {
		l.next = max(l.next, l.start)
	} else {
		l.start = max(l.start, l.segs[0].base)
	}
	return nil
}

// loadActive makes s the active segment from the index files written by a
// clean Close, reading only their last entries and no segment data.
func (l *Log) loadActive(s *segment) error {
	if err := l.attachIndexFiles(s); err != nil {
		return err
	}
	return l.activate(s)
}

// activate makes s, whose index entries are loaded, the active segment:
// its largest timestamp and the bytes since its last offset-index entry
// come from the indexes' last entries.
func (l *Log) activate(s *segment) error {
	s.sealed, s.indexesReady = false, true
	ts, rel, ok, err := s.times.last()
	if err != nil {
		return err
	}
	if ok {
		s.maxTS, s.maxTSOffset = ts, s.base+rel
	}
	s.statsKnown = true
	_, pos, ok, err := s.offsets.last()
	if err != nil {
		return err
	}
	if ok && pos >= s.size {
		return fmt.Errorf("%w: index entry at %d beyond segment size %d", ErrCorrupt, pos, s.size)
	}
	s.bytesSinceIndex = s.size - pos
	// firstAppend stays unknown: reachedRollMs ages the segment by its
	// first batch's timestamp, so a restart does not restart it.
	// Index files reopen on demand: holding two descriptors per idle
	// partition would exhaust RLIMIT_NOFILE at ~10,000 partitions.
	return errors.Join(s.offsets.close(), s.times.close())
}
