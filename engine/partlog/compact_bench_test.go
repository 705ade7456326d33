package partlog

import (
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkCleanStep measures the compaction work one 64 KiB step does on
// the owner goroutine: a log of 16 MiB of updates (4,096 keys, ~1 KiB
// random hex values that compress 2:1, 16 records per batch, 1 MiB
// segments) is compacted in a full pass per iteration. ns/step and
// p99-µs/step are the mean and 99th percentile time of one Clean call;
// MiB/s-in-steps is the step budget's bytes (read, written, decompressed)
// per second of step time.
//
//	go test ./engine/partlog -run '^$' -bench CleanStep -benchtime 5x
func BenchmarkCleanStep(b *testing.B) {
	for _, c := range []struct {
		name  string
		codec int
	}{{"none", codecNone}, {"lz4", codecLZ4}, {"zstd", codecZstd}, {"gzip", codecGzip}} {
		b.Run(c.name, func(b *testing.B) {
			var steps, bytes int64
			var stepTime time.Duration
			var all []time.Duration
			for b.Loop() {
				b.StopTimer()
				l := mustOpen(b, b.TempDir(), Options{SegmentBytes: 1 << 20}, false)
				w := &updateWriter{t: b, l: l, keys: 4096, perB: 16, codec: c.codec, ts: t0.UnixMilli(), valPad: strings.Repeat("v", 1000), rnd: rand.New(rand.NewSource(1))}
				for l.Size() < 16<<20 {
					w.cycle(64)
				}
				b.StartTimer()
				for i := 0; i < 1_000_000; i++ {
					start := time.Now()
					res, err := l.Clean(CleanOptions{MinDirtyRatio: 0.1, StepBytes: 64 << 10})
					d := time.Since(start)
					if err != nil {
						b.Fatal(err)
					}
					steps++
					stepTime += d
					all = append(all, d)
					bytes += res.Bytes
					if res.Task != nil {
						res.Task.Run()
						if err := l.CleanTaskDone(res.Task); err != nil {
							b.Fatal(err)
						}
					}
					if !res.Running {
						break
					}
				}
				b.StopTimer()
				l.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(stepTime.Nanoseconds())/float64(steps), "ns/step")
			slices.Sort(all)
			b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs/step")
			b.ReportMetric(float64(bytes)/stepTime.Seconds()/(1<<20), "MiB/s-in-steps")
		})
	}
}
