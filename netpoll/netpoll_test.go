package netpoll

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/chronik-go/chronik/internal/syncbuf"
)

var transports = []string{"gnet", "std"}

// forEachTransport runs f as a subtest per transport.
func forEachTransport(t *testing.T, f func(t *testing.T, transport string)) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) { f(t, tr) })
	}
}

// Test request body: 4-byte request number, 1-byte mode, payload.
const (
	modeEcho       = iota // respond at once with the body
	modeAsync             // respond from a goroutine after a random delay
	modeNone              // Respond(nil), as for acks=0
	modeHold              // hand the responder to the test
	modeManyBufs          // respond with more buffers than one writev takes
	modeClose             // Responder.Close, as for an unparseable request
	modeCloseAfter        // Responder.CloseAfterEarlier, as for a failed acks=0 produce
)

func request(n uint32, mode byte, payload string) []byte {
	b := binary.BigEndian.AppendUint32(nil, n)
	b = append(b, mode)
	return append(b, payload...)
}

// heldRequest is a request the handler did not answer yet.
type heldRequest struct {
	body []byte
	r    Responder
}

// testHandler answers by the mode byte and counts what it sees.
type testHandler struct {
	served atomic.Int64
	held   chan heldRequest

	mu     sync.Mutex
	closed map[uint64]int // ConnClosed calls per connection id
}

func newTestHandler() *testHandler {
	return &testHandler{held: make(chan heldRequest, 1024), closed: make(map[uint64]int)}
}

func (h *testHandler) Serve(_ ConnInfo, body []byte, r Responder) {
	h.served.Add(1)
	switch body[4] {
	case modeEcho:
		r.Respond([][]byte{body})
	case modeAsync:
		delay := time.Duration(rand.IntN(500)) * time.Microsecond
		go func() {
			time.Sleep(delay) // simulated work, so responses complete out of order
			r.Respond([][]byte{body[:2], body[2:]})
		}()
	case modeNone:
		r.Respond(nil)
	case modeHold:
		h.held <- heldRequest{body: body, r: r}
	case modeManyBufs:
		bufs := make([][]byte, 0, 1500+1)
		bufs = append(bufs, body)
		for i := range 1500 {
			bufs = append(bufs, []byte{byte(i)})
		}
		r.Respond(bufs)
	case modeClose:
		r.Close(errors.New("unparseable request"))
	case modeCloseAfter:
		r.CloseAfterEarlier(errors.New("failed acks=0 produce"))
	}
}

func (h *testHandler) ConnClosed(c ConnInfo) {
	h.mu.Lock()
	h.closed[c.ID]++
	h.mu.Unlock()
}

func (h *testHandler) closedCount() (conns, calls int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.closed {
		conns++
		calls += n
	}
	return conns, calls
}

// startServer listens on a loopback port and shuts down when the test ends.
func startServer(t *testing.T, transport string, opts Options, h Handler) (*Server, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	opts.Addr = "127.0.0.1:0"
	opts.Transport = transport
	if opts.NumLoops == 0 {
		opts.NumLoops = 2
	}
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := Listen(opts, h)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s, logs
}

