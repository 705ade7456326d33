package engine

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// textGzipBatch is a gzip batch of n records of size bytes of text drawn
// from a small vocabulary (about 3:1 compressible, so decompressing it is
// real work), without producer id.
func textGzipBatch(t testing.TB, n, size int) []byte {
	words := strings.Fields("kafka broker shard segment offset record batch fetch produce consumer group commit leader replica partition topic")
	values := make([][]byte, n)
	for i := range values {
		var v []byte
		for len(v) < size {
			v = append(v, words[rand.IntN(len(words))]...)
			v = append(v, ' ')
		}
		values[i] = v[:size]
	}
	return gzipBatch(t, valuesBatch(-1, -1, -1, values))
}

// produceFrame is a size-prefixed acks=1 produce request of raw to
// partition 0 of topic.
func produceFrame(topic string, raw []byte) []byte {
	return sizePrefixed(encodeRequest(produceRequestOf(topic, 0, 1, raw), 7))
}

// exchange writes frame on c and reads one answer.
func exchange(c net.Conn, frame []byte) error {
	if _, err := c.Write(frame); err != nil {
		return err
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return err
	}
	_, err := io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(size[:])))
	return err
}

// BenchmarkProduceBesideLargeGzipProducer measures small produces (one
// record, acks=1, one at a time) on a connection that shares the broker's
// only event loop with another connection producing 1 MiB gzip batches of
// text back to back: with produce lanes the large batches are checked off
// the loop; without them (thresholds out of reach) on it. Reports the small
// produces' p50 and p99 in microseconds and the large batches answered a
// second meanwhile.
func BenchmarkProduceBesideLargeGzipProducer(b *testing.B) {
	for _, lanes := range []bool{true, false} {
		b.Run(fmt.Sprintf("lanes=%v", lanes), func(b *testing.B) {
			if !lanes {
				c, a := produceLaneCompressedBytes, produceLaneBytes
				produceLaneCompressedBytes, produceLaneBytes = math.MaxInt, math.MaxInt
				b.Cleanup(func() { produceLaneCompressedBytes, produceLaneBytes = c, a })
			}
			tb := launchBroker(&testBroker{t: b, dir: b.TempDir(), loops: 1})
			createTestTopic(b, tb, "big", 1)
			createTestTopic(b, tb, "small", 1)
			dial := func() net.Conn {
				c, err := net.DialTimeout("tcp", tb.addr, 5*time.Second)
				if err != nil {
					b.Fatal(err)
				}
				return c
			}
			big := produceFrame("big", textGzipBatch(b, 1024, 1024))
			small := produceFrame("small", rawBatch(1, -1, -1, -1))
			heavy := dial()
			defer heavy.Close()
			stop := make(chan struct{})
			var bigDone atomic.Int64
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); {
					select {
					case <-stop:
						return
					default:
					}
					heavy.SetDeadline(time.Now().Add(10 * time.Second))
					if err := exchange(heavy, big); err != nil {
						b.Error(err)
						return
					}
					bigDone.Add(1)
				}
			}()
			c := dial()
			defer c.Close()
			lat := make([]time.Duration, 0, b.N)
			began := time.Now()
			for b.Loop() {
				c.SetDeadline(time.Now().Add(10 * time.Second))
				start := time.Now()
				if err := exchange(c, small); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			elapsed := time.Since(began)
			close(stop)
			wg.Wait()
			slices.Sort(lat)
			b.ReportMetric(float64(bigDone.Load())/elapsed.Seconds(), "big-batches/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
