package config

import (
	"os"
	"testing"
)

func TestListenAddr(t *testing.T) {
	f := func(listeners []string, want, wantErr string) {
		t.Helper()
		c := Defaults()
		c.Listeners = listeners
		got, err := c.ListenAddr()
		if wantErr != "" {
			if err == nil || err.Error() != wantErr {
				t.Fatalf("ListenAddr(%q) error = %v, want %s", listeners, err, wantErr)
			}
			return
		}
		if err != nil || got != want {
			t.Fatalf("ListenAddr(%q) = %q, %v; want %q", listeners, got, err, want)
		}
	}
	f(Defaults().Listeners, "127.0.0.1:9092", "")
	f([]string{"PLAINTEXT://:9092"}, ":9092", "")
	f([]string{"plaintext://127.0.0.1:0"}, "127.0.0.1:0", "")
	f([]string{"PLAINTEXT://[::1]:9092"}, "[::1]:9092", "")
	f([]string{"PLAINTEXT://0.0.0.0:9092"}, "0.0.0.0:9092", "")
	f([]string{"SSL://127.0.0.1:9093"}, "127.0.0.1:9093", "")
	f(nil, "", "config: listeners must name one listener")
	f([]string{"localhost:9092"}, "", `config: listeners: listener "localhost:9092": want PROTOCOL://host:port (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)`)
}

func TestAdvertisedHostPort(t *testing.T) {
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	f := func(listeners, advertised []string, wantHost string, wantPort int32, wantErr string) {
		t.Helper()
		c := Defaults()
		c.Listeners, c.AdvertisedListeners = listeners, advertised
		host, port, err := c.AdvertisedHostPort()
		if wantErr != "" {
			if err == nil || err.Error() != wantErr {
				t.Fatalf("AdvertisedHostPort(%q, %q) error = %v, want %s", listeners, advertised, err, wantErr)
			}
			return
		}
		if err != nil || host != wantHost || port != wantPort {
			t.Fatalf("AdvertisedHostPort(%q, %q) = %q, %d, %v; want %q, %d", listeners, advertised, host, port, err, wantHost, wantPort)
		}
	}
	// Without advertised.listeners, the listener itself.
	f([]string{"PLAINTEXT://127.0.0.1:9092"}, nil, "127.0.0.1", 9092, "")
	f([]string{"PLAINTEXT://127.0.0.1:0"}, nil, "127.0.0.1", 0, "")
	// A wildcard or empty host is not reachable: advertise the hostname.
	f([]string{"PLAINTEXT://0.0.0.0:9092"}, nil, hostname, 9092, "")
	f([]string{"PLAINTEXT://:9092"}, nil, hostname, 9092, "")
	f([]string{"PLAINTEXT://[::]:9092"}, nil, hostname, 9092, "")
	// advertised.listeners wins when set.
	f([]string{"PLAINTEXT://0.0.0.0:9092"}, []string{"PLAINTEXT://broker1.example:19092"}, "broker1.example", 19092, "")
	f([]string{"PLAINTEXT://0.0.0.0:9092"}, []string{"PLAINTEXT://[2001:db8::1]:9092"}, "2001:db8::1", 9092, "")
	f([]string{"SSL://0.0.0.0:9093"}, []string{"SSL://broker1.example:19093"}, "broker1.example", 19093, "")
	// Errors from a Config built in code.
	f(nil, nil, "", 0, "config: listeners must name one listener")
	f([]string{"SSL://0.0.0.0:9093"}, []string{"PLAINTEXT://broker1.example:9092"}, "", 0,
		"config: advertised.listeners names PLAINTEXT, but the listener is SSL")
	f([]string{"PLAINTEXT://127.0.0.1:9092"}, []string{"PLAINTEXT://0.0.0.0:9092"}, "", 0,
		`config: advertised.listeners: listener "PLAINTEXT://0.0.0.0:9092": an advertised host must be an address clients can reach, not empty or a wildcard`)
}