// testClient speaks the framing; every call has a deadline so a hang fails.
type testClient struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, s *Server) *testClient {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatalf("dial %s: %v", s.Addr(), err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &testClient{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func writeFrame(w io.Writer, body []byte) error {
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	_, err := w.Write(append(frame, body...))
	return err
}

func readFrame(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	_, err := io.ReadFull(r, body)
	return body, err
}

func (c *testClient) send(body []byte) {
	c.t.Helper()
	if err := writeFrame(c.nc, body); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *testClient) recv() []byte {
	c.t.Helper()
	body, err := readFrame(c.br)
	if err != nil {
		c.t.Fatalf("recv: %v", err)
	}
	return body
}

// expectClosed asserts the server closed the connection.
func (c *testClient) expectClosed() {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.br.ReadByte()
	if err == nil {
		c.t.Fatal("connection still delivers data, want it closed")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatal("connection still open after 10s, want it closed")
	}
}

// eventually polls cond until it holds or the time is up.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// consistently checks that cond keeps holding for d, for things that must
// not happen.
func consistently(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if !cond() {
			t.Fatalf("%s stopped holding", what)
		}
	}
}

func TestResponsesInRequestOrder(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		h := newTestHandler()
		s, _ := startServer(t, transport, Options{}, h)
		const conns, requests = 4, 1000
		var wg sync.WaitGroup
		errs := make(chan error, 2*conns)
		for range conns {
			c := dial(t, s)
			modes := make([]byte, requests)
			for i := range modes {
				switch r := rand.IntN(10); {
				case r < 5:
					modes[i] = modeAsync
				case r < 9:
					modes[i] = modeEcho
				default:
					modes[i] = modeNone
				}
			}
			wg.Add(2)
			go func() { // pipeline every request without waiting
				defer wg.Done()
				bw := bufio.NewWriter(c.nc)
				for i, m := range modes {
					if err := writeFrame(bw, request(uint32(i), m, fmt.Sprintf("payload-%d", i))); err != nil {
						errs <- err
						return
					}
				}
				if err := bw.Flush(); err != nil {
					errs <- err
				}
			}()
			go func() {
				defer wg.Done()
				for i, m := range modes {
					if m == modeNone {
						continue
					}
					body, err := readFrame(c.br)
					if err != nil {
						errs <- fmt.Errorf("response to request %d: %w", i, err)
						return
					}
					want := request(uint32(i), m, fmt.Sprintf("payload-%d", i))
					if !bytes.Equal(body, want) {
						errs <- fmt.Errorf("response %q, want %q (request %d)", body, want, i)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

func TestRespondNilKeepsStreamGoing(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		h := newTestHandler()
		s, _ := startServer(t, transport, Options{}, h)
		c := dial(t, s)
		for round := range 3 {
			for i := range 3 {
				c.send(request(uint32(10*round+i), modeNone, "acks=0"))
			}
			want := request(uint32(10*round+3), modeEcho, "acks=1")
			c.send(want)
			if got := c.recv(); !bytes.Equal(got, want) {
				t.Fatalf("round %d: got %q, want %q", round, got, want)
			}
		}
	})
}

func TestFramesSplitAcrossReads(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		h := newTestHandler()
		s, _ := startServer(t, transport, Options{}, h)
		c := dial(t, s)
		large := make([]byte, 300<<10) // spans several of gnet's 64 KiB reads
		for i := range large {
			large[i] = byte(i * 7)
		}
		reqs := [][]byte{
			request(1, modeEcho, "small"),
			request(2, modeEcho, string(large)),
			request(3, modeEcho, ""),
		}
		var stream []byte
		for _, r := range reqs {
			stream = binary.BigEndian.AppendUint32(stream, uint32(len(r)))
			stream = append(stream, r...)
		}
		go func() { // dribble the header bytes, then bigger chunks
			for i, n := 0, 1; i < len(stream); i, n = i+n, min(2*n, 8192) {
				if _, err := c.nc.Write(stream[i:min(i+n, len(stream))]); err != nil {
					return
				}
			}
		}()
		for i, want := range reqs {
			if got := c.recv(); !bytes.Equal(got, want) {
				t.Fatalf("response %d: %d bytes, want %d", i, len(got), len(want))
			}
		}
	})
}

func TestResponseWithMoreBuffersThanOneWritev(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		h := newTestHandler()
		s, _ := startServer(t, transport, Options{}, h)
		c := dial(t, s)
		for i := range 3 {
			req := request(uint32(i), modeManyBufs, "")
			c.send(req)
			c.send(request(uint32(100+i), modeEcho, "after"))
			got := c.recv()
			if !bytes.HasPrefix(got, req) || len(got) != len(req)+1500 {
				t.Fatalf("response %d: %d bytes, want request echo + 1500", i, len(got))
			}
			for j, b := range got[len(req):] {
				if b != byte(j) {
					t.Fatalf("response %d byte %d = %d, want %d", i, j, b, byte(j))
				}
			}
			if got := c.recv(); !bytes.Equal(got, request(uint32(100+i), modeEcho, "after")) {
				t.Fatalf("follow-up response %q", got)
			}
		}
	})
}

func TestBadFrameSizeClosesOnlyThatConnection(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		f := func(size int32) {
			t.Helper()
			h := newTestHandler()
			s, logs := startServer(t, transport, Options{MaxFrameBytes: 1024}, h)
			bad, good := dial(t, s), dial(t, s)
			good.send(request(1, modeEcho, "before"))
			good.recv()

			hdr := binary.BigEndian.AppendUint32(nil, uint32(size))
			if _, err := bad.nc.Write(hdr); err != nil {
				t.Fatalf("write header: %v", err)
			}
			bad.expectClosed()
			eventually(t, "ConnClosed for the bad connection", func() bool {
				conns, calls := h.closedCount()
				return conns == 1 && calls == 1
			})
			log := logs.String()
			for _, want := range []string{"bad request frame", "remote=" + bad.nc.LocalAddr().String(), fmt.Sprintf("size=%d", size)} {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}

			want := request(2, modeEcho, "after")
			good.send(want)
			if got := good.recv(); !bytes.Equal(got, want) {
				t.Fatalf("other connection got %q, want %q", got, want)
			}
			if h.served.Load() != 2 {
				t.Fatalf("served %d requests, want 2", h.served.Load())
			}
		}
		f(1025)          // one byte over MaxFrameBytes
		f(-1)            // garbage: negative
		f(math.MinInt32) // garbage: most negative
	})
}

