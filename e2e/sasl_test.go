package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// saslUsers is the JAAS line of the tests' SASL listeners.
const saslUsers = `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";`

// A SASL_PLAINTEXT listener serves a client that authenticates with PLAIN
// as a user of its JAAS line; a wrong password is
// SASL_AUTHENTICATION_FAILED; a client that does not authenticate has its
// connection closed at its first request; DescribeConfigs shows the JAAS
// line as sensitive, never its passwords.
func TestSASLPlainListener(t *testing.T) {
	bp := startBinaryListener(t, "SASL_PLAINTEXT", "sasl.enabled.mechanisms=PLAIN",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config="+saslUsers)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice := plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.SASL(alice), kgo.DefaultProduceTopic("sasl"),
		kgo.AllowAutoTopicCreation(), kgo.ConsumeTopics("sasl"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range 5 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte{byte('a' + i)}}).FirstErr(); err != nil {
			t.Fatalf("produce as alice: %v", err)
		}
	}
	var got []byte
	for len(got) < 5 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %q as alice: %v", got, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch as alice: %v", err) })
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r.Value...) })
	}
	if string(got) != "abcde" {
		t.Fatalf("read %q as alice, want abcde", got)
	}

	ping := func(opts ...kgo.Opt) error {
		t.Helper()
		c, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(bp.addr), kgo.RequestRetries(0), kgo.RetryTimeout(2 * time.Second)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return c.Ping(ctx)
	}
	if err := ping(kgo.SASL(plain.Auth{User: "alice", Pass: "wrong"}.AsMechanism())); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("a wrong password: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
	if err := ping(kgo.SASL(plain.Auth{User: "mallory", Pass: "alice-secret"}.AsMechanism())); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("an unknown user: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
	if err := ping(); err == nil {
		t.Fatal("a client without SASL was served")
	}

	described, err := kadm.NewClient(cl).DescribeBrokerConfigs(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, rc := range described {
		for _, c := range rc.Configs {
			if c.Key == "listener.name.sasl_plaintext.plain.sasl.jaas.config" {
				found = true
				if c.Value != nil || !c.Sensitive {
					t.Fatalf("DescribeConfigs shows the JAAS line: %+v", c)
				}
			}
		}
	}
	if !found {
		t.Fatal("DescribeConfigs lists no JAAS line")
	}
}
