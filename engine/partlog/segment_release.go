package partlog

import "errors"

// A sealed segment's descriptors are closed once nothing needs them, and
// reopened on demand (segment.file, indexEntries.open). Kept open, a log held
// three descriptors for every segment it rolled and one for every sealed
// segment a fetch read, for the life of the process: a consumer reading a
// long log of small segments from its start, or a long uptime of rolls, ran
// the broker into RLIMIT_NOFILE, after which it could accept no connection,
// roll no segment and read no further. A sealed segment's files are released
// when its seal has been applied and when a read moves past its end; a
// segment a read or an index lookup stopped in keeps its files open until
// recentSegments other segments have been (keepOpen), for the next fetch.

// releasable says whether s's descriptors may be closed now: s is a sealed
// segment of l other than the last, no seal or cleaner swap task holds its
// files, it has no staged batches, and no sync task prepared before its roll
// is still out (such a task may be about to fdatasync its .log).
func (l *Log) releasable(s *segment) bool {
	if !s.sealed || s.pinned || len(s.staged) > 0 || s == l.active() {
		return false
	}
	if s.pathSuffix != "" {
		// A cleaned segment whose swap failed after its commit: its files
		// may have been renamed already, so its paths may name nothing
		// (and an open would create it empty). It keeps its descriptors
		// until the log is reopened.
		return false
	}
	if l.sealing != nil && l.sealing.seg == s {
		return false
	}
	if i, ok := l.indexOf(s); !ok || i == len(l.segs)-1 {
		return false // removed (retired segments close on their own terms) or the last
	}
	return !l.taskOutBefore(s.rolledAtTask)
}

// releaseFiles closes s's descriptors if it is releasable, the .log too
// when withLog is set. A failed close loses nothing: the segment's bytes
// were made durable by its seal or were already on disk at Open.
func (l *Log) releaseFiles(s *segment, withLog bool) {
	if !l.releasable(s) {
		return
	}
	var err error
	if withLog && s.f != nil {
		err = s.f.Close()
		s.f = nil
	}
	err = errors.Join(err, s.offsets.close(), s.times.close())
	if err != nil {
		l.opts.Logger.Warn("close idle segment files", "segment", s.path(logSuffix), "err", err)
	}
}

// releaseSealed closes the files of a segment whose seal was just applied,
// now or, while a sync task prepared before its roll is out, once that task
// is reported (SyncDone).
func (l *Log) releaseSealed(s *segment) {
	if l.releasable(s) {
		l.releaseFiles(s, true)
		return
	}
	if l.taskOutBefore(s.rolledAtTask) {
		l.awaitingRelease = append(l.awaitingRelease, s)
	}
}

// releaseAwaiting retries the releases that waited for sync tasks; those no
// longer releasable for another reason (removed, reactivated, pinned) are
// dropped, and a later read past them releases them instead.
func (l *Log) releaseAwaiting() {
	kept := l.awaitingRelease[:0]
	for _, s := range l.awaitingRelease {
		if l.taskOutBefore(s.rolledAtTask) {
			kept = append(kept, s)
			continue
		}
		l.releaseFiles(s, true)
	}
	clear(l.awaitingRelease[len(kept):])
	l.awaitingRelease = kept
}

// releaseLookup ends a lookup in s that read its files (a timestamp search,
// a header scan, an index rebuild): its indexes are closed, and its .log too
// unless it was open before (logWasOpen), for a reader in the middle of it.
func (l *Log) releaseLookup(s *segment, logWasOpen bool) {
	l.releaseFiles(s, !logWasOpen)
}

// recentSegments bounds the sealed segments that keep their files open after
// a read or an index lookup stopped in them: twice the read hints, one for
// each reader a log tracks and as many for readers it does not.
const recentSegments = 2 * readHintSlots

// keepOpen leaves s's files open after a read or lookup stopped in it, and
// closes those of the segment that was so kept longest ago. A reader's next
// fetch (or, past the read hints, its next index lookup) is then served from
// the open files: reopening the index for each lookup doubled its cost. But
// no read leaves a segment open for good: a client seeking through a long
// log, reading a little here and there, would otherwise open them all.
func (l *Log) keepOpen(s *segment) {
	if !l.releasable(s) {
		return // the active segment, or one whose files are held: their own rules
	}
	for _, o := range l.recent {
		if o == s {
			return
		}
	}
	if old := l.recent[l.recentNext]; old != nil {
		l.releaseFiles(old, true)
	}
	l.recent[l.recentNext] = s
	l.recentNext = (l.recentNext + 1) % len(l.recent)
}
