package bench

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// maxLatencyMicros is the histograms' ceiling; slower samples are recorded at
// it (and the run's max says so). A minute is far beyond any sane ack.
const maxLatencyMicros = int64(60 * time.Second / time.Microsecond)

// LatencySummary gives a latency distribution in milliseconds, read from an
// HDR histogram of microseconds (3 significant digits).
type LatencySummary struct {
	P50Ms   float64 `json:"p50_ms"`
	P99Ms   float64 `json:"p99_ms"`
	P999Ms  float64 `json:"p999_ms"`
	P9999Ms float64 `json:"p9999_ms"`
	MaxMs   float64 `json:"max_ms"`
	MeanMs  float64 `json:"mean_ms"`
	Samples int64   `json:"samples"`
}

// latencyRecorder is an HDR histogram that one goroutine writes (a client's
// promises, or a consumer) while a progress line may read it.
type latencyRecorder struct {
	mu   sync.Mutex
	hist *hdrhistogram.Histogram
}

func newLatencyRecorder() *latencyRecorder {
	return &latencyRecorder{hist: hdrhistogram.New(1, maxLatencyMicros, 3)}
}

// record adds one sample.
func (r *latencyRecorder) record(d time.Duration) {
	micros := min(max(d.Microseconds(), 1), maxLatencyMicros)
	r.mu.Lock()
	_ = r.hist.RecordValue(micros) // in range by construction
	r.mu.Unlock()
}

// mergeInto adds r's samples to h.
func (r *latencyRecorder) mergeInto(h *hdrhistogram.Histogram) {
	r.mu.Lock()
	h.Merge(r.hist)
	r.mu.Unlock()
}

// mergeRecorders is one histogram of all of rs.
func mergeRecorders(rs []*latencyRecorder) *hdrhistogram.Histogram {
	h := hdrhistogram.New(1, maxLatencyMicros, 3)
	for _, r := range rs {
		r.mergeInto(h)
	}
	return h
}

func summarizeLatency(h *hdrhistogram.Histogram) LatencySummary {
	if h == nil || h.TotalCount() == 0 {
		return LatencySummary{}
	}
	ms := func(micros int64) float64 { return float64(micros) / 1000 }
	return LatencySummary{
		P50Ms:   ms(h.ValueAtQuantile(50)),
		P99Ms:   ms(h.ValueAtQuantile(99)),
		P999Ms:  ms(h.ValueAtQuantile(99.9)),
		P9999Ms: ms(h.ValueAtQuantile(99.99)),
		MaxMs:   ms(h.Max()),
		MeanMs:  h.Mean() / 1000,
		Samples: h.TotalCount(),
	}
}
