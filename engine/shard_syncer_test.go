package engine

import (
	"testing"
	"time"
)

// A turn's commit must not wait on a full sync queue while the syncer waits
// to hand back a finished job: commit takes finished jobs while it waits, so
// the syncer can go on draining the queue.
func TestCommitTakesFinishedSyncsWhileTheQueueIsFull(t *testing.T) {
	s := newShard(nil, 0, 1)
	for range syncQueueDepth {
		s.syncQ <- &syncJob{}
		s.syncResults <- &syncJob{}
	}
	// The syncer, with a job finished and nowhere to put it, drains the
	// queue only after it has handed that job back.
	go func() {
		s.syncResults <- &syncJob{}
		for range s.syncQ {
		}
	}()
	committed := make(chan struct{})
	go func() {
		s.toSync = append(s.toSync, &partition{shard: s}) // nothing to sync: a job all the same
		s.commit()
		close(committed)
	}()
	select {
	case <-committed:
	case <-time.After(10 * time.Second):
		t.Fatal("commit and the syncer are waiting on each other")
	}
	close(s.syncQ)
}
