package config

import (
	"bytes"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"
)

// Kafka's key and trust stores come as JKS (Kafka's default type), PKCS12
// or PEM. Chronik reads all three, with Kafka's keys: ssl.keystore.type,
// .location, .password and ssl.key.password (the private key's own
// password in a JKS store), ssl.truststore.type, .location, .password. An
// empty type is read off the file (a JKS magic number, a PEM header, else
// PKCS12), so a config written for either broker works.

const (
	storeJKS    = "JKS"
	storePKCS12 = "PKCS12"
	storePEM    = "PEM"
)

// storeTypeField accepts ssl.keystore.type and ssl.truststore.type.
func storeTypeField(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		v = strings.ToUpper(strings.TrimSpace(v))
		switch v {
		case "", storeJKS, storePKCS12, storePEM:
		default:
			return fmt.Errorf("store type %q: want JKS, PKCS12 or PEM", v)
		}
		*field(c) = v
		return nil
	}
}

// jksMagic starts every JKS file.
const jksMagic = 0xfeedfeed

// storeType is a store's declared type, or the one its bytes show.
func storeType(declared string, data []byte) string {
	switch {
	case declared != "":
		return declared
	case len(data) >= 4 && binary.BigEndian.Uint32(data) == jksMagic:
		return storeJKS
	case bytes.Contains(data, []byte("-----BEGIN ")):
		return storePEM
	}
	return storePKCS12
}

// loadKeystore reads the broker's private key and certificate chain.
// keyPassword is the JKS key entry's password (empty: the store's, as
// Kafka's ssl.key.password defaults).
func loadKeystore(typ, path, password, keyPassword string) (tls.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return tls.Certificate{}, err
	}
	switch storeType(typ, data) {
	case storePEM:
		return tls.X509KeyPair(data, data)
	case storeJKS:
		ks := keystore.New(keystore.WithOrderedAliases()) // the first key entry by alias, every time
		if err := ks.Load(bytes.NewReader(data), []byte(password)); err != nil {
			return tls.Certificate{}, fmt.Errorf("JKS store (is ssl.keystore.password right?): %w", err)
		}
		if keyPassword == "" {
			keyPassword = password
		}
		for _, alias := range ks.Aliases() {
			if !ks.IsPrivateKeyEntry(alias) {
				continue
			}
			entry, err := ks.GetPrivateKeyEntry(alias, []byte(keyPassword))
			if err != nil {
				return tls.Certificate{}, fmt.Errorf("JKS key entry %q (is ssl.key.password right?): %w", alias, err)
			}
			key, err := x509.ParsePKCS8PrivateKey(entry.PrivateKey)
			if err != nil {
				return tls.Certificate{}, fmt.Errorf("JKS key entry %q: %w", alias, err)
			}
			cert := tls.Certificate{PrivateKey: key}
			for _, c := range entry.CertificateChain {
				cert.Certificate = append(cert.Certificate, c.Content)
			}
			return cert, nil
		}
		return tls.Certificate{}, errors.New("JKS store holds no private key entry")
	default:
		key, leaf, chain, err := pkcs12.DecodeChain(data, password)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("PKCS12 store (is ssl.keystore.password right?): %w", err)
		}
		cert := tls.Certificate{PrivateKey: key, Certificate: [][]byte{leaf.Raw}, Leaf: leaf}
		for _, c := range chain {
			cert.Certificate = append(cert.Certificate, c.Raw)
		}
		return cert, nil
	}
}

// loadTruststore reads the CA certificates client certificates are
// checked against.
func loadTruststore(typ, path, password string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	switch storeType(typ, data) {
	case storePEM:
		if !pool.AppendCertsFromPEM(data) {
			return nil, errors.New("holds no PEM certificate")
		}
	case storeJKS:
		if password == "" {
			data = withoutIntegrityCheck(data)
		}
		ks := keystore.New()
		if err := ks.Load(bytes.NewReader(data), []byte(password)); err != nil {
			return nil, fmt.Errorf("JKS store (is ssl.truststore.password right?): %w", err)
		}
		for _, alias := range ks.Aliases() {
			if !ks.IsTrustedCertificateEntry(alias) {
				continue
			}
			entry, err := ks.GetTrustedCertificateEntry(alias)
			if err != nil {
				return nil, fmt.Errorf("JKS entry %q: %w", alias, err)
			}
			cert, err := x509.ParseCertificate(entry.Certificate.Content)
			if err != nil {
				return nil, fmt.Errorf("JKS entry %q: %w", alias, err)
			}
			pool.AddCert(cert)
		}
	default:
		certs, err := pkcs12.DecodeTrustStore(data, password)
		if err != nil {
			return nil, fmt.Errorf("PKCS12 store (is ssl.truststore.password right?): %w", err)
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
	}
	if pool.Equal(x509.NewCertPool()) {
		return nil, errors.New("holds no certificate")
	}
	return pool, nil
}

// withoutIntegrityCheck lets a JKS truststore be read without its
// password, as Java (and so Kafka, without ssl.truststore.password) reads
// one without checking its integrity: a JKS file ends with a SHA-1 keyed
// by the password over what comes before, here replaced by the one an
// empty password gives. Certificates in a truststore are not encrypted.
func withoutIntegrityCheck(data []byte) []byte {
	if len(data) < sha1.Size {
		return data
	}
	out := bytes.Clone(data)
	body := len(out) - sha1.Size
	h := sha1.New()
	h.Write([]byte("Mighty Aphrodite")) // JKS's whitener, after the (empty) password
	h.Write(out[:body])
	copy(out[body:], h.Sum(nil))
	return out
}
