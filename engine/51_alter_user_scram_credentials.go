package engine

import (
	"bytes"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/meta"
)

// AlterUserScramCredentials: v0 (KIP-554)
//
// Behaviour, as Kafka's controller answers it:
// * Deletions and upsertions name a user and a mechanism (1:
//   SCRAM-SHA-256, 2: SCRAM-SHA-512); an upsertion carries the salt, the
//   iteration count and the password salted by the client (kafka-configs
//   --add-config 'SCRAM-SHA-256=[password=...]' computes it), from which
//   the broker keeps the stored and server keys, never the password.
// * One result per user: DUPLICATE_RESOURCE for a user the request names
//   more than once (whatever the mechanisms, as Kafka's KRaft controller);
//   else UNACCEPTABLE_CREDENTIAL for an empty name, an empty salt or salted
//   password, or iterations outside 4096-16384; UNSUPPORTED_SASL_MECHANISM
//   for another mechanism; RESOURCE_NOT_FOUND for a deletion of a
//   credential the user does not have.
// * No authorizer: any client that may send requests may change
//   credentials, as on a Kafka broker without one.

func init() { registerAPI(51, 0, 0, (*Broker).handleAlterUserScramCredentials) }

// scramAlteration is one user's change and, once it failed, why.
type scramAlteration struct {
	user   string
	change meta.ScramChange
	err    *apiError
}

func (b *Broker) handleAlterUserScramCredentials(r *request) {
	req := r.kreq.(*kmsg.AlterUserSCRAMCredentialsRequest)
	resp := req.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
	var users []*scramAlteration
	byUser := map[string]*scramAlteration{}
	// add records a user's change, or why it fails.
	add := func(user string, mechanism int8, credential func(name string) (*meta.ScramCredential, *apiError)) {
		if a, seen := byUser[user]; seen {
			a.err = newAPIError(kerr.DuplicateResource, "A user credential cannot be altered twice in the same request")
			return
		}
		a := &scramAlteration{user: user}
		byUser[user] = a
		users = append(users, a)
		name, ok := scramMechanismNames[mechanism]
		switch {
		case user == "":
			a.err = newAPIError(kerr.UnacceptableCredential, "Username must not be empty")
		case !ok:
			a.err = newAPIError(kerr.UnsupportedSaslMechanism, "Unknown SCRAM mechanism")
		default:
			cred, aerr := credential(name)
			a.change, a.err = meta.ScramChange{Mechanism: name, Credential: cred}, aerr
		}
	}
	for _, d := range req.Deletions {
		add(d.Name, d.Mechanism, func(string) (*meta.ScramCredential, *apiError) { return nil, nil })
	}
	for _, u := range req.Upsertions {
		add(u.Name, u.Mechanism, func(name string) (*meta.ScramCredential, *apiError) {
			switch {
			case u.Iterations < scramMinIterations:
				return nil, newAPIError(kerr.UnacceptableCredential, "Too few iterations")
			case u.Iterations > scramMaxIterations:
				return nil, newAPIError(kerr.UnacceptableCredential, "Too many iterations")
			case len(u.Salt) == 0 || len(u.SaltedPassword) == 0:
				return nil, newAPIError(kerr.UnacceptableCredential, "The salt and the salted password must not be empty")
			}
			cred := scramCredential(name, bytes.Clone(u.Salt), u.SaltedPassword, u.Iterations)
			return &cred, nil
		})
	}
	answer := func() {
		for _, a := range users {
			rr := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
			rr.User = a.user
			rr.ErrorCode, rr.ErrorMessage = a.err.errCode(), a.err.message()
			resp.Results = append(resp.Results, rr)
		}
		r.respond(resp)
	}
	var ops []meta.Op
	var proposed []*scramAlteration
	for _, a := range users {
		if a.err == nil {
			ops = append(ops, meta.Op{Kind: meta.OpAlterScramCredentials, Names: []string{a.user}, Scram: []meta.ScramChange{a.change}})
			proposed = append(proposed, a)
		}
	}
	if len(ops) == 0 {
		answer()
		return
	}
	// Committing waits on the metadata log: off the event loop.
	go func() {
		ctx, cancel := b.adminContext(0)
		defer cancel()
		res, err := b.propose(ctx, ops)
		for i, a := range proposed {
			if err != nil {
				a.err = metaOpError(err)
			} else if res[i].Err != nil {
				a.err = metaOpError(res[i].Err)
				if a.err.code == kerr.ResourceNotFound {
					a.err.msg = "Attempt to delete a user credential that does not exist"
				}
			}
		}
		answer()
	}()
}
