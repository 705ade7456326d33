package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// BenchmarkGroupRebalance measures, on the real binary, the time from a new
// member joining a stable group of N consumers to every member (the new one
// included) consuming again, that is, each has received a record produced
// after the join began; each join comes at a random point of the members'
// heartbeat cycle. The plain variants run clients with their defaults
// (franz-go: 3s classic heartbeats; KIP-848: the broker's 5s heartbeat
// interval), as a user would see it; the -hb500ms ones heartbeat every
// 500ms, which shows the protocol's own cost. Run it with
//
//	go test ./e2e -run '^$' -bench BenchmarkGroupRebalance -benchtime 10x -timeout 60m
//
// and read the median in ms/join; min and max show the spread.
func BenchmarkGroupRebalance(b *testing.B) {
	fast := kgo.HeartbeatInterval(500 * time.Millisecond)
	protocols := []struct {
		name string
		hb   time.Duration // the members' heartbeat interval
		sets []string      // broker settings
		opts []kgo.Opt
	}{
		{"eager-range", 3 * time.Second, nil, []kgo.Opt{kgo.Balancers(kgo.RangeBalancer())}},
		{"cooperative-sticky", 3 * time.Second, nil, []kgo.Opt{kgo.Balancers(kgo.CooperativeStickyBalancer())}},
		{"kip848-uniform", 5 * time.Second, nil, []kgo.Opt{kgo.ServerSideBalancer(), kgo.Balancers(kgo.CooperativeStickyBalancer())}},
		{"eager-range-hb500ms", 500 * time.Millisecond, nil, []kgo.Opt{kgo.Balancers(kgo.RangeBalancer()), fast}},
		{"cooperative-sticky-hb500ms", 500 * time.Millisecond, nil, []kgo.Opt{kgo.Balancers(kgo.CooperativeStickyBalancer()), fast}},
		{"kip848-uniform-hb500ms", 500 * time.Millisecond, []string{"group.consumer.heartbeat.interval.ms=500"},
			[]kgo.Opt{kgo.ServerSideBalancer(), kgo.Balancers(kgo.CooperativeStickyBalancer())}},
	}
	for _, n := range []int{10, 100} {
		for _, p := range protocols {
			b.Run(fmt.Sprintf("members=%d/%s", n, p.name), func(b *testing.B) {
				benchRebalance(b, n, p.hb, p.sets, p.opts)
			})
		}
	}
}

// freshTracker is a member's newest produce time seen, in unix nanos.
type freshTracker struct{ newest atomic.Int64 }

func benchRebalance(b *testing.B, n int, hb time.Duration, sets []string, opts []kgo.Opt) {
	bp := startBinaryB(b, append([]string{"group.initial.rebalance.delay.ms=0"}, sets...)...)
	topic := "rebalance"
	partitions := int32(n + n/5 + 2) // every member, the newcomer too, gets one
	waitServing(b, bp.addr)
	createTopicB(b, bp.addr, topic, partitions)

	// Every partition gets a record every 50ms stamped with its produce
	// time, so a member that owns partitions sees fresh records within that.
	stop := make(chan struct{})
	var prodWG sync.WaitGroup
	prodWG.Add(1)
	go func() {
		defer prodWG.Done()
		cl, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.DefaultProduceTopic(topic),
			kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
		if err != nil {
			panic(err)
		}
		defer cl.Close()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			now := time.Now().UnixNano()
			for p := int32(0); p < partitions; p++ {
				v := binary.BigEndian.AppendUint64(nil, uint64(now))
				cl.Produce(context.Background(), &kgo.Record{Partition: p, Value: v}, nil)
			}
		}
	}()
	defer func() { close(stop); prodWG.Wait() }()

	type benchMember struct {
		cl    *kgo.Client
		fresh *freshTracker
		done  chan struct{}
	}
	startOne := func(i int) *benchMember {
		m := &benchMember{fresh: &freshTracker{}, done: make(chan struct{})}
		cl, err := kgo.NewClient(append([]kgo.Opt{
			kgo.SeedBrokers(bp.addr), kgo.ClientID(fmt.Sprintf("m%d", i)),
			kgo.ConsumerGroup("rebalance-group"), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()),
		}, opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		m.cl = cl
		go func() {
			defer close(m.done)
			for {
				fs := cl.PollFetches(context.Background())
				if fs.IsClientClosed() {
					return
				}
				fs.EachRecord(func(r *kgo.Record) {
					if len(r.Value) == 8 {
						if ts := int64(binary.BigEndian.Uint64(r.Value)); ts > m.fresh.newest.Load() {
							m.fresh.newest.Store(ts)
						}
					}
				})
			}
		}()
		return m
	}
	closeOne := func(m *benchMember) {
		m.cl.Close()
		<-m.done
	}
	allFresh := func(ms []*benchMember, since time.Time, limit time.Duration) time.Duration {
		deadline := since.Add(limit)
		for {
			ok := true
			for _, m := range ms {
				if m.fresh.newest.Load() <= since.UnixNano() {
					ok = false
					break
				}
			}
			if ok {
				return time.Since(since)
			}
			if time.Now().After(deadline) {
				b.Fatalf("members not all consuming %v after the join", limit)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}

	// stable waits until the group is Stable with want members: no
	// rebalance of the previous step still runs into the next one.
	admin, err := kgo.NewClient(kgo.SeedBrokers(bp.addr))
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	stable := func(want int) {
		deadline := time.Now().Add(3 * time.Minute)
		for {
			req := kmsg.NewPtrDescribeGroupsRequest()
			req.Groups = []string{"rebalance-group"}
			resp, err := req.RequestWith(context.Background(), admin)
			if err == nil && resp.Groups[0].State == "Stable" && len(resp.Groups[0].Members) == want {
				return
			}
			if time.Now().After(deadline) {
				b.Fatalf("group not stable with %d members within 3m", want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	members := make([]*benchMember, n)
	for i := range members {
		members[i] = startOne(i)
	}
	defer func() {
		for _, m := range members {
			closeOne(m)
		}
	}()
	stable(n)
	allFresh(members, time.Now(), 3*time.Minute) // the group is up and every member consumes

	var took []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		// After a rebalance every member's heartbeat timer restarts at
		// once; a newcomer arrives at a random point of that cycle.
		b.StopTimer()
		time.Sleep(rand.N(hb))
		b.StartTimer()
		start := time.Now()
		joiner := startOne(n + i)
		took = append(took, allFresh(append(members, joiner), start, 3*time.Minute))
		b.StopTimer()
		closeOne(joiner)
		stable(n)
		allFresh(members, time.Now(), 3*time.Minute) // settled again without it
		b.StartTimer()
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "ms/join")
	b.ReportMetric(float64(took[0].Milliseconds()), "min-ms")
	b.ReportMetric(float64(took[len(took)-1].Milliseconds()), "max-ms")
	b.ReportMetric(0, "ns/op")
}

// waitServing waits until the broker answers requests: it listens a moment
// before it serves, and closes connections that come in between.
func waitServing(b *testing.B, addr string) {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := cl.Ping(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("broker not serving within 30s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
