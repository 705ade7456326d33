package engine

import (
	"errors"
	"time"

	"github.com/chronik-go/chronik/engine/partlog"
	"github.com/chronik-go/chronik/uring"
)

// errPartitionClosed answers appends whose partition was closed or deleted
// in the same turn, before their bytes were written.
var errPartitionClosed = errors.New("partition closed before its appends were written")

// stagedPart is one partition's share of a turn's write batch.
type stagedPart struct {
	p *partition
	w *partlog.StagedWrite
}

// openShardIO gives the shard its write batch: on io_uring a ring of its own
// (driven only from this OS-locked goroutine), so that a turn's appends to
// every partition reach the kernel in one io_uring_enter; on pwrite a batch
// that writes each partition's appends with one pwritev.
func (s *shard) openShardIO() {
	so, err := uring.NewShardOpener(s.b.opener)
	if err != nil {
		s.b.log.Warn("shard io_uring ring unavailable; its turns write with plain syscalls", "shard", s.id, "err", err)
		s.batch = new(uring.Batch)
		return
	}
	s.io, s.batch = so, so.NewBatch()
}

func (s *shard) closeShardIO() {
	if s.io != nil {
		if err := s.io.Close(); err != nil {
			s.b.log.Warn("close shard io_uring ring", "shard", s.id, "err", err)
		}
	}
}

// queueWrite puts p on the turn's write list once.
func (p *partition) queueWrite() {
	if !p.queuedForWrite {
		p.queuedForWrite = true
		p.shard.toWrite = append(p.shard.toWrite, p)
	}
}

// writeTurn hands every partition's staged appends of this turn to the
// kernel as one batch and waits for it, then wakes the long-poll fetches of
// the partitions written. It returns the partitions whose appends did not
// reach the file: those appends are answered KAFKA_STORAGE_ERROR and taken
// back from the log (or, if that fails too, the log is reopened from disk).
func (s *shard) writeTurn() map[*partition]error {
	if len(s.toWrite) == 0 {
		return nil
	}
	if s.b.writeBehindOn() {
		defer s.endWALWindowTurn()
	}
	var errs map[*partition]error
	fail := func(p *partition, err error) {
		if errs == nil {
			errs = make(map[*partition]error)
		}
		errs[p] = err
		s.b.log.Error("write partition", "topic", p.key.topic, "partition", p.key.partition, "err", err)
		// A request waiting for the failed batches to become visible
		// (a ListOffsets behind their produce) looks again: they will not.
		p.wakeWaiters()
	}
	for _, p := range s.toWrite {
		p.queuedForWrite = false
		switch {
		case p.log == nil:
			fail(p, errPartitionClosed)
		case p.log.Failed() != nil:
			p.log.DiscardStaged() // never acknowledged; the reopened log will not have them
			fail(p, p.log.Failed())
		default:
			if b := s.walBatches(p); b != nil {
				// Write-behind: the WAL makes them durable; the file gets
				// them once enough have gathered.
				p.turnBatches = b
				s.written = append(s.written, p)
				if p.log.StagedBytes() < writeBehindBytes {
					continue
				}
			}
			if w := p.log.SubmitStaged(s.batch); w != nil {
				if p.turnBatches == nil {
					w.SyncedNext() // synced directly in this turn's job
				}
				s.writes = append(s.writes, stagedPart{p: p, w: w})
			}
		}
	}
	clear(s.toWrite)
	s.toWrite = s.toWrite[:0]
	// A failed log counts offsets whose bytes are not in its file: reads
	// would fail and ListOffsets would name offsets that get reused. Reopen
	// it from disk soon rather than waiting for the next produce — also for
	// a log that failed before this turn's write (a seal failure applied
	// in the turn): a reopen tried meanwhile gave way to the queued write.
	defer func() {
		for p := range errs {
			p.reopenSoon()
		}
	}()
	if len(s.writes) == 0 {
		return errs
	}
	start := time.Now()
	results, _ := s.batch.Wait()
	s.b.metrics.observeTurnWrite(time.Since(start))
	for _, sp := range s.writes {
		p := sp.p
		if err := p.log.StagedDone(sp.w, results); err != nil {
			if p.log.WriteBehind() {
				// The batches stay staged and the log stops taking appends
				// until they are written (reopenIfFailed, which the log's
				// OnFail hook has armed). Those the WAL covers this turn
				// are still acknowledged by it.
				s.b.log.Error("write partition", "topic", p.key.topic, "partition", p.key.partition, "err", err)
				if p.turnBatches == nil {
					fail(p, err)
				}
				continue
			}
			fail(p, err)
			if p.log.Failed() == nil {
				// The log took the batches back; so must the producer
				// state, or a retry would be answered as a duplicate.
				if rerr := p.restoreProducers(nil, false); rerr != nil {
					p.shard.b.log.Error("restore producers after a failed write", "topic", p.key.topic, "partition", p.key.partition, "err", rerr)
				}
			}
			continue
		}
		p.wakeWaiters()
	}
	clear(s.writes)
	s.writes = s.writes[:0]
	return errs
}
