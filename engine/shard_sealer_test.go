package engine

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-go/chronik/uring"
)

// TestFailedInlineSealIsApplied is TestFailedSealIsAppliedWithoutFurtherWrites
// for a seal the shard ran on its own thread because the sealer's queue was
// full (here: no queue, and the sealer held in another partition's seal).
// Its failure must fail the log at once too, not wait for a later write.
func TestFailedInlineSealIsApplied(t *testing.T) {
	old := sealQueueDepth
	sealQueueDepth = 0
	t.Cleanup(func() { sealQueueDepth = old })
	fo := newFaultOpener(uring.PwriteOpener{})
	tb := startBrokerWith(t, fo, "num.shards=1", "log.flush.policy=never", "log.segment.bytes=1024")
	createTestTopic(t, tb, "sb", 1)
	createTestTopic(t, tb, "sf", 1)
	cl := fetchClient(tb)
	for _, topic := range []string{"sb", "sf"} {
		if r := produceRaw(t, cl, topic, 0, 11, rawBatch(200, -1, -1, -1)); r.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(r.ErrorCode))
		}
	}
	// The sealer waits in sb's seal meanwhile.
	release := fo.blockSync("sb-0/00000000000000000000.")
	defer release()
	if r := produceRaw(t, cl, "sb", 0, 11, rawBatch(200, -1, -1, -1)); r.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(r.ErrorCode))
	}
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if fo.blockedSyncs.Load() == 0 {
			return fmt.Errorf("the sealer has not started sb's seal")
		}
		return nil
	})
	fo.setSync("sf-0/00000000000000000000.", syscall.EIO)
	// sf rolls: with the sealer busy its seal runs on the shard, and fails.
	// The produce that rolled may learn of it (the failure is applied in
	// its turn) and is then not written.
	next := int64(400)
	switch r := produceRaw(t, cl, "sf", 0, 11, rawBatch(200, -1, -1, -1)); {
	case r.ErrorCode == kerr.KafkaStorageError.Code:
		next = 200
	case r.ErrorCode != 0 || r.BaseOffset != 200:
		t.Fatalf("produce that rolls: %v at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if !tb.b.offline.has(partKey{"sf", 0}) {
			return fmt.Errorf("the log whose inline seal failed is not offline")
		}
		return nil
	})
	release()
	fo.setSync("sf-0/00000000000000000000.", nil)
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		if tb.b.offline.has(partKey{"sf", 0}) {
			return fmt.Errorf("partition offline after its reopen")
		}
		return nil
	})
	if r := produceRaw(t, cl, "sf", 0, 11, rawBatch(200, -1, -1, -1)); r.ErrorCode != 0 || r.BaseOffset != next {
		t.Fatalf("produce after the reopen: %v at %d, want %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset, next)
	}
}