func TestResponderCloseStopsServing(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		h := newTestHandler()
		s, logs := startServer(t, transport, Options{}, h)
		c := dial(t, s)
		want := request(1, modeEcho, "answered")
		c.send(want)
		if got := c.recv(); !bytes.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		// The request after the bad one arrives in the same write, so it is
		// already buffered when the handler asks for the close.
		bw := bufio.NewWriter(c.nc)
		for _, r := range [][]byte{request(2, modeClose, ""), request(3, modeEcho, "after close")} {
			if err := writeFrame(bw, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
		c.expectClosed()
		eventually(t, "ConnClosed", func() bool { _, calls := h.closedCount(); return calls == 1 })
		if n := h.served.Load(); n != 2 {
			t.Fatalf("served %d requests, want 2: none after Responder.Close", n)
		}
		if !strings.Contains(logs.String(), "unparseable request") {
			t.Fatalf("close reason not logged:\n%s", logs.String())
		}
	})
}

func TestBackpressureStopsServeAtMaxInflight(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		h := newTestHandler()
		const maxInflight, requests = 4, 12
		s, _ := startServer(t, transport, Options{MaxInflight: maxInflight}, h)
		c := dial(t, s)
		for i := range requests {
			c.send(request(uint32(i), modeHold, ""))
		}
		eventually(t, "MaxInflight requests served", func() bool { return h.served.Load() == maxInflight })
		consistently(t, "served == MaxInflight", 100*time.Millisecond, func() bool { return h.served.Load() == maxInflight })

		// Answering the oldest lets exactly one more in.
		held := <-h.held
		held.r.Respond([][]byte{held.body})
		eventually(t, "one more request served", func() bool { return h.served.Load() == maxInflight+1 })
		consistently(t, "served == MaxInflight+1", 50*time.Millisecond, func() bool { return h.served.Load() == maxInflight+1 })

		// Answer the rest newest-first within each window to mix the order.
		for answered := 1; answered < requests; {
			eventually(t, "held requests", func() bool { return len(h.held) > 0 })
			window := make([]heldRequest, 0, maxInflight)
			for len(h.held) > 0 {
				window = append(window, <-h.held)
			}
			for i := len(window) - 1; i >= 0; i-- {
				window[i].r.Respond([][]byte{window[i].body})
			}
			answered += len(window)
		}
		for i := range requests {
			if got, want := c.recv(), request(uint32(i), modeHold, ""); !bytes.Equal(got, want) {
				t.Fatalf("response %d: got %q, want %q", i, got, want)
			}
		}
		if h.served.Load() != requests {
			t.Fatalf("served %d, want %d", h.served.Load(), requests)
		}
	})
}

