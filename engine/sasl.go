package engine

import (
	"crypto/subtle"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chronik-go/chronik/engine/config"
	"github.com/chronik-go/chronik/netpoll"
)

// SASL on a SASL_PLAINTEXT or SASL_SSL listener, as Kafka's
// SaslServerAuthenticator runs it (KIP-152): a connection may send
// ApiVersions, then SaslHandshake naming a mechanism, then SaslAuthenticate
// with its token (two rounds for SCRAM, scram.go); any other request before
// it has authenticated closes the connection. PLAIN's users come from the
// listener's JAAS line, SCRAM's from the cluster metadata (AlterUser-
// ScramCredentials, --add-scram). A connection's requests reach Serve one
// at a time in order,
// and the two handlers decide inline, so the request after a successful
// SaslAuthenticate already finds the connection authenticated. A failed
// exchange (a wrong password, a mechanism not offered, a step out of
// order) is answered, after saslFailureDelay for a wrong password, and the
// connection's next request closes it, as Kafka closes it after
// connection.failed.authentication.delay.ms: one guess per connection.

// saslFailureDelay is Kafka's connection.failed.authentication.delay.ms
// default: a failed login is answered this late, slowing password guesses.
const saslFailureDelay = 100 * time.Millisecond

// saslAuth is one listener's SASL side.
type saslAuth struct {
	users      map[string]string // PLAIN user -> password; nil without PLAIN
	mechanisms []string          // offered, in order
	conns      sync.Map          // netpoll.ConnInfo.ID -> *saslConn
}

// saslConn is one connection's progress. Its requests run one at a time,
// though not always on one goroutine (those held before the start are
// served by another): the mutex orders them.
type saslConn struct {
	mu            sync.Mutex
	mechanism     string // chosen by SaslHandshake; "" before it
	authenticated bool
	failed        bool // the exchange failed: nothing more is served
	user          string
	scram         *scramExchange // a SCRAM login between its two rounds
}

// saslListeners is the SASL side of each SASL listener of cfg: its PLAIN
// users and its mechanisms, each as scoped to the listener.
func saslListeners(cfg *config.Config, specs []config.Listener) (map[string]*saslAuth, error) {
	out := map[string]*saslAuth{}
	for _, l := range specs {
		if !l.SASL() {
			continue
		}
		lc, err := cfg.ForListener(l.Name)
		if err != nil {
			return nil, err
		}
		a := newSASLAuth(nil, lc.SASLEnabledMechanisms)
		if slices.Contains(a.mechanisms, "PLAIN") {
			if a.users, err = cfg.SASLPlainUsers(l.Name); err != nil {
				return nil, err
			}
		}
		out[l.Name] = a
	}
	return out, nil
}

// newSASLAuth is the SASL side of a listener whose PLAIN users are users.
func newSASLAuth(users map[string]string, mechanisms []string) *saslAuth {
	if len(mechanisms) == 0 {
		mechanisms = []string{"PLAIN"}
	}
	return &saslAuth{users: users, mechanisms: mechanisms}
}

func (a *saslAuth) conn(c netpoll.ConnInfo) *saslConn {
	v, _ := a.conns.LoadOrStore(c.ID, &saslConn{})
	return v.(*saslConn)
}

// allows reports whether a request with key may run on connection c: every
// one once it has authenticated, before that only the SASL exchange and
// ApiVersions.
func (a *saslAuth) allows(c netpoll.ConnInfo, key int16) bool {
	if a == nil {
		return true
	}
	v, ok := a.conns.Load(c.ID)
	if ok {
		sc := v.(*saslConn)
		sc.mu.Lock()
		defer sc.mu.Unlock()
		if sc.failed {
			return false
		}
		if sc.authenticated {
			return true
		}
	}
	switch key {
	case 17, 18, 36: // SaslHandshake, ApiVersions, SaslAuthenticate
		return true
	}
	return false
}

// closed forgets a connection.
func (a *saslAuth) closed(c netpoll.ConnInfo) {
	if a != nil {
		a.conns.Delete(c.ID)
	}
}

var errPlainToken = errors.New("malformed PLAIN token")

// authenticatePlain checks a PLAIN token (RFC 4616: authzid NUL authcid NUL
// passwd), as Kafka's PlainSaslServer: an authorization id other than the
// user is refused.
func (a *saslAuth) authenticatePlain(token []byte) (string, error) {
	parts := strings.Split(string(token), "\x00")
	if len(parts) != 3 || parts[1] == "" {
		return "", errPlainToken
	}
	authzid, user, password := parts[0], parts[1], parts[2]
	if authzid != "" && authzid != user {
		return "", errors.New("authorization id differs from the user")
	}
	if password == "" {
		return "", errors.New("password not specified") // as Kafka's PlainSaslServer
	}
	want, ok := a.users[user]
	// Compared in constant time whether or not the user exists.
	if subtle.ConstantTimeCompare([]byte(password), []byte(want)) != 1 || !ok {
		return "", errors.New("invalid username or password")
	}
	return user, nil
}
