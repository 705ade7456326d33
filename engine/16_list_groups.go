package engine

import (
	"cmp"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/group"
)

// ListGroups: v0-5
//
// Behaviour:
// * Every group whose coordinator is this broker, classic and KIP-848,
//   sorted by id; StatesFilter (v4) and TypesFilter (v5) match
//   case-insensitively.
//
// Version notes:
// * v1: ThrottleMillis
// * v3: flexible
// * v4: StatesFilter, GroupState (KIP-518)
// * v5: TypesFilter, GroupType (KIP-848)

func init() { registerAPI(16, 0, 5, (*Broker).handleListGroups) }

func (b *Broker) handleListGroups(r *request) {
	req := r.kreq.(*kmsg.ListGroupsRequest)
	var mu sync.Mutex
	var groups []kmsg.ListGroupsResponseGroup
	b.forEachCoordinator(func(c *group.Coordinator) {
		gs := c.ListGroups(req.StatesFilter, req.TypesFilter)
		mu.Lock()
		groups = append(groups, gs...)
		mu.Unlock()
	}, func() {
		resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
		mu.Lock()
		resp.Groups = groups
		mu.Unlock()
		slices.SortFunc(resp.Groups, func(a, b kmsg.ListGroupsResponseGroup) int { return cmp.Compare(a.Group, b.Group) })
		r.respond(resp)
	})
}