func TestConnClosedOnceAndLateRespondHarmless(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		h := newTestHandler()
		s, _ := startServer(t, transport, Options{}, h)
		c := dial(t, s)
		c.send(request(1, modeHold, ""))
		c.send(request(2, modeHold, ""))
		c.send(request(3, modeHold, ""))
		eventually(t, "three held requests", func() bool { return len(h.held) == 3 })
		_ = c.nc.Close()
		eventually(t, "ConnClosed", func() bool { _, calls := h.closedCount(); return calls == 1 })

		first, second, third := <-h.held, <-h.held, <-h.held
		first.r.Respond([][]byte{first.body})
		second.r.Respond(nil)
		third.r.Close(errors.New("late close"))
		third.r.Respond([][]byte{third.body}) // second completion of one responder is ignored

		// The server still serves new connections normally.
		d := dial(t, s)
		want := request(4, modeEcho, "fresh")
		d.send(want)
		if got := d.recv(); !bytes.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		_ = d.nc.Close()
		eventually(t, "ConnClosed for the second connection", func() bool { conns, _ := h.closedCount(); return conns == 2 })
		if conns, calls := h.closedCount(); conns != 2 || calls != 2 {
			t.Fatalf("ConnClosed: %d calls for %d connections, want one each", calls, conns)
		}
	})
}

// OpenConnections counts connections from accept to close, on both
// transports, closed by the client or by the server.
func TestOpenConnectionsCount(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		h := newTestHandler()
		s, _ := startServer(t, transport, Options{}, h)
		var cs []*testClient
		for i := range 3 {
			c := dial(t, s)
			want := request(uint32(i+1), modeEcho, "x")
			c.send(want) // answered: the server has opened it
			if got := c.recv(); !bytes.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
			cs = append(cs, c)
		}
		if n := s.OpenConnections(); n != 3 {
			t.Fatalf("open connections %d, want 3", n)
		}
		_ = cs[0].nc.Close()
		eventually(t, "two open connections", func() bool { return s.OpenConnections() == 2 })
		cs[1].send(request(9, modeClose, "")) // the handler closes this one
		cs[1].expectClosed()
		eventually(t, "one open connection", func() bool { return s.OpenConnections() == 1 })
		_ = cs[2].nc.Close()
		eventually(t, "no open connection", func() bool { return s.OpenConnections() == 0 })
	})
}

func TestListenPortInUse(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		s, _ := startServer(t, transport, Options{}, newTestHandler())
		_, err := Listen(Options{Addr: s.Addr().String(), Transport: transport, NumLoops: 1,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, newTestHandler())
		if err == nil {
			t.Fatalf("second Listen on %s succeeded, want address-in-use error", s.Addr())
		}
		if !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("error %q does not say the address is in use", err)
		}
	})
}

func TestListenResolvesPortZero(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		s, _ := startServer(t, transport, Options{}, newTestHandler())
		addr, ok := s.Addr().(*net.TCPAddr)
		if !ok || addr.Port == 0 || !addr.IP.Equal(net.IPv4(127, 0, 0, 1)) {
			t.Fatalf("Addr() = %v, want 127.0.0.1 with a real port", s.Addr())
		}
	})
}

