package netpoll

import (
	"encoding/binary"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// maxIovecs caps one writev: Linux rejects more than IOV_MAX (1024) iovecs
// with EINVAL, which gnet would treat as a dead connection.
const maxIovecs = 1024

// connIO is what a transport does for the transport-independent state of one
// connection. None of it is called with conn.mu held.
type connIO interface {
	// startFlush hands the write side to the transport: it must call
	// conn.nextBatch until that returns nil.
	startFlush()
	// resumeReading restarts request parsing after backpressure paused it.
	resumeReading()
	// closeConn closes the connection from any goroutine.
	closeConn()
	// buffersWrites says written bytes may wait in the transport's own
	// buffer (gnet's outbound buffer) after the flusher is done; it then
	// reports them with setBacklog, and a close after earlier responses
	// waits for that to reach zero, since gnet's close drops what it
	// cannot write at once.
	buffersWrites() bool
}

// responseSlot holds one request's response until every earlier request has
// been answered.
type responseSlot struct {
	done       bool
	bufs       [][]byte
	bytes      int64 // of bufs, counted in conn.waiting until moved to pending
	closeAfter bool  // close the connection once the responses before it are written
}

// conn is one client connection's in-order response queue and backpressure
// state, shared by both transports. Requests get consecutive sequence numbers;
// responses complete in any order into a ring of MaxInflight slots and move,
// framed, to pending once every earlier one has. One flusher at a time takes
// pending batches and writes them, so the socket sees responses in request
// order while mu is held only for bookkeeping.
type conn struct {
	srv  *Server
	info ConnInfo
	io   connIO

	mu           sync.Mutex
	slots        []responseSlot // ring indexed by seq % len; len = MaxInflight
	nextSeq      uint64         // sequence number of the next request read
	headSeq      uint64         // oldest request whose response is not in pending yet
	pending      [][]byte       // framed responses ready to write, in order
	pendingBytes int64          // bytes in pending
	waiting      int64          // bytes of responses in slots, waiting for an earlier one
	reserved     int64          // bytes granted by Reserve to requests not answered yet
	writing      int64          // bytes of the batch the flusher is writing
	backlog      int64          // bytes the transport buffered that the socket has not taken
	sizeArena    []byte         // carved into size prefixes, never rewritten, so batches in flight keep theirs
	inFlight     [][]byte       // the batch the flusher holds
	inFlightAll  bool           // inFlight was all of pending, so it may be reused once written
	spare        [][]byte       // a written batch's array, reused for pending
	flushing     bool           // a flusher owns the write side
	paused       bool           // the reader stopped and waits for resumeReading
	closing      bool           // a close was requested; read no more requests
	// closeWhenFlushed says a closeAfter slot reached the head: the
	// connection closes once pending is written, and later responses are
	// dropped.
	closeWhenFlushed bool
	closed           bool
	busy             bool        // counted in srv.busyConns
	idleTimer        *time.Timer // IdleTimeout > 0: checks whether the connection went idle

	// lastActive is when a byte last arrived or the connection last stopped
	// being busy, in monoNow nanoseconds.
	lastActive atomic.Int64
}

// newConn makes the state of a connection whose transport side is io.
func newConn(srv *Server, info ConnInfo, io connIO) *conn {
	c := &conn{srv: srv, info: info, io: io, slots: make([]responseSlot, srv.opts.MaxInflight)}
	c.lastActive.Store(monoNow())
	srv.openConns.Add(1)
	if idle := srv.opts.IdleTimeout; idle > 0 {
		c.mu.Lock()
		c.idleTimer = time.AfterFunc(idle, c.checkIdle)
		c.mu.Unlock()
	}
	return c
}

// monoEpoch anchors monoNow to the monotonic clock.
var monoEpoch = time.Now()

func monoNow() int64 { return int64(time.Since(monoEpoch)) }

// touch records that bytes arrived from the client.
func (c *conn) touch() { c.lastActive.Store(monoNow()) }

// checkIdle runs on the idle timer. A connection is idle while it owes the
// client nothing (no request in flight, no response unwritten) and has
// received no byte; after IdleTimeout of that it is closed, as Kafka does
// with connections.max.idle.ms. Otherwise the timer is set for when it
// could next expire.
func (c *conn) checkIdle() {
	idle := c.srv.opts.IdleTimeout
	c.mu.Lock()
	if c.closed || c.closing {
		c.mu.Unlock()
		return
	}
	next := idle
	if !c.busy {
		since := time.Duration(monoNow() - c.lastActive.Load())
		if since >= idle {
			c.mu.Unlock()
			c.srv.opts.Logger.Debug("closing idle connection",
				"remote", c.info.Remote, "conn", c.info.ID, "idle", since.Round(time.Millisecond), "max_idle", idle)
			c.close()
			return
		}
		next = idle - since
	}
	c.idleTimer.Reset(next)
	c.mu.Unlock()
}

// canReadLocked says whether another request may be read: fewer than
// MaxInflight are unanswered and the unwritten response bytes are under
// MaxQueuedBytes.
func (c *conn) canReadLocked() bool {
	return !c.closed && !c.closing && !c.srv.draining.Load() &&
		c.nextSeq-c.headSeq < uint64(len(c.slots)) &&
		c.queuedLocked() <= int64(c.srv.opts.MaxQueuedBytes)
}

// queuedLocked is the bytes of responses given and not yet taken by the
// socket, in order or waiting for an earlier one.
func (c *conn) queuedLocked() int64 {
	return c.pendingBytes + c.writing + c.backlog + c.waiting
}

// reserve grants r up to want bytes of what MaxQueuedBytes leaves after the
// queued responses and the grants of other unanswered requests. Grants do
// not stop reading (a produce behind a parked fetch is still read); they
// keep the requests already read from building more than the cap between
// them. A request already answered (or closed) is granted nothing: no
// completion is left to end its grant. Respond sets used before it takes mu
// to release, so under mu either the release is still to come or used is
// seen.
func (c *conn) reserve(r *responder, want int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || want <= 0 || r.used.Load() {
		return 0
	}
	grant := min(want, max(0, int64(c.srv.opts.MaxQueuedBytes)-c.queuedLocked()-c.reserved))
	r.granted += grant
	c.reserved += grant
	return grant
}

// release ends r's grant (its connection is being closed).
func (c *conn) release(r *responder) {
	c.mu.Lock()
	c.releaseLocked(r)
	c.mu.Unlock()
}

func (c *conn) releaseLocked(r *responder) {
	if !c.closed {
		c.reserved -= r.granted
	}
	r.granted = 0
}

// admit gives the next request its sequence number, or marks the connection
// paused and returns false when backpressure (or shutdown) says stop reading.
func (c *conn) admit() (uint64, bool) {
	c.mu.Lock()
	if !c.canReadLocked() {
		c.paused = true
		c.mu.Unlock()
		return 0, false
	}
	seq := c.nextSeq
	c.nextSeq++
	c.updateBusyLocked()
	c.mu.Unlock()
	return seq, true
}

// serve hands one admitted request to the handler.
func (c *conn) serve(seq uint64, body []byte) {
	c.srv.h.Serve(c.info, body, &responder{c: c, seq: seq})
}

// complete records r's response (nil: nothing to write) and moves every
// response that is now in order to pending.
func (c *conn) complete(r *responder, bufs [][]byte) {
	slot := responseSlot{done: true, bufs: bufs}
	for _, b := range bufs {
		slot.bytes += int64(len(b))
	}
	c.completeSlot(r, slot)
}

// completeSlot records r's outcome, ends its grant, and moves every
// response that is now in order to pending.
func (c *conn) completeSlot(r *responder, slot responseSlot) {
	seq := r.seq
	c.mu.Lock()
	c.releaseLocked(r)
	if c.closed || c.closeWhenFlushed {
		c.mu.Unlock()
		return
	}
	if slot.closeAfter {
		c.closing = true // read no more requests
	}
	c.slots[seq%uint64(len(c.slots))] = slot
	c.waiting += slot.bytes
	if seq != c.headSeq {
		c.mu.Unlock()
		return
	}
	if !c.dequeueReadyLocked() {
		c.mu.Unlock()
		c.srv.opts.Logger.Error("closing connection: response larger than a Kafka frame allows",
			"remote", c.info.Remote, "conn", c.info.ID)
		c.close()
		return
	}
	flush := len(c.pending) > 0 && !c.flushing
	if flush {
		c.flushing = true
	}
	closeNow := c.flushedForCloseLocked()
	resume := c.resumableLocked()
	c.updateBusyLocked()
	c.mu.Unlock()
	if closeNow {
		c.close()
		return
	}
	if flush {
		c.io.startFlush()
	}
	if resume {
		c.io.resumeReading()
	}
}

// dequeueReadyLocked frames the run of completed responses at the head of the
// ring into pending. It reports false if a response exceeds the int32 size.
func (c *conn) dequeueReadyLocked() bool {
	ring := uint64(len(c.slots))
	for c.headSeq < c.nextSeq {
		s := &c.slots[c.headSeq%ring]
		if !s.done {
			break
		}
		if s.closeAfter {
			*s = responseSlot{}
			c.headSeq++
			c.closeWhenFlushed = true
			break
		}
		c.waiting -= s.bytes
		if s.bufs != nil {
			n := s.bytes
			if n > math.MaxInt32 {
				return false
			}
			if len(c.sizeArena) < frameHeaderBytes {
				c.sizeArena = make([]byte, frameHeaderBytes*len(c.slots))
			}
			size := c.sizeArena[:frameHeaderBytes:frameHeaderBytes]
			c.sizeArena = c.sizeArena[frameHeaderBytes:]
			binary.BigEndian.PutUint32(size, uint32(n))
			c.pending = append(c.pending, size)
			c.pending = append(c.pending, s.bufs...)
			c.pendingBytes += frameHeaderBytes + n
		}
		*s = responseSlot{}
		c.headSeq++
	}
	return true
}

// claimFlush makes the caller the flusher if nobody is; the caller must then
// drain with nextBatch.
func (c *conn) claimFlush() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.flushing || c.closed {
		return false
	}
	c.flushing = true
	return true
}

