package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/bench"
	"github.com/chronik-go/chronik/netpoll"
	"github.com/chronik-go/chronik/uring"
)

// BenchmarkAppendPartitionSweep measures the storage engine's append rate as
// the partition count grows, with the batch shape held fixed: 64 concurrent
// producers each send produce requests (acks=all) of one 16-record batch of
// 1 KiB values to the next partition in turn, straight into Broker.Serve, so
// neither a client's batching nor the network changes with the partition
// count — only the number of files and fsyncs does. It is the figure behind
// the on-disk layout choice in docs/ARCHITECTURE.md.
//
//	go test ./engine -run '^$' -bench AppendPartitionSweep -benchtime 20000x -count 3
//
// flush=always runs three ways: sync=wal is the default (each group of turns
// made durable by one fdatasync of the shard's write-ahead log, partition
// files written behind); with log.flush.wal.enable=false, sync=syncfs (a
// group that syncs 16 or more partitions issues one syncfs) and
// sync=fdatasync (parallel per-partition fdatasyncs).
// Every mode runs on pwrite and on the io_uring path (io=uring), where a
// turn's writes to all partitions are one ring submission.
func BenchmarkAppendPartitionSweep(b *testing.B) {
	for _, parts := range []int32{1, 100, 1000, 10000} {
		for _, mode := range []struct{ name, policy, syncfsMin, wal string }{
			{"flush=always/sync=wal", "always", "16", "true"},
			{"flush=always/sync=syncfs", "always", "16", "false"},
			{"flush=always/sync=fdatasync", "always", "0", "false"},
			{"flush=never", "never", "16", "true"},
		} {
			for _, walIO := range []string{"pwrite", "uring"} {
				b.Run(fmt.Sprintf("partitions=%d/%s/io=%s", parts, mode.name, walIO), func(b *testing.B) {
					tb := startSweepBroker(b, walIO, "log.flush.policy="+mode.policy,
						"log.flush.syncfs.min.partitions="+mode.syncfsMin, "log.flush.wal.enable="+mode.wal)
					res := runSweepLoad(b, tb, parts, sweepSmallBatches)
					b.ReportMetric(res.recordsPerSec(), "records/s")
					b.ReportMetric(res.p99ms(), "p99-ms")
					b.ReportMetric(res.p999ms(), "p99.9-ms")
					b.ReportMetric(res.syncsPerOp(), "syncs/op")
					b.ReportMetric(res.walSyncsPerOp(), "wal-syncs/op")
					b.ReportMetric(res.cpuCores(), "cpu-cores")
				})
			}
		}
	}
}

// sweepProducers is how many requests the sweep keeps in flight.
const sweepProducers = 64

// sweepShape is the one record batch each produce request carries.
type sweepShape struct{ records, valueBytes int }

// sweepSmallBatches is the partition sweep's shape: 16 records of 1 KiB.
var sweepSmallBatches = sweepShape{records: 16, valueBytes: 1024}

func (sh sweepShape) bytes() int { return sh.records * sh.valueBytes }

// startSweepBroker starts an in-process broker writing through walIO.
func startSweepBroker(b *testing.B, walIO string, settings ...string) *testBroker {
	opener, err := uring.Select(walIO, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatalf("wal.io=%s: %v", walIO, err)
	}
	if c, ok := opener.(io.Closer); ok {
		b.Cleanup(func() { c.Close() })
	}
	return startBrokerWith(b, opener, benchSettings(b, settings...)...)
}

// sweepResult is one timed run of runSweepLoad.
type sweepResult struct {
	n        int
	shape    sweepShape
	elapsed  time.Duration
	p99      time.Duration
	p999     time.Duration
	syncs    int64 // sync calls (fdatasync or syncfs) the broker made meanwhile
	walSyncs int64 // of which fdatasyncs of a shard's write-ahead log
	// writeTime is how long shard turns spent in their write calls.
	writeTime time.Duration
	// cpu is the CPU time the whole process (broker and senders) used.
	cpu time.Duration
}

func (r sweepResult) recordsPerSec() float64 {
	return float64(r.n*r.shape.records) / r.elapsed.Seconds()
}

// megabytesPerSec counts record values only, as the raw disk figures count
// the bytes they write.
func (r sweepResult) megabytesPerSec() float64 {
	return float64(r.n*r.shape.bytes()) / r.elapsed.Seconds() / 1e6
}

func (r sweepResult) p99ms() float64 { return float64(r.p99.Microseconds()) / 1000 }

func (r sweepResult) p999ms() float64 { return float64(r.p999.Microseconds()) / 1000 }

func (r sweepResult) syncsPerOp() float64 { return float64(r.syncs) / float64(r.n) }

func (r sweepResult) walSyncsPerOp() float64 { return float64(r.walSyncs) / float64(r.n) }

// writeBusy is the share of the run the shards spent writing (summed over
// shards, so it can pass 1 with several).
func (r sweepResult) writeBusy() float64 { return r.writeTime.Seconds() / r.elapsed.Seconds() }

// cpuCores is how many cores the process kept busy on average: near the
// machine's count, the run was CPU-bound; well under it, it waited on I/O.
func (r sweepResult) cpuCores() float64 { return r.cpu.Seconds() / r.elapsed.Seconds() }

