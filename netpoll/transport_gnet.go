package netpoll

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// gnetTransport serves connections on gnet event loops: the loop reads and
// frames requests and calls Serve; responses completed elsewhere reach the
// loop through AsyncWritev.
//
// The listener is ours, not gnet's: gnet's acceptor treats any accept error
// other than EAGAIN/EINTR/ECONNRESET/ECONNABORTED (EMFILE, ENFILE, ENOBUFS,
// ENOMEM) as fatal and shuts the whole engine down, dropping every
// connection. So a net.Listener accepts, backing off on errors as the std
// transport does, and each accepted socket is handed to gnet's event loops
// with Client.EnrollContext (which dups the descriptor and closes ours).
type gnetTransport struct {
	gnet.BuiltinEventEngine
	srv *Server
	ln  net.Listener
	cli *gnet.Client

	closeLn    sync.Once
	lnClosed   chan struct{} // closed with ln: ends an accept backoff
	acceptDone chan struct{} // the accept loop returned

	stopOnce sync.Once
	runDone  chan struct{} // the event loops stopped and closed every connection

	// loopsMu guards every call that queues work on an event loop: after
	// the loops stop, gnet has closed their eventfds, and queueing would
	// write to a closed (possibly reused) descriptor.
	loopsMu      sync.RWMutex
	loopsStopped bool
}

func listenGnet(s *Server) (transport, net.Addr, error) {
	if err := gnetPlatformErr(); err != nil {
		return nil, nil, err
	}
	ln, err := listenTCP(s.opts.Addr)
	if err != nil {
		return nil, nil, err
	}
	t := &gnetTransport{
		srv:        s,
		ln:         ln,
		lnClosed:   make(chan struct{}),
		acceptDone: make(chan struct{}),
		runDone:    make(chan struct{}),
	}
	t.cli, err = gnet.NewClient(t,
		gnet.WithMulticore(true),
		gnet.WithNumEventLoop(s.opts.NumLoops),
		// Accepted sockets already have TCP_NODELAY and keepalive from the
		// net package; TCPDelay only stops EnrollContext from setting
		// TCP_NODELAY again (it never clears it).
		gnet.WithTCPNoDelay(gnet.TCPDelay),
		gnet.WithLogger(gnetLogger{s.opts.Logger}),
	)
	if err == nil {
		err = t.cli.Start()
	}
	if err != nil {
		_ = ln.Close()
		return nil, nil, fmt.Errorf("start gnet event loops: %w", err)
	}
	go func() {
		defer close(t.acceptDone)
		acceptLoop(ln, s.opts.Logger, t.lnClosed, t.enroll)
	}()
	return t, ln.Addr(), nil
}

// enroll hands an accepted connection to an event loop and returns once
// OnOpen ran there. The loops keep running until the accept loop has
// returned (stop waits for it), so this cannot wait on a stopped loop. It
// fails when the descriptor cannot be duplicated (EMFILE again); nc is
// closed either way.
func (t *gnetTransport) enroll(nc net.Conn) error {
	_, err := t.cli.EnrollContext(nc, nil)
	return err
}

func (t *gnetTransport) closeListener() {
	t.closeLn.Do(func() {
		_ = t.ln.Close()
		close(t.lnClosed)
	})
}

// enterLoops reports whether work may be queued on the event loops; a true
// result must be paired with exitLoops.
func (t *gnetTransport) enterLoops() bool {
	t.loopsMu.RLock()
	if t.loopsStopped {
		t.loopsMu.RUnlock()
		return false
	}
	return true
}

func (t *gnetTransport) exitLoops() { t.loopsMu.RUnlock() }

func (t *gnetTransport) stopAccepting() { t.closeListener() }

// acceptStopGrace is how long stop waits for the accept loop past the
// deadline: enough for a loop turn, not for a loop held up in a handler.
const acceptStopGrace = 100 * time.Millisecond

