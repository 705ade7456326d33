package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkRecovery10kPartitions times how long the broker takes from process
// start to accepting connections with 10,000 partitions that hold data, after
// a clean shutdown and after kill -9, and reports the graceful stops' time.
// In mode "clean" only the first stop follows writes; in "clean-written"
// every partition takes one more record before each stop, so that every
// stop has all partitions' state to persist.
//
//	go test ./e2e -run '^$' -bench Recovery10k -benchtime 3x
func BenchmarkRecovery10kPartitions(b *testing.B) {
	for _, mode := range []string{"clean", "clean-written", "kill9"} {
		b.Run(mode, func(b *testing.B) {
			bp := startBinaryB(b)
			const partitions = 10_000
			createTopicB(b, bp.addr, "recover", partitions)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			writeAll := func(records int) {
				cl, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.DefaultProduceTopic("recover"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
				if err != nil {
					b.Fatal(err)
				}
				defer cl.Close()
				for p := int32(0); p < partitions; p++ {
					for i := 0; i < records; i++ {
						cl.Produce(ctx, &kgo.Record{Partition: p, Value: []byte(fmt.Sprintf("r%d", i))}, nil)
					}
				}
				if err := cl.Flush(ctx); err != nil {
					b.Fatal(err)
				}
			}
			writeAll(3)
			b.ResetTimer()
			var total, stopping time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if mode == "clean-written" && i > 0 {
					writeAll(1)
				}
				stopStart := time.Now()
				if mode != "kill9" {
					bp.stop()
				} else {
					bp.kill()
				}
				stopping += time.Since(stopStart)
				b.Logf("stop %d: %v %s", i, time.Since(stopStart), lastLineWith(bp.stderr.String(), "partitions closed"))
				b.StartTimer()
				start := time.Now()
				bp.start()
				total += time.Since(start)
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/reopen")
			if mode != "kill9" {
				b.ReportMetric(stopping.Seconds()/float64(b.N), "s/graceful-stop")
			}
		})
	}
}

func lastLineWith(s, sub string) string {
	out := ""
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = l
		}
	}
	return out
}
