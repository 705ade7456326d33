package engine

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/chronik-go/chronik/engine/meta"
)

// SASL/SCRAM (RFC 5802, with SHA-256 per RFC 7677 and SHA-512), as Kafka's
// ScramSaslServer runs it: two SaslAuthenticate rounds. The client's first
// message names the user and a nonce; the server answers with the nonce
// extended, the user's salt and iteration count; the client's final
// message proves it knows the password, and the server's final one
// proves the broker knows the credential. The broker never sees the
// password: AlterUserScramCredentials hands it the salted password, from
// which it keeps only the stored and server keys (meta.ScramCredential).

// scramHashes are the SCRAM mechanisms served, by Kafka's names, and the
// KIP-554 mechanism numbers AlterUserScramCredentials and
// DescribeUserScramCredentials use for them.
var scramHashes = map[string]func() hash.Hash{"SCRAM-SHA-256": sha256.New, "SCRAM-SHA-512": sha512.New}

var scramMechanismNames = map[int8]string{1: "SCRAM-SHA-256", 2: "SCRAM-SHA-512"}

func scramMechanismNumber(name string) int8 {
	for n, m := range scramMechanismNames {
		if m == name {
			return n
		}
	}
	return 0
}

// Kafka's bounds on a credential's iteration count (ScramMechanism's
// minimum, and the most AlterUserScramCredentials takes).
const (
	scramMinIterations = 4096
	scramMaxIterations = 16384
)

func hmacSum(h func() hash.Hash, key []byte, msg string) []byte {
	mac := hmac.New(h, key)
	mac.Write([]byte(msg))
	return mac.Sum(nil)
}

func hashSum(h func() hash.Hash, b []byte) []byte {
	d := h()
	d.Write(b)
	return d.Sum(nil)
}

// scramCredential derives what the broker keeps from a salted password.
func scramCredential(mechanism string, salt, saltedPassword []byte, iterations int32) meta.ScramCredential {
	h := scramHashes[mechanism]
	return meta.ScramCredential{
		Salt:       salt,
		StoredKey:  hashSum(h, hmacSum(h, saltedPassword, "Client Key")),
		ServerKey:  hmacSum(h, saltedPassword, "Server Key"),
		Iterations: iterations,
	}
}

// errScramCredentials is every failed SCRAM login's answer, an unknown user
// and a wrong password alike, in Kafka's words.
var errScramCredentials = errors.New("invalid credentials")

// scramExchange is one connection's SCRAM login between its two rounds.
type scramExchange struct {
	mechanism   string
	user        string
	cred        meta.ScramCredential
	gs2Header   string // "n,," or "n,a=<authzid>,"
	clientFirst string // client-first-message-bare
	serverFirst string
	clientNonce string
	nonce       string // the client's nonce and the server's
}

