package engine

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/chronik-go/chronik/internal/testpki"
)

// BenchmarkListenerProduce measures what the SSL listener costs a produce:
// one franz-go producer, acks=all, b.N single 100-byte records each waited
// for (ProduceSync), to one partition of a broker served by the gnet
// event loops (the default), by the std transport, and by the std
// transport with TLS (ECDSA P-256, TLS 1.3), side by side in one run. It
// reports the median and p99 of the round trips.
//
//	go test ./engine -run '^$' -bench ListenerProduce -benchtime 3000x -count 5
func BenchmarkListenerProduce(b *testing.B) {
	pki := testpki.New(b)
	for _, listener := range []string{"gnet", "std", "tls"} {
		b.Run(listener, func(b *testing.B) {
			tb := &testBroker{t: b, dir: b.TempDir(), sets: []string{"net.transport=" + map[string]string{"gnet": "gnet", "std": "std", "tls": "std"}[listener]}}
			if listener == "tls" {
				tb.sets = append(tb.sets, "listeners=SSL://127.0.0.1:0")
				tb.tls, tb.clientTLS = pki.ServerTLS(b), pki.ClientTLS(false)
			}
			launchBroker(tb)
			createTestTopic(b, tb, "lp", 1)
			cl := tb.client(kgo.DefaultProduceTopic("lp"), kgo.ProducerLinger(0))
			ctx := context.Background()
			value := make([]byte, 100)
			for range 200 { // the connection, the partition's first writes
				if err := cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil {
					b.Fatal(err)
				}
			}
			took := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if err := cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
		})
	}
}
