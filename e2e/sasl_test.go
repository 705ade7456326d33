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
	cl := produceAndReadBack(t, bp.addr, "sasl", 5, kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()))
	ping := func(opts ...kgo.Opt) error { t.Helper(); return pingWith(t, bp.addr, opts...) }
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
