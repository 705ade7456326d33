package netpoll

import (
	"bufio"
	"crypto/tls"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/chronik-go/chronik/internal/testpki"
)

// With TLS the std transport serves frames inside TLS, and closes a
// connection whose handshake does not finish within WriteTimeout; gnet
// refuses TLS.
func TestTLSOnTheStdTransport(t *testing.T) {
	pki := testpki.New(t)
	serverTLS := pki.ServerTLS(t)
	if _, err := Listen(Options{Addr: "127.0.0.1:0", Transport: "gnet", TLS: serverTLS}, newTestHandler()); err == nil || !strings.Contains(err.Error(), "cannot serve TLS") {
		t.Fatalf("gnet with TLS: %v, want refused", err)
	}
	s, logs := startServer(t, "std", Options{TLS: serverTLS, WriteTimeout: 300 * time.Millisecond}, newTestHandler())

	tc, err := tls.Dial("tcp", s.Addr().String(), pki.ClientTLS(false))
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	defer tc.Close()
	_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
	c := &testClient{t: t, nc: tc, br: bufio.NewReader(tc)}
	c.send(request(1, modeEcho, "over tls"))
	if got := c.recv(); !strings.Contains(string(got), "over tls") {
		t.Fatalf("answer over TLS: %q", got)
	}

	silent := dial(t, s) // TCP, never a ClientHello
	start := time.Now()
	silent.expectClosed()
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("a connection without a handshake was closed after %v, want about WriteTimeout", took)
	}
	eventually(t, "the failed handshake logged", func() bool { return strings.Contains(logs.String(), "TLS handshake failed") })
}

// A slow TLS reader that keeps taking bytes keeps its connection, as on
// plain TCP (TestSlowReaderKeepsItsConnection): a write deadline that
// expires mid-write would break the TLS stream for good, so the writer
// writes in chunks, each under a fresh deadline.
func TestTLSSlowReaderKeepsItsConnection(t *testing.T) {
	pki := testpki.New(t)
	const size = 8 << 20
	s, logs := startServer(t, "std", Options{TLS: pki.ServerTLS(t), WriteTimeout: 500 * time.Millisecond, MaxQueuedBytes: 16 << 20}, bigHandler{size})
	tc, err := tls.Dial("tcp", s.Addr().String(), pki.ClientTLS(false))
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	defer tc.Close()
	_ = tc.SetDeadline(time.Now().Add(20 * time.Second))
	c := &testClient{t: t, nc: tc, br: bufio.NewReader(tc)}
	c.send(request(1, modeEcho, ""))
	// 64 KiB every 10 ms, as the plain test's reader takes them (a TLS
	// read returns one record, 16 KiB at most).
	buf := make([]byte, 64<<10)
	for got := 0; got < size+4; {
		n, err := io.ReadFull(c.br, buf[:min(len(buf), size+4-got)])
		got += n
		if err != nil {
			t.Fatalf("closed after reading %d of %d bytes: %v\n%s", got, size+4, err, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
