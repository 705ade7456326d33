package engine

import "github.com/chronik-go/chronik/engine/partlog"

// A roll seals the full segment with an fdatasync that, under sustained
// writes, waits for up to a segment's worth of writeback (hundreds of
// milliseconds past the dirty-page limits). The shard hands those seal
// tasks to its sealer goroutine so that its thread keeps appending; a
// partition has at most one seal pending (its next roll waits for it).

// sealQueueDepth bounds the seals waiting for the sealer; past it a roll
// seals on the shard's thread, as if the disk's backlog were its own. A
// variable so that tests can reach that path.
var sealQueueDepth = 1024

// runSealer runs the shard's seal tasks until the shard is told to quit;
// tasks still queued then are run by their logs' Close.
func (s *shard) runSealer() {
	defer close(s.sealerDone)
	for {
		select {
		case t := <-s.sealQ:
			s.sealClock.begin()
			err := t.Run()
			s.sealClock.end()
			s.sealRan(t, err)
		case <-s.quit:
			return
		}
	}
}

// sealFailed applies a failed seal to its log at once, on the shard: the log
// stops taking writes, and its partition (logFailed) is reopened from disk
// and named offline meanwhile, even if nothing is appended to it after the
// roll. A log closed or replaced since is left as it is (ApplySeal).
func (s *shard) sealFailed(t *partlog.SealTask) { t.Log().ApplySeal() }

// queueSeal is the partition logs' Sealer hook.
func (s *shard) queueSeal(t *partlog.SealTask) {
	select {
	case s.sealQ <- t:
	default:
		// Inside the log's roll: the failure is applied in a later call
		// (sealRan), as for one the sealer ran.
		s.sealRan(t, t.Run())
	}
}

// sealRan reports a seal that failed and has the shard apply the failure
// (sealFailed) once the current call is over.
func (s *shard) sealRan(t *partlog.SealTask, err error) {
	if err == nil {
		return
	}
	s.b.log.Error("seal rolled segment", "segment_base", t.Base(), "err", err)
	s.submit(func(s *shard) { s.sealFailed(t) })
}
