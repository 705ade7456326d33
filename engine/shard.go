package engine

import (
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chronik-go/chronik/engine/partlog"
	"github.com/chronik-go/chronik/numa"
	"github.com/chronik-go/chronik/uring"
)

// shardTurnMax bounds how many mailbox messages one turn runs before it
// commits, so a busy shard still acknowledges promptly.
const shardTurnMax = 256

// shard owns a set of partitions: their logs, producer state and fetch
// waiters. Everything it owns is touched only by its goroutine, so the hot
// path needs no lock; other goroutines talk to it through its mailbox.
type shard struct {
	id      int
	b       *Broker
	mailbox chan func(*shard)
	// overflow keeps submissions in order while the mailbox is full
	// (shard_mailbox.go).
	overflow mailboxOverflow
	quit     chan struct{}
	done     chan struct{}

	parts map[partKey]*partition
	// closedStates is what closeAll kept of each partition for the
	// broker's clean-shutdown marker, by directory name.
	closedStates map[string]partitionCleanState

	// Group commit state of the current turn: partitions with staged
	// appends, partitions to sync, and the acknowledgements that wait.
	toWrite   []*partition
	toSync    []*partition
	afterTurn []turnWaiter

	// The turn's write batch (shard_writes.go); io is the shard's own ring
	// when the write path is io_uring.
	io     uring.ShardOpener
	batch  *uring.Batch
	writes []stagedPart

	// The syncer goroutine's queue and its finished jobs, in turn order.
	syncQ       chan *syncJob
	syncResults chan *syncJob
	jobSeq      uint64

	// The shard's write-ahead log (wal.go), appended to by the syncer.
	// written are this turn's partitions with batches for it (in their
	// turnBatches). walResume asks the next commit for a resume job, after
	// a failed WAL append; lastResume is that job's seq. walCheckpointDue
	// is set by the syncer; checkpointQueued from the owner's rotate job
	// until its checkpoint job has come back.
	wal               *shardWAL
	written           []*partition
	walResume         bool
	lastResume        uint64
	walRetryAt        time.Time
	checkpointRetryAt time.Time
	// The window deciding whether turns use the WAL (shard_wal.go):
	// walWideByParts says the last window chose it for its partitions
	// alone; walWindowBytes counts the bytes appended since walWindowStart.
	walWide        bool
	walWideByParts bool
	walWindow      uint64
	walWindowTurns int
	walWindowParts int
	walWindowBytes int64
	walWindowStart time.Time
	// walReady says the shard's first WAL files are filled, so that its
	// turns can use the WAL without the file growing on the syncer
	// (wal_spare_fill.go); walFileRequested that the fills were started.
	walReady         atomic.Bool
	walFileRequested bool
	walCheckpointDue atomic.Bool
	checkpointQueued bool
	// A running checkpoint (shard_wal.go): the partitions still to write
	// their staged batches before the checkpoint job, and whether the loop
	// has been asked to come back for them.
	checkpointWrites []*partition
	checkpointPoked  bool
	// Quiet partitions whose reserved blocks are still to be freed, a few
	// per turn (shard_quiet_reserve.go).
	quietReserves []*partition

	// Writeback hints of partition logs, run off the shard's thread
	// (shard_writeback.go).
	writebackQ    chan partlog.WritebackHint
	writebackDone chan struct{}
	// Seal tasks of rolled segments, run off the shard's thread
	// (shard_sealer.go).
	sealQ      chan *partlog.SealTask
	sealerDone chan struct{}

	// Partition logs recovered off the shard's thread after a storage
	// fault (partition_reopen.go), and how many are still running.
	reopened       chan *reopenResult
	reopensRunning int

	cleaner shardCleaner // log compaction (compaction.go)

	place numa.Placement // where its thread runs (shard_placement.go)

	// When the current turn, fdatasync group and seal began
	// (shard_activity.go).
	turnClock, syncClock, sealClock activityClock
	// countPending: a metrics scrape's partition count is queued and not
	// yet answered (metrics_export.go).
	countPending atomic.Bool
}

func newShard(b *Broker, id, mailbox int) *shard {
	// With a threshold of one partition every turn qualifies at once.
	wideFromStart := b != nil && b.cfg.WALMinPartitions <= 1
	return &shard{
		id:      id,
		b:       b,
		mailbox: make(chan func(*shard), mailbox),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		parts:   make(map[partKey]*partition),

		writebackQ:    make(chan partlog.WritebackHint, writebackQueueDepth),
		writebackDone: make(chan struct{}),
		sealQ:         make(chan *partlog.SealTask, sealQueueDepth),
		sealerDone:    make(chan struct{}),
		reopened:      make(chan *reopenResult, reopenQueueDepth),

		syncQ:          make(chan *syncJob, syncQueueDepth),
		syncResults:    make(chan *syncJob, syncQueueDepth),
		wal:            newShardWAL(b, id),
		walWide:        wideFromStart,
		walWideByParts: wideFromStart,
		// Window 0 is a new partition's zero value: start past it.
		walWindow: 1,
	}
}

