package engine

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"fmt"

	"github.com/chronik-go/chronik/engine/meta"
)

// addScramUsers creates the --add-scram users (config.ScramUser) whose
// credential of that mechanism the metadata does not hold yet, before the
// broker serves, so that a listener offering only SCRAM can let its first
// user in. One already there is left: it may have been changed since with
// AlterUserScramCredentials.
func (b *Broker) addScramUsers() error {
	have := b.store.Current().ScramCredentials
	var ops []meta.Op
	for _, u := range b.cfg.ScramUsers {
		if _, ok := have[u.Name][u.Mechanism]; ok {
			continue
		}
		h := scramHashes[u.Mechanism]
		salt := make([]byte, 32)
		rand.Read(salt)
		salted, err := pbkdf2.Key(h, u.Password, salt, int(u.Iterations), h().Size())
		if err != nil {
			return fmt.Errorf("--add-scram %s user %q: %w", u.Mechanism, u.Name, err)
		}
		cred := scramCredential(u.Mechanism, salt, salted, u.Iterations)
		ops = append(ops, meta.Op{Kind: meta.OpAlterScramCredentials, Names: []string{u.Name},
			Scram: []meta.ScramChange{{Mechanism: u.Mechanism, Credential: &cred}}})
	}
	if len(ops) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.IOTimeout)
	defer cancel()
	res, err := b.store.Propose(ctx, ops)
	if err != nil {
		return fmt.Errorf("--add-scram: %w", err)
	}
	for i, op := range ops {
		if res[i].Err != nil {
			return fmt.Errorf("--add-scram %s user %q: %w", op.Scram[0].Mechanism, op.Names[0], res[i].Err)
		}
		b.log.Info("created a SCRAM user (--add-scram)", "user", op.Names[0], "mechanism", op.Scram[0].Mechanism)
	}
	return nil
}
