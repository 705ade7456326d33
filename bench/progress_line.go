package bench

import (
	"fmt"
	"io"
	"time"
)

// progressLine is the live status a person watching a terminal sees:
// records done, the current rate in records/s and MB/s, and the p99 latency
// so far. It is rewritten in place with \r every period.
type progressLine struct {
	w          io.Writer
	label      string
	verb       string             // "acked", "read"
	total      int64              // records to do; 0 when the phase runs for a duration
	duration   time.Duration      // the phase's length when total is 0
	recordSize int                // bytes per record for MB/s, when bytes is nil
	count      func() int64       // records done
	bytes      func() int64       // bytes done; nil: count × recordSize
	latency    []*latencyRecorder // nil: no latency column
}

// start prints the line every period until the returned func is called,
// which clears it. A nil writer prints nothing.
func (p progressLine) start(every time.Duration) func() {
	if p.w == nil {
		return func() {}
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ticker := time.NewTicker(every)
		defer ticker.Stop()
		begin := time.Now()
		last, lastBytes, lastAt := int64(0), int64(0), begin
		for {
			select {
			case <-stop:
				fmt.Fprint(p.w, "\r\033[K")
				return
			case now := <-ticker.C:
				n, b := p.count(), p.byteCount()
				secs := now.Sub(lastAt).Seconds()
				rate, byteRate := float64(n-last)/secs, float64(b-lastBytes)/secs
				last, lastBytes, lastAt = n, b, now
				fmt.Fprintf(p.w, "\r\033[K%s", p.render(n, rate, byteRate, now.Sub(begin)))
			}
		}
	}()
	return func() {
		close(stop)
		<-finished
	}
}

func (p progressLine) byteCount() int64 {
	if p.bytes != nil {
		return p.bytes()
	}
	return p.count() * int64(p.recordSize)
}

func (p progressLine) render(n int64, rate, byteRate float64, elapsed time.Duration) string {
	s := fmt.Sprintf("%s: %d %s, %.0f records/s, %.1f MB/s", p.label, n, p.verb, rate, byteRate/1e6)
	if p.latency != nil {
		if l := summarizeLatency(mergeRecorders(p.latency)); l.Samples > 0 {
			s += fmt.Sprintf(", p99 so far %.2f ms", l.P99Ms)
		}
	}
	switch {
	case p.total > 0:
		s += fmt.Sprintf(" [%.0f%%]", 100*float64(n)/float64(p.total))
	case p.duration > 0:
		s += fmt.Sprintf(" [%.0f%% of %s]", min(100, 100*elapsed.Seconds()/p.duration.Seconds()), p.duration)
	}
	return s
}
