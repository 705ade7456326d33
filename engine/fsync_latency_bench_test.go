package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chronik-go/chronik/bench"
	"github.com/chronik-go/chronik/netpoll"
)

// BenchmarkFsyncAckLatency is the fsynced append latency against the disk's
// own fdatasync latency, in one run: open-loop produce requests (acks=all,
// log.flush.policy=always, one 16-record batch of 1 KiB values each, one
// partition) straight into Broker.Serve at fixed rates, each request on its
// own goroutine so a slow answer never delays the next send; latency is from
// the Serve call to the answer, and how late the generator itself sent
// against its schedule is reported apart (send-lag). Then, with the broker
// stopped, raw 16 KiB write+fdatasync in a loop on the same filesystem. It
// reports both p99s and their ratio (the goal: at most 2), and the
// same for the time to the broker's answer (answered-p99-ms: when Respond is
// called, before the waiting caller is woken). in_flight=1 is the closed-loop
// counterpart of the raw loop: one request at a time, the next sent when the
// previous is answered, so no request waits for a sync it did not join and
// the generator never sleeps between requests. At 1,000 requests/s or fewer
// the raw loop is also run on that schedule (raw-paced-fdatasync-p99-ms,
// p99/raw-paced, raw-paced-missed-slots): a machine idle between requests
// wakes slower for each of them, the raw thread included, and the
// back-to-back loop leaves that out. Both schedules sleep with
// bench.SleepUntil: time.Sleep overslept by up to a millisecond and then sent
// the next request at once, two syncs' worth of queueing.
//
//	go test ./engine -run '^$' -bench FsyncAckLatency -benchtime 10000x -count 3
func BenchmarkFsyncAckLatency(b *testing.B) {
	b.Run("in_flight=1", func(b *testing.B) { benchFsyncAckLatency(b, 0) })
	for _, rate := range []int{1000, 5000, 10000} {
		b.Run(fmt.Sprintf("requests_per_s=%d", rate), func(b *testing.B) {
			benchFsyncAckLatency(b, rate)
		})
	}
}

