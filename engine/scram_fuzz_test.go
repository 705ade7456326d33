package engine

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"testing"

	"github.com/chronik-go/chronik/engine/meta"
)

// fuzzScramLookup knows one user whose password is "pencil".
func fuzzScramLookup() func(string) (meta.ScramCredential, bool) {
	salted, _ := pbkdf2.Key(sha256.New, "pencil", []byte("salt"), 4096, sha256.Size)
	cred := scramCredential("SCRAM-SHA-256", []byte("salt"), salted, 4096)
	return func(string) (meta.ScramCredential, bool) { return cred, true }
}

// A client's first SCRAM message, whatever its bytes, is answered or
// refused, never a panic.
func FuzzScramFirst(f *testing.F) {
	f.Add([]byte("n,,n=user,r=abc"))
	f.Add([]byte("n,a=a=2Cb,n=a=2Cb,r=xyz,ext=1"))
	lookup := fuzzScramLookup()
	f.Fuzz(func(t *testing.T, msg []byte) {
		scramFirst("SCRAM-SHA-256", msg, "srv", lookup)
	})
}

// No final message logs in without knowing the password.
func FuzzScramFinal(f *testing.F) {
	f.Add([]byte("c=biws,r=abcsrv,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="))
	f.Add([]byte("c=biws,r=abcabcsrv,x=1,p=AAAA"))
	lookup := fuzzScramLookup()
	f.Fuzz(func(t *testing.T, msg []byte) {
		x, _, err := scramFirst("SCRAM-SHA-256", []byte("n,,n=user,r=abc"), "srv", lookup)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := x.final(msg); err == nil {
			t.Fatalf("final took %q without the password", msg)
		}
	})
}