func (t *gnetTransport) stop(ctx context.Context) error {
	t.closeListener()
	// The accept loop may be inside EnrollContext, which waits for a loop
	// to open the connection, so the loops stop only after it returned.
	// That wait is one loop turn (or a backoff cut short by lnClosed) — but
	// a loop held up in a handler holds it: past the deadline (which may
	// have passed while the server drained) it gets a short grace, then the
	// loops are left running rather than Shutdown overrunning its deadline.
	select {
	case <-t.acceptDone:
	case <-ctx.Done():
		select {
		case <-t.acceptDone:
		case <-time.After(acceptStopGrace):
			// The loops still stop, closing their connections, once the
			// held loop lets the accept loop go.
			go func() {
				<-t.acceptDone
				t.stopLoops()
			}()
			return ctx.Err()
		}
	}
	t.stopLoops()
	select {
	case <-t.runDone:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stopLoops stops the event loops once; runDone closes when they are done.
func (t *gnetTransport) stopLoops() {
	t.stopOnce.Do(func() {
		t.loopsMu.Lock()
		t.loopsStopped = true
		t.loopsMu.Unlock()
		// Client.Stop blocks until every loop closed its connections;
		// runDone says when that is over.
		go func() {
			defer close(t.runDone)
			if err := t.cli.Stop(); err != nil {
				t.srv.opts.Logger.Warn("stop gnet event loops", "err", err)
			}
		}()
	})
}

func (t *gnetTransport) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	if t.srv.draining.Load() {
		return nil, gnet.Close
	}
	g := &gnetConn{t: t, gc: gc}
	g.c = newConn(t.srv, nextConnInfo(t.srv.opts.Listener, gc.RemoteAddr()), g)
	gc.SetContext(g)
	return nil, gnet.None
}

func (t *gnetTransport) OnClose(gc gnet.Conn, err error) gnet.Action {
	g, _ := gc.Context().(*gnetConn)
	if g == nil {
		return gnet.None
	}
	if g.timer != nil {
		g.timer.Stop()
	}
	if err != nil {
		t.srv.opts.Logger.Debug("connection closed", "remote", g.c.info.Remote, "conn", g.c.info.ID, "err", err)
	}
	if g.c.markClosed() {
		t.srv.h.ConnClosed(g.c.info)
	}
	return gnet.None
}

func (t *gnetTransport) OnTraffic(gc gnet.Conn) gnet.Action {
	g, _ := gc.Context().(*gnetConn)
	if g == nil || g.watchOutbound() {
		return gnet.Close
	}
	if gc.InboundBuffered() != g.inboundLeft {
		g.c.touch() // bytes arrived (not just a Wake)
	}
	claimed := g.c.claimFlush()
	action := g.parse()
	g.inboundLeft = gc.InboundBuffered()
	// Responses completed while parsing, on this loop or elsewhere, go out
	// in one writev.
	if claimed && g.flushOnLoop() {
		return gnet.Close
	}
	return action
}

// gnetConn is one connection of the gnet transport. Fields marked loop-only
// are touched only on the connection's event loop.
type gnetConn struct {
	t  *gnetTransport
	gc gnet.Conn
	c  *conn

	asyncBytes int64 // bytes of the batch queued with AsyncWritev; set by the flusher

	timer      *time.Timer // wakes the loop while written bytes wait in gnet's buffer
	timerArmed atomic.Bool

	handed       int64     // loop-only: bytes passed to gnet for writing
	lastSent     int64     // loop-only: handed - buffered at the last check
	lastBuffered int64     // loop-only: gnet's outbound buffer at the last check
	lastProgress time.Time // loop-only: when the socket last took bytes
	inboundLeft  int       // loop-only: input left unparsed when OnTraffic last returned
}

// parse admits and serves every complete frame in the inbound buffer. A frame
// backpressure does not admit stays in gnet's buffer until resumeReading.
func (g *gnetConn) parse() gnet.Action {
	gc, opts := g.gc, &g.t.srv.opts
	for {
		hdr, err := gc.Peek(frameHeaderBytes)
		if err != nil {
			return gnet.None
		}
		size, err := frameSize(hdr, opts.MaxFrameBytes)
		if err != nil {
			g.c.logBadFrame(size, err)
			return gnet.Close
		}
		if gc.InboundBuffered() < frameHeaderBytes+int(size) {
			return gnet.None
		}
		seq, ok := g.c.admit()
		if !ok {
			// gnet keeps reading a paused socket, so bound what it holds.
			if held := gc.InboundBuffered(); held > int(opts.MaxFrameBytes)+opts.MaxQueuedBytes {
				opts.Logger.Warn("closing connection: too much input while paused for backpressure",
					"remote", g.c.info.Remote, "conn", g.c.info.ID, "held_bytes", held)
				return gnet.Close
			}
			return gnet.None
		}
		_, _ = gc.Discard(frameHeaderBytes)
		body := make([]byte, size)
		_, _ = gc.Read(body)
		g.c.serve(seq, body)
	}
}

// startFlush runs off the loop for a response completed elsewhere: the first
// batch goes to the loop by AsyncWritev and the loop writes the rest.
func (g *gnetConn) startFlush() {
	batch, n := g.c.nextBatch()
	if batch == nil {
		return
	}
	if !g.t.enterLoops() {
		return // the engine is stopping and closes the connection
	}
	defer g.t.exitLoops()
	g.asyncBytes = n
	if err := g.gc.AsyncWritev(batch, g.asyncWritten); err != nil {
		g.t.srv.opts.Logger.Debug("queue response write", "remote", g.c.info.Remote, "conn", g.c.info.ID, "err", err)
	}
}

// asyncWritten runs on the loop after the AsyncWritev batch was written.
func (g *gnetConn) asyncWritten(_ gnet.Conn, err error) error {
	if err != nil {
		return nil // connection closed; markClosed dropped the queue
	}
	g.handed += g.asyncBytes
	if g.flushOnLoop() {
		_ = g.gc.EventLoop().Close(g.gc)
	}
	return nil
}

// flushOnLoop writes pending batches directly; the caller holds the flusher
// role and runs on the loop. It reports true when the connection should be
// closed because the client stopped reading.
func (g *gnetConn) flushOnLoop() bool {
	for {
		batch, n := g.c.nextBatch()
		if batch == nil {
			break
		}
		g.handed += n
		if _, err := g.gc.Writev(batch); err != nil {
			// gnet closed the connection; nextBatch now returns nil.
			continue
		}
	}
	return g.watchOutbound()
}

// watchOutbound runs on the loop. gnet reports no event when its outbound
// buffer drains, so while bytes wait there a timer wakes the loop to notice
// progress, lift backpressure, and close a client that has not taken a byte
// for WriteTimeout. It reports true when the connection should be closed.
func (g *gnetConn) watchOutbound() bool {
	buffered := int64(g.gc.OutboundBuffered())
	// Every time: nextBatch counts a written batch as buffered until this
	// reports the real figure, and a close after earlier responses waits
	// for it to reach zero.
	g.c.setBacklog(buffered)
	now := time.Time{}
	if buffered > 0 {
		now = time.Now()
		sent := g.handed - buffered
		if g.lastBuffered == 0 || sent != g.lastSent {
			g.lastProgress = now
		}
		g.lastSent = sent
	}
	g.lastBuffered = buffered
	if buffered == 0 {
		return false
	}
	timeout := g.t.srv.opts.WriteTimeout
	if now.Sub(g.lastProgress) > timeout {
		g.t.srv.opts.Logger.Warn("closing connection: client is not reading its responses",
			"remote", g.c.info.Remote, "conn", g.c.info.ID, "timeout", timeout, "buffered_bytes", buffered)
		return true
	}
	if g.timerArmed.CompareAndSwap(false, true) {
		interval := min(max(timeout/8, time.Millisecond), 20*time.Millisecond)
		if g.timer == nil {
			g.timer = time.AfterFunc(interval, g.onOutboundTimer)
		} else {
			g.timer.Reset(interval)
		}
	}
	return false
}

func (g *gnetConn) onOutboundTimer() {
	g.timerArmed.Store(false)
	g.resumeReading()
}

// resumeReading re-triggers OnTraffic, which parses what gnet holds.
func (g *gnetConn) resumeReading() {
	if !g.t.enterLoops() {
		return
	}
	defer g.t.exitLoops()
	_ = g.gc.Wake(nil)
}

func (g *gnetConn) buffersWrites() bool { return true }

func (g *gnetConn) closeConn() {
	if !g.t.enterLoops() {
		return
	}
	defer g.t.exitLoops()
	_ = g.gc.Close()
}
