package config

import (
	"maps"
	"strings"
	"testing"
)

// The PLAIN users come from the SASL listener's JAAS line, as Kafka reads
// user_NAME="PASSWORD" options; a SASL listener without one, a line
// without users and a mechanism other than PLAIN stop the start.
func TestSASLPlainUsers(t *testing.T) {
	c := Defaults()
	for _, kv := range [][2]string{
		{"listeners", "SASL_SSL://127.0.0.1:9094"},
		{"listener.name.sasl_ssl.plain.sasl.jaas.config", `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="x" user_admin="x" user_alice="a \"quoted\" secret";`},
	} {
		if err := c.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	users, err := c.SASLPlainUsers("SASL_SSL")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"admin": "x", "alice": `a "quoted" secret`}; !maps.Equal(users, want) {
		t.Fatalf("users %v, want %v", users, want)
	}
	specs, err := c.ListenerSpecs()
	if err != nil || !specs[0].TLS() || !specs[0].SASL() {
		t.Fatalf("a SASL_SSL listener without TLS and SASL: %+v, %v", specs, err)
	}

	if err := c.Set("listeners", "SASL_PLAINTEXT://127.0.0.1:9094"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SASLPlainUsers("sasl_plaintext"); err == nil || !strings.Contains(err.Error(), "listener.name.sasl_plaintext.plain.sasl.jaas.config") {
		t.Fatalf("a SASL_PLAINTEXT listener without users: %v", err)
	}
	if err := c.Set("listener.name.sasl_plaintext.plain.sasl.jaas.config", `org.apache.kafka.common.security.plain.PlainLoginModule required;`); err == nil {
		t.Fatal("a JAAS line without users was taken")
	}
	if err := c.Set("sasl.enabled.mechanisms", "PLAIN,GSSAPI"); err == nil || !strings.Contains(err.Error(), "GSSAPI") {
		t.Fatalf("GSSAPI: %v", err)
	}
}

// A JAAS line the key refuses is reported without its passwords, from
// every source; unquoted user options count, as Kafka's JAAS parser reads
// them, and an option merely ending in user_ does not.
func TestJAASPasswordsStayHidden(t *testing.T) {
	const key = "listener.name.sasl_plaintext.plain.sasl.jaas.config"
	bad := `org.apache.kafka.common.security.plain.PlainLgoinModule required user_alice="alice-secret";`
	_, err := Load([]string{"--set", key + "=" + bad}, nil)
	if err == nil || strings.Contains(err.Error(), "alice-secret") {
		t.Fatalf("--set: %v", err)
	}
	_, err = Load(nil, []string{"CHRONIK_LISTENER_NAME_SASL_PLAINTEXT_PLAIN_SASL_JAAS_CONFIG=" + bad})
	if err == nil || strings.Contains(err.Error(), "alice-secret") {
		t.Fatalf("environment: %v", err)
	}
	if err := Defaults().Set(key, bad); err == nil || strings.Contains(err.Error(), "alice-secret") {
		t.Fatalf("Set: %v", err)
	}
	users, err := plainUsers(`org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="a" user_alice=alice-secret serviceuser_x="y";`)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"admin": "a", "alice": "alice-secret"}; !maps.Equal(users, want) {
		t.Fatalf("users %v, want %v", users, want)
	}
}
