package engine

import (
	"sync/atomic"
	"time"
)

// activityClock marks when a goroutine's current piece of work began (a
// shard turn, a group of fdatasyncs, a segment seal), so that a stall is
// visible while it lasts — to /health and the metrics — and not only once
// the call returns, which a dead disk may never do.
type activityClock struct {
	since atomic.Int64 // unix nanoseconds; 0 while idle
}

func (c *activityClock) begin() { c.since.Store(time.Now().UnixNano()) }

func (c *activityClock) end() { c.since.Store(0) }

// running is how long the current work has run at now (0 when idle).
func (c *activityClock) running(now time.Time) time.Duration {
	since := c.since.Load()
	if since == 0 {
		return 0
	}
	return max(time.Duration(now.UnixNano()-since), 0)
}

// shardActivity is one of a shard's clocks with its name, for health lines
// and metric labels.
type shardActivity struct {
	name  string
	clock *activityClock
}

func (s *shard) activities() [3]shardActivity {
	return [3]shardActivity{{"turn", &s.turnClock}, {"sync", &s.syncClock}, {"seal", &s.sealClock}}
}
