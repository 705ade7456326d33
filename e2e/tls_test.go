package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// testPKI is a CA and the certificates it signed for a test: the broker's
// (for 127.0.0.1) and a client's.
type testPKI struct {
	caPEM        []byte
	ca           *x509.Certificate
	caKey        *ecdsa.PrivateKey
	brokerPEM    []byte // key and chain, as ssl.keystore.location holds them
	clientCert   tls.Certificate
	dir          string
	caFile       string
	keystoreFile string
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	var err error
	if p.caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "chronik test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	certPEM, keyPEM := p.issue(t, 2, "broker", x509.ExtKeyUsageServerAuth)
	p.brokerPEM = append(keyPEM, certPEM...)
	certPEM, keyPEM = p.issue(t, 3, "client", x509.ExtKeyUsageClientAuth)
	if p.clientCert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	p.caFile, p.keystoreFile = filepath.Join(p.dir, "ca.pem"), filepath.Join(p.dir, "broker.pem")
	if err := os.WriteFile(p.caFile, p.caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.keystoreFile, p.brokerPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// issue signs a certificate for 127.0.0.1 and returns it and its key, PEM.
func (p *testPKI) issue(t *testing.T, serial int64, name string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// clientTLS is a client's TLS configuration trusting the test CA, with the
// client certificate when withCert.
func (p *testPKI) clientTLS(withCert bool) *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.caPEM)
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if withCert {
		tc.Certificates = []tls.Certificate{p.clientCert}
	}
	return tc
}

// An SSL listener (TLS, client certificates required) serves a client that
// trusts the broker's CA and shows a certificate the truststore's CA
// signed: topics are created, produced to and read back through TLS, the
// broker advertising the listener clients reconnect to. A client without a
// certificate, and one speaking plaintext, get nothing.
func TestSSLListenerWithClientCertificates(t *testing.T) {
	pki := newTestPKI(t)
	bp := startBinaryListener(t, "SSL", "ssl.keystore.location="+pki.keystoreFile, "ssl.keystore.type=PEM",
		"ssl.truststore.location="+pki.caFile, "ssl.client.auth=required")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.DialTLSConfig(pki.clientTLS(true)),
		kgo.DefaultProduceTopic("secure"), kgo.AllowAutoTopicCreation(), kgo.ConsumeTopics("secure"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range 10 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte{byte('a' + i)}}).FirstErr(); err != nil {
			t.Fatalf("produce over TLS: %v", err)
		}
	}
	var got []byte
	for len(got) < 10 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %q over TLS: %v", got, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch over TLS: %v", err) })
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r.Value...) })
	}
	if string(got) != "abcdefghij" {
		t.Fatalf("read %q over TLS, want abcdefghij", got)
	}

	refused := func(what string, opts ...kgo.Opt) {
		t.Helper()
		c, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(bp.addr), kgo.RequestRetries(0), kgo.RetryTimeout(2 * time.Second)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Ping(ctx); err == nil {
			t.Fatalf("%s was served", what)
		}
	}
	refused("a client without a certificate", kgo.DialTLSConfig(pki.clientTLS(false)))
	refused("a plaintext client")
}
