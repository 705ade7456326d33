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

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.DialTLSConfig(pki.ClientTLS(true)),
		kgo.DefaultProduceTopic("secure"), kgo.AllowAutoTopicCreation(), kgo.ConsumeTopics("secure"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range 10 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte{byte('a' + i)}}).FirstErr(); err != nil {
			t.Fatalf("produce over TLS: %v", err)
		}
	}
	var got []byte
	for len(got) < 10 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %q over TLS: %v", got, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch over TLS: %v", err) })
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r.Value...) })
	}
	if string(got) != "abcdefghij" {
		t.Fatalf("read %q over TLS, want abcdefghij", got)
	}

	refused := func(what string, opts ...kgo.Opt) {
		t.Helper()
		c, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(bp.addr), kgo.RequestRetries(0), kgo.RetryTimeout(2 * time.Second)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Ping(ctx); err == nil {
			t.Fatalf("%s was served", what)
		}
	}
	refused("a client without a certificate", kgo.DialTLSConfig(pki.ClientTLS(false)))
	refused("a plaintext client")
}
