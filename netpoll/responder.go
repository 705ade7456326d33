package netpoll

import "sync/atomic"

// responder is the Responder for one request. Only its first call counts, so
// a handler bug cannot free a slot twice; once the connection is closed its
// calls do nothing.
type responder struct {
	c    *conn
	seq  uint64
	used atomic.Bool
	// granted is what Reserve granted this request, held in conn.reserved
	// until its slot completes; guarded by conn.mu.
	granted int64
}

func (r *responder) Respond(bufs [][]byte) {
	if r.used.Swap(true) {
		return
	}
	r.c.complete(r, bufs)
}

func (r *responder) Reserve(want int) int {
	return int(r.c.reserve(r, int64(want)))
}

func (r *responder) Close(reason error) {
	if r.used.Swap(true) {
		return
	}
	r.c.srv.opts.Logger.Warn("closing connection", "remote", r.c.info.Remote, "conn", r.c.info.ID, "reason", reason)
	r.c.release(r)
	r.c.close()
}

func (r *responder) CloseAfterEarlier(reason error) {
	if r.used.Swap(true) {
		return
	}
	r.c.srv.opts.Logger.Warn("closing connection after earlier responses", "remote", r.c.info.Remote, "conn", r.c.info.ID, "reason", reason)
	r.c.completeSlot(r, responseSlot{done: true, closeAfter: true})
}
