package engine

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SaslHandshake: v0-1
//
// Behaviour:
// * On a SASL listener before the connection has authenticated: the
//   mechanism must be one of the listener's sasl.enabled.mechanisms
//   (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; in upper case, as Kafka
//   compares), else UNSUPPORTED_SASL_MECHANISM, after which the
//   connection's next request closes it; either way the answer lists
//   them. The connection's SaslAuthenticate then uses it.
// * Elsewhere (a PLAINTEXT or SSL listener, or a connection already
//   authenticated, a second handshake): ILLEGAL_SASL_STATE, as Kafka
//   answers one that reaches its request handlers.
//
// Version notes:
// * v0 is answered as v1, because librdkafka looks for it in ApiVersions
//   before it uses SASL at all, but the raw SASL tokens a v0 client then
//   sends without Kafka framing are not read (the connection closes):
//   clients use v1 and SaslAuthenticate when ApiVersions lists them, as
//   every current one does.

func init() { registerAPI(17, 0, 1, (*Broker).handleSaslHandshake) }

func (b *Broker) handleSaslHandshake(r *request) {
	req := r.kreq.(*kmsg.SASLHandshakeRequest)
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	a := b.sasl[r.conn.Listener]
	if a == nil {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		r.respond(resp)
		return
	}
	resp.SupportedMechanisms = slices.Clone(a.mechanisms)
	c := a.conn(r.conn)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.authenticated || c.mechanism != "":
		resp.ErrorCode = kerr.IllegalSaslState.Code
	case !slices.Contains(a.mechanisms, req.Mechanism): // as Kafka, case matters
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
	default:
		c.mechanism = req.Mechanism
	}
	// A failed step ends the exchange: the next request closes the
	// connection (an authenticated one's handshake is only refused).
	c.failed = resp.ErrorCode != 0 && !c.authenticated
	r.respond(resp)
}
