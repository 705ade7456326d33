package engine

import (
	"sync/atomic"
	"time"
)

// warnLimiter lets a warning that clients can trigger again and again (a
// producer refreshing metadata, a client retrying a refused request) reach
// the log at most once a minute.
type warnLimiter struct {
	last atomic.Int64 // unix nanoseconds of the last warning let through
}

// allow reports whether a warning may be logged now.
func (w *warnLimiter) allow() bool {
	now := time.Now().UnixNano()
	last := w.last.Load()
	return now-last >= int64(time.Minute) && w.last.CompareAndSwap(last, now)
}
