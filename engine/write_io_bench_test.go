package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/chronik-go/chronik/uring"
)

// BenchmarkProduceWriteIO puts the two write paths side by side in one run:
// pwrite and the io_uring ring, with and without fsync on every write,
// reporting throughput and the p99 of per-record ack latency.
//
//	go test ./engine -run '^$' -bench ProduceWriteIO -benchtime 100000x -count 3
func BenchmarkProduceWriteIO(b *testing.B) {
	for _, parts := range []int32{1, 100} {
		for _, policy := range []string{"always", "never"} {
			for _, walIO := range []string{"pwrite", "uring"} {
				b.Run(fmt.Sprintf("partitions=%d/flush=%s/io=%s", parts, policy, walIO), func(b *testing.B) {
					benchProduceWriteIO(b, parts, policy, walIO)
				})
			}
		}
	}
}

func benchProduceWriteIO(b *testing.B, parts int32, policy, walIO string) {
	opener, err := uring.Select(walIO, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatalf("wal.io=%s: %v", walIO, err)
	}
	if c, ok := opener.(interface{ Close() error }); ok {
		defer c.Close()
	}
	tb := startBrokerWith(b, opener, benchSettings(b, "log.flush.policy="+policy)...)
	topic := fmt.Sprintf("io-%d", parts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := tb.admin().CreateTopic(ctx, parts, 1, nil, topic); err != nil {
		b.Fatal(err)
	}
	cl := tb.client(kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.MaxBufferedRecords(10_000), kgo.ProducerLinger(0))
	value := make([]byte, 1024)
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	produce := func(p int32, record bool) {
		start := time.Now()
		cl.Produce(ctx, &kgo.Record{Value: value, Partition: p}, func(_ *kgo.Record, err error) {
			if err != nil {
				b.Error(err)
				return
			}
			if record {
				d := time.Since(start)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	for p := int32(0); p < parts; p++ {
		produce(p, false)
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		produce(int32(i)%parts, true)
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}
