package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/chronik-go/chronik/internal/testpki"
)

// An SSL listener (TLS, client certificates required) serves a client that
// trusts the broker's CA and shows a certificate the truststore's CA
// signed: topics are created, produced to and read back through TLS, the
// broker advertising the listener clients reconnect to. A client without a
// certificate, and one speaking plaintext, get nothing.
func TestSSLListenerWithClientCertificates(t *testing.T) {
	pki := testpki.New(t)
	caFile, keystoreFile := pki.WriteFiles(t, t.TempDir())
	bp := startBinaryListener(t, "SSL", "ssl.keystore.location="+keystoreFile, "ssl.keystore.type=PEM",
		"ssl.truststore.location="+caFile, "ssl.client.auth=required")

	produceAndReadBack(t, bp.addr, "secure", 10, kgo.DialTLSConfig(pki.ClientTLS(true)))
	refused := func(what string, opts ...kgo.Opt) {
		t.Helper()
		if err := pingWith(t, bp.addr, opts...); err == nil {
			t.Fatalf("%s was served", what)
		}
	}
	refused("a client without a certificate", kgo.DialTLSConfig(pki.ClientTLS(false)))
	refused("a plaintext client")
}

// produceAndReadBack produces n one-letter records to topic (created on
// first use) with a client made with opts, and reads them back in order.
func produceAndReadBack(t *testing.T, addr, topic string, n int, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic),
		kgo.AllowAutoTopicCreation(), kgo.ConsumeTopics(topic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	var want []byte
	for i := range n {
		want = append(want, byte('a'+i%26))
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: want[i:]}).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	var got []byte
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %q: %v", got, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r.Value[0]) })
	}
	if string(got) != string(want) {
		t.Fatalf("read %q, want %q", got, want)
	}
	return cl
}

// pingWith reports whether a client made with opts, retrying nothing, is
// served a request.
func pingWith(t *testing.T, addr string, opts ...kgo.Opt) error {
	t.Helper()
	c, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RequestRetries(0), kgo.RetryTimeout(2 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Ping(ctx)
}

// The stores Kafka users have, as its configs name them: a JKS keystore
// (its key entry under a password of its own) and truststore, and PKCS12
// ones, each serving a client that shows a certificate the truststore's CA
// signed.
func TestSSLListenerWithJKSAndPKCS12Stores(t *testing.T) {
	pki := testpki.New(t)
	dir := t.TempDir()
	jksTrust, jksKeys := pki.WriteJKS(t, dir, "store-secret", "key-secret")
	p12Trust, p12Keys := pki.WritePKCS12(t, dir, "p12-secret")
	for name, sets := range map[string][]string{
		"JKS": {"ssl.keystore.type=JKS", "ssl.keystore.location=" + jksKeys, "ssl.keystore.password=store-secret",
			"ssl.key.password=key-secret", "ssl.truststore.type=JKS", "ssl.truststore.location=" + jksTrust,
			"ssl.truststore.password=store-secret"},
		"PKCS12": {"ssl.keystore.type=PKCS12", "ssl.keystore.location=" + p12Keys, "ssl.keystore.password=p12-secret",
			"ssl.truststore.type=PKCS12", "ssl.truststore.location=" + p12Trust, "ssl.truststore.password=p12-secret"},
	} {
		t.Run(name, func(t *testing.T) {
			bp := startBinaryListener(t, "SSL", append(sets, "ssl.client.auth=required")...)
			produceAndReadBack(t, bp.addr, "stores", 5, kgo.DialTLSConfig(pki.ClientTLS(true)))
			if err := pingWith(t, bp.addr, kgo.DialTLSConfig(pki.ClientTLS(false))); err == nil {
				t.Fatal("a client without a certificate was served")
			}
		})
	}
}
