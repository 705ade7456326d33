package engine

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/group"
)

// DescribeGroups: v0-6
//
// Behaviour:
// * State, protocol type and members of each group; the chosen protocol,
//   member metadata and assignments only while the group is Stable, as in
//   Kafka.
// * A KIP-848 group is described in the classic shape (protocol type
//   "consumer", subscriptions and assignments in the consumer protocol's
//   encoding) so classic tools and kadm's lag report read it.
// * An unknown group is Dead; from v6 it also gets GROUP_ID_NOT_FOUND.
//
// Version notes:
// * v1: ThrottleMillis
// * v3: IncludeAuthorizedOperations (KIP-430): with no authorizer, every
//   operation a group supports (READ, DELETE, DESCRIBE), as Kafka answers
//   without ACLs
// * v4: InstanceID (KIP-345)
// * v5: flexible
// * v6: ErrorMessage, GROUP_ID_NOT_FOUND (KIP-1043)

func init() { registerAPI(15, 0, 6, (*Broker).handleDescribeGroups) }

// groupOperations is the bit set of Kafka's GROUP operations: READ, DELETE,
// DESCRIBE.
const groupOperations int32 = 1<<3 | 1<<6 | 1<<8

func (b *Broker) handleDescribeGroups(r *request) {
	req := r.kreq.(*kmsg.DescribeGroupsRequest)
	out := make([]kmsg.DescribeGroupsResponseGroup, len(req.Groups))
	b.forGroups(req.Groups, func(i int, c *group.Coordinator) {
		out[i] = c.DescribeGroup(req.Version, req.Groups[i])
	}, func(i int, code int16) {
		out[i] = kmsg.NewDescribeGroupsResponseGroup()
		out[i].Group, out[i].ErrorCode = req.Groups[i], code
	}, func() {
		resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
		if req.IncludeAuthorizedOperations && req.Version >= 3 {
			for i := range out {
				if out[i].ErrorCode == 0 { // as Kafka: only groups described
					out[i].AuthorizedOperations = groupOperations
				}
			}
		}
		resp.Groups = out
		r.respond(resp)
	})
}