// scramFirst reads a client-first-message (gs2-header, then n=user,r=nonce
// and any extensions) and answers the server-first-message, the client's
// nonce extended with serverNonce; lookup finds the user's credential.
// Channel binding is not offered ("n" only, as Kafka), and an
// authorization id must name the user itself.
func scramFirst(mechanism string, msg []byte, serverNonce string, lookup func(user string) (meta.ScramCredential, bool)) (*scramExchange, []byte, error) {
	s := string(msg)
	flag, rest, ok := strings.Cut(s, ",")
	if !ok || flag != "n" {
		return nil, nil, fmt.Errorf("client-first-message: channel binding flag %q (want n)", flag)
	}
	authzid, bare, ok := strings.Cut(rest, ",")
	if !ok || (authzid != "" && !strings.HasPrefix(authzid, "a=")) {
		return nil, nil, errors.New("client-first-message: malformed gs2 header")
	}
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") {
		return nil, nil, errors.New("client-first-message: want n=user,r=nonce")
	}
	user, err := scramUnescape(attrs[0][2:])
	if err != nil || user == "" {
		return nil, nil, errors.New("client-first-message: malformed user name")
	}
	if authzid != "" {
		if z, err := scramUnescape(authzid[2:]); err != nil || z != user {
			return nil, nil, errors.New("client-first-message: authorization id differs from the user")
		}
	}
	clientNonce := attrs[1][2:]
	if !scramPrintable(clientNonce) {
		return nil, nil, errors.New("client-first-message: malformed nonce")
	}
	for _, ext := range attrs[2:] { // extensions, read past as Kafka does
		if name, _, ok := strings.Cut(ext, "="); !ok || name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return nil, nil, errors.New("client-first-message: malformed extension")
		}
	}
	cred, ok := lookup(user)
	if !ok {
		return nil, nil, fmt.Errorf("user %q has no %s credential: %w", user, mechanism, errScramCredentials)
	}
	x := &scramExchange{mechanism: mechanism, user: user, cred: cred, gs2Header: flag + "," + authzid + ",",
		clientFirst: bare, clientNonce: clientNonce, nonce: clientNonce + serverNonce}
	x.serverFirst = "r=" + x.nonce + ",s=" + base64.StdEncoding.EncodeToString(cred.Salt) + ",i=" + strconv.Itoa(int(cred.Iterations))
	return x, []byte(x.serverFirst), nil
}

// newScramNonce is the server's part of a login's nonce: 24 random bytes.
func newScramNonce() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)
}

// final checks a client-final-message (c=channel binding,r=nonce,...,p=
// proof) and answers the server-final-message.
func (x *scramExchange) final(msg []byte) ([]byte, error) {
	s := string(msg)
	withoutProof, proof64, ok := strings.Cut(s, ",p=")
	if !ok || strings.Contains(proof64, ",") {
		return nil, errors.New("client-final-message: want c=...,r=...,p=proof")
	}
	attrs := strings.Split(withoutProof, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "c=") || !strings.HasPrefix(attrs[1], "r=") {
		return nil, errors.New("client-final-message: want c=...,r=...")
	}
	if attrs[0][2:] != base64.StdEncoding.EncodeToString([]byte(x.gs2Header)) {
		return nil, errors.New("client-final-message: channel binding differs from the first message's")
	}
	// librdkafka before 2.6.1 (Debian 12's 2.0.2, so kcat) sends its own
	// nonce again in front of the server's whole one, and signs that;
	// Kafka 3 took it (a nonce ending with the server's). Taken too: the
	// fresh server nonce is in it all the same.
	if got := attrs[1][2:]; got != x.nonce && got != x.clientNonce+x.nonce {
		return nil, errors.New("client-final-message: nonce differs from the server's")
	}
	h := scramHashes[x.mechanism]
	proof, err := base64.StdEncoding.DecodeString(proof64)
	if err != nil || len(proof) != h().Size() {
		return nil, errors.New("client-final-message: malformed proof")
	}
	authMessage := x.clientFirst + "," + x.serverFirst + "," + withoutProof
	clientKey := hmacSum(h, x.cred.StoredKey, authMessage) // the client signature, then
	for i := range clientKey {
		clientKey[i] ^= proof[i]
	}
	if subtle.ConstantTimeCompare(hashSum(h, clientKey), x.cred.StoredKey) != 1 {
		return nil, fmt.Errorf("user %q: wrong proof: %w", x.user, errScramCredentials)
	}
	return []byte("v=" + base64.StdEncoding.EncodeToString(hmacSum(h, x.cred.ServerKey, authMessage))), nil
}

// scramUnescape undoes a saslname's =2C (',') and =3D ('=') escapes; any
// other '=' is malformed.
func scramUnescape(s string) (string, error) {
	if !strings.Contains(s, "=") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", errors.New("bad escape")
		}
		i += 2
	}
	return b.String(), nil
}

// scramPrintable reports whether a nonce is RFC 5802's printable: ASCII
// 0x21-0x7e but ','.
func scramPrintable(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ',' {
			return false
		}
	}
	return true
}
