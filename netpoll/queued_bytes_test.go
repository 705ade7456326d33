package netpoll

import (
	"bytes"
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"
)

// TestOutOfOrderResponsesCountTowardQueuedBytes holds the first request
// while later ones answer large responses at once: those wait in the ring
// for the first, and once they pass MaxQueuedBytes no further request is
// read, instead of MaxInflight requests' worth of them piling up.
func TestOutOfOrderResponsesCountTowardQueuedBytes(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		const queued, respSize, requests = 64 << 10, 32 << 10, 20
		held := make(chan Responder, 1)
		var served atomic.Int64
		h := &funcHandler{serve: func(_ ConnInfo, body []byte, r Responder) {
			served.Add(1)
			if binary.BigEndian.Uint32(body) == 0 {
				held <- r
				return
			}
			resp := bytes.Repeat(body[:4], respSize/4)
			r.Respond([][]byte{resp})
		}}
		s, _ := startServer(t, transport, Options{MaxInflight: 64, MaxQueuedBytes: queued}, h)
		c := dial(t, s)
		for i := range requests {
			c.send(request(uint32(i), modeHold, ""))
		}
		// Request 0 is held; 1 and 2 bring the waiting bytes to the cap,
		// 3 passes it, and reading stops there.
		const readBeforePause = 4
		eventually(t, "requests read up to the cap", func() bool { return served.Load() == readBeforePause })
		consistently(t, "no request read past the cap", 100*time.Millisecond, func() bool { return served.Load() == readBeforePause })

		(<-held).Respond([][]byte{request(0, modeHold, "")})
		if got, want := c.recv(), request(0, modeHold, ""); !bytes.Equal(got, want) {
			t.Fatalf("response 0: got %q, want %q", got, want)
		}
		for i := 1; i < requests; i++ {
			got := c.recv()
			if len(got) != respSize || binary.BigEndian.Uint32(got) != uint32(i) {
				t.Fatalf("response %d: %d bytes starting %x", i, len(got), got[:min(4, len(got))])
			}
		}
		if n := served.Load(); n != requests {
			t.Fatalf("served %d requests, want %d", n, requests)
		}
	})
}

// TestReserveGrantsWhatQueuedBytesLeave has requests reserve room for their
// responses while none is answered: together they are granted at most
// MaxQueuedBytes, and an answer gives its grant back.
func TestReserveGrantsWhatQueuedBytesLeave(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		const queued, want = 100_000, 60_000
		type reserved struct {
			r     Responder
			body  []byte
			grant int
		}
		got := make(chan reserved, 8)
		h := &funcHandler{serve: func(_ ConnInfo, body []byte, r Responder) {
			got <- reserved{r: r, body: body, grant: r.Reserve(want)}
		}}
		s, _ := startServer(t, transport, Options{MaxQueuedBytes: queued}, h)
		c := dial(t, s)
		var first []reserved
		for i, wantGrant := range []int{want, queued - want, 0} {
			c.send(request(uint32(i), modeHold, ""))
			g := <-got
			if g.grant != wantGrant {
				t.Fatalf("request %d granted %d, want %d", i, g.grant, wantGrant)
			}
			first = append(first, g)
		}
		for _, g := range first {
			g.r.Respond([][]byte{g.body})
			if b := c.recv(); !bytes.Equal(b, g.body) {
				t.Fatalf("got %q, want %q", b, g.body)
			}
		}
		c.send(request(3, modeHold, ""))
		g := <-got
		if g.grant != want {
			t.Fatalf("after the answers, a request was granted %d, want %d", g.grant, want)
		}
		g.r.Respond([][]byte{g.body})
		c.recv()
	})
}

// TestReserveAfterTheAnswerGrantsNothing has a handler reserve room after
// it answered (or closed) its request: the request is over, so nothing is
// granted, and the connection's later requests still get their room
// instead of losing it to a grant that nothing would ever end. The later
// request asks for half the room: the writer may not yet have settled the
// answer the client just read (a few bytes, for an instant), and that must
// not decide the test.
func TestReserveAfterTheAnswerGrantsNothing(t *testing.T) {
	forEachTransport(t, func(t *testing.T, transport string) {
		const queued, later = 100_000, 50_000
		late := make(chan int, 1)
		granted := make(chan int, 1)
		h := &funcHandler{serve: func(_ ConnInfo, body []byte, r Responder) {
			if binary.BigEndian.Uint32(body) == 0 {
				r.Respond([][]byte{body})
				late <- r.Reserve(queued)
				return
			}
			granted <- r.Reserve(later)
			r.Respond([][]byte{body})
		}}
		s, _ := startServer(t, transport, Options{MaxQueuedBytes: queued}, h)
		c := dial(t, s)
		c.send(request(0, modeHold, ""))
		c.recv()
		if g := <-late; g != 0 {
			t.Fatalf("a request already answered was granted %d bytes, want 0", g)
		}
		c.send(request(1, modeHold, ""))
		if g := <-granted; g != later {
			t.Fatalf("the next request was granted %d bytes, want the %d it asked for", g, later)
		}
		c.recv()
	})
}
