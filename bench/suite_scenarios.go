package bench

import (
	"fmt"
	"time"
)

// Scenario kinds.
const (
	KindReferences = "references" // raw loopback TCP and disk, no broker
	KindProduce    = "produce"    // closed-loop produce: throughput
	KindConsume    = "consume"    // fill a topic, then read it from the start
	KindEndToEnd   = "e2e"        // open-loop produce with consumers reading
	KindSweep      = "sweep"      // open-loop produce at fractions of a measured maximum
)

// Target names a suite knows. Brokers come from SuiteConfig.Targets; the
// raw references are measured in-process.
const (
	TargetChronik      = "chronik"
	TargetChronikFsync = "chronik-fsync" // log.flush.interval.messages=1: fsync every write
	TargetKfake        = "kfake"
	TargetNull         = "null"
	TargetDisk         = "disk"     // raw disk reference
	TargetLoopback     = "loopback" // raw loopback TCP reference
)

// ChronikFsyncSetting makes chronik fsync every partition after every
// write, so an acks=all ack means the record is on disk.
const ChronikFsyncSetting = "log.flush.interval.messages=1"

// Scenario is one measurement of the suite, run against each of its targets
// in turn, several times.
type Scenario struct {
	// Name is stable across runs: bench-check matches scenarios by it.
	Name    string        `json:"name"`
	Title   string        `json:"title"`
	Kind    string        `json:"kind"`
	Targets []string      `json:"targets"`
	Produce ProduceConfig `json:"produce,omitzero"`
	// Consumers is the consumer count of consume and e2e scenarios.
	Consumers int `json:"consumers,omitempty"`
	// FillBytes is how much a consume scenario writes before reading.
	FillBytes int64 `json:"fill_bytes,omitempty"`
	// Fractions, for sweep and e2e scenarios, are the open-loop rates as
	// fractions of MaxFrom's median chronik-family throughput, measured
	// earlier in the same suite; PointFor is each point's length.
	Fractions []float64     `json:"fractions,omitempty"`
	MaxFrom   string        `json:"max_from,omitempty"`
	PointFor  time.Duration `json:"point_for_ns,omitempty"`
	// Disk and LoopbackFor configure the raw references.
	Disk        DiskConfig    `json:"disk,omitzero"`
	LoopbackFor time.Duration `json:"loopback_for_ns,omitempty"`
}

// Suite names.
const (
	SuiteFull  = "full"
	SuiteQuick = "quick"
)

// suiteRunFor is the length of each closed-loop produce run. Two seconds
// holds ~10^6 acks at this machine's rates: enough for stable medians and
// a p99.99, short enough for three repetitions of every scenario.
const suiteRunFor = 2 * time.Second

// suitePointFor is the length of each open-loop point.
const suitePointFor = 3 * time.Second

