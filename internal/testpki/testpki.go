// Package testpki makes a throwaway certificate authority for tests and
// benchmarks: a CA, a server certificate for 127.0.0.1 and client
// certificates, all ECDSA P-256, valid for an hour around now.
package testpki

import (
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
)

// PKI is a CA and what it signed for one test.
type PKI struct {
	CAPEM      []byte          // the CA certificate, PEM
	ServerPEM  []byte          // the server's key and certificate, PEM (Kafka's PEM keystore)
	ClientCert tls.Certificate // a client certificate the CA signed
	ca         *x509.Certificate
	caKey      *ecdsa.PrivateKey
	serial     int64
}

// New makes a CA, a server certificate for 127.0.0.1 and a client
// certificate.
func New(t testing.TB) *PKI {
	t.Helper()
	p := &PKI{serial: 1}
	var err error
	if p.caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: "chronik test CA"},
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
	p.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	certPEM, keyPEM := p.Issue(t, "server", x509.ExtKeyUsageServerAuth)
	p.ServerPEM = append(keyPEM, certPEM...)
	certPEM, keyPEM = p.Issue(t, "client", x509.ExtKeyUsageClientAuth)
	if p.ClientCert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	return p
}

// Issue signs a certificate for 127.0.0.1 with the given usage and returns
// it and its key, PEM.
func (p *PKI) Issue(t testing.TB, name string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: name},
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

// ServerTLS serves the server certificate, TLS 1.2 at least.
func (p *PKI) ServerTLS(t testing.TB) *tls.Config {
	t.Helper()
	cert, err := tls.X509KeyPair(p.ServerPEM, p.ServerPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

// ClientTLS trusts the CA and shows the client certificate when withCert.
func (p *PKI) ClientTLS(withCert bool) *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.CAPEM)
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if withCert {
		tc.Certificates = []tls.Certificate{p.ClientCert}
	}
	return tc
}

// WriteFiles writes the CA (a truststore) and the server's key and chain (a
// PEM keystore) to dir and returns their paths.
func (p *PKI) WriteFiles(t testing.TB, dir string) (caFile, keystoreFile string) {
	t.Helper()
	caFile, keystoreFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem")
	if err := os.WriteFile(caFile, p.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keystoreFile, p.ServerPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, keystoreFile
}
