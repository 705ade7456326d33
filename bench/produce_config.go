package bench

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ProduceConfig is the produce workload's knobs. The zero value of every
// optional field means "the default below", so flags and tests set only what
// they care about.
type ProduceConfig struct {
	Brokers       []string      `json:"-"` // bootstrap addresses (filled per run by scenarios)
	Topic         string        `json:"topic"`
	Partitions    int32         `json:"partitions"`      // used when the topic is created
	RecordSize    int           `json:"record_size"`     // value bytes per record (keys come on top)
	Records       int64         `json:"records"`         // measured records, all producers together
	Duration      time.Duration `json:"duration_ns"`     // measured phase length; when set, Records is ignored
	Rate          float64       `json:"rate"`            // open loop: records/s, all producers together; 0: closed loop
	Warmup        int64         `json:"warmup"`          // records acked before measuring (closed loop); 0 for none
	Keys          string        `json:"keys"`            // key distribution: none, uniform or hot
	KeyCount      int           `json:"key_count"`       // distinct keys for uniform and hot
	HotKeyShare   float64       `json:"hot_key_share"`   // hot: share of records on the hottest 1% of keys
	Acks          string        `json:"acks"`            // "0", "1" or "all"
	Idempotent    bool          `json:"idempotent"`      // requires acks=all
	Linger        time.Duration `json:"linger_ns"`       // kgo ProducerLinger
	BatchMaxBytes int32         `json:"batch_max_bytes"` // kgo ProducerBatchMaxBytes
	Compression   string        `json:"compression"`     // none, gzip, snappy, lz4, zstd
	Producers     int           `json:"producers"`       // concurrent clients
	MaxInflight   int           `json:"max_inflight"`    // produce requests in flight per broker (non-idempotent)
	MaxBuffered   int           `json:"max_buffered"`    // records buffered per client: the closed loop's window
	Timeout       time.Duration `json:"timeout_ns"`      // bound on the whole run, warm-up included
	ProgressEvery time.Duration `json:"-"`               // progress line period when Progress is set
}

// Defaults for ProduceConfig's optional fields.
const (
	DefaultRecordSize    = 1024
	DefaultWarmup        = 5000
	DefaultBatchMaxBytes = 1 << 20
	DefaultMaxInflight   = 5
	DefaultMaxBuffered   = 10000
	DefaultTimeout       = 10 * time.Minute
)

