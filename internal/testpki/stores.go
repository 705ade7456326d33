package testpki

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"
)

// WriteJKS writes the server's key and chain as a JKS keystore (the key
// entry under keyPassword) and the CA as a JKS truststore, both under
// storePassword, as Java's keytool makes them for Kafka.
func (p *PKI) WriteJKS(t testing.TB, dir, storePassword, keyPassword string) (truststoreFile, keystoreFile string) {
	t.Helper()
	cert := p.ServerTLS(t).Certificates[0]
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	entry := keystore.PrivateKeyEntry{CreationTime: time.Now(), PrivateKey: keyDER}
	for _, der := range append(cert.Certificate, p.ca.Raw) {
		entry.CertificateChain = append(entry.CertificateChain, keystore.Certificate{Type: "X509", Content: der})
	}
	ks := keystore.New()
	if err := ks.SetPrivateKeyEntry("broker", entry, []byte(keyPassword)); err != nil {
		t.Fatal(err)
	}
	ts := keystore.New()
	if err := ts.SetTrustedCertificateEntry("ca", keystore.TrustedCertificateEntry{CreationTime: time.Now(),
		Certificate: keystore.Certificate{Type: "X509", Content: p.ca.Raw}}); err != nil {
		t.Fatal(err)
	}
	truststoreFile, keystoreFile = filepath.Join(dir, "truststore.jks"), filepath.Join(dir, "keystore.jks")
	for path, store := range map[string]keystore.KeyStore{truststoreFile: ts, keystoreFile: ks} {
		var b bytes.Buffer
		if err := store.Store(&b, []byte(storePassword)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return truststoreFile, keystoreFile
}

// WritePKCS12 writes the server's key and chain as a PKCS12 keystore and
// the CA as a PKCS12 truststore, both under password.
func (p *PKI) WritePKCS12(t testing.TB, dir, password string) (truststoreFile, keystoreFile string) {
	t.Helper()
	cert := p.ServerTLS(t).Certificates[0]
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	ks, err := pkcs12.Modern.Encode(cert.PrivateKey, leaf, []*x509.Certificate{p.ca}, password)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := pkcs12.Modern.EncodeTrustStore([]*x509.Certificate{p.ca}, password)
	if err != nil {
		t.Fatal(err)
	}
	truststoreFile, keystoreFile = filepath.Join(dir, "truststore.p12"), filepath.Join(dir, "keystore.p12")
	for path, data := range map[string][]byte{truststoreFile: ts, keystoreFile: ks} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return truststoreFile, keystoreFile
}
