package numa

import "fmt"

// Policy says how shard threads are pinned (numa.policy).
type Policy string

const (
	// PolicyNode pins each shard's thread to every CPU of one node, shards
	// taking the nodes in turn; within its node the kernel schedules it.
	PolicyNode Policy = "node"
	// PolicyCPU pins each shard's thread to one CPU, shards taking the nodes
	// in turn and, within a node, its CPUs in turn.
	PolicyCPU Policy = "cpu"
	// PolicyNone leaves shard threads unpinned.
	PolicyNone Policy = "none"
)

// Placement is where one shard runs: its node and the CPUs its thread is
// pinned to (none under PolicyNone).
type Placement struct {
	Node int
	CPUs []int
}

// Place assigns each of shards shards a node and CPUs under policy, spreading
// consecutive shards over the nodes so that every node gets its share.
func Place(t Topology, shards int, policy Policy) ([]Placement, error) {
	if len(t.Nodes) == 0 {
		return nil, fmt.Errorf("numa: no nodes to place %d shards on", shards)
	}
	for _, node := range t.Nodes {
		if len(node.CPUs) == 0 {
			return nil, fmt.Errorf("numa: node %d has no CPUs to place shards on", node.ID)
		}
	}
	out := make([]Placement, shards)
	for i := range out {
		node := t.Nodes[i%len(t.Nodes)]
		out[i].Node = node.ID
		switch policy {
		case PolicyNode:
			out[i].CPUs = node.CPUs
		case PolicyCPU:
			out[i].CPUs = []int{node.CPUs[(i/len(t.Nodes))%len(node.CPUs)]}
		case PolicyNone:
		default:
			return nil, fmt.Errorf("numa: unknown policy %q", policy)
		}
	}
	return out, nil
}
