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
	Mode          string         `json:"mode"`          // "closed" (as fast as it goes) or "open" (fixed rate)
	TargetRate    float64        `json:"target_rate"`   // open loop: records/s asked for
	Records       int64          `json:"records"`       // measured records acked
	Bytes         int64          `json:"bytes"`         // their value bytes
	ElapsedSec    float64        `json:"elapsed_s"`     // first send to last ack
	RecordsPerSec float64        `json:"records_per_s"` // achieved
	MBPerSec      float64        `json:"mb_per_s"`      // achieved
	Latency       LatencySummary `json:"ack_latency"`
	// SendLag is how late the generator itself sent records against their
	// schedule (open loop only). It is part of Latency; when it is not far
	// below Latency, the figures measure the client machine, not the broker.
	SendLag    LatencySummary `json:"send_lag,omitzero"`
	Partitions int32          `json:"partitions"` // as the broker reports the topic
	Errors     int64          `json:"errors"`
	// Stream is every record written, warm-up included, for a consumer to
	// verify. Empty when values are too small to carry a stamp.
	Stream StreamSummary `json:"stream"`
}

// RunProduce runs the produce workload: it creates the topic if it is
// missing, produces cfg.Warmup records uncounted (closed loop), then the
// measured phase: cfg.Records records, or for cfg.Duration, across
// cfg.Producers clients. Closed loop (Rate 0) keeps up to cfg.MaxBuffered
// records outstanding per client and measures ack latency from the Produce
// call. Open loop sends each record at its scheduled time and measures
// latency from that intended time, so time a record spent waiting for a
// slow broker (or a full client buffer) counts, as it would for an
// application with its own schedule; coordinated omission is avoided. Any
// failed record fails the run. progress, if not nil, gets a live status line
// rewritten with \r.
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
	w, err := newProduceWriter(cfg, progress)
	if err != nil {
		return ProduceResult{}, err
	}
	defer w.close()
	res, err := w.run(ctx)
	res.Partitions = partitions
	return res, timeoutContext(ctx, cfg.Timeout, err)
}

// produceWriter holds a produce run's clients and the state that continues
// from the warm-up into the measured phase: each producer's next sequence
// number and what it has had acknowledged.
type produceWriter struct {
	cfg       ProduceConfig
	clients   []*kgo.Client
	producers []*producerState
	tag       uint32
	payload   []byte // RecordSize bytes of filler; the stamp overwrites the head
	stamped   bool
	records   sync.Pool // *kgo.Record with a RecordSize value, reused after its promise
	progress  io.Writer
}

// producerState is one producer's counters. Its client runs promises one
// at a time, but the progress line reads acked concurrently.
type producerState struct {
	nextSeq  uint64 // producer goroutine only
	acked    atomic.Int64
	checksum atomic.Uint64
}

func newProduceWriter(cfg ProduceConfig, progress io.Writer) (*produceWriter, error) {
	opts, err := cfg.clientOpts()
	if err != nil {
		return nil, err
	}
	w := &produceWriter{
		cfg:      cfg,
		tag:      rand.Uint32(),
		payload:  recordValue(cfg.RecordSize),
		stamped:  cfg.RecordSize >= StampSize,
		progress: progress,
	}
	w.records.New = func() any { return &kgo.Record{} }
	for i := range cfg.Producers {
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("producer client %d: %w", i, err)
		}
		w.clients = append(w.clients, cl)
		w.producers = append(w.producers, &producerState{})
	}
	return w, nil
}

func (w *produceWriter) close() { closeAll(w.clients) }

func (w *produceWriter) run(ctx context.Context) (ProduceResult, error) {
	cfg := w.cfg
	res := ProduceResult{Mode: "closed", TargetRate: cfg.Rate}
	if cfg.openLoop() {
		res.Mode = "open"
	}
	if cfg.Warmup > 0 {
		if _, err := w.phase(ctx, phaseSpec{label: "warm-up", warmup: true, records: cfg.Warmup}); err != nil {
			return res, fmt.Errorf("warm-up: %w", err)
		}
	}
	ph, err := w.phase(ctx, phaseSpec{label: "produce", records: cfg.Records, duration: cfg.Duration, rate: cfg.Rate})
	res.Records, res.Errors = ph.acked, ph.failed
	res.Bytes = ph.acked * int64(cfg.RecordSize)
	res.ElapsedSec = ph.elapsed.Seconds()
	res.Stream = w.stream()
	if err != nil {
		return res, err
	}
	if secs := ph.elapsed.Seconds(); secs > 0 {
		res.RecordsPerSec = float64(res.Records) / secs
		res.MBPerSec = float64(res.Bytes) / secs / 1e6
	}
	res.Latency = summarizeLatency(ph.latency)
	if cfg.openLoop() {
		res.SendLag = summarizeLatency(ph.lag)
	}
	return res, nil
}

// stream summarises every record acknowledged so far.
func (w *produceWriter) stream() StreamSummary {
	if !w.stamped {
		return StreamSummary{}
	}
	s := StreamSummary{Tag: w.tag, Sent: make([]int64, len(w.producers))}
	for i, p := range w.producers {
		s.Sent[i] = p.acked.Load()
		s.Checksum += p.checksum.Load()
	}
	return s
}

// phaseSpec is one phase of sending: a record count, or a duration when
// duration is set; at a fixed rate when rate is set.
type phaseSpec struct {
	label    string
	warmup   bool
	records  int64
	duration time.Duration
	rate     float64
}

// phaseOutcome is what one phase measured.
type phaseOutcome struct {
	acked, failed int64
	elapsed       time.Duration
	latency, lag  *hdrhistogram.Histogram
}

