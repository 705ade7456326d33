package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ConsumeConfig is the consume workload's knobs: read a topic from its start
// to the end offsets it had when the run began.
type ConsumeConfig struct {
	Brokers   []string `json:"-"`
	Topic     string   `json:"topic"`
	Consumers int      `json:"consumers"` // clients; partitions are dealt to them round robin
	// Expect is what the producer wrote; with it the run proves it read
	// exactly those records. Without it, every record's stamp is still
	// checked and each producer's sequences must have no holes.
	Expect *StreamSummary `json:"-"`
	// NoVerify reads records written by something other than chronik-bench
	// (which carry no stamp) and only counts them.
	NoVerify               bool          `json:"no_verify"`
	FetchMaxBytes          int32         `json:"fetch_max_bytes"`
	FetchMaxPartitionBytes int32         `json:"fetch_max_partition_bytes"`
	Timeout                time.Duration `json:"timeout_ns"`
	ProgressEvery          time.Duration `json:"-"`
}

// Defaults for ConsumeConfig: franz-go's own fetch sizes.
const (
	DefaultFetchMaxBytes          = 50 << 20
	DefaultFetchMaxPartitionBytes = 1 << 20
)

// WithDefaults returns c with unset optional fields filled in.
func (c ConsumeConfig) WithDefaults() ConsumeConfig {
	if c.Topic == "" {
		c.Topic = "chronik-bench"
	}
	if c.Consumers == 0 {
		c.Consumers = 1
	}
	if c.FetchMaxBytes == 0 {
		c.FetchMaxBytes = DefaultFetchMaxBytes
	}
	if c.FetchMaxPartitionBytes == 0 {
		c.FetchMaxPartitionBytes = DefaultFetchMaxPartitionBytes
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = 500 * time.Millisecond
	}
	return c
}

// Validate rejects settings the workload cannot run.
func (c ConsumeConfig) Validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("no brokers given")
	case c.Topic == "":
		return errors.New("no topic given")
	case c.Consumers < 1:
		return fmt.Errorf("consumers %d: need at least 1", c.Consumers)
	case c.FetchMaxBytes < 1 || c.FetchMaxPartitionBytes < 1:
		return fmt.Errorf("fetch sizes %d/%d: need at least 1 byte", c.FetchMaxBytes, c.FetchMaxPartitionBytes)
	case c.NoVerify && c.Expect != nil:
		return errors.New("an expected stream needs verification on")
	}
	return nil
}

// ConsumeResult is what one consume run measured. Bytes are record values.
type ConsumeResult struct {
	Records       int64   `json:"records"`
	Bytes         int64   `json:"bytes"`
	ElapsedSec    float64 `json:"elapsed_s"` // clients created to last record read
	RecordsPerSec float64 `json:"records_per_s"`
	MBPerSec      float64 `json:"mb_per_s"`
	Partitions    int32   `json:"partitions"`
	Consumers     int     `json:"consumers"` // clients that had partitions
	// Verified says what was proven about the records read.
	Verified string `json:"verified"`
}

// RunConsume reads cfg.Topic from each partition's start offset to the end
// offset it had when the run began, with cfg.Consumers clients. It fails if a
// record is missing (an offset gap), repeated, altered (stamp CRC), or, with
// cfg.Expect, if the records read are not exactly those written.
func RunConsume(ctx context.Context, cfg ConsumeConfig, progress io.Writer) (ConsumeResult, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return ConsumeResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	bounds, err := listPartitionBounds(ctx, cfg.Brokers, cfg.Topic)
	if err != nil {
		return ConsumeResult{}, err
	}
	res := ConsumeResult{Partitions: int32(len(bounds))}
	var want int64
	for _, b := range bounds {
		want += b.end - b.start
	}
	if cfg.Expect != nil && cfg.Expect.Records() != want {
		return res, fmt.Errorf("topic %s holds %d records between its start and end offsets, but %d were written", cfg.Topic, want, cfg.Expect.Records())
	}

	readers := dealPartitions(bounds, cfg.Consumers)
	res.Consumers = len(readers)
	var records, bytes atomic.Int64
	stopProgress := progressLine{
		w: progress, label: "consume", verb: "read", total: want,
		count: records.Load, bytes: bytes.Load,
	}.start(cfg.ProgressEvery)
	start := time.Now()
	verifiers, err := runReaders(ctx, cfg, readers, func(r *kgo.Record, _ recordStamp) {
		records.Add(1)
		bytes.Add(int64(len(r.Value)))
	})
	elapsed := time.Since(start)
	stopProgress()
	res.Records, res.Bytes, res.ElapsedSec = records.Load(), bytes.Load(), elapsed.Seconds()
	if err != nil {
		return res, timeoutContext(ctx, cfg.Timeout, err)
	}
	if secs := elapsed.Seconds(); secs > 0 {
		res.RecordsPerSec = float64(res.Records) / secs
		res.MBPerSec = float64(res.Bytes) / secs / 1e6
	}
	if res.Records != want {
		return res, fmt.Errorf("read %d records, want %d", res.Records, want)
	}
	res.Verified = "count and offsets only (--no-verify)"
	if !cfg.NoVerify {
		v := verifiers[0]
		for _, o := range verifiers[1:] {
			v.merge(o)
		}
		if err := v.check(cfg.Expect); err != nil {
			return res, err
		}
		res.Verified = "every offset once, every record's CRC-32C, no sequence holes"
		if cfg.Expect != nil {
			res.Verified = "exactly the records written (ids, count, CRC-32C checksum)"
		}
	}
	return res, nil
}