func TestShutdownWaitsForInflightResponse(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		h := newTestHandler()
		s, _ := startServer(t, transport, Options{}, h)
		c := dial(t, s)
		c.send(request(1, modeHold, "slow"))
		held := <-h.held

		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			done <- s.Shutdown(ctx)
		}()
		consistently(t, "Shutdown waiting", 100*time.Millisecond, func() bool { return len(done) == 0 })
		if _, calls := h.closedCount(); calls != 0 {
			t.Fatalf("connection closed before its response was written")
		}

		held.r.Respond([][]byte{held.body})
		if got := c.recv(); !bytes.Equal(got, held.body) {
			t.Fatalf("got %q, want %q", got, held.body)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Shutdown did not return after the response was written")
		}
		c.expectClosed()
		if conns, calls := h.closedCount(); conns != 1 || calls != 1 {
			t.Fatalf("ConnClosed: %d calls for %d connections, want 1", calls, conns)
		}
		if nc, err := net.Dial("tcp", s.Addr().String()); err == nil {
			_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := nc.Read(make([]byte, 1)); err == nil {
				t.Fatal("a connection made after Shutdown was served")
			}
			_ = nc.Close()
		}
	})
}

func TestShutdownDeadlineClosesConnections(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		h := newTestHandler()
		s, _ := startServer(t, transport, Options{}, h)
		c := dial(t, s)
		c.send(request(1, modeHold, "never answered"))
		held := <-h.held

		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown = %v, want context.DeadlineExceeded", err)
		}
		c.expectClosed()
		eventually(t, "ConnClosed", func() bool { _, calls := h.closedCount(); return calls == 1 })
		held.r.Respond([][]byte{held.body}) // after the engine stopped: harmless
	})
}

// A handler that holds its event loop (chronik's never do; a bug might)
// must not stretch Shutdown past its deadline: on gnet, the accept loop
// can be waiting for that loop to open a new connection.
func TestShutdownDeadlineWithALoopHeld(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		release := make(chan struct{})
		var once sync.Once
		defer once.Do(func() { close(release) })
		h := &funcHandler{serve: func(_ ConnInfo, body []byte, r Responder) {
			if body[4] == modeHold {
				<-release
			}
			r.Respond([][]byte{body})
		}}
		s, _ := startServer(t, transport, Options{NumLoops: 1}, h)
		c := dial(t, s)
		c.send(request(1, modeHold, "holds the loop"))
		time.Sleep(50 * time.Millisecond)
		late, err := net.Dial("tcp", s.Addr().String()) // to be opened on the held loop
		if err != nil {
			t.Fatal(err)
		}
		defer late.Close()
		time.Sleep(50 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = s.Shutdown(ctx)
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("Shutdown with a 200 ms deadline took %v (%v)", took, err)
		}
		// Once the loop is let go, the loops still stop and close every
		// connection.
		once.Do(func() { close(release) })
		eventually(t, "ConnClosed for the held connection", func() bool { return h.closed.Load() >= 1 })
	})
}

// CloseAfterEarlier closes the connection only once the responses to
// earlier requests are written, in order; responses of later requests are
// dropped, and nothing after it is read.
func TestCloseAfterEarlierAnswersWhatCameBefore(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		h := newTestHandler()
		s, _ := startServer(t, transport, Options{}, h)
		c := dial(t, s)
		c.send(request(1, modeHold, "answered late"))
		held := <-h.held
		c.send(request(2, modeCloseAfter, ""))
		time.Sleep(50 * time.Millisecond) // the close is requested before the answer to 1
		held.r.Respond([][]byte{held.body})
		if got := c.recv(); !bytes.Equal(got, held.body) {
			t.Fatalf("first response %q, want the held request's answer", got)
		}
		c.expectClosed()
		eventually(t, "ConnClosed", func() bool { _, calls := h.closedCount(); return calls == 1 })

		// With nothing before it, the close is immediate.
		c2 := dial(t, s)
		c2.send(request(3, modeCloseAfter, ""))
		c2.expectClosed()
	})
}

