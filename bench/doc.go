// Package bench is Chronik's load generator and the benchmark suite behind
// BENCHMARKS.md.
//
// The workloads talk to a broker only through a stock Kafka client (franz-go),
// so the same scenario runs unchanged against the chronik binary, franz-go's
// in-memory reference broker (kfake) and the null broker of this package. A
// scenario starts a fresh broker for each run (a Target), runs a workload
// against it, stops it, and turns the measurements into a report that names
// the machine, the date, the commit and the exact command, as every
// published figure must.
//
// Workloads:
//
//   - RunProduce: closed loop (throughput) or open loop at a fixed rate
//     (latency measured from each record's intended send time, into HDR
//     histograms), with key distributions, acks, idempotence, linger, batch
//     size, compression, producer count, record count or duration, warm-up.
//     Every value carries a stamp (record_stamp.go) naming its producer and
//     sequence, its intended send time and a CRC-32C.
//   - RunConsume: reads a topic from the start and proves every record was
//     read once and intact (offsets, stamps, the producer's checksum).
//   - RunEndToEnd: produce and consume at once; latency per record from its
//     intended send time to a consumer holding it.
//
// References: NullBroker (acknowledges produce without storing: the ceiling
// of this client and machine), MeasureLoopback (raw TCP), MeasureDisk (raw
// sequential write and write+fdatasync on the data directory's filesystem).
//
// Scenarios: RunSuite runs SuiteScenarios ("quick" or "full") against every
// target in turn, summarises medians with ranges and ratios, and judges
// issue 3's goals; UpdateBenchmarksFile writes BENCHMARKS.md's generated
// section and plots from its JSON; CompareSuites is bench-check. The older
// single-purpose scenarios remain: RunCompare, RunTopics, RunIdleRSS.
package bench
