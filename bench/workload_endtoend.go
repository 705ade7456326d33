package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// EndToEndConfig runs producers and consumers at once and measures, for
// every record, the time from its intended send to a consumer having it.
type EndToEndConfig struct {
	Produce   ProduceConfig `json:"produce"`
	Consumers int           `json:"consumers"`
	// Drain bounds the wait, after the last ack, for consumers to read the
	// rest; default 30s.
	Drain time.Duration `json:"drain_ns"`
}

// EndToEndResult is what an end-to-end run measured.
type EndToEndResult struct {
	Produce ProduceResult `json:"produce"`
	// Latency is intended send time (stamped in the record) to the record
	// returned by a consumer's poll, for measured (not warm-up) records.
	// Producer and consumer run in this process, on one clock.
	Latency  LatencySummary `json:"e2e_latency"`
	Consumed int64          `json:"consumed"`
	Verified string         `json:"verified"`
}

// RunEndToEnd starts cfg.Consumers consumers at the topic's end offsets,
// runs the produce workload, waits until every acknowledged record has been
// read, and checks they are exactly the records written.
func RunEndToEnd(ctx context.Context, cfg EndToEndConfig, progress io.Writer) (EndToEndResult, error) {
	pc := cfg.Produce.WithDefaults()
	if err := pc.Validate(); err != nil {
		return EndToEndResult{}, err
	}
	if pc.RecordSize < StampSize {
		return EndToEndResult{}, fmt.Errorf("record size %d: end-to-end records carry a %d-byte stamp", pc.RecordSize, StampSize)
	}
	if cfg.Consumers == 0 {
		cfg.Consumers = 1
	}
	if cfg.Consumers < 1 {
		return EndToEndResult{}, fmt.Errorf("consumers %d: need at least 1", cfg.Consumers)
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, pc.Timeout)
	defer cancel()

	partitions, err := EnsureTopic(ctx, pc.Brokers, pc.Topic, pc.Partitions)
	if err != nil {
		return EndToEndResult{}, err
	}
	bounds, err := listPartitionBounds(ctx, pc.Brokers, pc.Topic)
	if err != nil {
		return EndToEndResult{}, err
	}
	for i := range bounds {
		bounds[i].start, bounds[i].end = bounds[i].end, -1 // from now on, without end
	}
	readers := dealPartitions(bounds, cfg.Consumers)
	ccfg := ConsumeConfig{Brokers: pc.Brokers, Topic: pc.Topic, Consumers: cfg.Consumers}.WithDefaults()
	latency := make([]*latencyRecorder, len(readers))
	for i := range latency {
		latency[i] = newLatencyRecorder()
	}
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	type readOutcome struct {
		verifiers []*recordVerifier
		err       error
	}
	readDone := make(chan readOutcome, 1)
	var consumed, target atomic.Int64
	target.Store(math.MaxInt64) // until the producers know how many they wrote
	caughtUp := make(chan struct{}, 1)
	go func() {
		vs, err := runReadersIndexed(readCtx, ccfg, readers, func(i int, _ *kgo.Record, s recordStamp) {
			if !s.Warmup {
				latency[i].record(time.Duration(time.Now().UnixNano() - s.IntendedNs))
			}
			if consumed.Add(1) >= target.Load() {
				select {
				case caughtUp <- struct{}{}:
				default:
				}
			}
		})
		readDone <- readOutcome{vs, err}
	}()

	w, err := newProduceWriter(pc, progress)
	if err != nil {
		return EndToEndResult{}, err
	}
	defer w.close()
	pres, perr := w.run(ctx)
	pres.Partitions = partitions
	res := EndToEndResult{Produce: pres}
	if perr != nil {
		stopReading()
		<-readDone
		return res, timeoutContext(ctx, pc.Timeout, perr)
	}
	want := pres.Stream.Records()
	target.Store(want)
	drain := time.NewTimer(cfg.Drain)
	defer drain.Stop()
	var out readOutcome
	if consumed.Load() < want {
		select {
		case <-caughtUp:
		case out = <-readDone: // a reader failed
			res.Consumed = consumed.Load()
			return res, out.err
		case <-drain.C:
			stopReading()
			out = <-readDone
			res.Consumed = consumed.Load()
			return res, errors.Join(out.err, fmt.Errorf("consumers read %d of %d records within %s of the last ack", res.Consumed, want, cfg.Drain))
		case <-ctx.Done():
		}
	}
	stopReading()
	out = <-readDone
	res.Consumed = consumed.Load()
	if out.err != nil {
		return res, out.err
	}
	v := out.verifiers[0]
	for _, o := range out.verifiers[1:] {
		v.merge(o)
	}
	if err := v.check(&pres.Stream); err != nil {
		return res, err
	}
	res.Verified = "exactly the records written (ids, count, CRC-32C checksum)"
	res.Latency = summarizeLatency(mergeRecorders(latency))
	return res, nil
}

// runReadersIndexed is runReaders with the reader's index passed along, so
// per-reader state needs no lock.
func runReadersIndexed(ctx context.Context, cfg ConsumeConfig, readers [][]partitionBounds, onRecord func(int, *kgo.Record, recordStamp)) ([]*recordVerifier, error) {
	// runReaders calls onRecord on reader i's goroutine; find i from the
	// record's partition, which belongs to exactly one reader.
	owner := make(map[int32]int)
	for i, parts := range readers {
		for _, p := range parts {
			owner[p.partition] = i
		}
	}
	return runReaders(ctx, cfg, readers, func(r *kgo.Record, s recordStamp) {
		onRecord(owner[r.Partition], r, s)
	})
}