// An earlier response still waiting in the transport's buffer (a slow
// reader, a large response) is delivered whole before the close.
func TestCloseAfterEarlierDeliversBufferedResponse(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		big := bytes.Repeat([]byte("r"), 16<<20)
		h := newTestHandler()
		s, _ := startServer(t, transport, Options{}, h)
		nc, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		_ = nc.(*net.TCPConn).SetReadBuffer(64 << 10)
		_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
		if err := writeFrame(nc, request(1, modeHold, "")); err != nil {
			t.Fatal(err)
		}
		held := <-h.held
		if err := writeFrame(nc, request(2, modeCloseAfter, "")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		held.r.Respond([][]byte{big})
		time.Sleep(300 * time.Millisecond) // the response backs up in the server
		body, err := readFrame(bufio.NewReader(nc))
		if err != nil || len(body) != len(big) {
			t.Fatalf("earlier response: %d of %d bytes, %v", len(body), len(big), err)
		}
	})
}

func TestClientNotReadingIsClosed(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		const requests = 64
		big := make([]byte, 1<<20)
		var served atomic.Int64
		h := &funcHandler{serve: func(_ ConnInfo, _ []byte, r Responder) {
			served.Add(1)
			r.Respond([][]byte{big})
		}}
		s, logs := startServer(t, transport, Options{MaxQueuedBytes: 256 << 10, WriteTimeout: 300 * time.Millisecond}, h)
		c := dial(t, s)
		go func() { // the client keeps sending and never reads
			for i := range requests {
				if writeFrame(c.nc, request(uint32(i), modeEcho, "")) != nil {
					return
				}
			}
		}()
		eventually(t, "ConnClosed for the client that does not read", func() bool { return h.closed.Load() == 1 })
		if n := served.Load(); n >= requests {
			t.Fatalf("served all %d requests; queued response bytes did not stop reading", n)
		}
		if !strings.Contains(logs.String(), "closing connection") {
			t.Fatalf("no log line for the close:\n%s", logs.String())
		}
	})
}

// funcHandler adapts a function to Handler.
type funcHandler struct {
	serve  func(ConnInfo, []byte, Responder)
	closed atomic.Int64
}

func (h *funcHandler) Serve(c ConnInfo, body []byte, r Responder) { h.serve(c, body, r) }
func (h *funcHandler) ConnClosed(ConnInfo)                        { h.closed.Add(1) }

// TestAnnouncedFrameSizeDoesNotPinMemory has clients announce large frames
// and send only a few body bytes: the server's memory must follow the bytes
// received, not the sizes announced.
func TestAnnouncedFrameSizeDoesNotPinMemory(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		const (
			conns     = 4
			announced = 64 << 20
		)
		h := newTestHandler()
		s, _ := startServer(t, transport, Options{}, h)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapAlloc
		for range conns {
			c := dial(t, s)
			hdr := binary.BigEndian.AppendUint32(nil, announced)
			if _, err := c.nc.Write(append(hdr, request(1, modeEcho, "partial")...)); err != nil {
				t.Fatalf("send: %v", err)
			}
		}
		// Old std code allocated all 4×64 MiB right after the size prefix.
		consistently(t, "heap growth under 32 MiB", 300*time.Millisecond, func() bool {
			runtime.ReadMemStats(&ms)
			return ms.HeapAlloc < base+32<<20
		})
		if n := h.served.Load(); n != 0 {
			t.Fatalf("served %d partial frames", n)
		}
	})
}

func TestReadBodyGrowsAsBytesArrive(t *testing.T) {
	src := make([]byte, 3*firstBodyChunk+5)
	for i := range src {
		src[i] = byte(i * 13)
	}
	got, err := readBody(iotest.HalfReader(bytes.NewReader(src)), len(src))
	if err != nil || !bytes.Equal(got, src) {
		t.Fatalf("readBody = %d bytes, %v; want the %d bytes sent", len(got), err, len(src))
	}
	if got, err := readBody(bytes.NewReader(nil), 0); err != nil || len(got) != 0 {
		t.Fatalf("empty body: %q, %v", got, err)
	}
	if _, err := readBody(bytes.NewReader(src[:100]), 1<<30); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated body: err %v, want io.ErrUnexpectedEOF", err)
	}
}

