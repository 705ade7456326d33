package config

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// TLSConfig is the TLS configuration of an SSL or SASL_SSL listener: its
// certificate from ssl.keystore.location and, with ssl.client.auth, client
// certificates verified against ssl.truststore.location (JKS, PKCS12 or
// PEM stores, keystore.go), each key scoped
// to the listener where set (listener.name.<name>.ssl.keystore.location).
// A SASL_SSL listener asks for client certificates only when its own
// scoped ssl.client.auth says so, as Kafka (KIP-684): the broker-wide key
// is for SSL listeners, whose clients a certificate authenticates. TLS
// 1.2 at least, as Kafka's default ssl.enabled.protocols.
func (c *Config) TLSConfig(l Listener) (*tls.Config, error) {
	name := l.Name
	scopedClientAuth := scopedKey(name, "ssl.client.auth")
	c, err := c.ForListener(name)
	if err != nil {
		return nil, err
	}
	if _, scoped := c.ListenerKeys[scopedClientAuth]; l.SASL() && !scoped {
		c.SSLClientAuth = "none"
	}
	if c.SSLKeystoreLocation == "" {
		return nil, fmt.Errorf("config: the TLS listener %s needs ssl.keystore.location or %s (a JKS, PKCS12 or PEM store with its key and certificate chain)",
			strings.ToUpper(name), scopedKey(name, "ssl.keystore.location"))
	}
	cert, err := loadKeystore(c.SSLKeystoreType, c.SSLKeystoreLocation, c.SSLKeystorePassword, c.SSLKeyPassword)
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
		if tc.ClientCAs, err = loadTruststore(c.SSLTruststoreType, c.SSLTruststoreLocation, c.SSLTruststorePassword); err != nil {
			return nil, fmt.Errorf("config: ssl.truststore.location %s: %w", c.SSLTruststoreLocation, err)
		}
	}
	return tc, nil
}

func trimmed(v string) string { return strings.TrimSpace(v) }