// WithDefaults returns c with unset optional fields filled in.
func (c ProduceConfig) WithDefaults() ProduceConfig {
	if c.Topic == "" {
		c.Topic = "chronik-bench"
	}
	if c.Partitions == 0 {
		c.Partitions = 6
	}
	if c.RecordSize == 0 {
		c.RecordSize = DefaultRecordSize
	}
	if c.Keys == "" {
		c.Keys = KeysNone
	}
	if c.KeyCount == 0 {
		c.KeyCount = DefaultKeyCount
	}
	if c.HotKeyShare == 0 {
		c.HotKeyShare = DefaultHotKeyShare
	}
	if c.Acks == "" {
		c.Acks = "1"
	}
	if c.BatchMaxBytes == 0 {
		c.BatchMaxBytes = DefaultBatchMaxBytes
	}
	if c.Compression == "" {
		c.Compression = "none"
	}
	if c.Producers == 0 {
		c.Producers = 1
	}
	if c.MaxInflight == 0 {
		c.MaxInflight = DefaultMaxInflight
	}
	if c.MaxBuffered == 0 {
		c.MaxBuffered = DefaultMaxBuffered
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ProgressEvery == 0 {
		c.ProgressEvery = 500 * time.Millisecond
	}
	return c
}

// Validate rejects settings the workload cannot run, with the reason.
func (c ProduceConfig) Validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("no brokers given")
	case c.Topic == "":
		return errors.New("no topic given")
	case c.Partitions < 1:
		return fmt.Errorf("partitions %d: need at least 1", c.Partitions)
	case c.RecordSize < 0:
		return fmt.Errorf("record size %d: must not be negative", c.RecordSize)
	case c.Duration < 0:
		return fmt.Errorf("duration %s: must not be negative", c.Duration)
	case c.Duration == 0 && c.Records < 1:
		return fmt.Errorf("records %d: need at least 1 (or a duration)", c.Records)
	case c.Rate < 0:
		return fmt.Errorf("rate %g: must not be negative (0 is closed loop)", c.Rate)
	case c.Warmup < 0:
		return fmt.Errorf("warm-up %d: must not be negative", c.Warmup)
	case c.Producers < 1:
		return fmt.Errorf("producers %d: need at least 1", c.Producers)
	case c.Producers > maxStampProducer:
		return fmt.Errorf("producers %d: at most %d", c.Producers, maxStampProducer)
	case c.Duration == 0 && int64(c.Producers) > c.Records:
		return fmt.Errorf("producers %d: more than the %d records to produce", c.Producers, c.Records)
	case c.Linger < 0:
		return fmt.Errorf("linger %s: must not be negative", c.Linger)
	case c.KeyCount < 1:
		return fmt.Errorf("key count %d: need at least 1", c.KeyCount)
	case c.HotKeyShare < 0 || c.HotKeyShare > 1:
		return fmt.Errorf("hot key share %g: want 0 to 1", c.HotKeyShare)
	case c.MaxInflight < 1:
		return fmt.Errorf("max in-flight %d: need at least 1", c.MaxInflight)
	case c.MaxBuffered < 1:
		return fmt.Errorf("max buffered %d: need at least 1", c.MaxBuffered)
	case c.BatchMaxBytes < 1:
		return fmt.Errorf("batch max bytes %d: need at least 1", c.BatchMaxBytes)
	}
	acks, err := parseAcks(c.Acks)
	if err != nil {
		return err
	}
	if c.Idempotent && acks != kgo.AllISRAcks() {
		return fmt.Errorf("idempotent produce needs acks=all, not acks=%s", c.Acks)
	}
	if _, err := parseCompression(c.Compression); err != nil {
		return err
	}
	return validKeyDistribution(c.Keys)
}

// openLoop reports whether records are sent on a schedule (Rate) rather
// than as fast as the client takes them.
func (c ProduceConfig) openLoop() bool { return c.Rate > 0 }

// clientOpts translates the config into franz-go producer options.
func (c ProduceConfig) clientOpts() ([]kgo.Opt, error) {
	acks, err := parseAcks(c.Acks)
	if err != nil {
		return nil, err
	}
	codec, err := parseCompression(c.Compression)
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.DefaultProduceTopic(c.Topic),
		kgo.RequiredAcks(acks),
		kgo.ProducerLinger(c.Linger),
		kgo.ProducerBatchMaxBytes(c.BatchMaxBytes),
		kgo.ProducerBatchCompression(codec),
		kgo.MaxBufferedRecords(c.MaxBuffered),
		// Any failed record fails the run, so a few retries is all that
		// is useful; a broker that needs more is reported, not hidden.
		kgo.RecordRetries(3),
		kgo.UnknownTopicRetries(10),
	}
	if !c.Idempotent {
		// kgo allows only the default (5) with idempotence on.
		opts = append(opts, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(c.MaxInflight))
	}
	return opts, nil
}

func parseAcks(s string) (kgo.Acks, error) {
	switch strings.ToLower(s) {
	case "0":
		return kgo.NoAck(), nil
	case "1":
		return kgo.LeaderAck(), nil
	case "all", "-1":
		return kgo.AllISRAcks(), nil
	}
	return kgo.Acks{}, fmt.Errorf("acks %q: want 0, 1 or all", s)
}

func parseCompression(s string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(s) {
	case "none", "":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("compression %q: want none, gzip, snappy, lz4 or zstd", s)
}
