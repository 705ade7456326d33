package meta

import (
	"errors"
	"testing"
)

// SCRAM credentials change per user, all of an op or none, without
// touching a published snapshot, and survive a snapshot's encoding.
func TestStateScramCredentials(t *testing.T) {
	s := NewState(nil)
	cred := func(iter int32) *ScramCredential {
		return &ScramCredential{Salt: []byte("s"), StoredKey: []byte("k"), ServerKey: []byte("v"), Iterations: iter}
	}
	res := s.Apply(1, []Op{{Kind: OpAlterScramCredentials, Names: []string{"alice"}, Scram: []ScramChange{
		{Mechanism: "SCRAM-SHA-256", Credential: cred(4096)}, {Mechanism: "SCRAM-SHA-512", Credential: cred(8192)}}}})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	first := s.Snapshot()
	if len(first.ScramCredentials["alice"]) != 2 || first.ScramCredentials["alice"]["SCRAM-SHA-512"].Iterations != 8192 {
		t.Fatalf("credentials %+v", first.ScramCredentials)
	}
	// A deletion of a credential the user lacks fails the whole op.
	res = s.Apply(2, []Op{{Kind: OpAlterScramCredentials, Names: []string{"alice"}, Scram: []ScramChange{
		{Mechanism: "SCRAM-SHA-256"}, {Mechanism: "SCRAM-SHA-256"}}}})
	if !errors.Is(res[0].Err, ErrNotFound) {
		t.Fatalf("deleting twice: %v", res[0].Err)
	}
	if got := s.Snapshot().ScramCredentials["alice"]; len(got) != 2 {
		t.Fatalf("a failed op changed the credentials: %+v", got)
	}
	res = s.Apply(3, []Op{{Kind: OpAlterScramCredentials, Names: []string{"alice"}, Scram: []ScramChange{
		{Mechanism: "SCRAM-SHA-256"}, {Mechanism: "SCRAM-SHA-512"}}}})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if _, ok := s.Snapshot().ScramCredentials["alice"]; ok {
		t.Fatal("a user without credentials is still listed")
	}
	if len(first.ScramCredentials["alice"]) != 2 {
		t.Fatal("a published snapshot changed")
	}
	if res := s.Apply(4, []Op{{Kind: OpAlterScramCredentials, Names: []string{""}, Scram: []ScramChange{{Mechanism: "SCRAM-SHA-256", Credential: cred(4096)}}}}); !errors.Is(res[0].Err, ErrInvalidOp) {
		t.Fatalf("an empty user: %v", res[0].Err)
	}
	b, err := MarshalSnapshot(first)
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalSnapshot(b)
	if err != nil || string(back.ScramCredentials["alice"]["SCRAM-SHA-256"].StoredKey) != "k" {
		t.Fatalf("decoded %+v, %v", back.ScramCredentials, err)
	}
}
