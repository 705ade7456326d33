package engine

import (
	"errors"
	"sync"
	"time"

	"github.com/chronik-go/chronik/engine/partlog"
)

// syncQueueDepth bounds the turns whose fdatasyncs may be pending at once; a
// shard that gets that far ahead of its disk waits, which pushes back on
// producers through the shard mailbox.
const syncQueueDepth = 64

// errSyncStalled answers produces whose fdatasync outlived io.timeout.ms.
var errSyncStalled = errors.New("fdatasync did not finish within io.timeout.ms")

// turnWaiter is an acknowledgement waiting for its shard turn to be durable.
// syncErrs names the partitions whose sync failed (nil when all succeeded).
type turnWaiter func(syncErrs map[*partition]error)

// partSync is one partition's pending sync in a syncJob: a direct sync
// (task), or batches for the shard's WAL, of log. upTo is the log's end
// when the job was made: what a success makes durable.
type partSync struct {
	p       *partition
	task    *partlog.SyncTask
	err     error
	batches [][]byte
	log     *partlog.Log // with batches: the log they were staged in
	upTo    int64
}

// syncJob is one shard turn's syncs and the acknowledgements that wait for them.
type syncJob struct {
	parts     []partSync
	waiters   []turnWaiter
	writeErrs map[*partition]error // partitions whose turn writes failed
	once      sync.Once

	// seq numbers the shard's jobs. A resume job follows a WAL failure:
	// the owner wrote every staged batch and syncs those partitions
	// directly, and WAL items after it may be appended again. A rotate job
	// starts a checkpoint: the WAL moves to a new file there. The
	// checkpoint job follows the owner writing every batch the old file
	// holds: the filesystem is synced and the old file retired. walFailed
	// says the job's WAL items failed.
	seq        uint64
	resume     bool
	rotate     bool
	checkpoint bool
	walFailed  bool
}

// barrier says no later job may share the job's sync group.
func (j *syncJob) barrier() bool { return j.resume || j.rotate || j.checkpoint }

// answer runs the waiters once, with the given failures and the turn's
// write failures.
func (j *syncJob) answer(errs map[*partition]error) {
	if len(j.writeErrs) > 0 {
		if errs == nil {
			errs = make(map[*partition]error, len(j.writeErrs))
		}
		for p, err := range j.writeErrs {
			errs[p] = err
		}
	}
	j.once.Do(func() {
		for _, w := range j.waiters {
			w(errs)
		}
	})
}

// runSyncer performs the shard's fdatasyncs in turn order on its own
// goroutine, so a slow or stalled disk delays acknowledgements but never the
// shard's other work (fetches, appends to other partitions). Jobs that queued
// up while a sync ran are synced together: one fdatasync per partition (or
// one syncfs) answers every turn in the group.
func (s *shard) runSyncer() {
	defer close(s.syncResults)
	defer s.wal.close()
	for job := range s.syncQ {
		group := s.gatherSyncJobs(job)
		deadline := time.AfterFunc(s.b.cfg.IOTimeout, func() {
			s.b.metrics.syncStalls.Add(1)
			s.b.log.Error("fdatasync stalled", "shard", s.id, "turns", len(group), "deadline", s.b.cfg.IOTimeout)
			for _, j := range group {
				errs := make(map[*partition]error, len(j.parts))
				for _, ps := range j.parts {
					errs[ps.p] = errSyncStalled
				}
				j.answer(errs)
			}
		})
		s.syncClock.begin()
		s.appendGroupToWAL(group)
		s.runSyncGroup(group)
		s.syncClock.end()
		deadline.Stop()
		s.afterSyncGroup(group)
		markWALDurable(group)
		for _, j := range group {
			var errs map[*partition]error
			for _, ps := range j.parts {
				if ps.err != nil {
					if errs == nil {
						errs = make(map[*partition]error)
					}
					errs[ps.p] = ps.err
				}
			}
			j.answer(errs)
		}
		for _, j := range group {
			s.syncResults <- j
		}
	}
}

// markWALDurable lets readers see the group's WAL-covered batches before
// they are acknowledged: a fetch sent after an acknowledgement must find the
// batch, and the shard applies the finished job only later (finishWAL),
// possibly after that fetch.
func markWALDurable(group []*syncJob) {
	for _, j := range group {
		for _, ps := range j.parts {
			if ps.batches != nil && ps.err == nil {
				ps.log.MarkDurable(ps.upTo)
			}
		}
	}
}

// gatherSyncJobs returns first and the jobs already queued behind it.
func (s *shard) gatherSyncJobs(first *syncJob) []*syncJob {
	group := []*syncJob{first}
	for len(group) < syncQueueDepth && !group[len(group)-1].barrier() {
		select {
		case j, ok := <-s.syncQ:
			if !ok {
				return group
			}
			group = append(group, j)
		default:
			return group
		}
	}
	return group
}

