package engine

import (
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeUserScramCredentials: v0 (KIP-554)
//
// Behaviour, as Kafka answers it:
// * Users null or empty: every user with a SCRAM credential, by name.
// * Each user named: its mechanisms and iteration counts (never a salt or
//   key); RESOURCE_NOT_FOUND for a user without a credential;
//   DUPLICATE_RESOURCE for a user named twice.

func init() { registerAPI(50, 0, 0, (*Broker).handleDescribeUserScramCredentials) }

func (b *Broker) handleDescribeUserScramCredentials(r *request) {
	req := r.kreq.(*kmsg.DescribeUserSCRAMCredentialsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeUserSCRAMCredentialsResponse)
	creds := b.store.Current().ScramCredentials
	var names []string
	named := map[string]int{}
	for _, u := range req.Users {
		if named[u.Name]++; named[u.Name] == 1 {
			names = append(names, u.Name)
		}
	}
	if len(req.Users) == 0 {
		names = slices.Sorted(maps.Keys(creds))
	}
	for _, user := range names {
		rr := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		rr.User = user
		var aerr *apiError
		switch {
		case named[user] > 1:
			aerr = newAPIError(kerr.DuplicateResource, "Cannot describe SCRAM credentials for the same user twice in a single request: %s", user)
		case len(creds[user]) == 0:
			aerr = newAPIError(kerr.ResourceNotFound, "Attempt to describe a user credential that does not exist: %s", user)
		}
		rr.ErrorCode, rr.ErrorMessage = aerr.errCode(), aerr.message()
		if aerr == nil {
			for _, mechanism := range slices.Sorted(maps.Keys(creds[user])) {
				ci := kmsg.NewDescribeUserSCRAMCredentialsResponseResultCredentialInfo()
				ci.Mechanism, ci.Iterations = scramMechanismNumber(mechanism), creds[user][mechanism].Iterations
				rr.CredentialInfos = append(rr.CredentialInfos, ci)
			}
		}
		resp.Results = append(resp.Results, rr)
	}
	r.respond(resp)
}
