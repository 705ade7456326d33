package engine

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-go/chronik/uring"
)

// TestWriteTurnReopensLogFailedInTurn fails a partition's log within a turn
// that queued a write for it (as a seal failure applied in that turn does)
// and arms no reopen: the turn's commit, which answers the write
// KAFKA_STORAGE_ERROR, must arm one, even when no other partition wrote in
// that turn. A reopen attempted earlier in the turn gave way to the queued
// write (reopenIfFailed), and a quiet partition then stayed failed until
// its next produce.
func TestWriteTurnReopensLogFailedInTurn(t *testing.T) {
	fo := newFaultOpener(uring.PwriteOpener{})
	tb := startBrokerWith(t, fo, "num.shards=1", "log.flush.policy=never")
	createTestTopic(t, tb, "wt", 1)
	cl := fetchClient(tb)
	if r := produceRaw(t, cl, "wt", 0, 11, rawBatch(10, -1, -1, -1)); r.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(r.ErrorCode))
	}
	k := partKey{"wt", 0}
	s := tb.b.shardFor(k)
	fo.setSync("wt-0/", syscall.EIO)
	onShard(t, s, func(s *shard) {
		p := s.parts[k]
		if err := p.log.Sync(); err == nil || p.log.Failed() == nil {
			t.Errorf("sync under EIO: %v, failed %v", err, p.log.Failed())
		}
		p.queueWrite()
	})
	fo.setSync("wt-0/", nil)
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if tb.b.Metrics().Reopens == 0 {
			return fmt.Errorf("the log failed in a turn was not reopened")
		}
		return nil
	})
	if r := produceRaw(t, cl, "wt", 0, 11, rawBatch(10, -1, -1, -1)); r.ErrorCode != 0 || r.BaseOffset != 10 {
		t.Fatalf("produce after the reopen: %v at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
}
