package bench

import "time"

// pacer sleeps a producer goroutine until a record's intended send time.
// Go's time.Sleep wakes up to a millisecond late on an idle Linux host (the
// runtime's poller sleeps in whole milliseconds), which would add a
// millisecond of the generator's own lateness to every open-loop latency;
// the Linux pacer sleeps in the kernel with a 1 µs timer slack instead.
type pacer interface {
	// sleepUntil returns at or soon after t.
	sleepUntil(t time.Time)
	// close releases the pacer's thread.
	close()
}

// SleepUntil returns at or soon after t, with the pacer's precision: for
// open-loop generators elsewhere (the engine's in-process benchmarks), which
// time.Sleep would leave up to a millisecond late and then bunch up.
func SleepUntil(t time.Time) { newPacer().sleepUntil(t) }