// partitionBounds is the range of offsets a partition holds.
type partitionBounds struct {
	partition  int32
	start, end int64
}

// listPartitionBounds reads every partition's start and end offsets.
func listPartitionBounds(ctx context.Context, brokers []string, topic string) ([]partitionBounds, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return nil, fmt.Errorf("admin client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list start offsets of %s: %w", topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	var out []partitionBounds
	var firstErr error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			firstErr = cmpErr(firstErr, fmt.Errorf("end offset of %s/%d: %w", o.Topic, o.Partition, o.Err))
			return
		}
		s, ok := starts.Lookup(o.Topic, o.Partition)
		if !ok || s.Err != nil {
			firstErr = cmpErr(firstErr, fmt.Errorf("start offset of %s/%d: missing or failed (%v)", o.Topic, o.Partition, s.Err))
			return
		}
		out = append(out, partitionBounds{partition: o.Partition, start: s.Offset, end: o.Offset})
	})
	if firstErr != nil {
		return nil, firstErr
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("topic %s: no partitions", topic)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].partition < out[j].partition })
	return out, nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// dealPartitions gives partition i to reader i mod n, dropping readers that
// get none.
func dealPartitions(bounds []partitionBounds, n int) [][]partitionBounds {
	readers := make([][]partitionBounds, n)
	for i, b := range bounds {
		readers[i%n] = append(readers[i%n], b)
	}
	out := readers[:0]
	for _, r := range readers {
		if len(r) > 0 {
			out = append(out, r)
		}
	}
	return out
}

// runReaders runs one client per reader until each has read its partitions
// up to their end offsets (an end of -1 reads until ctx ends, for the
// end-to-end workload). onRecord is called for every record, on the reader's
// goroutine. The first failure stops all readers.
func runReaders(ctx context.Context, cfg ConsumeConfig, readers [][]partitionBounds, onRecord func(*kgo.Record, recordStamp)) ([]*recordVerifier, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	verifiers := make([]*recordVerifier, len(readers))
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for i, parts := range readers {
		verifiers[i] = newRecordVerifier()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := readPartitions(ctx, cfg, parts, verifiers[i], onRecord); err != nil {
				errOnce.Do(func() {
					firstErr = err
					cancel()
				})
			}
		}()
	}
	wg.Wait()
	return verifiers, firstErr
}

// readPartitions is one consumer client: it assigns itself parts directly
// (no group: the workload measures the fetch path, not rebalancing) and
// checks that offsets arrive one after another with nothing skipped.
func readPartitions(ctx context.Context, cfg ConsumeConfig, parts []partitionBounds, v *recordVerifier, onRecord func(*kgo.Record, recordStamp)) error {
	assign := make(map[int32]kgo.Offset, len(parts))
	next := make(map[int32]int64, len(parts))
	end := make(map[int32]int64, len(parts))
	remaining := 0
	for _, p := range parts {
		assign[p.partition] = kgo.NewOffset().At(p.start)
		next[p.partition], end[p.partition] = p.start, p.end
		if p.end < 0 || p.start < p.end {
			remaining++
		}
	}
	if remaining == 0 {
		return nil
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.Topic: assign}),
		kgo.FetchMaxBytes(cfg.FetchMaxBytes),
		kgo.FetchMaxPartitionBytes(cfg.FetchMaxPartitionBytes),
	)
	if err != nil {
		return fmt.Errorf("consumer client: %w", err)
	}
	defer cl.Close()
	for remaining > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			if anyEndless(end) {
				return nil
			}
			return fmt.Errorf("stopped with %d partition(s) unfinished: %w", remaining, ctx.Err())
		}
		var fetchErr error
		fetches.EachError(func(t string, p int32, err error) {
			fetchErr = cmpErr(fetchErr, fmt.Errorf("fetch %s/%d: %w", t, p, err))
		})
		if fetchErr != nil {
			return fetchErr
		}
		var recErr error
		fetches.EachRecord(func(r *kgo.Record) {
			if recErr != nil {
				return
			}
			e := end[r.Partition]
			if e >= 0 && r.Offset >= e {
				return // written after the run began
			}
			if want := next[r.Partition]; r.Offset != want {
				if r.Offset > want {
					recErr = fmt.Errorf("%s/%d: offset %d follows %d: %d record(s) lost", r.Topic, r.Partition, r.Offset, want-1, r.Offset-want)
				} else {
					recErr = fmt.Errorf("%s/%d: offset %d read again (expected %d)", r.Topic, r.Partition, r.Offset, want)
				}
				return
			}
			next[r.Partition]++
			var s recordStamp
			if !cfg.NoVerify {
				var err error
				if s, err = readStamp(r.Value); err != nil {
					recErr = fmt.Errorf("%s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
					return
				}
				v.add(s, r.Topic, r.Partition, r.Offset)
			}
			onRecord(r, s)
			if e >= 0 && next[r.Partition] == e {
				remaining--
			}
		})
		if recErr != nil {
			return recErr
		}
	}
	return nil
}

func anyEndless(end map[int32]int64) bool {
	for _, e := range end {
		if e < 0 {
			return true
		}
	}
	return false
}
