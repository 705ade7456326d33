package engine

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkTransactionCommit measures what a transaction costs: the same
// records (b.N batches of 100 records of 1 KiB over 6 partitions, one
// producer, the default flush policy) produced idempotently, and each
// batch as one committed transaction (AddPartitionsToTxn, the produce,
// EndTxn with six markers), side by side in one run.
//
//	go test ./engine -run '^$' -bench TransactionCommit -benchtime 200x -count 3
func BenchmarkTransactionCommit(b *testing.B) {
	tb := startBroker(b)
	createTestTopic(b, tb, "txb", 6)
	value := make([]byte, 1024)
	for _, mode := range []string{"idempotent", "transactional"} {
		b.Run(mode, func(b *testing.B) {
			opts := []kgo.Opt{kgo.DefaultProduceTopic("txb"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner())}
			if mode == "transactional" {
				opts = append(opts, kgo.TransactionalID("bench-"+b.Name()), kgo.TransactionTimeout(time.Minute))
			}
			cl := tb.client(opts...)
			ctx := context.Background()
			b.SetBytes(100 * 1024)
			b.ResetTimer()
			for range b.N {
				if mode == "transactional" {
					if err := cl.BeginTransaction(); err != nil {
						b.Fatal(err)
					}
				}
				for range 100 {
					cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
						if err != nil {
							b.Error(err)
						}
					})
				}
				if err := cl.Flush(ctx); err != nil {
					b.Fatal(err)
				}
				if mode == "transactional" {
					if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
