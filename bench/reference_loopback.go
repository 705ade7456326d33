package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// LoopbackResult is the raw TCP ceiling of this machine's loopback, in one
// process: what any broker and client pair on this host could move at most,
// and the shortest round trip a request can make.
type LoopbackResult struct {
	// MBPerSec is one writer and one reader goroutine over one loopback
	// connection, WriteSize bytes per write, for Seconds.
	MBPerSec  float64 `json:"mb_per_s"`
	WriteSize int     `json:"write_size"`
	Seconds   float64 `json:"seconds"`
	// RTT is a 100-byte message echoed back, one at a time.
	RTT        LatencySummary `json:"rtt"`
	RoundTrips int64          `json:"round_trips"`
}

// loopbackWriteSize is one write of the throughput test: large enough that
// syscall cost does not dominate, as a broker's batched responses.
const loopbackWriteSize = 64 << 10

// MeasureLoopback streams bytes over a loopback connection for d, then
// times 100-byte round trips for another d.
func MeasureLoopback(ctx context.Context, d time.Duration) (LoopbackResult, error) {
	res := LoopbackResult{WriteSize: loopbackWriteSize}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, fmt.Errorf("loopback listen: %w", err)
	}
	defer ln.Close()

	mbps, secs, err := loopbackStream(ctx, ln, d)
	if err != nil {
		return res, err
	}
	res.MBPerSec, res.Seconds = mbps, secs
	rtt, n, err := loopbackPingPong(ctx, ln, d)
	if err != nil {
		return res, err
	}
	res.RTT, res.RoundTrips = rtt, n
	return res, nil
}

// loopbackStream has one goroutine write for d while this one reads.
func loopbackStream(ctx context.Context, ln net.Listener, d time.Duration) (mbps, secs float64, err error) {
	writerErr := make(chan error, 1)
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			writerErr <- fmt.Errorf("loopback dial: %w", err)
			return
		}
		defer c.Close()
		buf := make([]byte, loopbackWriteSize)
		end := time.Now().Add(d)
		for time.Now().Before(end) && ctx.Err() == nil {
			if _, err := c.Write(buf); err != nil {
				writerErr <- fmt.Errorf("loopback write: %w", err)
				return
			}
		}
		writerErr <- nil
	}()
	c, err := ln.Accept()
	if err != nil {
		return 0, 0, fmt.Errorf("loopback accept: %w", err)
	}
	defer c.Close()
	buf := make([]byte, 256<<10)
	var total int64
	start := time.Now()
	for {
		n, err := c.Read(buf)
		total += int64(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, 0, fmt.Errorf("loopback read: %w", err)
		}
	}
	elapsed := time.Since(start).Seconds()
	if err := <-writerErr; err != nil {
		return 0, 0, err
	}
	return float64(total) / elapsed / 1e6, elapsed, nil
}

// loopbackPingPong echoes 100-byte messages for d and returns the round
// trip distribution.
func loopbackPingPong(ctx context.Context, ln net.Listener, d time.Duration) (LatencySummary, int64, error) {
	echoErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			echoErr <- fmt.Errorf("loopback accept: %w", err)
			return
		}
		defer c.Close()
		buf := make([]byte, 100)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				echoErr <- nil // the client hung up
				return
			}
			if _, err := c.Write(buf); err != nil {
				echoErr <- fmt.Errorf("loopback echo: %w", err)
				return
			}
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return LatencySummary{}, 0, fmt.Errorf("loopback dial: %w", err)
	}
	rec := newLatencyRecorder()
	msg := make([]byte, 100)
	var n int64
	end := time.Now().Add(d)
	for time.Now().Before(end) && ctx.Err() == nil {
		t := time.Now()
		if _, err := c.Write(msg); err != nil {
			c.Close()
			return LatencySummary{}, n, fmt.Errorf("loopback ping: %w", err)
		}
		if _, err := io.ReadFull(c, msg); err != nil {
			c.Close()
			return LatencySummary{}, n, fmt.Errorf("loopback pong: %w", err)
		}
		rec.record(time.Since(t))
		n++
	}
	c.Close()
	if err := <-echoErr; err != nil {
		return LatencySummary{}, n, err
	}
	return summarizeLatency(mergeRecorders([]*latencyRecorder{rec})), n, nil
}
