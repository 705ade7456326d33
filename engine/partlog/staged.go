package partlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"

	"github.com/chronik-go/chronik/uring"
)

// Staged appends are how a shard turn reaches the disk in one submission:
// StageAppend assigns offsets, indexes the batch and keeps its bytes in
// memory; the turn's owner then hands every log's staged bytes to one
// uring.Batch (SubmitStaged), waits once, and reports each log's outcome
// (StagedDone). Reads see staged bytes from memory, and anything that must
// see them in the file (sealing, syncing, truncating, closing) writes them
// first, so a log with staged bytes behaves exactly like one without.

// StageAppend appends one validated v2 batch like Append, but leaves the
// write to the next SubmitStaged (or to the next operation that needs the
// bytes in the file). b must stay unchanged until then.
func (l *Log) StageAppend(b []byte, leaderEpoch int32) (int64, error) {
	if err := l.writable(); err != nil {
		return -1, err
	}
	s, h, err := l.place(b, leaderEpoch)
	if err != nil {
		return -1, err
	}
	pos := s.size
	if len(s.staged) == 0 {
		s.stagedAt = pos
	}
	s.staged = append(s.staged, b)
	l.appended(s, &h, pos)
	return h.BaseOffset, nil
}

// StagedWrite is one log's share of a batch: the operations SubmitStaged
// added, to be settled by StagedDone after the batch's Wait.
type StagedWrite struct {
	seg    *segment
	first  int // index of the first operation in the batch
	ops    int
	n      int  // staged buffers covered
	synced bool // the owner fdatasyncs these bytes next (SyncedNext)
}

// SyncedNext says the owner syncs w's bytes in this turn's sync job (an
// fdatasync of the file, or a syncfs), so a write-behind log skips starting
// their writeback: that sync writes them anyway, and the hint would only
// cost a hand-off and a call.
func (w *StagedWrite) SyncedNext() { w.synced = true }

// SubmitStaged adds the staged bytes of the log to bt as writes at their file
// positions, in writes of uring.WritevChunk's size. It returns nil when
// nothing is staged. Until StagedDone the log must not be used.
func (l *Log) SubmitStaged(bt *uring.Batch) *StagedWrite {
	s := l.active()
	if s == nil || len(s.staged) == 0 {
		return nil
	}
	w := &StagedWrite{seg: s, first: -1, n: len(s.staged)}
	pos := s.stagedAt
	l.reserveAhead(s, pos, s.size)
	for bufs := s.staged; len(bufs) > 0; {
		chunk := bufs[:uring.WritevChunk(bufs)]
		bufs = bufs[len(chunk):]
		i := bt.SubmitWritevAt(s.f, chunk, pos)
		if w.first < 0 {
			w.first = i
		}
		w.ops++
		for _, b := range chunk {
			pos += int64(len(b))
		}
	}
	return w
}

// StagedDone settles w with the results of the batch's Wait. The staged
// bytes leave memory either way. After a failed write they are taken back:
// the file is cut where they began and the log's offsets and indexes return
// to before them, so the log keeps working as after a failed Append (if
// even the cut fails, the log stops taking writes). The error is returned.
func (l *Log) StagedDone(w *StagedWrite, results []uring.Result) error {
	if w == nil {
		return nil
	}
	s := w.seg
	base := stagedBase(s.staged[0])
	var err error
	for i := w.first; i < w.first+w.ops; i++ {
		if results[i].Err != nil {
			err = results[i].Err
			break
		}
	}
	if err != nil && l.writeBehind {
		// Acknowledged through the WAL: keep them staged, to be written
		// again at the same positions; no appends until then.
		return l.stagedFailed(s, err)
	}
	if err == nil && l.writeBehind && !w.synced {
		l.startWriteback(s, w)
	}
	clear(s.staged[:w.n])
	s.staged = s.staged[w.n:]
	if len(s.staged) == 0 {
		s.staged = nil
	}
	if err != nil {
		return l.unstage(s, base, err)
	}
	return nil
}

// startWriteback starts the kernel writing back what w just wrote, where
// the file supports it: written behind a WAL, these bytes are next synced
// by a checkpoint's syncfs, which then finds little left to write instead
// of stalling the WAL's own fdatasyncs behind all of it. It is advisory.
func (l *Log) startWriteback(s *segment, w *StagedWrite) {
	ws, ok := s.f.(uring.WritebackStarter)
	if !ok {
		return
	}
	var n int64
	for _, b := range s.staged[:w.n] {
		n += int64(len(b))
	}
	h := WritebackHint{File: ws, Off: s.stagedAt, N: n}
	if l.opts.Writeback != nil {
		l.opts.Writeback(h)
		return
	}
	h.Run(l.opts.Logger)
}

