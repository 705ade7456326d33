package engine

import (
	"errors"
	"sync"

	"github.com/chronik-go/chronik/netpoll"
)

// earlyRequests holds the requests that arrive between the listener binding
// and Start, in the order they came. Start hands them to their handlers in
// that order before any later request: a goroutine each, as they were once
// held, would let a connection's pipelined produce requests reach the shard
// in any order (an idempotent producer's sequence then refused as out of
// order, a plain producer's records swapped). netpoll bounds them by the
// per-connection in-flight cap.
type earlyRequests struct {
	mu      sync.Mutex
	queue   []earlyRequest
	refused bool // Close came before Start: held and later requests are refused
}

type earlyRequest struct {
	c    netpoll.ConnInfo
	body []byte
	out  netpoll.Responder
}

var errClosedBeforeStart = errors.New("broker shut down before it started serving")

// holdEarly keeps a request that came before Start, behind those held
// before it, and reports true; false once Start has served the held ones
// (the caller serves it then).
func (b *Broker) holdEarly(c netpoll.ConnInfo, body []byte, out netpoll.Responder) bool {
	e := &b.early
	e.mu.Lock()
	if b.ready.Load() {
		e.mu.Unlock()
		return false
	}
	if e.refused {
		e.mu.Unlock()
		out.Close(errClosedBeforeStart)
		return true
	}
	e.queue = append(e.queue, earlyRequest{c: c, body: body, out: out})
	e.mu.Unlock()
	return true
}

// serveEarly serves the held requests in the order they came, those
// arriving meanwhile included, then lets requests through: ready is set
// under the lock only once nothing is held, so no request overtakes one
// held before it.
func (b *Broker) serveEarly() {
	e := &b.early
	var closing sync.Map // ids of connections a held request closed (a shard may close one later)
	for {
		e.mu.Lock()
		q := e.queue
		e.queue = nil
		if e.refused {
			e.mu.Unlock()
			return
		}
		if len(q) == 0 {
			b.ready.Store(true)
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()
		for _, r := range q {
			if _, closed := closing.Load(r.c.ID); closed {
				// Read behind a request that closed the connection:
				// Kafka would never have read it.
				r.out.CloseAfterEarlier(errBehindClose)
				continue
			}
			id := r.c.ID
			b.serve(r.c, r.body, closeWatch{r.out, func() { closing.Store(id, true) }})
		}
	}
}

var errBehindClose = errors.New("request read behind one that closed the connection")

// closeWatch is a held request's Responder that notes a close, so that
// serveEarly skips the connection's requests still held behind it. (What a
// shard closes later, once they were served, is as after Start: see
// "Request handling" in docs/ARCHITECTURE.md.)
type closeWatch struct {
	netpoll.Responder
	closed func()
}

func (w closeWatch) Close(reason error) {
	w.closed()
	w.Responder.Close(reason)
}

func (w closeWatch) CloseAfterEarlier(reason error) {
	w.closed()
	w.Responder.CloseAfterEarlier(reason)
}

// refuseEarly closes the connections of requests held when the broker
// stops before Start, and of any that come later.
func (b *Broker) refuseEarly() {
	e := &b.early
	e.mu.Lock()
	q := e.queue
	e.queue = nil
	e.refused = !b.ready.Load()
	e.mu.Unlock()
	for _, r := range q {
		r.out.Close(errClosedBeforeStart)
	}
}
