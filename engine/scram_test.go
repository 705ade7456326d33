package engine

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"github.com/chronik-go/chronik/engine/meta"
)

// The exchange of RFC 7677's example (SCRAM-SHA-256, user "user", password
// "pencil"), byte for byte, from the credential the broker keeps; then
// what must fail: a wrong proof, a nonce or channel binding not the
// server's, an unknown user, an authorization id for someone else.
func TestSCRAMExchangeRFC7677(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	salted, err := pbkdf2.Key(sha256.New, "pencil", salt, 4096, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	cred := scramCredential("SCRAM-SHA-256", salt, salted, 4096)
	lookup := func(user string) (meta.ScramCredential, bool) { return cred, user == "user" }
	const (
		serverNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
		clientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
		clientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
	)
	x, serverFirst, err := scramFirst("SCRAM-SHA-256", []byte(clientFirst), serverNonce, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if want := "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"; string(serverFirst) != want {
		t.Fatalf("server-first-message %q, want %q", serverFirst, want)
	}
	serverFinal, err := x.final([]byte(clientFinal))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="; string(serverFinal) != want {
		t.Fatalf("server-final-message %q, want %q", serverFinal, want)
	}

	// librdkafka before 2.6.1 (Debian's 2.0.2) puts its own nonce again in
	// front of the server's whole one, and signs the message as sent; taken,
	// as Kafka 3 took it. Anything else in front is not.
	oldRdkafka := "c=biws,r=rOprNGfwEbeRWgbNEkqO" + x.nonce
	proof := hmacSum(sha256.New, cred.StoredKey, x.clientFirst+","+x.serverFirst+","+oldRdkafka)
	clientKey := hmacSum(sha256.New, salted, "Client Key")
	for i := range proof {
		proof[i] ^= clientKey[i]
	}
	x, _, _ = scramFirst("SCRAM-SHA-256", []byte(clientFirst), serverNonce, lookup)
	if _, err := x.final([]byte(oldRdkafka + ",p=" + base64.StdEncoding.EncodeToString(proof))); err != nil {
		t.Fatalf("librdkafka 2.0's final message: %v", err)
	}
	otherPrefix := "c=biws,r=xx" + x.nonce
	proof = hmacSum(sha256.New, cred.StoredKey, x.clientFirst+","+x.serverFirst+","+otherPrefix)
	for i := range proof {
		proof[i] ^= clientKey[i]
	}
	x, _, _ = scramFirst("SCRAM-SHA-256", []byte(clientFirst), serverNonce, lookup)
	if _, err := x.final([]byte(otherPrefix + ",p=" + base64.StdEncoding.EncodeToString(proof))); err == nil {
		t.Fatal("a nonce with something else in front of the server's was taken")
	}

	for _, final := range []string{
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU=", // a bit off
		"c=biws,r=rOprNGfwEbeRWgbNEkqOsomethingelse,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",                  // not the server's nonce
		"c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", // "y,": another binding
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",                                                // no proof
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA",                                         // a short proof
	} {
		x, _, err := scramFirst("SCRAM-SHA-256", []byte(clientFirst), serverNonce, lookup)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := x.final([]byte(final)); err == nil {
			t.Fatalf("client-final-message %q was taken", final)
		}
	}
	for _, first := range []string{
		"n,,n=mallory,r=rOprNGfwEbeRWgbNEkqO",     // no credential
		"n,a=admin,n=user,r=rOprNGfwEbeRWgbNEkqO", // acting for another user
		"p=tls-unique,,n=user,r=rOprNGfwEbeRWgbNEkqO",
		"n,,n=user",
		"n,,n=us=3er,r=abc",
		"n,,n=user,r=a,b",
		"",
	} {
		if _, _, err := scramFirst("SCRAM-SHA-256", []byte(first), serverNonce, lookup); err == nil {
			t.Fatalf("client-first-message %q was taken", first)
		}
	}
	// A user name with ',' and '=' travels escaped; an authorization id
	// naming the user itself is taken.
	lookup = func(user string) (meta.ScramCredential, bool) { return cred, user == "a,b=c" }
	if _, _, err := scramFirst("SCRAM-SHA-256", []byte("n,a=a=2Cb=3Dc,n=a=2Cb=3Dc,r=xyz"), serverNonce, lookup); err != nil {
		t.Fatal(err)
	}
}
