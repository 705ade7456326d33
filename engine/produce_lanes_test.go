package engine

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/config"
)

// idempotentGzipBatch is a gzip batch of n records of random values of
// size bytes, of producer pid/epoch from sequence seq.
func idempotentGzipBatch(t testing.TB, pid int64, epoch int16, seq int32, n, size int) []byte {
	values := make([][]byte, n)
	for i := range values {
		values[i] = make([]byte, size)
		for j := range values[i] {
			values[i][j] = byte(rand.IntN(256))
		}
	}
	return gzipBatch(t, valuesBatch(pid, epoch, seq, values))
}

// valuesBatch is an uncompressed batch of values, of producer pid/epoch
// from sequence seq (-1, -1, -1: none).
func valuesBatch(pid int64, epoch int16, seq int32, values [][]byte) []byte {
	var recs []byte
	for i, v := range values {
		r := kmsg.Record{OffsetDelta: int32(i), TimestampDelta64: int64(i), Value: v}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	n := len(values)
	rb := kmsg.RecordBatch{Magic: 2, LastOffsetDelta: int32(n - 1), FirstTimestamp: 1000, MaxTimestamp: 1000 + int64(n) - 1,
		ProducerID: pid, ProducerEpoch: epoch, FirstSequence: seq, NumRecords: int32(n), Records: recs}
	raw := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

// TestProduceLaneKeepsConnectionOrder pipelines idempotent produces to one
// partition on one connection, large gzip batches (checked on the
// connection's lane, off the event loop) alternating with small plain
// ones (which the loop would handle itself): every batch must be appended
// in the order sent, none refused as out of sequence, and the large ones
// must have left the loop.
func TestProduceLaneKeepsConnectionOrder(t *testing.T) {
	tb := startBroker(t, "num.shards=1")
	createTestTopic(t, tb, "lane", 1)
	ip := initProducer(t, tb)
	c := dialRaw(t, tb.addr, 30*time.Second)
	const requests, perBatch = 40, 80
	heavy := idempotentGzipBatch(t, ip.ProducerID, ip.ProducerEpoch, 0, perBatch, 1024)
	if len(heavy) < produceLaneCompressedBytes {
		t.Fatalf("a gzip batch of %d bytes would stay on the loop", len(heavy))
	}
	before := tb.b.lanes.handedOff.Load()
	writeProduces(t, c, "lane", requests, func(i int) []byte {
		seq := int32(i * perBatch)
		if i%2 == 0 {
			return idempotentGzipBatch(t, ip.ProducerID, ip.ProducerEpoch, seq, perBatch, 1024)
		}
		return rawBatch(perBatch, ip.ProducerID, ip.ProducerEpoch, seq)
	})
	readProducesInOrder(t, c, requests, perBatch)
	if n := tb.b.lanes.handedOff.Load() - before; n < requests/2 {
		t.Fatalf("%d produces left the event loop, want at least the %d large ones", n, requests/2)
	}
}

// lanesHeld counts the connections the broker keeps a lane for.
func lanesHeld(b *Broker) int {
	n := 0
	b.lanes.m.Range(func(any, any) bool { n++; return true })
	return n
}

// TestProduceLanesCheckAtMostOneBatchPerCPUAtOnce sends one lane produce on
// each of more connections than there are usable CPUs, holding every check
// that starts: no more lanes may check at once than the event loops did
// (one each), since a check holds a decompressor window (zstd's up to
// 8 MiB, a large-window frame's whole section up to 32 MiB).
func TestProduceLanesCheckAtMostOneBatchPerCPUAtOnce(t *testing.T) {
	all := produceLaneBytes
	produceLaneBytes = 1 // every produce takes its connection's lane
	t.Cleanup(func() { produceLaneBytes = all })
	var entered atomic.Int32
	release := make(chan struct{})
	laneCheckHook = func() {
		entered.Add(1)
		<-release
	}
	t.Cleanup(func() { laneCheckHook = nil })
	released := false
	unblock := func() {
		if !released {
			released = true
			close(release)
		}
	}
	defer unblock()

	tb := startBroker(t)
	createTestTopic(t, tb, "lanes-bounded", 1)
	limit := config.UsableCPUs()
	conns := make([]net.Conn, limit+4)
	frame := produceFrame("lanes-bounded", rawBatch(1, -1, -1, -1))
	for i := range conns {
		c, err := net.DialTimeout("tcp", tb.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write(frame); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline) && int(entered.Load()) < len(conns); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := int(entered.Load()); n > limit || n == 0 {
		t.Fatalf("%d lanes checked produces at once, want 1 to %d (usable CPUs)", n, limit)
	}
	unblock()
	for i, c := range conns {
		var size [4]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			t.Fatalf("answer on connection %d: %v", i, err)
		}
		if _, err := io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(size[:]))); err != nil {
			t.Fatal(err)
		}
	}
}

