package engine

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkProduceWhileCleaning measures the produce latency one client sees
// (sequential acks=all produces of 100-byte records to a partition of its
// own) while the same shard takes a steady 4 MiB/s of updates to a compacted
// topic, with the log cleaner running and paused in alternating 200 ms
// phases of one run, so that both sides see the same load and the same
// noise from the rest of the machine. num.shards=1 puts the probe, the
// updates and the cleaner on one shard: the worst case. The compacted topic
// starts with 32 MiB of dirty segments (4,096 keys, 1 KiB values), so the
// cleaner has work all along; cleaned-MiB/s is its rate in running phases.
//
// The sub-benchmarks set log.cleaner.io.max.bytes.per.second.
//
//	go test ./engine -run '^$' -bench ProduceWhileCleaning -benchtime 40000x
func BenchmarkProduceWhileCleaning(b *testing.B) {
	for _, rate := range []int{8 << 20, 32 << 20} {
		b.Run(fmt.Sprintf("io=%dMiB/s", rate>>20), func(b *testing.B) {
			benchProduceWhileCleaning(b, rate)
		})
	}
}

func benchProduceWhileCleaning(b *testing.B, rate int) {
	tb := startBroker(b, benchSettings(b, "num.shards=1", "log.cleaner.backoff.ms=10", "log.cleaner.io.max.bytes.per.second="+strconv.Itoa(rate))...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	adm := tb.admin()
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{
		"cleanup.policy":            kadm.StringPtr("compact"),
		"segment.bytes":             kadm.StringPtr(strconv.Itoa(1 << 20)),
		"min.cleanable.dirty.ratio": kadm.StringPtr("0.01"),
	}, "updates"); err != nil {
		b.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "probe"); err != nil {
		b.Fatal(err)
	}
	sh := tb.b.shards[0]
	setPaused := tb.pauseCleaner
	setPaused(true)

	const keys, valueSize = 4096, 1024
	updates := tb.client(kgo.DefaultProduceTopic("updates"), kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.MaxBufferedRecords(1<<16))
	value := make([]byte, valueSize)
	seq := 0
	update := func() {
		k := fmt.Sprintf("key-%04d", seq%keys)
		seq++
		updates.Produce(ctx, &kgo.Record{Key: []byte(k), Value: value}, func(_ *kgo.Record, err error) {
			if err != nil && ctx.Err() == nil {
				b.Error(err)
			}
		})
	}
	for i := 0; i < 32<<20/valueSize; i++ {
		update()
	}
	if err := updates.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				for i := 0; i < 4<<20/valueSize/100; i++ {
					update()
				}
			}
		}
	}()

	// Phases: the probe files each latency under the phase it started in;
	// odd phases run the cleaner.
	var phase atomic.Int64
	var runningTime time.Duration
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		since := time.Now()
		for {
			select {
			case <-stop:
				if phase.Load()%2 == 1 {
					runningTime += time.Since(since)
				}
				return
			case <-tick.C:
				on := phase.Load()%2 == 0
				setPaused(!on)
				if !on {
					runningTime += time.Since(since)
				}
				since = time.Now()
				phase.Add(1)
			}
		}
	}()

	probe := tb.client(kgo.DefaultProduceTopic("probe"), kgo.ProducerLinger(0))
	rec := func() *kgo.Record { return &kgo.Record{Value: make([]byte, 100)} }
	for i := 0; i < 100; i++ { // warm the connection
		if err := probe.ProduceSync(ctx, rec()).FirstErr(); err != nil {
			b.Fatal(err)
		}
	}
	cleanedBefore, passesBefore := sh.cleaner.bytes.Load(), tb.b.cleanerPasses()
	var with, without []time.Duration
	perPhase := map[int64][]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ph := phase.Load()
		t := time.Now()
		if err := probe.ProduceSync(ctx, rec()).FirstErr(); err != nil {
			b.Fatal(err)
		}
		d := time.Since(t)
		if ph%2 == 1 {
			with = append(with, d)
		} else {
			without = append(without, d)
		}
		perPhase[ph] = append(perPhase[ph], d)
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	setPaused(true)
	updates.Flush(ctx)

	pct := func(lat []time.Duration, p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		slices.Sort(lat)
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds())
	}
	// The median over phases of each phase's p99 shrugs off the few phases
	// that another process on the machine disturbed.
	var phaseP99 [2][]float64
	for ph, lat := range perPhase {
		if len(lat) >= 200 {
			phaseP99[ph%2] = append(phaseP99[ph%2], pct(lat, 0.99))
		}
	}
	median := func(v []float64) float64 {
		if len(v) == 0 {
			return 0
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	b.ReportMetric(median(phaseP99[0]), "phase-p99-paused-µs")
	b.ReportMetric(median(phaseP99[1]), "phase-p99-cleaning-µs")
	b.ReportMetric(pct(without, 0.50), "p50-paused-µs")
	b.ReportMetric(pct(with, 0.50), "p50-cleaning-µs")
	b.ReportMetric(pct(without, 0.99), "p99-paused-µs")
	b.ReportMetric(pct(with, 0.99), "p99-cleaning-µs")
	b.ReportMetric(pct(with, 0.99)/pct(without, 0.99), "p99-ratio")
	b.ReportMetric(float64(sh.cleaner.bytes.Load()-cleanedBefore)/runningTime.Seconds()/(1<<20), "cleaned-MiB/s")
	b.ReportMetric(float64(tb.b.cleanerPasses()-passesBefore), "passes")
}
