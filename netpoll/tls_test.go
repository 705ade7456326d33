package netpoll

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// selfSigned is a TLS certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// With TLS the std transport serves frames inside TLS, and closes a
// connection whose handshake does not finish within WriteTimeout; gnet
// refuses TLS.
func TestTLSOnTheStdTransport(t *testing.T) {
	cert, pool := selfSigned(t)
	serverTLS := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if _, err := Listen(Options{Addr: "127.0.0.1:0", Transport: "gnet", TLS: serverTLS}, newTestHandler()); err == nil || !strings.Contains(err.Error(), "cannot serve TLS") {
		t.Fatalf("gnet with TLS: %v, want refused", err)
	}
	s, logs := startServer(t, "std", Options{TLS: serverTLS, WriteTimeout: 300 * time.Millisecond}, newTestHandler())

	tc, err := tls.Dial("tcp", s.Addr().String(), &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
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