// TestProduceLaneOfConnectionClosedBeforeStartIsNotKept holds a lane
// produce of a connection that closes before the broker's Start: Start
// serves it after the connection's ConnClosed, and the lane it runs on must
// not be kept for good.
func TestProduceLaneOfConnectionClosedBeforeStartIsNotKept(t *testing.T) {
	all := produceLaneBytes
	produceLaneBytes = 1 // every produce takes its connection's lane
	t.Cleanup(func() { produceLaneBytes = all })
	tb := startBroker(t, "num.shards=1")
	createTestTopic(t, tb, "lane-early", 1)
	tb.stop()

	tb.beforeStart = func(addr string) {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(produceFrame("lane-early", rawBatch(1, -1, -1, -1))); err != nil {
			t.Fatal(err)
		}
		// The listener reads it before Start, then sees the close.
		time.Sleep(300 * time.Millisecond)
		c.Close()
		time.Sleep(300 * time.Millisecond)
	}
	tb.open()
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if n := tb.b.lanes.handedOff.Load(); n != 1 {
			return fmt.Errorf("%d produces handed to a lane, want 1", n)
		}
		if n := lanesHeld(tb.b); n != 0 {
			return fmt.Errorf("%d lanes kept after their connection closed", n)
		}
		return nil
	})
}

// TestProduceLanesComingAndGoingKeepConnectionOrder sends idempotent
// produces on one connection in pipelined pairs, a heavy one (any
// compressed batch, here) then a light one, waiting for both answers before
// the next pair: each pair starts a lane, which the light one must join
// however soon it comes, and which empties and is removed before the next
// pair. Every batch must be appended in the order sent.
func TestProduceLanesComingAndGoingKeepConnectionOrder(t *testing.T) {
	compressed := produceLaneCompressedBytes
	produceLaneCompressedBytes = 1
	t.Cleanup(func() { produceLaneCompressedBytes = compressed })
	tb := startBroker(t, "num.shards=1")
	createTestTopic(t, tb, "lanes-churn", 1)
	ip := initProducer(t, tb)
	c := dialRaw(t, tb.addr, 60*time.Second)
	const pairs, perBatch = 100, 16
	heavy := make([][]byte, pairs) // made first: the pairs go out back to back
	for i := range heavy {
		heavy[i] = idempotentGzipBatch(t, ip.ProducerID, ip.ProducerEpoch, int32(2*i*perBatch), perBatch, 1024)
	}
	before := tb.b.lanes.handedOff.Load()
	for i := range pairs {
		writeProduces(t, c, "lanes-churn", 2, func(j int) []byte {
			if j == 0 {
				return heavy[i]
			}
			return rawBatch(perBatch, ip.ProducerID, ip.ProducerEpoch, int32((2*i+1)*perBatch))
		})
		for j := range 2 {
			want := int64((2*i + j) * perBatch)
			if p := readProduceAnswer(t, c); p.ErrorCode != 0 || p.BaseOffset != want {
				t.Fatalf("pair %d request %d: %v at %d, want offset %d", i, j, kerr.ErrorForCode(p.ErrorCode), p.BaseOffset, want)
			}
		}
	}
	if n := tb.b.lanes.handedOff.Load() - before; n < pairs {
		t.Fatalf("%d produces left the event loop, want at least the %d compressed ones", n, pairs)
	}
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if n := lanesHeld(tb.b); n != 0 {
			return fmt.Errorf("%d lanes kept after their produces were answered", n)
		}
		return nil
	})
}
