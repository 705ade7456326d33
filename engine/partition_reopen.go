package engine

import (
	"maps"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// A failed log is reopened no sooner than reopenInterval after the last
// attempt; each reopen that fails in a row doubles the wait, up to
// reopenMaxInterval, since every attempt reads up to a segment by CRC.
const (
	reopenInterval    = time.Second
	reopenMaxInterval = 30 * time.Second
)

// reopenDelay is how long after the last attempt the next may start.
func (p *partition) reopenDelay() time.Duration {
	return min(reopenInterval<<min(p.failedReopens, 5), reopenMaxInterval)
}

// reopenQueueDepth is how many finished reopens wait for their shard before
// the goroutines that ran them wait too.
const reopenQueueDepth = 16

// logFailed is the partition log's OnFail hook: whichever call failed the
// log (a write, a roll, a sync, a seal, DeleteRecords, a WAL replay, a
// cleaner swap), the partition is noted offline and reopened from disk
// soon.
func (p *partition) logFailed() {
	if !p.closed {
		p.reopenSoon()
	}
}

// reopenSoon reopens a failed log, or retries a reopen that failed, without
// waiting for another produce to ask: in a later turn of the shard — never
// in the middle of one, whose commit may still use the log — and no sooner
// than reopenDelay after the last attempt. Called when the log fails (its
// OnFail hook, logFailed), after a turn whose write failed (a reopen tried
// in that turn gave way to the write), and to retry a reopen; it does
// nothing for a log that has not failed.
func (p *partition) reopenSoon() {
	p.noteOffline()
	if !p.needsReopen() || p.reopenArmed {
		return
	}
	p.reopenArmed = true
	time.AfterFunc(max(p.reopenDelay()-time.Since(p.lastReopen), 0), func() {
		p.shard.submit(func(*shard) {
			p.reopenArmed = false
			p.reopenIfFailed()
		})
	})
}

// needsReopen says the partition's log stopped taking writes, or it has none
// (an earlier reopen failed) and none is being reopened.
func (p *partition) needsReopen() bool {
	if p.log != nil {
		return p.log.Failed() != nil
	}
	return !p.closed && !p.reopening
}

// reopenIfFailed replaces a log that stopped taking writes (a failed write or
// fdatasync) with one recovered from disk, so the partition resumes once the
// fault clears. Recovery re-validates the tail by CRC, so bytes whose
// durability is unknown are kept only if they are whole; none of them were
// acknowledged, but for a write-behind log's: the WAL made those durable,
// and what the file lost of them is restored from it (wal_reopen.go). The
// recovery runs off the shard's thread (startReopen).
func (p *partition) reopenIfFailed() {
	if p.queuedForWrite || p.walInFlight > 0 || !p.needsReopen() {
		// A queued write: the turn's commit still answers for its staged
		// appends. A WAL job in flight: what it acknowledges is known,
		// and in the WAL, once it is done (finishWAL asks again).
		return
	}
	if time.Since(p.lastReopen) < p.reopenDelay() {
		p.reopenSoon() // keeps a retry coming even if no produce asks again
		return
	}
	p.lastReopen = time.Now()
	if p.log != nil && p.log.StagedBytes() > 0 {
		// Write-behind batches live only in memory and the WAL: they must
		// reach the file before the log is reopened from it.
		if err := p.log.FlushStaged(); err != nil {
			p.shard.b.log.Error("write staged batches before reopening", "topic", p.key.topic, "partition", p.key.partition, "err", err)
			p.failedReopens++
			p.reopenSoon()
			return
		}
	}
	if p.log != nil {
		if p.log.WriteBehind() {
			p.ackedBeforeReopen = max(p.ackedBeforeReopen, p.log.DurableOffset())
		}
		p.log.Close()
		p.log = nil
	}
	p.startReopen()
}

// reopenResult is a log recovered off the shard's thread, with the producer
// state restored from it into a scratch partition.
type reopenResult struct {
	p       *partition
	scratch *partition // log and producer state; nil when err is set
	err     error      // opening the log failed
	// restoreErr is a failed producer-state restore: the log is usable,
	// the state is marked unreliable (restoreProducers).
	restoreErr error
}

// startReopen recovers p's log on a goroutine of its own. Recovery reads and
// checks the active segment by CRC — up to log.segment.bytes — and replays
// producer state from the batches after the last snapshot; on the shard's
// thread that would hold every other partition of the shard meanwhile. Until
// finishReopen installs the log the partition has none: produces get
// KAFKA_STORAGE_ERROR, and the shard's periodic work passes it by. The
// goroutine touches only the new log and a scratch partition holding a copy
// of p's producer state.
func (p *partition) startReopen() {
	s := p.shard
	p.reopening = true
	p.noteOffline() // no log until finishReopen, whatever failed the old one
	s.reopensRunning++
	scratch := &partition{key: p.key, topicID: p.topicID, dir: p.dir, shard: s, producers: maps.Clone(p.producers), leaderEpoch: p.leaderEpoch}
	acked := p.ackedBeforeReopen
	go func() {
		r := &reopenResult{p: p}
		l, err := s.openOwnLog(p.key, p.topicID, p.dir, false, nil)
		if err == nil {
			l.SetSealer(nil) // the shard's sealer reports to the shard: not for a log it does not hold yet
		}
		if err == nil && l.NextOffset() < acked {
			if err = s.restoreFromWAL(scratch, l, acked); err != nil {
				l.Close()
			}
		}
		if err != nil {
			r.err = err
		} else {
			scratch.log = l
			r.restoreErr = scratch.restoreProducers(nil, false)
			r.scratch = scratch
		}
		s.reopened <- r
	}()
}

// finishReopen installs a log recovered by startReopen, on the shard.
func (s *shard) finishReopen(r *reopenResult) {
	s.reopensRunning--
	p := r.p
	p.reopening = false
	if r.err != nil {
		s.b.log.Error("reopen failed partition", "topic", p.key.topic, "partition", p.key.partition, "err", r.err)
		s.b.metrics.reopenFailures.Add(1)
		p.failedReopens++
		p.reopenSoon() // no log until a retry succeeds
		return
	}
	p.failedReopens = 0
	p.ackedBeforeReopen = 0
	sc := r.scratch
	p.log = sc.log
	p.log.SetSealer(s.queueSeal)
	p.log.OnFail(p.logFailed)
	if p.log.Failed() != nil {
		p.reopenSoon() // failed before it had the hook (a seal in place)
	}
	p.noteOffline()
	p.producers, p.producersSavedAt, p.producersUnreliable = sc.producers, sc.producersSavedAt, sc.producersUnreliable
	p.txns = sc.txns
	p.producersExpired = p.producersExpired || sc.producersExpired
	p.walUnsafe = true
	if r.restoreErr != nil {
		s.b.log.Error("restore producers after reopen", "topic", p.key.topic, "partition", p.key.partition, "err", r.restoreErr)
	}
	s.b.metrics.reopens.Add(1)
	s.b.log.Info("partition log reopened after a storage fault", "topic", p.key.topic, "partition", p.key.partition, "next_offset", p.log.NextOffset())
	p.wakeWaiters()
}

// awaitReopen waits until p has no reopen running, applying those of other
// partitions that finish meanwhile: a partition is closed or removed only
// once no goroutine holds its directory.
func (s *shard) awaitReopen(p *partition) {
	for p.reopening {
		s.finishReopen(<-s.reopened)
	}
}

// awaitReopens applies every running reopen (shutdown).
func (s *shard) awaitReopens() {
	for s.reopensRunning > 0 {
		s.finishReopen(<-s.reopened)
	}
}

// logErrorCode is what a request for a partition answers when its log
// cannot serve it (0 when it can): UNKNOWN_TOPIC_OR_PARTITION when the
// shard does not hold the partition, KAFKA_STORAGE_ERROR while it has no log
// (being reopened after a storage fault, or that reopen failed), as Kafka
// answers for a partition on an offline log directory.
func logErrorCode(p *partition, held bool) int16 {
	switch {
	case !held:
		return kerr.UnknownTopicOrPartition.Code
	case p.log == nil:
		return kerr.KafkaStorageError.Code
	}
	return 0
}

// removeFiles deletes the directory of a partition that has no log (its
// reopen failed), as Log.Remove does for one that has.
func (p *partition) removeFiles() {
	if err := os.RemoveAll(p.dir); err != nil {
		p.shard.b.log.Error("remove partition", "dir", p.dir, "err", err)
	}
}
