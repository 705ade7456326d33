package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ProduceResult is what one produce run measured. Throughput counts record
// value bytes only (no keys, headers or batch framing); MB is 10^6 bytes.
type ProduceResult struct {
	Records       int64          `json:"records"`
	Bytes         int64          `json:"bytes"`
	ElapsedSec    float64        `json:"elapsed_s"`
	RecordsPerSec float64        `json:"records_per_s"`
	MBPerSec      float64        `json:"mb_per_s"`
	Latency       LatencySummary `json:"ack_latency"`
	Partitions    int32          `json:"partitions"` // as the broker reports the topic
	Errors        int64          `json:"errors"`
}

// LatencySummary gives per-record ack latency, from the Produce call to the
// record's promise, in milliseconds. In a closed loop it includes time the
// record waited in the client's buffer, as an application's record would.
type LatencySummary struct {
	P50Ms  float64 `json:"p50_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
	MeanMs float64 `json:"mean_ms"`
}

// maxLatencyMicros is the histogram's ceiling; slower acks are recorded at it
// (and the run's max says so). A minute is far beyond any sane ack.
const maxLatencyMicros = int64(60 * time.Second / time.Microsecond)

// RunProduce runs the closed-loop produce workload: it creates the topic if it
// is missing, produces cfg.Warmup records uncounted, then cfg.Records records
// across cfg.Producers clients, each keeping at most cfg.MaxBuffered records
// outstanding. Any failed record fails the run. progress, if not nil, gets a
// live status line rewritten with \r.
func RunProduce(ctx context.Context, cfg ProduceConfig, progress io.Writer) (ProduceResult, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return ProduceResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	partitions, err := EnsureTopic(ctx, cfg.Brokers, cfg.Topic, cfg.Partitions)
	if err != nil {
		return ProduceResult{}, err
	}
	opts, err := cfg.clientOpts()
	if err != nil {
		return ProduceResult{}, err
	}
	clients := make([]*kgo.Client, cfg.Producers)
	for i := range clients {
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			closeAll(clients)
			return ProduceResult{}, fmt.Errorf("producer client %d: %w", i, err)
		}
		clients[i] = cl
	}
	defer closeAll(clients)
	value := recordValue(cfg.RecordSize)

	if cfg.Warmup > 0 {
		if _, err := producePhase(ctx, clients, cfg.Warmup, value, "warm-up", progress, cfg.ProgressEvery); err != nil {
			return ProduceResult{}, timeoutContext(ctx, cfg.Timeout, fmt.Errorf("warm-up: %w", err))
		}
	}
	ph, err := producePhase(ctx, clients, cfg.Records, value, "produce", progress, cfg.ProgressEvery)
	res := ProduceResult{
		Records:    ph.acked,
		Bytes:      ph.acked * int64(cfg.RecordSize),
		ElapsedSec: ph.elapsed.Seconds(),
		Partitions: partitions,
		Errors:     ph.failed,
	}
	if err != nil {
		return res, timeoutContext(ctx, cfg.Timeout, err)
	}
	if secs := ph.elapsed.Seconds(); secs > 0 {
		res.RecordsPerSec = float64(res.Records) / secs
		res.MBPerSec = float64(res.Bytes) / secs / 1e6
	}
	res.Latency = summarizeLatency(ph.hist)
	return res, nil
}

// phaseOutcome is what one phase of produce calls measured.
type phaseOutcome struct {
	acked, failed int64
	elapsed       time.Duration
	hist          *hdrhistogram.Histogram
}

// producePhase produces total records split over clients and waits for every
// ack. The first failure cancels the phase and is returned.
func producePhase(ctx context.Context, clients []*kgo.Client, total int64, value []byte,
	label string, progress io.Writer, every time.Duration) (phaseOutcome, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		acked, failed atomic.Int64
		errOnce       sync.Once
		firstErr      error
	)
	fail := func(err error) {
		failed.Add(1)
		errOnce.Do(func() {
			firstErr = err
			cancel()
		})
	}

	stopProgress := startProgress(progress, label, total, &acked, every)
	hists := make([]*hdrhistogram.Histogram, len(clients))
	var wg sync.WaitGroup
	start := time.Now()
	for i, cl := range clients {
		share := total / int64(len(clients))
		if int64(i) < total%int64(len(clients)) {
			share++
		}
		hist := hdrhistogram.New(1, maxLatencyMicros, 3)
		hists[i] = hist
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range share {
				if ctx.Err() != nil {
					break
				}
				sent := time.Now()
				cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
					if err != nil {
						fail(fmt.Errorf("produce record: %w", err))
						return
					}
					micros := min(max(time.Since(sent).Microseconds(), 1), maxLatencyMicros)
					// kgo runs one client's promises serially, and Flush
					// returns only after the last one, so hist needs no lock.
					_ = hist.RecordValue(micros) // in range by construction
					acked.Add(1)
				})
			}
			if err := cl.Flush(ctx); err != nil {
				fail(fmt.Errorf("flush: %w", err))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()

	out := phaseOutcome{acked: acked.Load(), failed: failed.Load(), elapsed: elapsed}
	if firstErr != nil {
		// Promises of a cancelled phase may still be running: leave the
		// histograms alone.
		return out, fmt.Errorf("%w (%d of %d records acked, %d failed)", firstErr, out.acked, total, out.failed)
	}
	if out.acked != total {
		return out, fmt.Errorf("only %d of %d records acked", out.acked, total)
	}
	out.hist = hdrhistogram.New(1, maxLatencyMicros, 3)
	for _, h := range hists {
		out.hist.Merge(h)
	}
	return out, nil
}

// startProgress prints "label: acked/total, rate" every period until the
// returned func is called, which clears the line. A nil w prints nothing.
func startProgress(w io.Writer, label string, total int64, acked *atomic.Int64, every time.Duration) func() {
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ticker := time.NewTicker(every)
		defer ticker.Stop()
		last, lastAt := int64(0), time.Now()
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case now := <-ticker.C:
				n := acked.Load()
				rate := float64(n-last) / now.Sub(lastAt).Seconds()
				last, lastAt = n, now
				fmt.Fprintf(w, "\r\033[K%s: %d/%d acked (%.1f%%), %.0f records/s", label, n, total, 100*float64(n)/float64(total), rate)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

func summarizeLatency(h *hdrhistogram.Histogram) LatencySummary {
	if h.TotalCount() == 0 {
		return LatencySummary{}
	}
	ms := func(micros int64) float64 { return float64(micros) / 1000 }
	return LatencySummary{
		P50Ms:  ms(h.ValueAtQuantile(50)),
		P99Ms:  ms(h.ValueAtQuantile(99)),
		P999Ms: ms(h.ValueAtQuantile(99.9)),
		MaxMs:  ms(h.Max()),
		MeanMs: h.Mean() / 1000,
	}
}

// timeoutContext rewords a failure caused by the run's deadline so the user
// sees "timed out", not a bare context error from deep in the client.
func timeoutContext(ctx context.Context, limit time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("run timed out after %s (raise --timeout): %w", limit, err)
	}
	return err
}

// recordValue returns size bytes of deterministic pseudo-random data. Random
// bytes do not compress, so --compression measures codec cost, not a
// best-case ratio; the fixed seed makes runs identical.
func recordValue(size int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	v := make([]byte, size)
	for i := range v {
		v[i] = byte(r.Uint32())
	}
	return v
}

func closeAll(clients []*kgo.Client) {
	for _, cl := range clients {
		if cl != nil {
			cl.Close()
		}
	}
}

// EnsureTopic creates topic with the given partitions (replication factor 1)
// unless it exists, then waits until every partition has a leader, and
// returns the partition count the broker reports.
func EnsureTopic(ctx context.Context, brokers []string, topic string, partitions int32) (int32, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return 0, fmt.Errorf("admin client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, partitions, 1, nil, topic); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return 0, fmt.Errorf("create topic %s: %w", topic, err)
	}
	return waitForLeaders(ctx, adm, topic)
}

// waitForLeaders polls Metadata until every partition of topic has a leader
// and returns the partition count. A broker may answer CreateTopics before
// its partitions are served; producing then only adds client retries.
func waitForLeaders(ctx context.Context, adm *kadm.Client, topic string) (int32, error) {
	for {
		n, err := leadersReady(ctx, adm, topic)
		if err == nil {
			return n, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("topic %s not ready: %w (last: %v)", topic, ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func leadersReady(ctx context.Context, adm *kadm.Client, topic string) (int32, error) {
	topics, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return 0, err
	}
	td, ok := topics[topic]
	if !ok {
		return 0, fmt.Errorf("topic %s not in metadata", topic)
	}
	if td.Err != nil {
		return 0, td.Err
	}
	if len(td.Partitions) == 0 {
		return 0, fmt.Errorf("topic %s has no partitions yet", topic)
	}
	for _, p := range td.Partitions {
		if p.Err != nil {
			return 0, fmt.Errorf("partition %d: %w", p.Partition, p.Err)
		}
		if p.Leader < 0 {
			return 0, fmt.Errorf("partition %d has no leader", p.Partition)
		}
	}
	return int32(len(td.Partitions)), nil
}
