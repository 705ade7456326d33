package netpoll

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

// stdTransport serves connections with the net package: one reader and one
// writer goroutine per connection. It is the A/B baseline for gnet and the
// transport TLS will use.
type stdTransport struct {
	srv *Server
	ln  net.Listener
	wg  sync.WaitGroup // accept loop and every connection goroutine

	closeLn  sync.Once
	lnClosed chan struct{} // closed with ln: ends an accept backoff

	mu      sync.Mutex
	conns   map[*stdConn]struct{}
	stopped bool
}

func listenStd(s *Server) (transport, net.Addr, error) {
	ln, err := listenTCP(s.opts.Addr)
	if err != nil {
		return nil, nil, err
	}
	if s.opts.TLS != nil {
		ln = tls.NewListener(ln, s.opts.TLS)
	}
	t := &stdTransport{srv: s, ln: ln, lnClosed: make(chan struct{}), conns: make(map[*stdConn]struct{})}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		acceptLoop(ln, s.opts.Logger, t.lnClosed, t.startConn)
	}()
	return t, ln.Addr(), nil
}

func (t *stdTransport) closeListener() {
	t.closeLn.Do(func() {
		_ = t.ln.Close()
		close(t.lnClosed)
	})
}

func (t *stdTransport) startConn(nc net.Conn) error {
	sc := &stdConn{
		t:      t,
		nc:     nc,
		kick:   make(chan struct{}, 1),
		resume: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	t.mu.Lock()
	if t.stopped || t.srv.draining.Load() {
		t.mu.Unlock()
		_ = nc.Close()
		return nil
	}
	// Made only once accepted for good: its idle timer would otherwise
	// outlive a refused connection.
	sc.c = newConn(t.srv, nextConnInfo(t.srv.opts.Listener, nc.RemoteAddr()), sc)
	t.conns[sc] = struct{}{}
	t.wg.Add(2)
	t.mu.Unlock()
	go sc.readLoop()
	go sc.writeLoop()
	return nil
}

func (t *stdTransport) stopAccepting() { t.closeListener() }

func (t *stdTransport) stop(ctx context.Context) error {
	t.closeListener()
	t.mu.Lock()
	t.stopped = true
	for sc := range t.conns {
		sc.close()
	}
	t.mu.Unlock()
	done := make(chan struct{})
	go func() {
		t.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stdConn is one connection of the std transport.
type stdConn struct {
	t      *stdTransport
	c      *conn
	nc     net.Conn
	kick   chan struct{} // the writer has a flush to do
	resume chan struct{} // the reader may admit requests again
	done   chan struct{} // closed with the connection
	tlsOut []byte        // the writer's chunk buffer on a TLS connection

	closeOnce sync.Once
}

func (sc *stdConn) close() {
	sc.closeOnce.Do(func() {
		close(sc.done)
		_ = sc.nc.Close()
	})
}

func (sc *stdConn) startFlush() {
	select {
	case sc.kick <- struct{}{}:
	default:
	}
}

func (sc *stdConn) resumeReading() {
	select {
	case sc.resume <- struct{}{}:
	default:
	}
}

func (sc *stdConn) closeConn() { sc.close() }

// buffersWrites: std writes each batch to the socket before asking for the
// next.
func (sc *stdConn) buffersWrites() bool { return false }

// readLoop cuts frames off the socket and serves them. A frame that
// backpressure does not admit is held until resumeReading; the socket is not
// read meanwhile, so TCP pushes back on the client.
func (sc *stdConn) readLoop() {
	defer sc.t.wg.Done()
	defer sc.finish()
	opts := &sc.t.srv.opts
	if tc, ok := sc.nc.(*tls.Conn); ok {
		// Off the accept loop, and bounded: a client that never finishes
		// its handshake must not hold the connection.
		ctx, cancel := context.WithTimeout(context.Background(), opts.WriteTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			select {
			case <-sc.done: // closed by a shutdown, not the client's doing
			default:
				level := slog.LevelInfo
				if errors.Is(err, io.EOF) {
					level = slog.LevelDebug // a TCP probe, not a TLS client
				}
				opts.Logger.Log(context.Background(), level, "TLS handshake failed", "remote", sc.nc.RemoteAddr().String(), "err", err)
			}
			return
		}
	}
	br := bufio.NewReaderSize(activityReader{sc}, 64<<10)
	hdr := make([]byte, frameHeaderBytes)
	for {
		if _, err := io.ReadFull(br, hdr); err != nil {
			sc.logReadErr(err)
			return
		}
		size, err := frameSize(hdr, opts.MaxFrameBytes)
		if err != nil {
			sc.c.logBadFrame(size, err)
			return
		}
		body, err := readBody(br, int(size))
		if err != nil {
			sc.logReadErr(err)
			return
		}
		seq, ok := sc.c.admit()
		for !ok {
			select {
			case <-sc.resume:
			case <-sc.done:
				return
			}
			seq, ok = sc.c.admit()
		}
		sc.c.serve(seq, body)
	}
}

// tlsWriteChunk is how much a TLS connection's writer encrypts and writes
// under one deadline.
const tlsWriteChunk = 64 << 10

// writeTLS writes bufs to a TLS connection in chunks of tlsWriteChunk, each
// under a fresh deadline: a deadline that expires mid-write breaks a TLS
// stream for good (the record may be cut), so a slow reader that keeps
// taking bytes must never meet one, as on plain TCP where progress renews
// it. Copying into one buffer also makes one TLS record of many small
// buffers.
func (sc *stdConn) writeTLS(tc *tls.Conn, bufs [][]byte, timeout time.Duration) error {
	chunk := sc.tlsOut[:0]
	defer func() { sc.tlsOut = chunk[:0] }()
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		_ = tc.SetWriteDeadline(time.Now().Add(timeout))
		_, err := tc.Write(chunk)
		chunk = chunk[:0]
		return err
	}
	for _, b := range bufs {
		for len(b) > 0 {
			n := min(len(b), tlsWriteChunk-len(chunk))
			chunk, b = append(chunk, b[:n]...), b[n:]
			if len(chunk) == tlsWriteChunk {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// activityReader reads the socket and records that bytes arrived, for
// IdleTimeout.
type activityReader struct{ sc *stdConn }

func (r activityReader) Read(p []byte) (int, error) {
	n, err := r.sc.nc.Read(p)
	if n > 0 {
		r.sc.c.touch()
	}
	return n, err
}

// firstBodyChunk is the most readBody allocates before body bytes arrive.
const firstBodyChunk = 64 << 10

// readBody reads a frame body of size bytes. The buffer starts at
// firstBodyChunk and doubles as bytes arrive, so a client that announces a
// large frame and sends little pins little memory (at most twice what it
// sent), not the announced size.
func readBody(r io.Reader, size int) ([]byte, error) {
	body := make([]byte, 0, min(size, firstBodyChunk))
	for len(body) < size {
		if len(body) == cap(body) {
			grown := make([]byte, len(body), min(size, 2*cap(body)))
			copy(grown, body)
			body = grown
		}
		n, err := r.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if err != nil && len(body) < size {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return body, nil
}

func (sc *stdConn) logReadErr(err error) {
	select {
	case <-sc.done: // we closed it
		return
	default:
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return
	}
	sc.t.srv.opts.Logger.Debug("read request", "remote", sc.c.info.Remote, "conn", sc.c.info.ID, "err", err)
}

// finish closes the connection and tells the handler, once, after the reader
// has stopped so no Serve can follow ConnClosed.
func (sc *stdConn) finish() {
	sc.close()
	sc.t.mu.Lock()
	delete(sc.t.conns, sc)
	sc.t.mu.Unlock()
	if sc.c.markClosed() {
		sc.t.srv.h.ConnClosed(sc.c.info)
	}
}

// writeLoop writes pending responses when kicked. A client that takes no
// response bytes for WriteTimeout is closed; one that reads, however
// slowly, gets a new deadline for the rest after every write that moved
// bytes (a 50 MB fetch answer over a slow link takes longer than the
// timeout).
func (sc *stdConn) writeLoop() {
	defer sc.t.wg.Done()
	timeout := sc.t.srv.opts.WriteTimeout
	for {
		select {
		case <-sc.kick:
		case <-sc.done:
			return
		}
		for {
			batch, _ := sc.c.nextBatch()
			if batch == nil {
				break
			}
			var err error
			if tc, ok := sc.nc.(*tls.Conn); ok {
				err = sc.writeTLS(tc, batch, timeout)
			} else {
				bufs := net.Buffers(batch)
				for len(bufs) > 0 {
					_ = sc.nc.SetWriteDeadline(time.Now().Add(timeout))
					var n int64
					// WriteTo consumes what it wrote from bufs.
					if n, err = bufs.WriteTo(sc.nc); err == nil || n == 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
						break
					}
				}
			}
			if err != nil {
				select {
				case <-sc.done:
				default:
					sc.t.srv.opts.Logger.Warn("closing connection: write responses",
						"remote", sc.c.info.Remote, "conn", sc.c.info.ID, "timeout", timeout, "err", err)
				}
				sc.close()
				return
			}
		}
	}
}