// appendGroupToWAL appends the WAL items of the group's jobs as one entry
// per job and makes them durable with one fdatasync. After a failed append
// every item fails until a resume job has gone through (afterSyncGroup).
func (s *shard) appendGroupToWAL(group []*syncJob) {
	var items [][]walItem
	for _, j := range group {
		var its []walItem
		for _, ps := range j.parts {
			if ps.batches != nil {
				its = append(its, walItem{key: ps.p.key, topicID: ps.p.topicID, batches: ps.batches})
			}
		}
		if len(its) > 0 {
			items = append(items, its)
		}
	}
	if len(items) == 0 {
		return
	}
	err := s.wal.failed
	if err == nil {
		if err = s.wal.appendItems(items); err != nil {
			s.b.log.Error("write-ahead log append failed; the shard syncs partitions directly until it has resumed", "shard", s.id, "err", err)
			s.wal.failed = err
		}
	}
	if err == nil {
		return
	}
	for _, j := range group {
		for i := range j.parts {
			if ps := &j.parts[i]; ps.batches != nil {
				ps.err = err
				j.walFailed = true
			}
		}
	}
}

// afterSyncGroup applies a group's barrier job: a resume job whose direct
// syncs all succeeded lets WAL appends start again (in a new file); a
// rotate job moves the WAL to a new file; a checkpoint job starts the
// checkpoint of the files rotated out.
func (s *shard) afterSyncGroup(group []*syncJob) {
	last := group[len(group)-1]
	switch {
	case last.resume:
		ok := true
		for _, ps := range last.parts {
			ok = ok && ps.err == nil
		}
		if ok {
			s.wal.failed = nil
		}
	case last.rotate:
		s.wal.rotate()
	case last.checkpoint:
		s.wal.startCheckpoint()
	}
	if s.wal.checkpointDue() {
		s.walCheckpointDue.Store(true)
	}
}

// runSyncGroup syncs each partition of the group's jobs once, with a task
// combining all of its pending tasks, and gives every job that partition's
// outcome. A single job runs as it is.
func (s *shard) runSyncGroup(group []*syncJob) {
	if len(group) == 1 {
		s.runSyncTasks(group[0])
		return
	}
	s.b.metrics.syncGroups.Add(1)
	merged := &syncJob{}
	// Keyed by log, not partition: a partition reopened between two turns
	// has tasks of two logs, and the old one's files are closed.
	at := make(map[*partlog.Log]int)
	for _, j := range group {
		for _, ps := range j.parts {
			if ps.task == nil {
				continue // nothing to sync, or ps.err already says why not
			}
			if i, ok := at[ps.task.Log()]; ok {
				merged.parts[i].task.Absorb(ps.task)
				continue
			}
			task := *ps.task // the job keeps its own task for syncDone
			at[ps.task.Log()] = len(merged.parts)
			merged.parts = append(merged.parts, partSync{p: ps.p, task: &task})
		}
	}
	s.runSyncTasks(merged)
	for _, j := range group {
		for i := range j.parts {
			if ps := &j.parts[i]; ps.task != nil {
				ps.err = merged.parts[at[ps.task.Log()]].err
			}
		}
	}
}

// syncParallelism bounds the fdatasyncs one job runs at once. Concurrent
// fdatasyncs on one filesystem share journal commits, so a turn that touched
// many partitions costs little more than one that touched a few.
const syncParallelism = 64

// runSyncTasks runs the job's syncs, in parallel when there are several.
func (s *shard) runSyncTasks(job *syncJob) {
	run := func(ps *partSync) {
		if ps.task == nil {
			return // nothing pending, or ps.err says the log already failed
		}
		start := time.Now()
		ps.err = ps.task.Run()
		s.b.metrics.observeSync(time.Since(start))
	}
	tasks := 0
	for i := range job.parts {
		if job.parts[i].task != nil {
			tasks++
		}
	}
	if tasks <= 1 {
		for i := range job.parts {
			run(&job.parts[i])
		}
		return
	}
	if min := s.b.cfg.SyncfsMinPartitions; min > 0 && tasks >= min && s.wal.syncerDir != nil && s.b.syncfsTrusted {
		if !s.syncWholeFilesystem(job) {
			return
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, syncParallelism)
	for i := range job.parts {
		sem <- struct{}{}
		wg.Add(1)
		go func(ps *partSync) {
			defer func() { <-sem; wg.Done() }()
			run(ps)
		}(&job.parts[i])
	}
	wg.Wait()
}

// syncWholeFilesystem starts a job's many fdatasyncs with one syncfs of the
// data directory's filesystem: one journal commit writes back every
// partition the turn touched, so fsync cost stops growing with the
// partition count. The tasks' own fdatasyncs then find nothing left to
// write, but each reports its file's writeback errors, which a syncfs
// reports only once per descriptor (an earlier job's syncfs may have taken
// the error of this job's pages); it returns true for them to run. A
// failed syncfs fails every partition of the job, since it cannot say
// whose pages it lost.
func (s *shard) syncWholeFilesystem(job *syncJob) bool {
	err := s.b.syncfs(s.wal.syncerDir)
	s.b.metrics.syncfs.Add(1) // (the partitions' own syncs are counted as they run)
	if err == nil {
		return true
	}
	s.b.syncfsFailed()
	for i := range job.parts {
		if t := job.parts[i].task; t != nil {
			job.parts[i].err = err
			// The syncfs may have cost pages of any of these logs: their
			// tasks already handed to the syncer must fail too.
			t.Fail(err)
		}
	}
	return false
}

// finishSync applies a finished job's outcome to partition state (owner side).
func (s *shard) finishSync(job *syncJob) {
	for _, ps := range job.parts {
		if ps.task != nil {
			ps.p.syncDone(ps.task, ps.err)
		}
	}
	s.finishWAL(job)
}
