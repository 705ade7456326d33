package engine

import (
	"sync/atomic"
	"time"

	"github.com/chronik-go/chronik/engine/partlog"
)

// Log compaction (cleanup.policy=compact and compact,delete) runs on the
// shard that owns the partition, so it needs no lock against appends and
// fetches: the shard's cleaner takes one partition at a time, the dirtiest
// one past its min.cleanable.dirty.ratio, and advances its pass one small
// step per timer tick. The steps interleave with mailbox messages in the
// shard's select, and a token bucket (log.cleaner.io.max.bytes.per.second)
// spaces them, so a produce waits at most one step for the cleaner. Swapping
// a cleaned group in takes several fdatasyncs (the cleaned files, a manifest,
// the directory); they run on a goroutine of their own, like the syncer's,
// and the shard applies the result when it comes back.
const (
	// cleanerStepBytes bounds one step: reading, filtering and writing this
	// much takes well under a millisecond for uncompressed batches.
	cleanerStepBytes = 64 << 10
	// cleanerBurst is how many steps' worth of tokens an idle cleaner saves.
	cleanerBurst = 4 * cleanerStepBytes
	// cleanerYields is how many ticks in a row a step gives way to mailbox
	// messages already waiting, cleanerYieldDelay apart; then it runs anyway,
	// so a busy shard still compacts.
	cleanerYields     = 8
	cleanerYieldDelay = 500 * time.Microsecond
)

// shardCleaner is one shard's compaction state, touched only by the shard.
type shardCleaner struct {
	timer   *time.Timer // nil when log.cleaner.enable is false
	current *partition  // the partition whose pass is running
	tokens  float64     // bytes the cleaner may still read and write
	refill  time.Time   // when tokens were last refilled
	// swapping is set while a swap task runs; its completion re-arms the
	// timer.
	swapping bool
	yielded  int // ticks in a row the step gave way to the mailbox
	// paused stops the cleaner between steps, so a benchmark can compare
	// the same load with and without compaction in one run.
	paused bool

	passes atomic.Int64 // passes finished, for tests and metrics
	bytes  atomic.Int64 // bytes read and written by steps
}

func (s *shard) startCleaner() {
	if !s.b.cfg.LogCleanerEnable {
		return
	}
	s.cleaner.timer = time.NewTimer(s.b.cfg.LogCleanerBackoff)
	s.cleaner.refill = time.Now()
}

func (s *shard) stopCleaner() {
	if s.cleaner.timer != nil {
		s.cleaner.timer.Stop()
	}
}

// cleanerC fires when the cleaner's next step (or look for work) is due;
// nil, never ready, when the cleaner is off.
func (s *shard) cleanerC() <-chan time.Time {
	if s.cleaner.timer == nil {
		return nil
	}
	return s.cleaner.timer.C
}

// runCleaner takes one cleaner step and arms the timer for the next.
func (s *shard) runCleaner() {
	c := &s.cleaner
	if c.swapping {
		return // the swap's completion re-arms the timer
	}
	if c.paused {
		c.timer.Reset(s.b.cfg.LogCleanerBackoff)
		return
	}
	now := time.Now()
	rate := float64(s.b.cfg.LogCleanerIOMaxBytesPerSecond)
	c.tokens = min(c.tokens+rate*now.Sub(c.refill).Seconds(), max(cleanerBurst, rate/100))
	c.refill = now
	if c.current != nil && !c.current.compactable() {
		if p := c.current; !p.closed && p.log != nil {
			p.log.StopCleaning() // e.g. cleanup.policy no longer has compact
		}
		c.current = nil
	}
	if c.current == nil {
		if c.current = s.dirtiestPartition(now); c.current == nil {
			c.timer.Reset(s.b.cfg.LogCleanerBackoff)
			return
		}
	}
	step := min(cleanerStepBytes, int64(rate))
	if c.tokens < float64(step) {
		c.timer.Reset(time.Duration((float64(step) - c.tokens) / rate * float64(time.Second)))
		return
	}
	if len(s.mailbox) > 0 && c.yielded < cleanerYields {
		// Requests are waiting: they go first.
		c.yielded++
		c.timer.Reset(cleanerYieldDelay)
		return
	}
	c.yielded = 0
	p := c.current
	res, err := p.log.Clean(p.cleanOptions(now, step))
	c.tokens -= float64(res.Bytes)
	c.bytes.Add(res.Bytes)
	if res.Task != nil {
		s.runSwap(p, p.log, res.Task)
		return
	}
	if res.Done {
		c.passes.Add(1)
		st := p.log.CleanerStats()
		s.b.log.Debug("compaction pass finished", "topic", p.key.topic, "partition", p.key.partition,
			"first_dirty_offset", st.FirstDirtyOffset, "records_removed", st.RecordsRemoved)
	}
	if err != nil {
		s.b.log.Error("log compaction", "topic", p.key.topic, "partition", p.key.partition, "err", err)
		c.current = nil
		c.timer.Reset(s.b.cfg.LogCleanerBackoff)
		return
	}
	if !res.Running {
		c.current = nil // look for the next dirty partition at once
	}
	c.timer.Reset(0)
}

