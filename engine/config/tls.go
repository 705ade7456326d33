package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
)

// pemOnly accepts ssl.keystore.type and ssl.truststore.type: the SSL
// listener's stores are PEM files (Kafka's ssl.keystore.type=PEM).
func pemOnly(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		v = strings.ToUpper(strings.TrimSpace(v))
		if v != "" && v != "PEM" {
			return fmt.Errorf("only PEM is read, not %q (convert the store: openssl pkcs12 -nodes)", v)
		}
		*field(c) = v
		return nil
	}
}

// TLSConfig is the TLS configuration of an SSL or SASL_SSL listener: its
// certificate from ssl.keystore.location and, with ssl.client.auth, client
// certificates verified against ssl.truststore.location, each key scoped
// to the listener where set (listener.name.<name>.ssl.keystore.location).
// A SASL_SSL listener asks for client certificates only when its own
// scoped ssl.client.auth says so, as Kafka (KIP-684): the broker-wide key
// is for SSL listeners, whose clients a certificate authenticates. TLS
// 1.2 at least, as Kafka's default ssl.enabled.protocols.
func (c *Config) TLSConfig(l Listener) (*tls.Config, error) {
	name := l.Name
	scopedClientAuth := listenerKeyPrefix + strings.ToLower(name) + ".ssl.client.auth"
	c, err := c.ForListener(name)
	if err != nil {
		return nil, err
	}
	if _, scoped := c.ListenerKeys[scopedClientAuth]; l.SASL() && !scoped {
		c.SSLClientAuth = "none"
	}
	if c.SSLKeystoreLocation == "" {
		return nil, fmt.Errorf("config: the TLS listener %s needs ssl.keystore.location or %sssl.keystore.location (a PEM file with its key and certificate chain)",
			strings.ToUpper(name), listenerKeyPrefix+strings.ToLower(name)+".")
	}
	pem, err := os.ReadFile(c.SSLKeystoreLocation)
	if err != nil {
		return nil, fmt.Errorf("config: ssl.keystore.location: %w", err)
	}
	cert, err := tls.X509KeyPair(pem, pem)
	if err != nil {
		return nil, fmt.Errorf("config: ssl.keystore.location %s: %w", c.SSLKeystoreLocation, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	switch c.SSLClientAuth {
	case "requested":
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	case "required":
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	if c.SSLTruststoreLocation != "" {
		ca, err := os.ReadFile(c.SSLTruststoreLocation)
		if err != nil {
			return nil, fmt.Errorf("config: ssl.truststore.location: %w", err)
		}
		tc.ClientCAs = x509.NewCertPool()
		if !tc.ClientCAs.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("config: ssl.truststore.location %s holds no PEM certificate", c.SSLTruststoreLocation)
		}
	}
	return tc, nil
}

func trimmed(v string) string { return strings.TrimSpace(v) }