func (s *shard) run() {
	locked := s.ownsThread()
	if locked {
		runtime.LockOSThread() // never unlocked when pinned: see pinThread
		s.pinThread()
	}
	defer close(s.done)
	s.openShardIO()
	if locked && s.io == nil && len(s.place.CPUs) == 0 {
		runtime.UnlockOSThread() // its ring could not be made: nothing is tied to the thread
	}
	defer s.closeShardIO()
	go s.runWriteback()
	defer func() { <-s.writebackDone }()
	go s.runSealer()
	defer func() { <-s.sealerDone }()
	go s.runSyncer()
	retention := time.NewTicker(s.b.cfg.LogRetentionCheckInterval)
	defer retention.Stop()
	producerExpiry := time.NewTicker(s.b.cfg.ProducerIDExpirationCheckInterval)
	defer producerExpiry.Stop()
	s.startCleaner()
	defer s.stopCleaner()
	defer crashOnPanic(s.id)
	for {
		select {
		case fn := <-s.mailbox:
			s.turnClock.begin()
			fn(s)
			s.drain()
			s.commit()
			s.maybeCheckpoint()
			s.turnClock.end()
		case job := <-s.syncResults:
			s.turnClock.begin()
			s.finishSync(job)
			s.turnClock.end()
		case r := <-s.reopened:
			s.finishReopen(r)
		case <-retention.C:
			s.turnClock.begin()
			s.enforceRetention()
			s.turnClock.end()
		case <-producerExpiry.C:
			s.expireProducers()
		case <-s.cleanerC():
			s.turnClock.begin()
			s.runCleaner()
			s.turnClock.end()
		case <-s.quit:
			s.drain()
			s.commit()
			// Let the syncer finish every queued job before logs close.
			close(s.syncQ)
			for job := range s.syncResults {
				s.finishSync(job)
			}
			s.awaitReopens()
			s.closeAll()
			return
		}
	}
}

// crashOnPanic ends the process on a panic in the shard's loop. Left to
// unwind, the panic would stop in the deferred waits above it for the
// shard's helper goroutines, which end only when the loop returns normally:
// every partition of the shard would hang instead of the broker failing
// loudly.
func crashOnPanic(shard int) {
	if r := recover(); r != nil {
		stack := debug.Stack()
		go panic(fmt.Sprintf("shard %d: %v\n\n%s", shard, r, stack))
		select {}
	}
}

func (s *shard) drain() {
	for i := 0; i < shardTurnMax; i++ {
		select {
		case fn := <-s.mailbox:
			fn(s)
		default:
			return
		}
	}
}

// commit ends a turn. First the turn's staged appends go to the kernel in
// one batch (under write-behind, only the partitions that have gathered
// enough; the rest stay staged and go to the WAL alone). Without syncs the
// turn's acknowledgements then go out at once; otherwise one job carries
// every partition's sync or WAL batches and the acknowledgements to the
// syncer, so one fdatasync per partition, or one of the WAL, covers all of
// the turn's appends.
func (s *shard) commit() {
	writeErrs := s.writeTurn()
	defer s.clearWritten()
	if len(s.toSync) == 0 && !s.walResume {
		for _, w := range s.afterTurn {
			w(writeErrs)
		}
		clear(s.afterTurn)
		s.afterTurn = s.afterTurn[:0]
		return
	}
	job := &syncJob{waiters: append([]turnWaiter(nil), s.afterTurn...), writeErrs: writeErrs}
	clear(s.afterTurn)
	s.afterTurn = s.afterTurn[:0]
	if s.walResume {
		s.prepareResume(job)
	}
	for _, p := range s.toSync {
		if !p.queuedForSync {
			continue // already in the job (a resume job syncs every partition)
		}
		if p.turnBatches != nil {
			// Durable through the WAL; the partition file gets the
			// batches later (write-behind).
			p.queuedForSync = false
			p.walInFlight++
			job.parts = append(job.parts, partSync{p: p, batches: p.turnBatches, log: p.log, upTo: p.log.NextOffset()})
			continue
		}
		task, err := p.prepareSync()
		job.parts = append(job.parts, partSync{p: p, task: task, err: err, upTo: p.logEnd()})
	}
	clear(s.toSync)
	s.toSync = s.toSync[:0]
	s.queueJob(job)
}

// queueJob hands a job to the syncer. With 64 turns queued the syncer may
// itself be waiting to hand back finished jobs: take those while waiting for
// room, or both would wait.
func (s *shard) queueJob(job *syncJob) {
	s.jobSeq++
	job.seq = s.jobSeq
	if job.resume {
		s.lastResume = job.seq
	}
	for {
		select {
		case s.syncQ <- job:
			return
		case done := <-s.syncResults:
			s.finishSync(done)
		}
	}
}

// clearWritten forgets the turn's WAL batches.
func (s *shard) clearWritten() {
	for _, p := range s.written {
		p.turnBatches = nil
	}
	clear(s.written)
	s.written = s.written[:0]
}

func (s *shard) enforceRetention() {
	now := time.Now()
	// While a release is under way the next check collects again.
	collect := len(s.quietReserves) == 0
	for _, p := range s.parts {
		p.enforceRetention(now)
		if collect && p.log != nil && p.log.QuietReserve() {
			s.quietReserves = append(s.quietReserves, p)
		}
	}
	if collect {
		s.releaseQuietReserves()
	}
}

// closeParallelism bounds the partitions a shard closes at once on shutdown.
// Each close syncs a few files; running them together lets the filesystem
// share journal commits, so 10,000 partitions close in seconds, not minutes.
const closeParallelism = 64

// closeAll closes every partition. Logs are independent, so closing distinct
// partitions on helper goroutines is safe while the shard waits for them.
func (s *shard) closeAll() {
	var wg sync.WaitGroup
	var mu sync.Mutex
	s.closedStates = make(map[string]partitionCleanState, len(s.parts))
	sem := make(chan struct{}, closeParallelism)
	for k, p := range s.parts {
		sem <- struct{}{}
		wg.Add(1)
		go func(p *partition) {
			defer func() { <-sem; wg.Done() }()
			if st, ok := p.close(); ok {
				mu.Lock()
				s.closedStates[filepath.Base(p.dir)] = st
				mu.Unlock()
			}
		}(p)
		delete(s.parts, k)
	}
	wg.Wait()
}
