package engine

import (
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SaslHandshake: v1
//
// Behaviour:
// * On a SASL listener before the connection has authenticated: the
//   mechanism must be one of sasl.enabled.mechanisms (PLAIN), else
//   UNSUPPORTED_SASL_MECHANISM; either way the answer lists them. The
//   connection's SaslAuthenticate then uses it.
// * Elsewhere (a PLAINTEXT or SSL listener, or a connection already
//   authenticated, a second handshake): ILLEGAL_SASL_STATE, as Kafka
//   answers one that reaches its request handlers.
//
// Version notes:
// * v0 (raw SASL tokens after the handshake, without Kafka framing) is not
//   served: clients use v1 and SaslAuthenticate when ApiVersions lists it.

func init() { registerAPI(17, 1, 1, (*Broker).handleSaslHandshake) }

func (b *Broker) handleSaslHandshake(r *request) {
	req := r.kreq.(*kmsg.SASLHandshakeRequest)
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	a := b.sasl
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
	case !slices.Contains(a.mechanisms, strings.ToUpper(req.Mechanism)):
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
	default:
		c.mechanism = strings.ToUpper(req.Mechanism)
	}
	r.respond(resp)
}
