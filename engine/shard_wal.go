package engine

import "time"

// The owner's side of the shard's write-ahead log (wal.go): which turns'
// batches go to it, what a WAL failure makes the shard do, and when it
// checkpoints. The syncer's side is in shard_syncer.go.

// writeBehindBytes is how many staged bytes a partition gathers before the
// turn writes them to its file; until then the WAL alone holds them durably
// and reads are served from memory.
const writeBehindBytes = 256 << 10

// writeBehindOn says partition logs run with write-behind: every produce is
// synced before its answer, and the WAL is enabled. Its checkpoints (and
// the replay) make the partition files durable with one syncfs, which must
// report writeback errors (Linux 5.8 on: syncfsTrusted); elsewhere
// partitions are synced directly.
func (b *Broker) writeBehindOn() bool {
	return b.flushPolicy == flushAlways && b.cfg.WALEnable && b.syncfsTrusted
}

// walBatches decides, at the end of a turn, whether p's new batches go to
// the WAL; it returns them, or nil when p is synced directly this turn: the
// shard's recent turns touched too few partitions for the WAL to pay, its
// first WAL file is still being filled, the log was reopened from files
// holding unsynced bytes, or a WAL failure is being recovered from.
// Switching between the two is safe either way: a direct sync writes and
// syncs every staged batch of the partition.
func (s *shard) walBatches(p *partition) [][]byte {
	s.countWritten(p)
	if !s.walWide || !p.log.WriteBehind() || p.walUnsafe || s.walResume || time.Now().Before(s.walRetryAt) {
		return nil
	}
	if !s.walReady.Load() {
		s.requestWALFile()
		return nil
	}
	return p.log.UnloggedStaged()
}

// walWindowTurns is how many turns the shard looks back at to decide whether
// its turns use the WAL: with few partitions, one fdatasync of a partition
// file costs what one of the WAL costs and writes each byte once, unless the
// load is light (walLight).
const walWindowTurns = 64

// countWritten counts p among the partitions written in this window.
func (s *shard) countWritten(p *partition) {
	if p.walWindow != s.walWindow {
		p.walWindow = s.walWindow
		s.walWindowParts++
	}
}

// endWALWindowTurn closes a turn for the window; every walWindowTurns
// turns it decides whether the next window's turns use the WAL: when they
// wrote log.flush.wal.min.partitions distinct partitions, or appended
// lightly (walLight).
func (s *shard) endWALWindowTurn() {
	s.walWindowTurns++
	if s.walWindowTurns == 1 {
		// The rate is taken from the end of the window's first turn, so
		// that a quiet spell before the window does not make a burst look
		// light.
		s.walWindowStart, s.walWindowBytes = time.Now(), 0
	}
	if s.walWindowTurns < walWindowTurns {
		return
	}
	light := s.walLight(time.Since(s.walWindowStart))
	s.walWideByParts = s.walWindowParts >= s.b.cfg.WALMinPartitions
	s.walWide = s.walWideByParts || light
	s.walWindow++
	s.walWindowTurns, s.walWindowParts = 0, 0
}

// walLight says the window's appends, over elapsed, came to less than
// log.flush.wal.light.bytes.per.second, or to less than twice that when the
// WAL was chosen for that reason before (so that a load near the limit
// does not switch every window). A WAL fdatasync overwrites blocks already
// written, where a partition file's grows the file and commits the
// journal: at 1,000 fsynced produces a second the WAL answered one
// partition's p99 in half the time. It writes each byte twice, though, and
// one partition streaming flat out through it ran 0.76 times as fast
// (BENCHMARKS.md, "One partition through the WAL, in steady state").
func (s *shard) walLight(elapsed time.Duration) bool {
	if s.b.cfg.WALLightBytesPerSecond <= 0 {
		return false
	}
	limit := float64(s.b.cfg.WALLightBytesPerSecond) // a float: doubling the largest setting
	if s.walWide && !s.walWideByParts {
		limit *= 2
	}
	return float64(s.walWindowBytes) < limit*elapsed.Seconds()
}

// walRetryInterval is how long a shard syncs partitions directly after a
// failed WAL append before it tries its WAL again, so that a lasting WAL
// fault fails one turn a second rather than every other one.
const walRetryInterval = time.Second

// prepareResume makes job the resume job after a failed WAL append: every
// write-behind partition writes its staged batches and is synced directly,
// so that what the lost WAL entries held is durable in the partition files
// before new entries build on it.
func (s *shard) prepareResume(job *syncJob) {
	job.resume = true
	s.walResume = false
	for _, p := range s.parts {
		if p.log == nil || !p.log.WriteBehind() || p.log.Failed() != nil {
			// A failed log takes no appends; it is reopened (after writing
			// its staged batches) and then synced directly first.
			continue
		}
		// prepareSync clears queuedForSync: commit's loop then skips p.
		task, err := p.prepareSync()
		job.parts = append(job.parts, partSync{p: p, task: task, err: err, upTo: p.logEnd()})
	}
}

// checkpointWritesPerTurn bounds how many partitions one turn writes for a
// running checkpoint: with thousands of write-behind partitions, writing
// them all in the turn that found the WAL full stalled that turn's
// acknowledgements for hundreds of milliseconds.
const checkpointWritesPerTurn = 128

