package engine

import (
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const testJAAS = `org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret" user_bob="";`

// saslConnTo dials a broker with a SASL_PLAINTEXT listener whose users are
// testJAAS's.
func saslConnTo(t *testing.T) net.Conn {
	t.Helper()
	tb := startBroker(t, "listeners=SASL_PLAINTEXT://127.0.0.1:0", "listener.name.sasl_plaintext.plain.sasl.jaas.config="+testJAAS)
	return dialRaw(t, tb.addr, 10*time.Second)
}

// roundTrip sends req at version v on c and decodes the answer into resp.
func roundTrip(c net.Conn, req kmsg.Request, v int16, resp kmsg.Response) error {
	if _, err := c.Write(sizePrefixed(encodeRequest(req, v))); err != nil {
		return err
	}
	body, err := readFrame(c)
	if err != nil {
		return err
	}
	resp.SetVersion(v)
	at := 4
	if resp.IsFlexible() {
		at++
	}
	return resp.ReadFrom(body[at:])
}

func saslHandshake(c net.Conn, mechanism string) (int16, error) {
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Mechanism = mechanism
	resp := kmsg.NewPtrSASLHandshakeResponse()
	err := roundTrip(c, req, 1, resp)
	return resp.ErrorCode, err
}

func saslAuthenticate(c net.Conn, token string) (int16, error) {
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.SASLAuthBytes = []byte(token)
	resp := kmsg.NewPtrSASLAuthenticateResponse()
	err := roundTrip(c, req, 1, resp)
	return resp.ErrorCode, err
}

// A connection gets one guess, as in Kafka: a failed SaslAuthenticate is
// answered SASL_AUTHENTICATION_FAILED (late, to slow guessing) and the
// connection's next request, even the right password's handshake, closes
// it. An empty password never logs in, whatever the JAAS line says.
func TestSASLFailedLoginEndsTheConnection(t *testing.T) {
	for _, token := range []string{"\x00alice\x00guess", "\x00bob\x00", "\x00mallory\x00alice-secret"} {
		c := saslConnTo(t)
		if code, err := saslHandshake(c, "PLAIN"); err != nil || code != 0 {
			t.Fatalf("handshake: %d, %v", code, err)
		}
		start := time.Now()
		if code, err := saslAuthenticate(c, token); err != nil || code != kerr.SaslAuthenticationFailed.Code {
			t.Fatalf("token %q: code %d, %v; want SASL_AUTHENTICATION_FAILED", token, code, err)
		}
		if took := time.Since(start); took < saslFailureDelay {
			t.Fatalf("a failed login answered after %v, want at least %v", took, saslFailureDelay)
		}
		if _, err := saslHandshake(c, "PLAIN"); err == nil {
			t.Fatalf("token %q: the connection served another handshake after a failed login", token)
		}
	}
	// The right password on a fresh connection logs in and is served.
	c := saslConnTo(t)
	if code, err := saslHandshake(c, "PLAIN"); err != nil || code != 0 {
		t.Fatalf("handshake: %d, %v", code, err)
	}
	if code, err := saslAuthenticate(c, "\x00alice\x00alice-secret"); err != nil || code != 0 {
		t.Fatalf("login: %d, %v", code, err)
	}
	md := kmsg.NewPtrMetadataResponse()
	if err := roundTrip(c, kmsg.NewPtrMetadataRequest(), 9, md); err != nil || len(md.Brokers) != 1 {
		t.Fatalf("metadata after login: %v, %+v", err, md.Brokers)
	}
}

// The mechanism is compared as Kafka compares it, case and all: "plain" is
// UNSUPPORTED_SASL_MECHANISM, and the connection's next request closes it.
func TestSASLMechanismMustMatch(t *testing.T) {
	c := saslConnTo(t)
	if code, err := saslHandshake(c, "plain"); err != nil || code != kerr.UnsupportedSaslMechanism.Code {
		t.Fatalf("handshake with \"plain\": %d, %v; want UNSUPPORTED_SASL_MECHANISM", code, err)
	}
	if _, err := saslHandshake(c, "PLAIN"); err == nil {
		t.Fatal("the connection served another handshake after a refused mechanism")
	}
}