// Run starts the writeback h asks for. A failure (its error names the
// file) is only worth a warning, and a file closed since needs none:
// closing wrote what it held.
func (h WritebackHint) Run(log *slog.Logger) {
	if err := h.File.StartWriteback(h.Off, h.N); err != nil && !errors.Is(err, os.ErrClosed) {
		log.Warn("start writeback", "err", err)
	}
}

// stagedBase is the base offset stamped into a staged batch.
func stagedBase(b []byte) int64 { return int64(binary.BigEndian.Uint64(b)) }

// WrittenOffset is the offset below which every batch is in the log's files:
// NextOffset less the staged batches. Readers that must not see bytes a
// failed write would take back (fetch, ListOffsets) stop there.
func (l *Log) WrittenOffset() int64 {
	if s := l.active(); s != nil && len(s.staged) > 0 {
		return max(stagedBase(s.staged[0]), min(l.durable.Load(), l.next))
	}
	return l.next
}

// unstage takes back the batches from base on, whose write failed, by
// cutting the active segment s where they began.
func (l *Log) unstage(s *segment, base int64, err error) error {
	err = fmt.Errorf("append to %s: %w", s.path(logSuffix), err)
	l.clearHints()
	if cerr := l.reactivate(s, s.stagedAt, base); cerr != nil {
		l.setFailed(fmt.Errorf("partlog %s: %w (and cutting the failed write off failed: %v)", l.dir, err, cerr))
		return err
	}
	l.next = base
	return err
}

// writeStaged writes the active segment's staged bytes now, for operations
// that need them in the file.
func (l *Log) writeStaged() error {
	s := l.active()
	if s == nil || len(s.staged) == 0 {
		return nil
	}
	// Under write-behind, batches staged in this turn and written now (a
	// roll) are not yet in the WAL: their acknowledgement must still come
	// from it, since nothing syncs the file before the turn's WAL entry.
	var unlogged [][]byte
	if n := l.unloggedCount(s); n > 0 {
		unlogged = slices.Clone(s.staged[len(s.staged)-n:])
	}
	err := s.writeStaged(l.writeBehind)
	if len(unlogged) > 0 {
		// After a failure the unwritten ones are still staged.
		written := len(unlogged) - l.unloggedCount(s)
		l.unloggedWritten = append(l.unloggedWritten, unlogged[:written]...)
	}
	if err != nil {
		return l.stagedFailed(s, err)
	}
	return nil
}

// unloggedCount is how many of s's staged batches (the last ones) were not
// yet handed to the WAL.
func (l *Log) unloggedCount(s *segment) int {
	if !l.writeBehind {
		return 0
	}
	n := 0
	for i := len(s.staged); i > 0 && stagedBase(s.staged[i-1]) >= l.walLogged; i-- {
		n++
	}
	return n
}

func (l *Log) stagedFailed(s *segment, err error) error {
	err = fmt.Errorf("append to %s: %w", s.path(logSuffix), err)
	l.setFailed(fmt.Errorf("partlog %s: %w", l.dir, err))
	return err
}

// writeStaged writes the segment's staged bytes with plain File calls. On
// failure the unwritten ones are dropped, unless keep says they must stay
// (write-behind: a WAL made them durable and they were acknowledged).
func (s *segment) writeStaged(keep bool) error {
	pos := s.stagedAt
	for len(s.staged) > 0 {
		chunk := s.staged[:uring.WritevChunk(s.staged)]
		if _, err := s.f.WritevAt(chunk, pos); err != nil {
			if !keep {
				s.staged = nil
			}
			return err
		}
		for _, b := range chunk {
			pos += int64(len(b))
		}
		clear(chunk)
		s.staged = s.staged[len(chunk):]
		s.stagedAt = pos
	}
	s.staged = nil
	return nil
}

// readStaged fills p from pos when part of the range is still staged: the
// file supplies what lies before stagedAt, memory the rest.
func (s *segment) readStaged(p []byte, pos int64) error {
	if pos < s.stagedAt {
		n := s.stagedAt - pos
		if err := s.readFile(p[:n], pos); err != nil {
			return err
		}
		p, pos = p[n:], s.stagedAt
	}
	skip := pos - s.stagedAt
	for _, b := range s.staged {
		if len(p) == 0 {
			return nil
		}
		if skip >= int64(len(b)) {
			skip -= int64(len(b))
			continue
		}
		n := copy(p, b[skip:])
		p, skip = p[n:], 0
	}
	if len(p) > 0 {
		return fmt.Errorf("read segment %s at %d: %w", s.path(logSuffix), pos, errReadPastStaged)
	}
	return nil
}

var errReadPastStaged = errors.New("read past the end of the staged bytes")

// DiscardStaged drops the staged bytes of a log that failed before they
// were written: they were never acknowledged, and writing them to a failed
// log (on Close) would only add bytes of unknown standing.
func (l *Log) DiscardStaged() {
	if l.writeBehind {
		return // acknowledged through the WAL: they must reach the file
	}
	if s := l.active(); s != nil {
		s.staged = nil
	}
}
