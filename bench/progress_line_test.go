package bench

import (
	"strings"
	"testing"
	"time"
)

func TestProgressLineRender(t *testing.T) {
	rec := newLatencyRecorder()
	rec.record(2 * time.Millisecond)
	f := func(p progressLine, n int64, rate float64, elapsed time.Duration, want string) {
		t.Helper()
		if got := p.render(n, rate, rate*float64(p.recordSize), elapsed); got != want {
			t.Errorf("render = %q, want %q", got, want)
		}
	}
	f(progressLine{label: "produce", verb: "acked", total: 1000, recordSize: 1000, latency: []*latencyRecorder{rec}},
		250, 5000, time.Second, "produce: 250 acked, 5000 records/s, 5.0 MB/s, p99 so far 2.00 ms [25%]")
	f(progressLine{label: "produce", verb: "acked", duration: 4 * time.Second, recordSize: 100},
		10, 1e6, time.Second, "produce: 10 acked, 1000000 records/s, 100.0 MB/s [25% of 4s]")
	// No samples yet: no latency column rather than a zero.
	f(progressLine{label: "consume", verb: "read", total: 10, latency: []*latencyRecorder{newLatencyRecorder()}},
		0, 0, 0, "consume: 0 read, 0 records/s, 0.0 MB/s [0%]")
}

func TestProgressLineClearsItself(t *testing.T) {
	var out strings.Builder
	var n int64
	stop := progressLine{w: &out, label: "x", verb: "acked", total: 10, count: func() int64 { return n }}.start(time.Millisecond)
	stop()
	if s := out.String(); !strings.HasSuffix(s, "\r\033[K") {
		t.Errorf("progress output %q: want it to end by clearing the line", s)
	}
}
