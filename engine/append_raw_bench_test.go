package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chronik-go/chronik/bench"
)

// rawShape is one produce request's batch in BenchmarkAppendAgainstRawDisk:
// 63 records of 16 KiB, about the 1 MiB writes of the raw disk figures and
// under the default message.max.bytes.
var rawShape = sweepShape{records: 63, valueBytes: 16 << 10}

// BenchmarkAppendAgainstRawDisk puts the storage engine's append rate next to
// what the data directory's filesystem does without a broker, in the same
// run: 64 concurrent producers send produce requests (acks=all) of one
// ~1 MiB batch to one partition straight into Broker.Serve; then, on the same
// filesystem, the raw figures of make bench (bench.MeasureDisk) — sequential
// 1 MiB writes into the page cache for flush=never, 1 MiB write+fdatasync in
// a loop for flush=always. of-raw is the ratio of the two rates (record
// values only against bytes written), the goals being 0.9 for never
// and 0.6 for always; p99 is per-request ack latency, next to the raw
// fdatasync p99. For never it also runs minimalAppendPipeline on the same
// filesystem: pipeline-of-raw is what copying, checking and writing each
// batch, and nothing else, reaches against the raw loop on this machine, and
// of-pipeline is the broker against that; of-raw-reserved is the broker
// against the raw loop writing into blocks reserved ahead, as the broker's
// busy segments are (bench.MeasureReservedSeqWrite). Keep -benchtime × 1 MiB well under the kernel's dirty page
// limits (vm.dirty_background_ratio): past them both sides are throttled to
// the device's writeback rate and the comparison says nothing.
//
//	go test ./engine -run '^$' -bench AppendAgainstRawDisk -benchtime 300x -count 3
func BenchmarkAppendAgainstRawDisk(b *testing.B) {
	for _, flush := range []string{"never", "always"} {
		for _, walIO := range []string{"pwrite", "uring"} {
			b.Run(fmt.Sprintf("flush=%s/io=%s", flush, walIO), func(b *testing.B) {
				// Start with no dirty pages left by the run before.
				unix.Sync()
				tb := startSweepBroker(b, walIO, "log.flush.policy="+flush)
				res := runSweepLoad(b, tb, 1, rawShape)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				raw, err := bench.MeasureDisk(ctx, bench.DiskConfig{
					Dir:       tb.dir,
					SeqBytes:  int64(res.n * rawShape.bytes()),
					SyncSizes: []int{1 << 20},
					SyncFor:   2 * time.Second,
				})
				if err != nil {
					b.Fatal(err)
				}
				ref := raw.SeqWriteMBPerSec
				if flush == "always" {
					synced, _ := raw.SyncedAt(1 << 20)
					ref = synced.MBPerSec
					b.ReportMetric(synced.Fdatasync.P99Ms, "raw-fdatasync-p99-ms")
				}
				b.ReportMetric(res.megabytesPerSec(), "MB/s")
				b.ReportMetric(ref, "raw-MB/s")
				b.ReportMetric(res.megabytesPerSec()/ref, "of-raw")
				b.ReportMetric(res.p99ms(), "p99-ms")
				b.ReportMetric(res.syncsPerOp(), "syncs/op")
				b.ReportMetric(res.writeBusy(), "write-busy")
				if flush == "never" {
					unix.Sync() // the pipeline starts as the broker did
					frame, _ := sweepProduceFrame("minimal", rawShape)
					floor := minimalAppendPipeline(b, tb.dir, res.n, frame, rawShape)
					b.ReportMetric(floor/ref, "pipeline-of-raw")
					b.ReportMetric(res.megabytesPerSec()/floor, "of-pipeline")
					unix.Sync()
					if reserved, err := bench.MeasureReservedSeqWrite(ctx, tb.dir, int64(res.n*rawShape.bytes())); err == nil {
						b.ReportMetric(reserved, "raw-reserved-MB/s")
						b.ReportMetric(res.megabytesPerSec()/reserved, "of-raw-reserved")
					} else {
						b.Logf("no raw reference into reserved blocks: %v", err)
					}
				}
			})
		}
	}
}
