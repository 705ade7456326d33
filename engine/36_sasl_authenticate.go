package engine

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/meta"
)

// SaslAuthenticate: v0-2
//
// Behaviour:
// * After a SaslHandshake on a SASL listener: the mechanism's token is
//   checked, and the connection then authenticated serves every request.
//   PLAIN: one round, a user of the listener's JAAS line and its
//   password. SCRAM-SHA-256/512: two rounds (scram.go), the user's
//   credential from AlterUserScramCredentials; the second answer carries
//   the server's proof.
// * A failed login (a wrong password, an empty one, a user without a
//   credential, a malformed token) is SASL_AUTHENTICATION_FAILED, in
//   Kafka's words, answered 100 ms late (Kafka's
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
	if c.authenticated || c.mechanism == "" {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		c.failed = !c.authenticated
		r.respond(resp)
		return
	}
	var (
		user  string
		reply []byte
		err   error
		msg   = "Authentication failed: Invalid username or password"
	)
	switch {
	case c.mechanism == "PLAIN":
		user, err = a.authenticatePlain(req.SASLAuthBytes)
	case c.scram == nil:
		msg = "Authentication failed during authentication due to invalid credentials with SASL mechanism " + c.mechanism
		c.scram, reply, err = scramFirst(c.mechanism, req.SASLAuthBytes, newScramNonce(), b.scramCredential(c.mechanism))
		if err == nil {
			resp.SASLAuthBytes = reply
			r.respond(resp) // the second round follows
			return
		}
	default:
		msg = "Authentication failed during authentication due to invalid credentials with SASL mechanism " + c.mechanism
		user = c.scram.user
		reply, err = c.scram.final(req.SASLAuthBytes)
		c.scram = nil
	}
	if err != nil {
		b.log.Info("SASL authentication failed", "remote", r.conn.Remote, "listener", r.conn.Listener, "mechanism", c.mechanism, "err", err)
		c.failed = true // the next request closes the connection
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		resp.ErrorMessage = &msg
		time.AfterFunc(saslFailureDelay, func() { r.respond(resp) })
		return
	}
	c.authenticated, c.user = true, user
	resp.SASLAuthBytes = reply
	r.respond(resp)
}

// scramCredential looks users' credentials of one SCRAM mechanism up in the
// metadata.
func (b *Broker) scramCredential(mechanism string) func(user string) (meta.ScramCredential, bool) {
	return func(user string) (meta.ScramCredential, bool) {
		cred, ok := b.store.Current().ScramCredentials[user][mechanism]
		return cred, ok
	}
}
