package config

import (
	"maps"
	"reflect"
	"strings"
	"testing"
)

// A listener-scoped key is set from every source under Kafka's name (the
// listener in lower case), wins over the plain key for its listener only,
// and is checked as the plain key is.
func TestListenerScopedKeys(t *testing.T) {
	base := []string{
		"listeners=INTERNAL://127.0.0.1:9092,EXTERNAL_TLS://127.0.0.1:9093",
		"listener.security.protocol.map=INTERNAL:SSL,EXTERNAL_TLS:SASL_SSL",
		"ssl.client.auth=required",
		"ssl.keystore.location=/etc/chronik/internal.pem",
	}
	want := map[string]string{
		"listener.name.external_tls.ssl.client.auth":        "none",
		"listener.name.external_tls.ssl.keystore.location":  "/etc/chronik/external.pem",
		"listener.name.external_tls.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";`,
	}
	fromFlags, err := Load(setArgs(append(base,
		"listener.name.EXTERNAL_TLS.ssl.client.auth=NONE",
		"listener.name.external_tls.ssl.keystore.location= /etc/chronik/external.pem ",
		`listener.name.external_tls.plain.sasl.jaas.config=`+want["listener.name.external_tls.plain.sasl.jaas.config"])...), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(fromFlags.ListenerKeys, want) {
		t.Fatalf("ListenerKeys %v, want %v", fromFlags.ListenerKeys, want)
	}
	fromEnv, err := Load(setArgs(base...), []string{
		"CHRONIK_LISTENER_NAME_EXTERNAL_TLS_SSL_CLIENT_AUTH=none",
		"CHRONIK_LISTENER_NAME_EXTERNAL_TLS_SSL_KEYSTORE_LOCATION=/etc/chronik/external.pem",
		"CHRONIK_LISTENER_NAME_EXTERNAL_TLS_PLAIN_SASL_JAAS_CONFIG=" + want["listener.name.external_tls.plain.sasl.jaas.config"],
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromEnv, fromFlags) {
		t.Fatalf("environment and flags disagree:\n%+v\n%+v", fromEnv.ListenerKeys, fromFlags.ListenerKeys)
	}
	if v, ok := fromFlags.Value("listener.name.external_tls.ssl.client.auth"); !ok || v != "none" {
		t.Fatalf("Value = %q, %v", v, ok)
	}

	internal, err := fromFlags.ForListener("INTERNAL")
	if err != nil {
		t.Fatal(err)
	}
	external, err := fromFlags.ForListener("EXTERNAL_TLS")
	if err != nil {
		t.Fatal(err)
	}
	if internal.SSLClientAuth != "required" || internal.SSLKeystoreLocation != "/etc/chronik/internal.pem" {
		t.Fatalf("INTERNAL sees %q, %q; want the plain keys", internal.SSLClientAuth, internal.SSLKeystoreLocation)
	}
	if external.SSLClientAuth != "none" || external.SSLKeystoreLocation != "/etc/chronik/external.pem" {
		t.Fatalf("EXTERNAL_TLS sees %q, %q; want its own keys", external.SSLClientAuth, external.SSLKeystoreLocation)
	}
	if fromFlags.SSLClientAuth != "required" {
		t.Fatal("ForListener changed the config it was taken from")
	}
	users, err := fromFlags.SASLPlainUsers("external_tls")
	if err != nil || !maps.Equal(users, map[string]string{"alice": "alice-secret"}) {
		t.Fatalf("SASLPlainUsers = %v, %v", users, err)
	}
	if _, err := fromFlags.SASLPlainUsers("INTERNAL"); err == nil || !strings.Contains(err.Error(), "listener.name.internal.plain.sasl.jaas.config") {
		t.Fatalf("a listener without a JAAS line: %v", err)
	}
	infos := fromFlags.ListenerKeyInfos()
	if len(infos) != 3 || infos[0].Name != "listener.name.external_tls.plain.sasl.jaas.config" || infos[0].Type != TypePassword {
		t.Fatalf("ListenerKeyInfos %+v", infos)
	}

	// Refused as the plain key refuses it, or not a scoped key at all.
	for _, bad := range []string{
		"listener.name.internal.ssl.client.auth=sometimes",
		"listener.name.internal.ssl.keystore.type=BKS",
		"listener.name.internal.sasl.enabled.mechanisms=GSSAPI",
		"listener.name.internal.log.retention.ms=1",
		"listener.name.in.ternal.ssl.client.auth=none",
	} {
		if _, err := Load(setArgs(append(base, bad)...), nil); err == nil {
			t.Fatalf("%s was taken", bad)
		}
	}
	if _, err := Load(setArgs(base...), []string{"CHRONIK_LISTENER_NAME_INTERNAL_LOG_RETENTION_MS=1"}); err == nil {
		t.Fatal("an environment variable naming no scoped key was taken")
	}
}

// Validate holds a Config built in code to Load's rules: a ListenerKeys
// entry must be a scoped key as Set writes it (the listener in lower case,
// which ForListener reads), and the listener keys must agree.
func TestValidateListenerKeys(t *testing.T) {
	for _, keys := range []map[string]string{
		{"listener.name.plaintext.ssl.bogus": "x"},
		{"listener.name.PLAINTEXT.ssl.client.auth": "required"},
		{"listener.name.plaintext.ssl.client.auth": "sometimes"},
	} {
		c := Defaults()
		c.ListenerKeys = keys
		if err := c.Validate(); err == nil {
			t.Fatalf("Validate took %v", keys)
		}
	}
	c := Defaults()
	c.Listeners = []string{"INTERNAL://127.0.0.1:9092"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "listener.security.protocol.map") {
		t.Fatalf("Validate took a listener the protocol map does not map: %v", err)
	}
}