// SuiteScenarios returns the scenarios of a named suite. The quick suite is
// a subset of the full one with the same names and workloads (its sweep has
// only the 50% point), so bench-check can compare either with the last full
// run.
func SuiteScenarios(name string) ([]Scenario, error) {
	base := ProduceConfig{
		Topic: "bench", Partitions: 6, RecordSize: 1024, Acks: "1",
		Duration: suiteRunFor, Warmup: 20000, Producers: 1,
	}
	with := func(f func(*ProduceConfig)) ProduceConfig {
		c := base
		f(&c)
		return c
	}
	brokers := []string{TargetChronik, TargetKfake, TargetNull}
	headline := Scenario{
		Name: "produce-1k-p6-acks1", Title: "Produce 1 KiB records, 6 partitions, acks=1",
		Kind: KindProduce, Targets: brokers, Produce: base,
	}
	fsyncDisk := DiskConfig{SeqBytes: 128 << 20, SyncSizes: []int{4 << 10, 64 << 10, 256 << 10, 1 << 20}, SyncFor: time.Second}
	fsync := Scenario{
		Name: "produce-1k-p6-acksall-fsync", Title: "Produce 1 KiB records, 6 partitions, acks=all, fsync every write vs raw write+fdatasync",
		Kind: KindProduce, Targets: []string{TargetChronikFsync, TargetDisk},
		Produce: with(func(c *ProduceConfig) { c.Acks = "all" }), Disk: fsyncDisk,
	}
	sweep := Scenario{
		Name: "sweep-1k-p6-acks1", Title: "Latency vs throughput: open loop at fractions of chronik's maximum, 1 KiB, 6 partitions, acks=1",
		Kind: KindSweep, Targets: brokers, Produce: base,
		Fractions: []float64{0.1, 0.3, 0.5, 0.7, 0.9}, MaxFrom: headline.Name, PointFor: suitePointFor,
	}
	if name == SuiteQuick {
		sweep.Fractions = []float64{0.5}
		sweep.Targets = []string{TargetChronik, TargetNull}
		return []Scenario{
			{Name: "references-quick", Title: "Raw references (short)", Kind: KindReferences, Targets: []string{TargetLoopback, TargetDisk},
				LoopbackFor: 500 * time.Millisecond, Disk: DiskConfig{SeqBytes: 64 << 20, SyncSizes: []int{4 << 10, 64 << 10}, SyncFor: 500 * time.Millisecond}},
			headline,
			fsync,
			sweep,
		}, nil
	}
	if name != SuiteFull {
		return nil, fmt.Errorf("suite %q: want %s or %s", name, SuiteFull, SuiteQuick)
	}
	return []Scenario{
		{Name: "references", Title: "Raw references: loopback TCP and the data directory's disk", Kind: KindReferences,
			Targets: []string{TargetLoopback, TargetDisk}, LoopbackFor: time.Second, Disk: DiskConfig{}},
		headline,
		{Name: "produce-100b-p6-acks1", Title: "Produce 100 B records, 6 partitions, acks=1", Kind: KindProduce, Targets: brokers,
			Produce: with(func(c *ProduceConfig) { c.RecordSize = 100; c.Warmup = 100000 })},
		{Name: "produce-1k-p6-acksall", Title: "Produce 1 KiB records, 6 partitions, acks=all (default flush: no fsync)", Kind: KindProduce, Targets: brokers,
			Produce: with(func(c *ProduceConfig) { c.Acks = "all" })},
		fsync,
		{Name: "produce-1k-p1-acks1", Title: "Produce 1 KiB records, 1 partition, acks=1", Kind: KindProduce, Targets: brokers,
			Produce: with(func(c *ProduceConfig) { c.Partitions = 1 })},
		{Name: "produce-1k-p64-acks1", Title: "Produce 1 KiB records, 64 partitions, acks=1", Kind: KindProduce, Targets: brokers,
			Produce: with(func(c *ProduceConfig) { c.Partitions = 64 })},
		{Name: "produce-1k-p1000-acks1", Title: "Produce 1 KiB records, 1,000 partitions (uniform keys), acks=1", Kind: KindProduce, Targets: brokers,
			Produce: with(func(c *ProduceConfig) { c.Partitions = 1000; c.Keys = KeysUniform })},
		{Name: "produce-1k-p6-acks1-keyed", Title: "Produce 1 KiB records, 6 partitions, acks=1, uniform keys (10,000)", Kind: KindProduce, Targets: brokers,
			Produce: with(func(c *ProduceConfig) { c.Keys = KeysUniform })},
		{Name: "produce-1k-p6-acks1-hotkeys", Title: "Produce 1 KiB records, 6 partitions, acks=1, hot keys (90% on 1% of 10,000)", Kind: KindProduce, Targets: brokers,
			Produce: with(func(c *ProduceConfig) { c.Keys = KeysHot })},
		{Name: "produce-1k-p6-acks1-50producers", Title: "Produce 1 KiB records, 6 partitions, acks=1, 50 producer clients", Kind: KindProduce, Targets: brokers,
			Produce: with(func(c *ProduceConfig) { c.Producers = 50; c.MaxBuffered = 1000 })},
		{Name: "consume-1gib-p6", Title: "Consume a 1 GiB topic (1 KiB records, 6 partitions) from the start, every record verified", Kind: KindConsume,
			Targets: []string{TargetChronik, TargetKfake}, Produce: with(func(c *ProduceConfig) { c.Warmup = 0 }), Consumers: 1, FillBytes: 1 << 30},
		sweep,
		// 20%, not 50%: the consumer shares the client's process and CPUs,
		// and at half the produce-only maximum the pair saturates the 2-core
		// VM (measured: send lag over a second), which measures the queue.
		{Name: "e2e-1k-p6-acks1", Title: "End to end (produce → consume) at 20% of chronik's produce maximum, 1 KiB, 6 partitions, acks=1", Kind: KindEndToEnd,
			Targets: []string{TargetChronik, TargetKfake}, Produce: base, Consumers: 1,
			Fractions: []float64{0.2}, MaxFrom: headline.Name, PointFor: suitePointFor},
		{Name: "sweep-1k-p6-acksall-fsync", Title: "Latency vs throughput with fsync every write: open loop at fractions of chronik-fsync's maximum, 1 KiB, 6 partitions, acks=all",
			Kind: KindSweep, Targets: []string{TargetChronikFsync}, Produce: fsync.Produce,
			Fractions: []float64{0.1, 0.3, 0.5, 0.7, 0.9}, MaxFrom: fsync.Name, PointFor: suitePointFor},
	}, nil
}
