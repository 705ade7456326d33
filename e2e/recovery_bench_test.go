package e2e

import (
	"context"
	"fmt"
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
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if mode == "clean" {
					bp.stop()
				} else {
					bp.kill()
				}
				b.StartTimer()
				start := time.Now()
				bp.start()
				total += time.Since(start)
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s/reopen")
		})
	}
}