// nextBatch is called by the flusher: it settles the batch it wrote last and
// returns the next one (at most maxIovecs buffers) with its byte count. It
// returns nil, and gives up the flusher role, when nothing is pending.
func (c *conn) nextBatch() ([][]byte, int64) {
	c.mu.Lock()
	if c.io.buffersWrites() {
		// Until the transport reports what it still buffers (setBacklog),
		// count the batch just written as buffered: a close after earlier
		// responses must not see a backlog of zero in between.
		c.backlog += c.writing
	}
	c.writing = 0
	if c.inFlightAll {
		clear(c.inFlight)
		c.spare = c.inFlight[:0]
	}
	c.inFlight, c.inFlightAll = nil, false
	if c.closed || len(c.pending) == 0 {
		c.flushing = false
		closeNow := c.flushedForCloseLocked() && !c.io.buffersWrites()
		resume := c.resumableLocked()
		c.updateBusyLocked()
		c.mu.Unlock()
		if closeNow {
			c.close()
		} else if resume {
			c.io.resumeReading()
		}
		return nil, 0
	}
	var batch [][]byte
	if len(c.pending) <= maxIovecs {
		batch, c.pending, c.spare = c.pending, c.spare, nil
		c.writing = c.pendingBytes
		c.inFlightAll = true
	} else {
		batch, c.pending = c.pending[:maxIovecs:maxIovecs], c.pending[maxIovecs:]
		for _, b := range batch {
			c.writing += int64(len(b))
		}
	}
	c.pendingBytes -= c.writing
	c.inFlight = batch
	n := c.writing
	resume := c.resumableLocked()
	c.mu.Unlock()
	if resume {
		c.io.resumeReading()
	}
	return batch, n
}

