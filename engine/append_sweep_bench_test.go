package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

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
// flush=always runs twice: sync=syncfs is the default (a turn group that
// syncs 16 or more partitions issues one syncfs), sync=fdatasync forces
// parallel per-partition fdatasyncs (log.flush.syncfs.min.partitions=0).
// Every mode runs on pwrite and on the io_uring path (io=uring), where a
// turn's writes to all partitions are one ring submission.
func BenchmarkAppendPartitionSweep(b *testing.B) {
	for _, parts := range []int32{1, 100, 1000, 10000} {
		for _, mode := range []struct{ name, policy, syncfsMin string }{
			{"flush=always/sync=syncfs", "always", "16"},
			{"flush=always/sync=fdatasync", "always", "0"},
			{"flush=never", "never", "16"},
		} {
			for _, walIO := range []string{"pwrite", "uring"} {
				b.Run(fmt.Sprintf("partitions=%d/%s/io=%s", parts, mode.name, walIO), func(b *testing.B) {
					benchAppendSweep(b, parts, walIO, "log.flush.policy="+mode.policy, "log.flush.syncfs.min.partitions="+mode.syncfsMin)
				})
			}
		}
	}
}

const (
	sweepProducers    = 64
	sweepBatchRecords = 16
	sweepValueBytes   = 1024
)

func benchAppendSweep(b *testing.B, parts int32, walIO string, settings ...string) {
	opener, err := uring.Select(walIO, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatalf("wal.io=%s: %v", walIO, err)
	}
	if c, ok := opener.(io.Closer); ok {
		defer c.Close()
	}
	tb := startBrokerWith(b, opener, settings...)
	topic := fmt.Sprintf("append-sweep-%d", parts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := tb.admin().CreateTopic(ctx, parts, 1, nil, topic); err != nil {
		b.Fatal(err)
	}
	frame, partAt := sweepProduceFrame(topic)
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
	var setup sync.WaitGroup
	var next atomic.Int64
	var setupErr atomic.Value
	for range sweepProducers {
		setup.Add(1)
		go func() {
			defer setup.Done()
			for p := next.Add(1) - 1; p < int64(parts); p = next.Add(1) - 1 {
				if _, err := send(int32(p)); err != nil {
					setupErr.Store(err)
					return
				}
			}
		}()
	}
	setup.Wait()
	if err, _ := setupErr.Load().(error); err != nil {
		b.Fatal(err)
	}

	lat := make([]time.Duration, b.N)
	var failures atomic.Int64
	next.Store(0)
	b.SetBytes(sweepBatchRecords * sweepValueBytes)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range sweepProducers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
				d, err := send(int32(i % int64(parts)))
				if err != nil {
					failures.Add(1)
				}
				lat[i] = d
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d of %d produce requests failed", n, b.N)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N*sweepBatchRecords)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// sweepProduceFrame encodes a produce request (v7, acks=all) of one batch to
// partition 0 of topic and returns it with the position of the partition
// number, which each send overwrites.
func sweepProduceFrame(topic string) ([]byte, int) {
	const marker = 0x7ab1e5ed
	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	req.TimeoutMillis = 30000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = marker
	rp.Records = sweepBatch()
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	frame := encodeRequest(req, 7)
	at := bytes.Index(frame, binary.BigEndian.AppendUint32(nil, marker))
	if at < 0 {
		panic("partition marker not found in the encoded request")
	}
	binary.BigEndian.PutUint32(frame[at:], 0)
	return frame, at
}

// sweepBatch is a producer-style batch of sweepBatchRecords 1 KiB values.
func sweepBatch() []byte {
	now := time.Now().UnixMilli()
	rb := kmsg.RecordBatch{
		Magic: 2, LastOffsetDelta: sweepBatchRecords - 1, FirstTimestamp: now, MaxTimestamp: now,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: sweepBatchRecords,
	}
	value := bytes.Repeat([]byte("chronik!"), sweepValueBytes/8)
	var recs []byte
	for i := range sweepBatchRecords {
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
}

func (r *sweepResponder) Respond(bufs [][]byte) {
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
	r.err = fmt.Errorf("connection closed: %w", err)
	close(r.done)
}