// runSweepLoad creates a topic of parts partitions and times b.N produce
// requests (acks=all, one batch of the given shape each) from
// sweepProducers concurrent senders, each to the next partition in turn,
// straight into Broker.Serve. Every partition is written once before timing.
func runSweepLoad(b *testing.B, tb *testBroker, parts int32, shape sweepShape) sweepResult {
	topic := fmt.Sprintf("append-sweep-%d", parts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := tb.admin().CreateTopic(ctx, parts, 1, nil, topic); err != nil {
		b.Fatal(err)
	}
	frame, partAt := sweepProduceFrame(topic, shape)
	send := func(p int32) (time.Duration, error) {
		body := slices.Clone(frame) // the broker stamps offsets into the request body
		binary.BigEndian.PutUint32(body[partAt:], uint32(p))
		r := &sweepResponder{done: make(chan struct{})}
		start := time.Now()
		tb.b.Serve(netpoll.ConnInfo{ID: uint64(p) + 1, Remote: "bench"}, body, r)
		<-r.done
		return time.Since(start), r.err
	}
	// Every partition gets its files before timing: creation is not measured.
	var setupErr atomic.Pointer[error] // the first failure
	spreadOverProducers(int64(parts), func(p int64) {
		if setupErr.Load() != nil {
			return
		}
		if _, err := send(int32(p)); err != nil {
			setupErr.CompareAndSwap(nil, &err)
		}
	})
	if err := setupErr.Load(); err != nil {
		b.Fatal(*err)
	}

	lat := make([]time.Duration, b.N)
	var failures atomic.Int64
	b.SetBytes(int64(shape.bytes()))
	before := tb.b.Metrics()
	cpuBefore, cpuErr := bench.ProcessCPUTime(os.Getpid())
	b.ResetTimer()
	start := time.Now()
	spreadOverProducers(int64(b.N), func(i int64) {
		d, err := send(int32(i % int64(parts)))
		if err != nil {
			failures.Add(1)
		}
		lat[i] = d
	})
	elapsed := time.Since(start)
	b.StopTimer()
	cpuAfter, err := bench.ProcessCPUTime(os.Getpid())
	if cpuErr != nil || err != nil {
		cpuBefore, cpuAfter = 0, 0 // no per-process CPU figure on this platform
	}
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d of %d produce requests failed", n, b.N)
	}
	slices.Sort(lat)
	after := tb.b.Metrics()
	return sweepResult{n: b.N, shape: shape, elapsed: elapsed, p99: lat[len(lat)*99/100], p999: lat[len(lat)*999/1000],
		syncs: after.Syncs - before.Syncs, walSyncs: after.WALSyncs - before.WALSyncs,
		writeTime: after.TurnWriteTime - before.TurnWriteTime, cpu: cpuAfter - cpuBefore}
}

// spreadOverProducers calls do(i) for every i in [0, n) from sweepProducers
// goroutines, each taking the next i in turn, and returns when all are done.
func spreadOverProducers(n int64, do func(i int64)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range sweepProducers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < n; i = next.Add(1) - 1 {
				do(i)
			}
		}()
	}
	wg.Wait()
}

// sweepProduceFrame encodes a produce request (v7, acks=all) of one batch to
// partition 0 of topic and returns it with the position of the partition
// number, which each send overwrites.
func sweepProduceFrame(topic string, shape sweepShape) ([]byte, int) {
	const marker = 0x7ab1e5ed
	req := produceRequestOf(topic, marker, -1, sweepBatch(shape))
	req.TimeoutMillis = 30000
	frame := encodeRequest(req, 7)
	at := bytes.Index(frame, binary.BigEndian.AppendUint32(nil, marker))
	if at < 0 {
		panic("partition marker not found in the encoded request")
	}
	binary.BigEndian.PutUint32(frame[at:], 0)
	return frame, at
}

// sweepBatch is a producer-style batch of the shape's records.
func sweepBatch(shape sweepShape) []byte {
	now := time.Now().UnixMilli()
	rb := kmsg.RecordBatch{
		Magic: 2, LastOffsetDelta: int32(shape.records - 1), FirstTimestamp: now, MaxTimestamp: now,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(shape.records),
	}
	value := bytes.Repeat([]byte("chronik!"), shape.valueBytes/8)
	var recs []byte
	for i := range shape.records {
		r := kmsg.Record{OffsetDelta: int32(i), Value: value}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	rb.Records = recs
	raw := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

// sweepResponder decodes the produce answer and keeps its first error.
type sweepResponder struct {
	done chan struct{}
	err  error
	// answered is when the broker handed over its answer (or closed the
	// connection): where a transport would start writing it.
	answered time.Time
}

func (r *sweepResponder) Respond(bufs [][]byte) {
	r.answered = time.Now()
	defer close(r.done)
	raw := bytes.Join(bufs, nil)
	if len(raw) < 4 {
		r.err = fmt.Errorf("short response: %d bytes", len(raw))
		return
	}
	resp := kmsg.NewPtrProduceResponse()
	resp.Version = 7
	if err := resp.ReadFrom(raw[4:]); err != nil { // after the correlation id
		r.err = fmt.Errorf("decode produce response: %w", err)
		return
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				r.err = fmt.Errorf("partition %d: %w", p.Partition, err)
			}
		}
	}
}

func (r *sweepResponder) Close(err error) {
	r.answered = time.Now()
	r.err = fmt.Errorf("connection closed: %w", err)
	close(r.done)
}

func (r *sweepResponder) CloseAfterEarlier(err error) { r.Close(err) }

// Reserve grants everything: the benchmark reads its answers at once.
func (r *sweepResponder) Reserve(want int) int { return want }