func benchFsyncAckLatency(b *testing.B, rate int) {
	tb := startBroker(b, benchSettings(b, "log.flush.policy=always")...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := tb.admin().CreateTopic(ctx, 1, 1, nil, "fsync-latency"); err != nil {
		b.Fatal(err)
	}
	frame, partAt := sweepProduceFrame("fsync-latency", sweepSmallBatches)
	lag := make([]time.Duration, b.N) // how late each request left against its schedule
	binary.BigEndian.PutUint32(frame[partAt:], 0)
	// send returns the time from its call to the answer as the caller sees
	// it, and to the broker's handing the answer over (Respond: where a
	// transport starts writing it, one goroutine wake-up earlier); lag
	// records how late the call was against its schedule (the generator's
	// own delay on this machine, reported apart so it does not count as
	// broker latency).
	send := func(intended time.Time, id uint64) (seen, answered time.Duration, err error) {
		start := time.Now()
		if id > 1 {
			lag[id-2] = start.Sub(intended)
		}
		body := slices.Clone(frame)
		r := &sweepResponder{done: make(chan struct{})}
		tb.b.Serve(netpoll.ConnInfo{ID: id, Remote: "bench"}, body, r)
		<-r.done
		return time.Since(start), r.answered.Sub(start), r.err
	}
	if _, _, err := send(time.Now(), 1); err != nil { // creates the segment
		b.Fatal(err)
	}
	// CHRONIK_BENCH_WARMUP=n sends n requests, one at a time, before the
	// measured ones: past a shard's first WAL files, which are zero-filled
	// as they grow (later ones reuse checkpointed files), to see the
	// steady state rather than the first minutes after a start.
	if n, _ := strconv.Atoi(os.Getenv("CHRONIK_BENCH_WARMUP")); n > 0 {
		for i := 0; i < n; i++ {
			if _, _, err := send(time.Now(), 1); err != nil {
				b.Fatal(err)
			}
		}
	}
	// CHRONIK_BENCH_RESTART=1 then stops the broker cleanly and measures
	// a new one on the same data directory: the first seconds after a
	// restart, with the WAL files the last run kept.
	if os.Getenv("CHRONIK_BENCH_RESTART") == "1" {
		tb.restart()
	}

	m0 := tb.b.Metrics()
	lat := make([]time.Duration, b.N)
	edge := make([]time.Duration, b.N)
	errs := make([]error, b.N)
	var interval time.Duration
	if rate > 0 {
		interval = time.Second / time.Duration(rate)
	}
	b.SetBytes(int64(sweepSmallBatches.bytes()))
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; rate == 0 && i < b.N; i++ {
		lat[i], edge[i], errs[i] = send(time.Now(), uint64(i)+2)
	}
	for i := 0; rate > 0 && i < b.N; i++ {
		intended := start.Add(time.Duration(i) * interval)
		bench.SleepUntil(intended) // time.Sleep overslept ~1 ms, then sent two at once
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			lat[i], edge[i], errs[i] = send(intended, uint64(i)+2)
		}(i)
	}
	wg.Wait()
	b.StopTimer()
	m1 := tb.b.Metrics()
	if syncs := m1.Syncs - m0.Syncs; syncs > 0 {
		b.ReportMetric(float64((m1.SyncTime-m0.SyncTime).Microseconds())/float64(syncs)/1000, "engine-fdatasync-avg-ms")
	}
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(lat)
	slices.Sort(edge)
	p99, edgeP99 := lat[len(lat)*99/100], edge[len(edge)*99/100]
	// The raw loops run with the broker stopped (its Close syncs the
	// filesystem): writeback it left in flight, up to a checkpoint's worth
	// behind the WAL, slowed the raw loop's fdatasyncs and flattered the
	// ratio (BENCHMARKS.md, "A light load through the WAL by default").
	tb.stop()
	raw, _ := rawFdatasyncP99(b, filepath.Join(tb.dir, "raw-fdatasync"), min(b.N, 5000), 0)
	if interval >= time.Millisecond { // shorter ones leave a raw sync no idle time between slots
		paced, missed := rawFdatasyncP99(b, filepath.Join(tb.dir, "raw-fdatasync-paced"), min(b.N, 5000), interval)
		b.ReportMetric(float64(paced.Microseconds())/1000, "raw-paced-fdatasync-p99-ms")
		b.ReportMetric(float64(p99)/float64(paced), "p99/raw-paced")
		b.ReportMetric(missed, "raw-paced-missed-slots")
	}
	slices.Sort(lag)
	b.ReportMetric(float64(lag[len(lag)*99/100].Microseconds())/1000, "send-lag-p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(raw.Microseconds())/1000, "raw-fdatasync-p99-ms")
	b.ReportMetric(float64(p99)/float64(raw), "p99/raw")
	b.ReportMetric(float64(edgeP99.Microseconds())/1000, "answered-p99-ms")
	b.ReportMetric(float64(edgeP99)/float64(raw), "answered-p99/raw")
}

// rawFdatasyncP99 appends 16 KiB and fdatasyncs, n times, on path's
// filesystem, and returns the p99 of the write+fdatasync time. A non-zero
// interval starts each write at the next slot of that schedule, instead of
// back to back; a slot already past when the previous sync ends is skipped
// rather than caught up, so every write starts after an idle gap, and
// missed is the share of slots skipped.
func rawFdatasyncP99(b *testing.B, path string, n int, interval time.Duration) (p99 time.Duration, missed float64) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, sweepSmallBatches.bytes())
	lat := make([]time.Duration, n)
	start := time.Now()
	slot, skipped := 0, 0
	for i := range lat {
		if interval > 0 {
			slot++
			if late := time.Since(start.Add(time.Duration(slot) * interval)); late > 0 {
				behind := int(late/interval) + 1
				slot, skipped = slot+behind, skipped+behind
			}
			bench.SleepUntil(start.Add(time.Duration(slot) * interval))
		}
		t := time.Now()
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := fdatasync(f); err != nil {
			b.Fatal(err)
		}
		lat[i] = time.Since(t)
	}
	slices.Sort(lat)
	if interval > 0 {
		missed = float64(skipped) / float64(skipped+n)
	}
	return lat[len(lat)*99/100], missed
}