// phase sends records over all clients and waits for every ack. The first
// failure cancels the phase and is returned.
func (w *produceWriter) phase(ctx context.Context, spec phaseSpec) (phaseOutcome, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		failed   atomic.Int64
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		failed.Add(1)
		errOnce.Do(func() {
			firstErr = err
			cancel()
		})
	}
	n := len(w.clients)
	ackedBefore := make([]int64, n)
	for i, p := range w.producers {
		ackedBefore[i] = p.acked.Load()
	}
	acked := func() int64 {
		var sum int64
		for i, p := range w.producers {
			sum += p.acked.Load() - ackedBefore[i]
		}
		return sum
	}
	latency := make([]*latencyRecorder, n)
	lag := make([]*latencyRecorder, n)
	for i := range latency {
		latency[i], lag[i] = newLatencyRecorder(), newLatencyRecorder()
	}
	total := spec.records
	if spec.duration > 0 {
		total = 0 // the duration, not a count, ends the phase
	}
	stopProgress := progressLine{
		w: w.progress, label: spec.label, verb: "acked", total: total, duration: spec.duration,
		recordSize: w.cfg.RecordSize, count: acked, latency: latency,
	}.start(w.cfg.ProgressEvery)

	var wg sync.WaitGroup
	start := time.Now()
	for i := range w.clients {
		share := spec.records / int64(n)
		if int64(i) < spec.records%int64(n) {
			share++
		}
		if spec.duration > 0 {
			share = -1 // until the duration ends
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.sendLoop(ctx, i, spec, share, start, latency[i], lag[i], fail)
			if err := w.clients[i].Flush(ctx); err != nil {
				fail(fmt.Errorf("flush: %w", err))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()

	out := phaseOutcome{acked: acked(), failed: failed.Load(), elapsed: elapsed}
	if firstErr != nil {
		// Promises of a cancelled phase may still be running: leave the
		// histograms alone.
		of := ""
		if spec.duration == 0 {
			of = fmt.Sprintf(" of %d", spec.records)
		}
		return out, fmt.Errorf("%w (%d%s records acked, %d failed)", firstErr, out.acked, of, out.failed)
	}
	if spec.duration == 0 && out.acked != spec.records {
		return out, fmt.Errorf("only %d of %d records acked", out.acked, spec.records)
	}
	out.latency, out.lag = mergeRecorders(latency), mergeRecorders(lag)
	return out, nil
}

// sendLoop is one producer's goroutine: share records (or, when share is
// negative, until the phase's duration ends), on schedule when spec.rate is
// set. Each record's Timestamp is its intended send time; the promise
// measures latency from it and returns the record to the pool.
func (w *produceWriter) sendLoop(ctx context.Context, idx int, spec phaseSpec, share int64, start time.Time,
	latency, lag *latencyRecorder, fail func(error)) {
	cl, state := w.clients[idx], w.producers[idx]
	keys := newKeyChooser(w.cfg.Keys, w.cfg.KeyCount, w.cfg.HotKeyShare, uint64(idx)+1)
	end := start.Add(spec.duration)
	var pace pacer
	var interval float64 // nanoseconds between this producer's records
	if spec.rate > 0 {
		pace = newPacer()
		defer pace.close()
		interval = float64(time.Second) * float64(len(w.clients)) / spec.rate
	}
	promise := func(r *kgo.Record, err error) {
		if err != nil {
			fail(fmt.Errorf("produce record: %w", err))
		} else {
			latency.record(time.Since(r.Timestamp))
			if w.stamped {
				state.checksum.Add(uint64(crcOfStamped(r.Value)))
			}
			state.acked.Add(1)
		}
		w.putRecord(r)
	}
	for i := int64(0); share < 0 || i < share; i++ {
		var intended time.Time
		if spec.rate > 0 {
			intended = start.Add(time.Duration(float64(i) * interval))
			if spec.duration > 0 && !intended.Before(end) {
				return
			}
			pace.sleepUntil(intended)
			lag.record(time.Since(intended))
		} else {
			intended = time.Now()
			if spec.duration > 0 && !intended.Before(end) {
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		r := w.getRecord()
		r.Key = keys.next()
		r.Timestamp = intended
		if w.stamped {
			writeStamp(r.Value, w.tag, stampID(idx, state.nextSeq, spec.warmup), intended.UnixNano())
		}
		state.nextSeq++
		cl.Produce(ctx, r, promise)
	}
}

// getRecord returns a record whose Value holds the filler payload.
func (w *produceWriter) getRecord() *kgo.Record {
	r := w.records.Get().(*kgo.Record)
	if r.Value == nil {
		if w.stamped {
			r.Value = append([]byte(nil), w.payload...)
		} else {
			// Unstamped values are never written to: share one.
			r.Value = w.payload
		}
	}
	return r
}

// putRecord clears what kgo set on a record and keeps its value for reuse:
// kgo does not touch a record after its promise.
func (w *produceWriter) putRecord(r *kgo.Record) {
	*r = kgo.Record{Value: r.Value}
	w.records.Put(r)
}

// crcOfStamped reads the CRC a stamped value carries.
func crcOfStamped(v []byte) uint32 {
	return uint32(v[24]) | uint32(v[25])<<8 | uint32(v[26])<<16 | uint32(v[27])<<24
}

// timeoutContext rewords a failure caused by the run's deadline so the user
// sees "timed out", not a bare context error from deep in the client.
func timeoutContext(ctx context.Context, limit time.Duration, err error) error {
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
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
