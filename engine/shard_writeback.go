package engine

import "github.com/chronik-go/chronik/engine/partlog"

// Bytes a partition writes behind the WAL are next made durable by a
// checkpoint's syncfs; starting their writeback early (sync_file_range)
// keeps that syncfs short. The call can block for milliseconds when the
// disk's queue is full, so the shard hands it to its writeback goroutine
// instead of making it on its own thread, where it would hold up every
// request of the turn.

// writebackQueueDepth bounds the hints waiting for the writeback goroutine;
// past it hints are dropped: the disk is behind already, and a hint only
// moves work the checkpoint's syncfs does anyway.
const writebackQueueDepth = 4096

// runWriteback runs the shard's writeback hints until the shard is told to
// quit; hints still queued then are dropped, as the shutdown syncs the
// filesystem anyway.
func (s *shard) runWriteback() {
	defer close(s.writebackDone)
	for {
		select {
		case h := <-s.writebackQ:
			h.Run(s.b.log)
		case <-s.quit:
			return
		}
	}
}

// queueWriteback is the partition logs' Writeback hook. It never blocks,
// and may be called from any goroutine: logs are closed in parallel.
func (s *shard) queueWriteback(h partlog.WritebackHint) {
	select {
	case s.writebackQ <- h:
	default:
	}
}
