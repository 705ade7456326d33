package config

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chronik-go/chronik/internal/testpki"
)

// A TLS listener takes Kafka's stores as Kafka users have them: JKS (with
// a key password of its own), PKCS12 and PEM, typed or read off the file;
// a client with a certificate from the truststore's CA completes a
// handshake that requires one.
func TestKeystoreFormats(t *testing.T) {
	pki := testpki.New(t)
	dir := t.TempDir()
	pemCA, pemKeystore := pki.WriteFiles(t, dir)
	jksTrust, jksKeys := pki.WriteJKS(t, dir, "store-secret", "key-secret")
	p12Trust, p12Keys := pki.WritePKCS12(t, dir, "p12-secret")
	for name, sets := range map[string][]string{
		"PEM": {"ssl.keystore.location=" + pemKeystore, "ssl.truststore.location=" + pemCA},
		"JKS": {"ssl.keystore.type=JKS", "ssl.keystore.location=" + jksKeys, "ssl.keystore.password=store-secret", "ssl.key.password=key-secret", "ssl.truststore.type=JKS", "ssl.truststore.location=" + jksTrust, "ssl.truststore.password=store-secret"},
		// Java reads a JKS truststore without its password, unchecked.
		"JKS truststore without its password": {"ssl.keystore.location=" + jksKeys, "ssl.keystore.password=store-secret", "ssl.key.password=key-secret", "ssl.truststore.location=" + jksTrust},
		"JKS, untyped":                        {"ssl.keystore.location=" + jksKeys, "ssl.keystore.password=store-secret", "ssl.key.password=key-secret", "ssl.truststore.location=" + jksTrust, "ssl.truststore.password=store-secret"},
		"PKCS12":                              {"ssl.keystore.type=pkcs12", "ssl.keystore.location=" + p12Keys, "ssl.keystore.password=p12-secret", "ssl.truststore.type=PKCS12", "ssl.truststore.location=" + p12Trust, "ssl.truststore.password=p12-secret"},
		"PKCS12, untyped, scoped": {"listener.name.ssl.ssl.keystore.location=" + p12Keys, "listener.name.ssl.ssl.keystore.password=p12-secret",
			"listener.name.ssl.ssl.truststore.location=" + p12Trust, "listener.name.ssl.ssl.truststore.password=p12-secret"},
	} {
		c, err := Load(setArgs(append([]string{"listeners=SSL://127.0.0.1:9093", "ssl.client.auth=required"}, sets...)...), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tc, err := c.TLSConfig(Listener{Name: "SSL", Protocol: "SSL"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := handshake(tc, pki.ClientTLS(true)); err != nil {
			t.Fatalf("%s: handshake: %v", name, err)
		}
		if err := handshake(tc, pki.ClientTLS(false)); err == nil {
			t.Fatalf("%s: a client without a certificate got through ssl.client.auth=required", name)
		}
	}

	// Wrong passwords name the key to fix, never a password.
	for _, sets := range [][]string{
		{"ssl.keystore.location=" + jksKeys, "ssl.keystore.password=guess", "ssl.key.password=key-secret"},
		{"ssl.keystore.location=" + jksKeys, "ssl.keystore.password=store-secret", "ssl.key.password=guess"},
		{"ssl.keystore.location=" + p12Keys, "ssl.keystore.password=guess"},
		{"ssl.keystore.location=" + pemKeystore, "ssl.truststore.location=" + jksTrust, "ssl.truststore.password=guess"},
		{"ssl.keystore.location=" + pemKeystore, "ssl.truststore.location=" + p12Trust, "ssl.truststore.password=guess"},
		{"ssl.keystore.type=JKS", "ssl.keystore.location=" + pemKeystore},
	} {
		c, err := Load(setArgs(append([]string{"listeners=SSL://127.0.0.1:9093"}, sets...)...), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.TLSConfig(Listener{Name: "SSL", Protocol: "SSL"})
		if err == nil || !strings.Contains(err.Error(), "ssl.") || strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "guess") {
			t.Fatalf("%q: %v", sets, err)
		}
	}
}

// handshake runs a TLS handshake between server and client over
// loopback TCP, and one byte each way, within 10 seconds.
func handshake(server, client *tls.Config) error {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		return err
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		// TLS 1.3 reports a refused client certificate on the first read.
		if _, err = c.Read(make([]byte, 1)); err == nil {
			_, err = c.Write([]byte{1})
		}
		done <- err
	}()
	client = client.Clone()
	client.ServerName = "127.0.0.1"
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(), client)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte{1}); err != nil {
		return err
	}
	if _, err := c.Read(make([]byte, 1)); err != nil {
		return err
	}
	return <-done
}
