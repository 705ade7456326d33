package engine

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SaslAuthenticate: v0-2
//
// Behaviour:
// * After a SaslHandshake on a SASL listener: the mechanism's token is
//   checked (PLAIN: a user of the listener's JAAS line and its password);
//   the connection is then authenticated and serves every request.
// * A wrong user or password is SASL_AUTHENTICATION_FAILED, with
//   "Authentication failed: Invalid username or password" as Kafka words
//   it; the connection stays unauthenticated (any request but the SASL
//   exchange closes it) and may try again after another handshake.
// * Without a handshake first, after authentication, or on a listener
//   without SASL: ILLEGAL_SASL_STATE.
//
// Version notes:
// * v1: SessionLifetimeMs (0: no re-authentication asked, KIP-368).
// * v2: flexible versions.

func init() { registerAPI(36, 0, 2, (*Broker).handleSaslAuthenticate) }

func (b *Broker) handleSaslAuthenticate(r *request) {
	req := r.kreq.(*kmsg.SASLAuthenticateRequest)
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	a := b.sasl
	if a == nil {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		r.respond(resp)
		return
	}
	c := a.conn(r.conn)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.authenticated || c.mechanism != "PLAIN" {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		r.respond(resp)
		return
	}
	user, err := a.authenticatePlain(req.SASLAuthBytes)
	c.mechanism = "" // a failed attempt starts again with a handshake
	if err != nil {
		b.log.Info("SASL authentication failed", "remote", r.conn.Remote, "mechanism", "PLAIN", "err", err)
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		msg := "Authentication failed: Invalid username or password"
		resp.ErrorMessage = &msg
		r.respond(resp)
		return
	}
	c.authenticated, c.user = true, user
	r.respond(resp)
}