// setBacklog records how many written bytes the transport still buffers.
func (c *conn) setBacklog(n int64) {
	c.mu.Lock()
	c.backlog = n
	closeNow := c.flushedForCloseLocked()
	resume := c.resumableLocked()
	c.updateBusyLocked()
	c.mu.Unlock()
	if closeNow {
		c.close()
	} else if resume {
		c.io.resumeReading()
	}
}

// flushedForCloseLocked reports a close after earlier responses that may
// happen now: every response before it handed to the socket.
func (c *conn) flushedForCloseLocked() bool {
	return c.closeWhenFlushed && !c.closed && len(c.pending) == 0 && !c.flushing && c.writing == 0 && c.backlog == 0
}

// resumableLocked clears paused when reading may go on again.
func (c *conn) resumableLocked() bool {
	if c.paused && c.canReadLocked() {
		c.paused = false
		return true
	}
	return false
}

// close stops reading requests at once and has the transport close the
// connection, which may happen a little later on another goroutine.
func (c *conn) close() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.io.closeConn()
}

// markClosed drops everything queued; it reports whether this call closed it.
func (c *conn) markClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.closed = true
	c.srv.openConns.Add(-1)
	if c.idleTimer != nil {
		c.idleTimer.Stop()
	}
	clear(c.slots)
	c.pending, c.spare, c.inFlight, c.sizeArena = nil, nil, nil, nil
	c.pendingBytes, c.writing, c.backlog, c.waiting, c.reserved = 0, 0, 0, 0, 0
	c.updateBusyLocked()
	return true
}

// updateBusyLocked keeps srv.busyConns counting connections that owe a client
// a response, which is what a graceful Shutdown waits for.
func (c *conn) updateBusyLocked() {
	busy := !c.closed && (c.nextSeq != c.headSeq || len(c.pending) > 0 || c.writing > 0 || c.backlog > 0)
	if busy == c.busy {
		return
	}
	c.busy = busy
	if busy {
		c.srv.busyConns.Add(1)
		return
	}
	c.lastActive.Store(monoNow()) // the idle time starts now
	c.srv.connIdle()
}
