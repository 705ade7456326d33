package engine

import (
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeCluster: v0-1
//
// Behaviour (KIP-700):
// * Every registered broker with its advertised listener, the cluster id
//   and the controller, which is this node: every Chronik broker takes
//   admin requests and proposes their changes to the metadata raft group.
// * ClusterAuthorizedOperations stays -2147483648 (not asked) unless
//   IncludeClusterAuthorizedOperations; then it is every operation Kafka
//   defines on the CLUSTER resource, as a Kafka broker without an
//   authorizer answers.
// * EndpointType (v1): 1 (brokers) is served; 2 (controllers) is
//   MISMATCHED_ENDPOINT_TYPE, since brokers answer this listener; anything
//   else UNSUPPORTED_ENDPOINT_TYPE, as Kafka answers (KIP-919).
//
// Version notes:
// * v1: EndpointType (KIP-919)

func init() { registerAPI(60, 0, 1, (*Broker).handleDescribeCluster) }

// clusterOperations is the bit set of Kafka's CLUSTER operations: CREATE
// (5), ALTER (7), DESCRIBE (8), CLUSTER_ACTION (9), DESCRIBE_CONFIGS (10),
// ALTER_CONFIGS (11) and IDEMPOTENT_WRITE (12).
const clusterOperations int32 = 1<<5 | 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12

// endpointTypeBrokers and endpointTypeControllers are KIP-919's endpoint types.
const (
	endpointTypeBrokers     int8 = 1
	endpointTypeControllers int8 = 2
)

func (b *Broker) handleDescribeCluster(r *request) {
	req := r.kreq.(*kmsg.DescribeClusterRequest)
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.EndpointType = req.EndpointType
	switch req.EndpointType {
	case endpointTypeBrokers:
	case endpointTypeControllers:
		aerr := newAPIError(kerr.MismatchedEndpointType, "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER")
		resp.ErrorCode, resp.ErrorMessage = aerr.errCode(), aerr.message()
		r.respond(resp)
		return
	default:
		aerr := newAPIError(kerr.UnsupportedEndpointType, "Unsupported endpoint type %d", req.EndpointType)
		resp.ErrorCode, resp.ErrorMessage = aerr.errCode(), aerr.message()
		r.respond(resp)
		return
	}

	snap := b.currentView().snap
	resp.ClusterID = snap.ClusterID
	resp.ControllerID = b.nodeID
	for _, id := range slices.Sorted(maps.Keys(snap.Brokers)) {
		br := snap.Brokers[id]
		host, port, ok := br.Endpoint(r.conn.Listener)
		if !ok {
			continue // as Metadata: the client's listener's endpoints
		}
		sb := kmsg.NewDescribeClusterResponseBroker()
		sb.NodeID, sb.Host, sb.Port, sb.Rack = br.NodeID, host, port, br.RackPtr()
		resp.Brokers = append(resp.Brokers, sb)
	}
	if req.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = clusterOperations
	}
	r.respond(resp)
}
