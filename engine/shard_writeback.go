package engine

import (
	"errors"
	"os"

	"github.com/chronik-go/chronik/engine/partlog"
)

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

// startWritebackLoop starts the shard's writeback goroutine; stopWriteback
// ends it once the logs are closed.
func (s *shard) startWritebackLoop() {
	s.writebackQ = make(chan partlog.WritebackHint, writebackQueueDepth)
	s.writebackDone = make(chan struct{})
	go func() {
		defer close(s.writebackDone)
		for h := range s.writebackQ {
			if err := h.File.StartWriteback(h.Off, h.N); err != nil && !errors.Is(err, os.ErrClosed) {
				s.b.log.Warn("start writeback", "segment", h.Path, "err", err)
			}
		}
	}()
}

func (s *shard) stopWritebackLoop() {
	close(s.writebackQ)
	<-s.writebackDone
}

// queueWriteback is the partition logs' Writeback hook. It never blocks:
// logs may call it from the goroutines that close them in parallel.
func (s *shard) queueWriteback(h partlog.WritebackHint) {
	select {
	case s.writebackQ <- h:
	default:
	}
}
