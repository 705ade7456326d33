package raftmeta

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/chronik-go/chronik/engine/meta"
)

// BenchmarkProposeCreateTopic100 measures one CreateTopics of a 100-partition
// topic end to end: encode, raft, one log write + fdatasync, apply, publish.
// Each created topic is deleted again outside the timer so the cluster holds
// a steady number of topics.
func BenchmarkProposeCreateTopic100(b *testing.B) {
	for _, existing := range []int{0, 1000} {
		b.Run(fmt.Sprintf("topics=%d", existing), func(b *testing.B) {
			s := openStore(b, b.TempDir(), Options{})
			defer closeStore(b, s)
			mustApply(b, s, registerBroker(1))
			for i := range existing {
				mustApply(b, s, createTopic(fmt.Sprintf("existing-%d", i), uint32(1<<30+i), 10))
			}
			ctx := context.Background()
			syncs := s.syncs.count.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := s.Propose(ctx, []meta.Op{createTopic("bench", uint32(i+1), 100)})
				if err != nil || res[0].Err != nil {
					b.Fatalf("create: %v %v", err, res)
				}
				b.StopTimer()
				mustApply(b, s, meta.Op{Kind: meta.OpDeleteTopics, Names: []string{"bench"}})
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(float64(s.syncs.count.Load()-syncs)/float64(2*b.N), "syncs/proposal")
		})
	}
}

// BenchmarkProposeCreateDeleteTopic100Parallel runs many proposers at once,
// each creating a 100-partition topic and deleting it again (one op = both
// proposals), to show concurrent proposals sharing Ready batches and syncs.
func BenchmarkProposeCreateDeleteTopic100Parallel(b *testing.B) {
	s := openStore(b, b.TempDir(), Options{})
	defer closeStore(b, s)
	mustApply(b, s, registerBroker(1))
	var next atomic.Uint32
	syncs := s.syncs.count.Load()
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			n := next.Add(1)
			name := fmt.Sprintf("p-%d", n)
			for _, op := range []meta.Op{createTopic(name, n, 100), {Kind: meta.OpDeleteTopics, Names: []string{name}}} {
				res, err := s.Propose(ctx, []meta.Op{op})
				if err != nil || res[0].Err != nil {
					b.Errorf("%s %s: %v %v", op.Kind, name, err, res)
					return
				}
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(s.syncs.count.Load()-syncs)/float64(2*b.N), "syncs/proposal")
}
