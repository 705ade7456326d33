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
// a clean shutdown and after kill -9.
//
//	go test ./e2e -run '^$' -bench Recovery10k -benchtime 3x
func BenchmarkRecovery10kPartitions(b *testing.B) {
	for _, mode := range []string{"clean", "kill9"} {
		b.Run(mode, func(b *testing.B) {
			bp := startBinaryB(b)
			const partitions = 10_000
			createTopicB(b, bp.addr, "recover", partitions)
			cl, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.DefaultProduceTopic("recover"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			for p := int32(0); p < partitions; p++ {
				for i := 0; i < 3; i++ {
					cl.Produce(ctx, &kgo.Record{Partition: p, Value: []byte(fmt.Sprintf("r%d", i))}, nil)
				}
			}
			if err := cl.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			cl.Close()
			b.ResetTimer()
			var total, stopping time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				stopStart := time.Now()
				if mode == "clean" {
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
			if mode == "clean" {
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
