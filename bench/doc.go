// Package bench is Chronik's load generator and the benchmark scenarios behind
// BENCHMARKS.md.
//
// The workloads talk to a broker only through a stock Kafka client (franz-go),
// so the same scenario runs unchanged against the chronik binary and against
// franz-go's in-memory reference broker (kfake). A scenario starts a fresh
// broker for each run (a Target), runs a workload against it, stops it, and
// turns the measurements into a report that names the machine, the date and
// the exact command, as every published figure must.
//
// Scenarios:
//
//   - RunProduce: closed-loop producer, records/s, MB/s and per-record ack latency.
//   - RunCompare: the produce workload alternately against each target, N runs each.
//   - RunTopics: CreateTopics latency for 1 and 100 partitions.
//   - RunIdleRSS: broker resident memory with many topics and open segments.
package bench
