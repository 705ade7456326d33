package engine

import "sync"

// mailboxOverflow holds what was submitted to a shard while its mailbox was
// full, in submission order, and one goroutine feeds it to the mailbox as
// room comes. Sends waiting on a goroutine each would reach the shard in any
// order: two produce requests of one connection to one partition could then
// be appended the wrong way round (an idempotent producer's sequence seen
// out of order, a plain producer's records swapped), where Kafka appends a
// connection's requests in the order they came.
type mailboxOverflow struct {
	mu      sync.Mutex
	queue   []func(*shard)
	feeding bool // a goroutine is feeding queue to the mailbox
}

// submit queues fn for the shard without blocking the caller, behind
// everything submitted before it. When the mailbox is full the rest waits
// in the overflow: its length is bounded by the per-connection in-flight
// cap times connections, and the client sees the delay as backpressure.
func (s *shard) submit(fn func(*shard)) {
	o := &s.overflow
	o.mu.Lock()
	if len(o.queue) == 0 {
		select {
		case s.mailbox <- fn:
			o.mu.Unlock()
			return
		default:
		}
	}
	o.queue = append(o.queue, fn)
	if !o.feeding {
		o.feeding = true
		go s.feedOverflow()
	}
	o.mu.Unlock()
}

// feedOverflow moves the overflow into the mailbox in order until it is
// empty or the shard stops.
func (s *shard) feedOverflow() {
	o := &s.overflow
	for {
		o.mu.Lock()
		if len(o.queue) == 0 {
			// Drop the array a burst grew rather than keep it (its slots
			// are cleared, but sized for the burst's peak).
			o.queue = nil
			o.feeding = false
			o.mu.Unlock()
			return
		}
		fn := o.queue[0]
		o.mu.Unlock()
		select {
		case s.mailbox <- fn:
		case <-s.quit:
			return
		}
		o.mu.Lock()
		o.queue[0] = nil
		o.queue = o.queue[1:]
		o.mu.Unlock()
	}
}
