package engine

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SaslAuthenticate: v0-2
//
// Behaviour:
// * After a SaslHandshake on a SASL listener: the mechanism's token is
//   checked (PLAIN: a user of the listener's JAAS line and its password);
//   the connection is then authenticated and serves every request.
// * A wrong user or password (or an empty one) is
//   SASL_AUTHENTICATION_FAILED, with "Authentication failed: Invalid
//   username or password" as Kafka words it, answered 100 ms late (Kafka's
//   connection.failed.authentication.delay.ms); the connection's next
//   request closes it, so a connection gets one guess.
// * Without a handshake first, after authentication, or on a listener
//   without SASL: ILLEGAL_SASL_STATE (before authentication, the next
//   request then closes the connection).
//
// Version notes:
// * v1: SessionLifetimeMs (0: no re-authentication asked, KIP-368).
// * v2: flexible versions.

func init() { registerAPI(36, 0, 2, (*Broker).handleSaslAuthenticate) }

func (b *Broker) handleSaslAuthenticate(r *request) {
	req := r.kreq.(*kmsg.SASLAuthenticateRequest)
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	a := b.sasl[r.conn.Listener]
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
		c.failed = !c.authenticated
		r.respond(resp)
		return
	}
	user, err := a.authenticatePlain(req.SASLAuthBytes)
	if err != nil {
		b.log.Info("SASL authentication failed", "remote", r.conn.Remote, "mechanism", "PLAIN", "err", err)
		c.failed = true // the next request closes the connection
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		msg := "Authentication failed: Invalid username or password"
		resp.ErrorMessage = &msg
		time.AfterFunc(saslFailureDelay, func() { r.respond(resp) })
		return
	}
	c.authenticated, c.user = true, user
	r.respond(resp)
}
