package partlog

// Write-behind is how a log takes part in its shard's write-ahead log (the
// engine's wal.go): each turn hands the WAL the batches staged since the
// last turn (UnloggedStaged), and the staged bytes need not reach the
// partition file at the end of the turn — they are written in larger pieces
// later (when enough have gathered, at a WAL checkpoint, a roll or Close),
// and reads serve them from memory meanwhile. Once the WAL has made them
// durable they were acknowledged, so a failed write never takes them back:
// they stay staged, the log stops taking appends, and the owner writes them
// again later.

// SetWriteBehind switches write-behind on for an open log (its owner's
// choice: log.flush.policy=always with the WAL enabled).
func (l *Log) SetWriteBehind() {
	l.writeBehind = true
	l.walLogged = l.next
	l.durable.Store(l.next)
}

// WriteBehind reports whether the log keeps WAL-covered batches staged.
func (l *Log) WriteBehind() bool { return l.writeBehind }

// UnloggedStaged returns the batches not yet handed to the WAL, in log
// order — those still staged and those a roll wrote out since the last
// call — and counts them as handed over. The slices stay valid after the
// batches are written.
func (l *Log) UnloggedStaged() [][]byte {
	out := l.unloggedWritten
	l.unloggedWritten = nil
	if s := l.active(); s != nil {
		out = append(out, s.staged[len(s.staged)-l.unloggedCount(s):]...)
	}
	l.walLogged = l.next
	if len(out) == 0 {
		return nil
	}
	return out
}

// StagedBytes is how many bytes wait in memory for the partition file.
func (l *Log) StagedBytes() int64 {
	s := l.active()
	if s == nil || len(s.staged) == 0 {
		return 0
	}
	return s.size - s.stagedAt
}

// MarkDurable records that every batch below offset is durable (in the WAL
// or by a direct sync), so readers may see it even while it is staged. It
// is safe on any goroutine: the syncer calls it before it acknowledges the
// batches, so that a fetch sent after the acknowledgement finds them.
func (l *Log) MarkDurable(offset int64) {
	for {
		cur := l.durable.Load()
		if offset <= cur || l.durable.CompareAndSwap(cur, offset) {
			return
		}
	}
}

// DurableOffset is the offset below which every batch is durable (as
// MarkDurable recorded): under write-behind, what was acknowledged.
func (l *Log) DurableOffset() int64 { return min(l.durable.Load(), l.next) }

// FlushStaged writes the staged batches to the file now. Under
// write-behind a failure keeps them staged.
func (l *Log) FlushStaged() error { return l.writeStaged() }
