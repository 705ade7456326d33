package partlog

import (
	"errors"
	"fmt"
	"os"
)

// CleanState is what a clean close leaves of a log for the next clean open
// when the caller keeps it, in one file for many logs, instead of the log
// writing its checkpoint and its active segment's index files: at 10,000
// partitions those are 30,000 small file creations and renames per
// shutdown, which took seconds on ext4. The index entries the files do not
// hold yet travel in the state.
type CleanState struct {
	LogStart   int64
	Next       int64
	ActiveBase int64 // -1 when the log had no segment
	ActiveSize int64
	// OffsetsInFile and TimesInFile count the active segment's index
	// entries already in its index files; the tails are the entries after
	// them.
	OffsetsInFile int
	OffsetTail    []byte
	TimesInFile   int
	TimeTail      []byte
}

// CloseToState closes the log like CloseUnsynced but writes neither its
// checkpoint nor its active segment's index files: it returns their content
// for the caller to persist (after a syncfs that makes the segments and the
// index files' written part durable). ok is false when there is nothing to
// keep — a log that failed (its checkpoint then says it is not clean, as
// Close does) or a partition never written to — and the next open
// recovers or finds it as after Close.
func (l *Log) CloseToState() (st CleanState, ok bool, err error) {
	if l.closed {
		return st, false, nil
	}
	l.unsynced = true
	l.finishWrites()
	if l.failed != nil || l.dirMissing {
		return st, false, l.Close()
	}
	st = CleanState{LogStart: l.start, Next: l.next, ActiveBase: -1}
	if s := l.active(); s != nil {
		if s.maxTSOffset >= 0 {
			// As sealing does: the last entry holds the largest timestamp.
			if err := s.times.maybeAppend(s.maxTS, int32(s.maxTSOffset-s.base)); err != nil {
				l.setFailed(err) // Close then leaves no claim of a clean shutdown
				return st, false, errors.Join(fmt.Errorf("close partition log %s: %w", l.dir, err), l.Close())
			}
		}
		st.ActiveBase, st.ActiveSize = s.base, s.size
		st.OffsetsInFile, st.OffsetTail = s.offsets.inFile, append([]byte(nil), s.offsets.tail...)
		st.TimesInFile, st.TimeTail = s.times.inFile, append([]byte(nil), s.times.tail...)
	}
	l.closed = true
	var cerr error
	for _, s := range l.segs {
		cerr = errors.Join(cerr, s.close())
	}
	if cerr != nil {
		return st, false, fmt.Errorf("close partition log %s: %w", l.dir, cerr)
	}
	return st, true, nil
}

// OpenedFromState says Open trusted Options.CleanState.
func (l *Log) OpenedFromState() bool { return l.fromState }

// stateMatches says st describes the active segment s as found on disk:
// the same base and size, and index files holding exactly the entries st
// says they hold (a missing file holding none).
func stateMatches(st *CleanState, s *segment) bool {
	if st.ActiveBase != s.base || st.ActiveSize != s.size || st.Next < s.base ||
		st.OffsetsInFile < 0 || st.TimesInFile < 0 ||
		len(st.OffsetTail)%offsetEntrySize != 0 || len(st.TimeTail)%timeEntrySize != 0 {
		return false
	}
	return indexFileHolds(s.offsets.path, st.OffsetsInFile*offsetEntrySize) &&
		indexFileHolds(s.times.path, st.TimesInFile*timeEntrySize)
}

func indexFileHolds(path string, size int) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return size == 0 && os.IsNotExist(err)
	}
	return fi.Size() == int64(size)
}

// loadActiveFromState makes s the active segment from st (stateMatches
// holds), reading no segment data and at most the last entry of each index
// file.
func (l *Log) loadActiveFromState(s *segment, st *CleanState) error {
	load := func(x *indexEntries, inFile int, tail []byte) {
		x.inFile = inFile
		x.tail = append(x.tail[:0], tail...)
		x.n = inFile + len(tail)/x.entrySize
	}
	load(&s.offsets.indexEntries, st.OffsetsInFile, st.OffsetTail)
	load(&s.times.indexEntries, st.TimesInFile, st.TimeTail)
	if err := s.times.refreshLast(); err != nil {
		return err
	}
	return l.activate(s)
}
