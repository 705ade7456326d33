package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// idempotentGzipBatch is a gzip batch of n records of random values of
// size bytes, of producer pid/epoch from sequence seq.
func idempotentGzipBatch(pid int64, epoch int16, seq int32, n, size int) []byte {
	var recs []byte
	for i := range n {
		v := make([]byte, size)
		for j := range v {
			v[j] = byte(rand.IntN(256))
		}
		r := kmsg.Record{OffsetDelta: int32(i), TimestampDelta64: int64(i), Value: v}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(recs)
	w.Close()
	rb := kmsg.RecordBatch{Magic: 2, Attributes: 1, LastOffsetDelta: int32(n - 1), FirstTimestamp: 1000, MaxTimestamp: 1000 + int64(n) - 1,
		ProducerID: pid, ProducerEpoch: epoch, FirstSequence: seq, NumRecords: int32(n), Records: buf.Bytes()}
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ip, err := kmsg.NewPtrInitProducerIDRequest().RequestWith(ctx, fetchClient(tb))
	if err != nil || ip.ErrorCode != 0 {
		t.Fatalf("InitProducerId: %v, %v", err, kerr.ErrorForCode(ip.ErrorCode))
	}
	c, err := net.DialTimeout("tcp", tb.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	const requests, perBatch = 40, 80
	heavy := idempotentGzipBatch(ip.ProducerID, ip.ProducerEpoch, 0, perBatch, 1024)
	if len(heavy) < produceLaneCompressedBytes {
		t.Fatalf("a gzip batch of %d bytes would stay on the loop", len(heavy))
	}
	before := tb.b.lanes.handedOff.Load()
	writeProduces(t, c, "lane", requests, func(i int) []byte {
		seq := int32(i * perBatch)
		if i%2 == 0 {
			return idempotentGzipBatch(ip.ProducerID, ip.ProducerEpoch, seq, perBatch, 1024)
		}
		return rawBatch(perBatch, ip.ProducerID, ip.ProducerEpoch, seq)
	})
	readProducesInOrder(t, c, requests, perBatch)
	if n := tb.b.lanes.handedOff.Load() - before; n < requests/2 {
		t.Fatalf("%d produces left the event loop, want at least the %d large ones", n, requests/2)
	}
}
