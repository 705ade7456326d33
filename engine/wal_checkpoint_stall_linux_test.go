package engine

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// A WAL checkpoint whose syncfs stalls past io.timeout.ms is reported (a
// metric and an error log) about then, and holds no acknowledgement:
// produces go on through the WAL meanwhile. Once the syncfs returns, the
// checkpoint finishes and the partition holds every acknowledged batch.
func TestStalledWALCheckpointIsReportedAndHoldsNoAppend(t *testing.T) {
	var stall atomic.Bool
	release := make(chan struct{})
	var releaseOnce sync.Once
	unstall := func() { releaseOnce.Do(func() { stall.Store(false); close(release) }) }
	defer unstall()
	syncfs := func(f *os.File) error {
		if stall.Load() {
			<-release
		}
		return syncFilesystem(f)
	}
	sets := []string{"num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1",
		"log.flush.wal.checkpoint.bytes=65536", "io.timeout.ms=1000"}
	tb := launchBroker(&testBroker{t: t, dir: t.TempDir(), sets: sets, syncfs: syncfs})
	createTestTopic(t, tb, "ckpt", 1)
	cl := fetchClient(tb)
	var acked []int64
	batch := sweepBatch(sweepSmallBatches) // 16 KiB
	produce := func() {
		t.Helper()
		r := produceRaw(t, cl, "ckpt", 0, 7, slices.Clone(batch))
		if r.ErrorCode != 0 {
			t.Fatalf("produce while a checkpoint stalls: %v", kerr.ErrorForCode(r.ErrorCode))
		}
		acked = append(acked, r.BaseOffset)
	}
	stall.Store(true)
	for range 6 { // 96 KiB: past the checkpoint size
		produce()
	}
	start := time.Now()
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if n := tb.b.Metrics().WALCheckpointStalls; n == 0 {
			return fmt.Errorf("no stalled checkpoint reported after %v", time.Since(start))
		}
		return nil
	})
	for range 12 { // twice the checkpoint size again, all acknowledged
		produce()
	}
	if n := tb.b.Metrics().WALCheckpoints; n != 0 {
		t.Fatalf("%d checkpoints finished while their syncfs stalled", n)
	}
	unstall()
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if n := tb.b.Metrics().WALCheckpoints; n == 0 {
			return fmt.Errorf("the checkpoint has not finished since its syncfs returned")
		}
		return nil
	})
	if got := readBatchOffsets(t, cl, "ckpt"); !slices.Equal(got, acked) {
		t.Fatalf("ckpt-0 holds %v, want the acknowledged %v", got, acked)
	}
}
