package config

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chronik-go/chronik/internal/testpki"
)

// An SSL listener without a usable PEM keystore stops the start with a line
// naming the key; JKS and PKCS12 stores are refused when set.
func TestTLSConfigErrors(t *testing.T) {
	c := Defaults()
	if err := c.Set("listeners", "SSL://127.0.0.1:9093"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TLSConfig(Listener{Name: "SSL", Protocol: "SSL"}); err == nil || !strings.Contains(err.Error(), "ssl.keystore.location") {
		t.Fatalf("no keystore: %v", err)
	}
	notPEM := filepath.Join(t.TempDir(), "broker.jks")
	if err := os.WriteFile(notPEM, []byte("not a PEM file"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Set("ssl.keystore.location", notPEM); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TLSConfig(Listener{Name: "SSL", Protocol: "SSL"}); err == nil || !strings.Contains(err.Error(), notPEM) {
		t.Fatalf("a keystore that is not PEM: %v", err)
	}
	for _, key := range []string{"ssl.keystore.type", "ssl.truststore.type"} {
		if err := c.Set(key, "BKS"); err == nil || !strings.Contains(err.Error(), "want JKS, PKCS12 or PEM") {
			t.Fatalf("%s=BKS: %v", key, err)
		}
	}
	if specs, err := c.ListenerSpecs(); err != nil || !specs[0].TLS() {
		t.Fatalf("ListenerSpecs = %+v, %v; want a TLS listener", specs, err)
	}
}

// ssl.client.auth set for the whole broker asks SSL listeners' clients for
// certificates, not SASL_SSL ones' (they log in instead); a SASL_SSL
// listener asks only when its own scoped key says so, as Kafka (KIP-684):
// mutual TLS inside, SASL outside, one broker.
func TestSASLSSLClientAuthIsItsOwn(t *testing.T) {
	caFile, keystoreFile := testpki.New(t).WriteFiles(t, t.TempDir())
	base := []string{
		"listeners=INTERNAL://127.0.0.1:9093,EXTERNAL://127.0.0.1:9094",
		"listener.security.protocol.map=INTERNAL:SSL,EXTERNAL:SASL_SSL",
		"ssl.keystore.location=" + keystoreFile,
		"ssl.truststore.location=" + caFile,
		"ssl.client.auth=required",
		`listener.name.external.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";`,
	}
	f := func(sets []string, want map[string]tls.ClientAuthType) {
		t.Helper()
		c, err := Load(setArgs(sets...), nil)
		if err != nil {
			t.Fatal(err)
		}
		specs, err := c.ListenerSpecs()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range specs {
			tc, err := c.TLSConfig(l)
			if err != nil {
				t.Fatal(err)
			}
			if tc.ClientAuth != want[l.Name] {
				t.Fatalf("%q: %s asks %v of clients, want %v", sets, l.Name, tc.ClientAuth, want[l.Name])
			}
		}
	}
	f(base, map[string]tls.ClientAuthType{"INTERNAL": tls.RequireAndVerifyClientCert, "EXTERNAL": tls.NoClientCert})
	f(append(base, "listener.name.external.ssl.client.auth=requested"),
		map[string]tls.ClientAuthType{"INTERNAL": tls.RequireAndVerifyClientCert, "EXTERNAL": tls.VerifyClientCertIfGiven})
}