// TestIdleConnectionsClosed sets IdleTimeout and checks that connections
// that send nothing, or stop halfway through a frame, are closed soon after
// it, while one that keeps sending requests more often, and one waiting on
// a response for longer than it, stay open; a zero IdleTimeout closes none.
func TestIdleConnectionsClosed(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		const idle = 400 * time.Millisecond
		h := newTestHandler()
		s, _ := startServer(t, transport, Options{IdleTimeout: idle}, h)
		plain, _ := startServer(t, transport, Options{}, newTestHandler())

		closedAt := func(c *testClient) <-chan time.Duration {
			start := time.Now()
			ch := make(chan time.Duration, 1)
			go func() {
				_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
				if _, err := c.br.ReadByte(); err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						ch <- -1
						return
					}
				}
				ch <- time.Since(start)
			}()
			return ch
		}
		silent := dial(t, s)
		silentClosed := closedAt(silent)
		half := dial(t, s)
		if _, err := half.nc.Write(append(binary.BigEndian.AppendUint32(nil, 100), "ten bytes."...)); err != nil {
			t.Fatalf("send half a frame: %v", err)
		}
		halfClosed := closedAt(half)
		waiting := dial(t, s)
		waiting.send(request(1, modeHold, "slow"))
		held := <-h.held
		neverIdle := dial(t, plain)

		// One request every 150 ms for 3 idle periods.
		active := dial(t, s)
		for i := range uint32(10) {
			want := request(i, modeEcho, "ping")
			active.send(want)
			if got := active.recv(); !bytes.Equal(got, want) {
				t.Fatalf("active connection: got %q, want %q", got, want)
			}
			time.Sleep(150 * time.Millisecond)
		}

		for name, ch := range map[string]<-chan time.Duration{"silent": silentClosed, "half a frame": halfClosed} {
			got := <-ch
			if got < 0 {
				t.Fatalf("%s connection still open after 10s with IdleTimeout %v", name, idle)
			}
			if got < idle-50*time.Millisecond || got > idle+2*time.Second {
				t.Fatalf("%s connection closed after %v, want about %v", name, got, idle)
			}
		}

		// The request held for the whole time kept its connection open.
		held.r.Respond([][]byte{held.body})
		if got := waiting.recv(); !bytes.Equal(got, held.body) {
			t.Fatalf("waiting connection: got %q, want %q", got, held.body)
		}
		// Once answered, it is idle like any other.
		waitingClosed := closedAt(waiting)
		if got := <-waitingClosed; got < 0 || got > idle+2*time.Second {
			t.Fatalf("connection idle after its response: closed after %v (-1: not in 10s), want about %v", got, idle)
		}

		// With IdleTimeout zero nothing is closed for being idle.
		want := request(99, modeEcho, "still open")
		neverIdle.send(want)
		if got := neverIdle.recv(); !bytes.Equal(got, want) {
			t.Fatalf("connection without IdleTimeout: got %q, want %q", got, want)
		}
	})
}

// bigHandler answers every request with size bytes.
type bigHandler struct{ size int }

func (h bigHandler) Serve(_ ConnInfo, body []byte, r Responder) {
	r.Respond([][]byte{body[:4], make([]byte, h.size-4)})
}
func (bigHandler) ConnClosed(ConnInfo) {}

// A client that keeps reading, however slowly, is not closed: WriteTimeout
// bounds a time with no response bytes taken, not the time to write a whole
// answer. Before, the std transport gave each batch of responses one
// deadline and closed a consumer reading an 8 MiB answer at ~6 MB/s.
func TestSlowReaderKeepsItsConnection(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		const size = 8 << 20
		s, _ := startServer(t, transport, Options{WriteTimeout: 500 * time.Millisecond, MaxQueuedBytes: 16 << 20}, bigHandler{size})
		c := dial(t, s)
		c.send(request(1, modeEcho, ""))
		buf := make([]byte, 64<<10)
		got := 0
		for got < size+4 {
			n, err := c.nc.Read(buf)
			got += n
			if err != nil {
				t.Fatalf("closed after reading %d of %d bytes: %v", got, size+4, err)
			}
			time.Sleep(10 * time.Millisecond) // ~6 MB/s: the answer takes over a second
		}
	})
}
