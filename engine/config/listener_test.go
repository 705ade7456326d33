package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestListenerSpecs(t *testing.T) {
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	f := func(sets []string, want []Listener) {
		t.Helper()
		c, err := Load(setArgs(sets...), nil)
		if err != nil {
			t.Fatalf("%q: %v", sets, err)
		}
		got, err := c.ListenerSpecs()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: ListenerSpecs() = %+v, %v; want %+v", sets, got, err, want)
		}
	}
	f(nil, []Listener{{Name: "PLAINTEXT", Protocol: "PLAINTEXT", Addr: "127.0.0.1:9092", AdvertisedHost: "127.0.0.1", AdvertisedPort: 9092}})
	f([]string{"listeners=plaintext://127.0.0.1:0"}, []Listener{{Name: "PLAINTEXT", Protocol: "PLAINTEXT", Addr: "127.0.0.1:0", AdvertisedHost: "127.0.0.1"}})
	f([]string{"listeners=SSL://[::1]:9093"}, []Listener{{Name: "SSL", Protocol: "SSL", Addr: "[::1]:9093", AdvertisedHost: "::1", AdvertisedPort: 9093}})
	// A wildcard or empty host is not reachable: the hostname is advertised.
	f([]string{"listeners=PLAINTEXT://0.0.0.0:9092,SASL_SSL://:9094"}, []Listener{
		{Name: "PLAINTEXT", Protocol: "PLAINTEXT", Addr: "0.0.0.0:9092", AdvertisedHost: hostname, AdvertisedPort: 9092},
		{Name: "SASL_SSL", Protocol: "SASL_SSL", Addr: ":9094", AdvertisedHost: hostname, AdvertisedPort: 9094}})
	// The docker set-up: one listener for the containers' network, one
	// for the host, each advertised as its clients reach it.
	f([]string{
		"listeners=PLAINTEXT://0.0.0.0:29092,PLAINTEXT_HOST://0.0.0.0:9092",
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT",
		"advertised.listeners=PLAINTEXT://kafka:29092,PLAINTEXT_HOST://localhost:9092",
	}, []Listener{
		{Name: "PLAINTEXT", Protocol: "PLAINTEXT", Addr: "0.0.0.0:29092", AdvertisedHost: "kafka", AdvertisedPort: 29092},
		{Name: "PLAINTEXT_HOST", Protocol: "PLAINTEXT", Addr: "0.0.0.0:9092", AdvertisedHost: "localhost", AdvertisedPort: 9092}})
	// Names are case-insensitive; an advertised entry may cover some of
	// the listeners, in any order, and several may share a port.
	f([]string{
		"listeners=internal://127.0.0.1:9092,External://127.0.0.1:9093,ssl://127.0.0.1:0",
		"listener.security.protocol.map=INTERNAL:PLAINTEXT,external:SASL_SSL,SSL:SSL",
		"advertised.listeners=EXTERNAL://[2001:db8::1]:443,ssl://lb.example:443",
	}, []Listener{
		{Name: "INTERNAL", Protocol: "PLAINTEXT", Addr: "127.0.0.1:9092", AdvertisedHost: "127.0.0.1", AdvertisedPort: 9092},
		{Name: "EXTERNAL", Protocol: "SASL_SSL", Addr: "127.0.0.1:9093", AdvertisedHost: "2001:db8::1", AdvertisedPort: 443},
		{Name: "SSL", Protocol: "SSL", Addr: "127.0.0.1:0", AdvertisedHost: "lb.example", AdvertisedPort: 443}})
	// One IPv4 and one IPv6 address may share a port, as in Kafka.
	f([]string{"listeners=PLAINTEXT://127.0.0.1:9092,SSL://[::1]:9092"}, []Listener{
		{Name: "PLAINTEXT", Protocol: "PLAINTEXT", Addr: "127.0.0.1:9092", AdvertisedHost: "127.0.0.1", AdvertisedPort: 9092},
		{Name: "SSL", Protocol: "SSL", Addr: "[::1]:9092", AdvertisedHost: "::1", AdvertisedPort: 9092}})
}

func TestListenerSpecsErrors(t *testing.T) {
	f := func(sets []string, wantErr string) {
		t.Helper()
		_, err := Load(setArgs(sets...), nil)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("%q: error %v, want one containing %q", sets, err, wantErr)
		}
	}
	f([]string{"listeners="}, "must name at least one listener")
	f([]string{"listeners=localhost:9092"}, `listener "localhost:9092": want NAME://host:port`)
	f([]string{"listeners=IN SIDE://:9092"}, `want NAME://host:port`)
	f([]string{"listeners=PLAINTEXT://:9092,plaintext://:9093"}, "listener name PLAINTEXT is used twice")
	f([]string{"listeners=PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.2:9092"}, "port 9092 is also PLAINTEXT's")
	f([]string{"listeners=EXTERNAL://:9093"}, "listener EXTERNAL://:9093 has no security protocol: listener.security.protocol.map (PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL) does not map EXTERNAL")
	f([]string{"listener.security.protocol.map=PLAINTEXT:SASL_GSSAPI"}, "security protocol SASL_GSSAPI is not served")
	f([]string{"listener.security.protocol.map=PLAINTEXT"}, "want LISTENER_NAME:SECURITY_PROTOCOL")
	f([]string{"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,plaintext:SSL"}, "listener name PLAINTEXT is mapped twice")
	f([]string{"advertised.listeners=SSL://broker1.example:9093"}, "advertised.listeners names SSL, which listeners (PLAINTEXT://127.0.0.1:9092) does not")
	f([]string{"advertised.listeners=PLAINTEXT://0.0.0.0:9092"}, "an advertised host must be an address clients can reach, not empty or a wildcard")
	f([]string{"advertised.listeners=PLAINTEXT://broker1.example:0"}, "an advertised port must not be 0")
	f([]string{"advertised.listeners=PLAINTEXT://a:1,PLAINTEXT://b:2"}, "listener name PLAINTEXT is used twice")
}

// A scoped key for a listener the broker does not have is ignored, as
// Kafka ignores it (one config for brokers with other listeners), and
// listed for a warning.
func TestUnusedListenerKeys(t *testing.T) {
	c, err := Load(setArgs("listener.name.sasl_ssl.ssl.client.auth=required", "listener.name.plaintext.ssl.client.auth=none"), nil)
	if err != nil {
		t.Fatal(err)
	}
	specs, err := c.ListenerSpecs()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.UnusedListenerKeys(specs); !reflect.DeepEqual(got, []string{"listener.name.sasl_ssl.ssl.client.auth"}) {
		t.Fatalf("unused %q", got)
	}
	// The two JAAS keys earlier releases knew, both set for a broker with
	// one of the listeners (a config shared by brokers), still start.
	jaas := `org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";`
	if _, err := Load(setArgs("listeners=SASL_SSL://127.0.0.1:9094"), []string{
		"CHRONIK_LISTENER_NAME_SASL_SSL_PLAIN_SASL_JAAS_CONFIG=" + jaas,
		"CHRONIK_LISTENER_NAME_SASL_PLAINTEXT_PLAIN_SASL_JAAS_CONFIG=" + jaas,
	}); err != nil {
		t.Fatal(err)
	}
}

// setArgs turns key=value pairs into --set flags.
func setArgs(sets ...string) []string {
	var args []string
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return args
}
