package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkProduceFlushSweep measures acks=all produce throughput as the
// partition count grows, with every write fsynced (log.flush.policy=always)
// and without fsync (never) side by side, so the cost of syncing many
// partitions per shard turn shows apart from the cost of many partitions.
// Every partition receives a record before the timer starts, so file creation
// is not measured.
//
//	go test ./engine -run '^$' -bench ProduceFlushSweep -benchtime 200000x
func BenchmarkProduceFlushSweep(b *testing.B) {
	for _, parts := range []int32{1, 100, 1000, 10000} {
		for _, policy := range []string{"always", "never"} {
			b.Run(fmt.Sprintf("partitions=%d/flush=%s", parts, policy), func(b *testing.B) {
				benchProduceFlush(b, parts, policy)
			})
		}
	}
}

func benchProduceFlush(b *testing.B, parts int32, policy string) {
	tb := startBroker(b, benchSettings(b, "log.flush.policy="+policy)...)
	topic := fmt.Sprintf("sweep-%d", parts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := tb.admin().CreateTopic(ctx, parts, 1, nil, topic); err != nil {
		b.Fatal(err)
	}
	cl := tb.client(kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.MaxBufferedRecords(100_000), kgo.ProducerLinger(2*time.Millisecond))
	value := make([]byte, 1024)
	produce := func(p int32) {
		cl.Produce(ctx, &kgo.Record{Value: value, Partition: p}, func(_ *kgo.Record, err error) {
			if err != nil {
				b.Error(err)
			}
		})
	}
	for p := int32(0); p < parts; p++ {
		produce(p)
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	syncsBefore := tb.b.Metrics().Syncs
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		produce(int32(i) % parts)
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(tb.b.Metrics().Syncs-syncsBefore)/elapsed.Seconds(), "fsyncs/s")
}
