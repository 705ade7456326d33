package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An SSL listener without a usable PEM keystore stops the start with a line
// naming the key; JKS and PKCS12 stores are refused when set.
func TestTLSConfigErrors(t *testing.T) {
	c := Defaults()
	if err := c.Set("listeners", "SSL://127.0.0.1:9093"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TLSConfig("SSL"); err == nil || !strings.Contains(err.Error(), "ssl.keystore.location") {
		t.Fatalf("no keystore: %v", err)
	}
	notPEM := filepath.Join(t.TempDir(), "broker.jks")
	if err := os.WriteFile(notPEM, []byte("not a PEM file"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Set("ssl.keystore.location", notPEM); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TLSConfig("SSL"); err == nil || !strings.Contains(err.Error(), notPEM) {
		t.Fatalf("a keystore that is not PEM: %v", err)
	}
	for _, key := range []string{"ssl.keystore.type", "ssl.truststore.type"} {
		if err := c.Set(key, "JKS"); err == nil || !strings.Contains(err.Error(), "only PEM") {
			t.Fatalf("%s=JKS: %v", key, err)
		}
	}
	if specs, err := c.ListenerSpecs(); err != nil || !specs[0].TLS() {
		t.Fatalf("ListenerSpecs = %+v, %v; want a TLS listener", specs, err)
	}
}