// runSwap runs a cleaned group's swap off the shard and applies it on the
// shard when done. The log may have been closed or replaced meanwhile: Close
// then waited for the task and applied it itself.
func (s *shard) runSwap(p *partition, l *partlog.Log, t *partlog.CleanTask) {
	s.cleaner.swapping = true
	go func() {
		t.Run()
		s.submit(func(s *shard) {
			s.cleaner.swapping = false
			if p.log == l {
				if err := l.CleanTaskDone(t); err != nil {
					s.b.log.Error("log compaction swap", "topic", p.key.topic, "partition", p.key.partition, "err", err)
				}
			}
			s.cleaner.timer.Reset(0)
		})
	}()
}

// dirtiestPartition picks the compacted partition whose cleanable bytes are
// the dirtiest share, among those due for a pass.
func (s *shard) dirtiestPartition(now time.Time) *partition {
	var best *partition
	bestRatio := -1.0
	for _, p := range s.parts {
		if !p.compactable() {
			continue
		}
		ratio, due, err := p.log.CleanPriority(p.cleanOptions(now, cleanerStepBytes))
		if err != nil {
			s.b.log.Error("log compaction", "topic", p.key.topic, "partition", p.key.partition, "err", err)
			continue
		}
		if due && ratio > bestRatio {
			best, bestRatio = p, ratio
		}
	}
	return best
}

// compactable reports whether the partition is open, healthy and of a
// compacted topic.
func (p *partition) compactable() bool {
	return !p.closed && p.log != nil && p.log.Failed() == nil && p.shard.b.settingsFor(p.key.topic).compact
}

func (p *partition) cleanOptions(now time.Time, stepBytes int64) partlog.CleanOptions {
	st := p.shard.b.settingsFor(p.key.topic)
	return partlog.CleanOptions{
		Now:                now,
		DeleteRetention:    msDuration(st.deleteRetentionMs),
		MinCompactionLag:   msDuration(st.minCompactionLagMs),
		MaxCompactionLag:   msDuration(st.maxCompactionLagMs),
		MinDirtyRatio:      st.minCleanableRatio,
		MaxKeyBytes:        p.shard.b.cfg.LogCleanerDedupeBufferSize / int64(len(p.shard.b.shards)),
		StepBytes:          stepBytes,
		LastProducerBatch:  p.isLastProducerBatch,
		TxnBatch:           p.txnBatchOutcome,
		LastProducerMarker: p.isLastProducerMarker,
		AbortedTxnGone:     p.abortedTxnGone,
		BeforeMarkersGo:    p.snapshotBeforeMarkersGo,
		// Until the start settles, the last clean stop's state may still be
		// adopted; unreliable producer state cannot be saved first.
		KeepMarkers:  !p.shard.b.startSettled.Load() || p.producersUnreliable,
		StableOffset: p.lastStableOffset,
	}
}

// isLastProducerBatch reports whether the batch at base is the newest batch
// of producer pid: compaction keeps it, empty if need be, so the producer's
// sequence state survives a restart (Kafka does the same).
func (p *partition) isLastProducerBatch(pid, base int64) bool {
	ps := p.producers[pid]
	return ps != nil && len(ps.Batches) > 0 && ps.Batches[len(ps.Batches)-1].BaseOffset == base
}

// cleanerPasses sums the compaction passes finished on every shard.
func (b *Broker) cleanerPasses() int64 {
	var n int64
	for _, s := range b.shards {
		n += s.cleaner.passes.Load()
	}
	return n
}
