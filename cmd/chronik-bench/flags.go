package main

import (
	"flag"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/chronik-go/chronik/bench"
)

// workloadFlags registers the produce workload's knobs on fs.
func workloadFlags(fs *flag.FlagSet) *bench.ProduceConfig {
	cfg := &bench.ProduceConfig{BatchMaxBytes: bench.DefaultBatchMaxBytes}
	fs.StringVar(&cfg.Topic, "topic", "chronik-bench", "topic to produce to (created if missing)")
	cfg.Partitions = 6
	fs.Func("partitions", "partitions when creating the topic (default 6)", func(s string) error {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil || n < 1 {
			return fmt.Errorf("%q: want a positive whole number", s)
		}
		cfg.Partitions = int32(n)
		return nil
	})
	fs.IntVar(&cfg.RecordSize, "record-size", bench.DefaultRecordSize, "value bytes per record (no key)")
	fs.Int64Var(&cfg.Records, "records", 1_000_000, "measured records, all producers together (ignored with --duration)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "measure for this long instead of a record count, e.g. 10s")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open loop: send this many records/s (all producers together) on a fixed schedule and measure latency from each record's intended send time; 0: closed loop, as fast as it goes")
	fs.Int64Var(&cfg.Warmup, "warmup", bench.DefaultWarmup, "records produced (closed loop) before measuring, not counted")
	fs.StringVar(&cfg.Keys, "keys", bench.KeysNone, "record keys: none, uniform (--key-count keys, equally likely) or hot (--hot-key-share of records on the hottest 1% of keys)")
	fs.IntVar(&cfg.KeyCount, "key-count", bench.DefaultKeyCount, "distinct keys for --keys uniform or hot")
	fs.Float64Var(&cfg.HotKeyShare, "hot-key-share", bench.DefaultHotKeyShare, "share of records on the hottest 1% of keys for --keys hot")
	fs.StringVar(&cfg.Acks, "acks", "1", "required acks: 0, 1 or all")
	fs.BoolVar(&cfg.Idempotent, "idempotent", false, "idempotent produce (needs --acks all)")
	fs.DurationVar(&cfg.Linger, "linger", 0, "producer linger")
	fs.Func("batch-max-bytes", "max record batch size, e.g. 1MiB or 65536 (default 1MiB)", byteSizeFlag(&cfg.BatchMaxBytes))
	fs.StringVar(&cfg.Compression, "compression", "none", "batch compression: none, gzip, snappy, lz4, zstd (values are random bytes)")
	fs.IntVar(&cfg.Producers, "producers", 1, "concurrent producer clients")
	fs.IntVar(&cfg.MaxInflight, "max-inflight", bench.DefaultMaxInflight, "produce requests in flight per broker when not idempotent (idempotent uses 5)")
	fs.IntVar(&cfg.MaxBuffered, "max-buffered", bench.DefaultMaxBuffered, "records each client keeps outstanding: the closed loop's window")
	fs.DurationVar(&cfg.Timeout, "timeout", bench.DefaultTimeout, "bound on one run, warm-up included")
	return cfg
}

// chronikFlags registers how to start the chronik binary.
func chronikFlags(fs *flag.FlagSet) *bench.ChronikTarget {
	t := &bench.ChronikTarget{}
	fs.StringVar(&t.Binary, "chronik", "bin/chronik", "chronik binary (build: go build -o bin/chronik ./cmd/chronik)")
	fs.StringVar(&t.DataParent, "data-dir", "", "where each run's fresh data directory is made (default: the system temp dir)")
	fs.Func("set", "extra chronik setting key=value (repeatable)", func(s string) error {
		t.Sets = append(t.Sets, s)
		return nil
	})
	fs.BoolVar(&t.KeepData, "keep-data", false, "keep each run's data directory and broker log")
	fs.DurationVar(&t.StopTimeout, "stop-timeout", 60*time.Second, "graceful shutdown limit after SIGTERM")
	return t
}

// byteSizeFlag parses "1MiB", "64KiB" or "65536" into an int32 byte count.
func byteSizeFlag(dst *int32) func(string) error {
	return func(s string) error {
		n, err := bench.ParseByteSize(s)
		if err != nil {
			return err
		}
		if n < 1 || n > math.MaxInt32 {
			return fmt.Errorf("%d bytes: want 1 to %d", n, math.MaxInt32)
		}
		*dst = int32(n)
		return nil
	}
}
