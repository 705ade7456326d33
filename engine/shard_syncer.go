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

// partSync is one partition's pending sync in a syncJob.
type partSync struct {
	p    *partition
	task *partlog.SyncTask
	err  error
}

// syncJob is one shard turn's syncs and the acknowledgements that wait for them.
type syncJob struct {
	parts   []partSync
	waiters []turnWaiter
	once    sync.Once
}

// answer runs the waiters once, with the given failures.
func (j *syncJob) answer(errs map[*partition]error) {
	j.once.Do(func() {
		for _, w := range j.waiters {
			w(errs)
		}
	})
}

// runSyncer performs the shard's fdatasyncs in turn order on its own
// goroutine, so a slow or stalled disk delays acknowledgements but never the
// shard's other work (fetches, appends to other partitions).
func (s *shard) runSyncer() {
	defer close(s.syncResults)
	for job := range s.syncQ {
		deadline := time.AfterFunc(s.b.cfg.IOTimeout, func() {
			s.b.metrics.syncStalls.Add(1)
			s.b.log.Error("fdatasync stalled", "shard", s.id, "partitions", len(job.parts), "deadline", s.b.cfg.IOTimeout)
			errs := make(map[*partition]error, len(job.parts))
			for _, ps := range job.parts {
				errs[ps.p] = errSyncStalled
			}
			job.answer(errs)
		})
		var errs map[*partition]error
		for i := range job.parts {
			ps := &job.parts[i]
			if ps.task == nil {
				if ps.err != nil { // the log had already stopped taking writes
					if errs == nil {
						errs = make(map[*partition]error)
					}
					errs[ps.p] = ps.err
				}
				continue
			}
			start := time.Now()
			ps.err = ps.task.Run()
			s.b.metrics.observeSync(time.Since(start))
			if ps.err != nil {
				if errs == nil {
					errs = make(map[*partition]error)
				}
				errs[ps.p] = ps.err
			}
		}
		deadline.Stop()
		job.answer(errs)
		s.syncResults <- job
	}
}

// finishSync applies a finished job's outcome to partition state (owner side).
func (s *shard) finishSync(job *syncJob) {
	for _, ps := range job.parts {
		if ps.task != nil {
			ps.p.syncDone(ps.task, ps.err)
		}
	}
}