// maybeCheckpoint runs after a turn. Once the syncer says the WAL has
// outgrown log.flush.wal.checkpoint.bytes, it queues a rotate job (later
// entries go to a new file) and notes every partition with staged batches:
// the old file holds no others. Over this and the following turns those
// partitions write their staged batches, checkpointWritesPerTurn at a time;
// then a checkpoint job follows, and the syncer syncs the filesystem and
// retires the old file. A failed write is retried after walRetryInterval
// (the partition is reopened meanwhile, which writes its batches first).
func (s *shard) maybeCheckpoint() {
	if len(s.checkpointWrites) > 0 {
		s.writeForCheckpoint()
		return
	}
	if s.checkpointQueued || !s.walCheckpointDue.Load() {
		return
	}
	s.walCheckpointDue.Store(false)
	s.checkpointQueued = true
	for _, p := range s.parts {
		if p.log != nil && p.log.WriteBehind() && p.log.StagedBytes() > 0 {
			s.checkpointWrites = append(s.checkpointWrites, p)
		}
	}
	s.queueJob(&syncJob{rotate: true})
	s.writeForCheckpoint()
}

// writeForCheckpoint writes the staged batches of up to
// checkpointWritesPerTurn of the partitions the running checkpoint waits
// for (checkpointWrites, empty outside a checkpoint), and queues the
// checkpoint job once none is left. Until then it asks the shard loop to
// come back, behind whatever work is queued.
func (s *shard) writeForCheckpoint() {
	if len(s.checkpointWrites) > 0 && time.Now().Before(s.checkpointRetryAt) {
		s.checkpointLater(time.Until(s.checkpointRetryAt))
		return
	}
	var flushing []stagedPart
	for len(s.checkpointWrites) > 0 && len(flushing) < checkpointWritesPerTurn {
		last := len(s.checkpointWrites) - 1
		p := s.checkpointWrites[last]
		s.checkpointWrites[last] = nil
		s.checkpointWrites = s.checkpointWrites[:last]
		// A log closed or reopened since holds none of the old file's
		// batches: closing and reopening write staged batches first.
		if p.log == nil || !p.log.WriteBehind() || p.log.StagedBytes() == 0 {
			continue
		}
		if w := p.log.SubmitStaged(s.batch); w != nil {
			flushing = append(flushing, stagedPart{p: p, w: w})
		}
	}
	if len(flushing) > 0 {
		results, _ := s.batch.Wait()
		for _, sp := range flushing {
			if err := sp.p.log.StagedDone(sp.w, results); err != nil {
				s.b.log.Error("write staged batches for a checkpoint", "topic", sp.p.key.topic, "partition", sp.p.key.partition, "err", err)
				s.checkpointWrites = append(s.checkpointWrites, sp.p)
				s.checkpointRetryAt = time.Now().Add(walRetryInterval)
			}
		}
	}
	if len(s.checkpointWrites) > 0 {
		s.checkpointLater(time.Until(s.checkpointRetryAt))
		return
	}
	s.queueJob(&syncJob{checkpoint: true})
}

// checkpointLater brings the shard loop back to maybeCheckpoint after d
// (at once when d is not positive) even if no other work arrives.
func (s *shard) checkpointLater(d time.Duration) {
	if s.checkpointPoked {
		return
	}
	s.checkpointPoked = true
	poke := func() {
		s.submit(func(s *shard) { s.checkpointPoked = false })
	}
	if d <= 0 {
		poke()
		return
	}
	time.AfterFunc(d, poke)
}

// finishWAL applies a finished job's WAL outcome on the owner: batches now
// durable become visible to readers; a failed WAL append (by a job
// committed after the last resume) or a failed resume asks for a resume.
func (s *shard) finishWAL(job *syncJob) {
	for _, ps := range job.parts {
		if ps.batches != nil {
			if ps.p.walInFlight--; ps.p.walInFlight == 0 && ps.p.needsReopen() {
				ps.p.reopenSoon() // it waited for this job (reopenIfFailed)
			}
		}
		if ps.err != nil || ps.p.log == nil {
			// A request waiting for these batches to become visible (a
			// ListOffsets behind their produce) answers now with what is.
			ps.p.wakeWaiters()
			continue
		}
		if ps.batches != nil {
			// The syncer marked ps.log durable before answering
			// (markWALDurable); p may hold a reopened log since.
			ps.p.wakeWaiters()
		} else if ps.task != nil && ps.task.Log() == ps.p.log {
			ps.p.log.MarkDurable(ps.upTo)
			ps.p.walUnsafe = false // its file is durable up to at least the reopen
			ps.p.wakeWaiters()
		}
	}
	if job.walFailed && job.seq > s.lastResume {
		s.walResume = true
		s.walRetryAt = time.Now().Add(walRetryInterval)
	}
	if job.resume {
		for _, ps := range job.parts {
			if ps.err != nil {
				s.walResume = true
				break
			}
		}
	}
	if job.checkpoint {
		s.checkpointQueued = false
		// A due signal the syncer raised before this job started the
		// syncfs is stale: before the rotate job it was about the file just
		// retired, after it the new file could fill while the owner wrote
		// for this checkpoint (thousands of partitions). Acting on it
		// started the next checkpoint while this one's syncfs ran, and that
		// checkpoint job waited on the syncer for it, up to 0.7 s at 10,000
		// partitions. The syncer raises the signal again after its next
		// group once the syncfs is reaped, if the new file is due.
		s.walCheckpointDue.Store(false)
	}
}
