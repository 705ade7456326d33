package engine

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/chronik-go/chronik/numa"
	"github.com/chronik-go/chronik/uring"
)

// defaultSysfsRoot is where the NUMA topology is read from.
const defaultSysfsRoot = "/sys"

// placeShards decides where each shard's thread runs (numa.policy). With
// several NUMA nodes, shards take the nodes in turn, so each shard's appends
// fill page cache on its own node and its partitions' memory stays there;
// on one node the node policy would pin to every allowed CPU, so it pins
// nothing. Where the topology cannot be read or threads cannot be pinned,
// shards run unpinned and the reason is logged once.
func placeShards(sysfsRoot string, n int, policy string, log *slog.Logger) []numa.Placement {
	if sysfsRoot == "" {
		sysfsRoot = defaultSysfsRoot
	}
	unpinned := make([]numa.Placement, n)
	if policy == "" {
		policy = string(numa.PolicyNode) // the key's default
	}
	if numa.Policy(policy) == numa.PolicyNone {
		return unpinned
	}
	if !numa.CanPin {
		log.Info("shard threads not pinned: this platform cannot pin threads", "numa.policy", policy)
		return unpinned
	}
	allowed, err := numa.AllowedCPUs()
	var topo numa.Topology
	if err == nil {
		topo, err = numa.ReadTopology(sysfsRoot, allowed)
	}
	var places []numa.Placement
	if err == nil {
		places, err = numa.Place(topo, n, numa.Policy(policy))
	}
	if err != nil {
		log.Warn("shard threads not pinned", "numa.policy", policy, "err", err)
		return unpinned
	}
	if len(topo.Nodes) == 1 && numa.Policy(policy) == numa.PolicyNode {
		// Pinning to every allowed CPU would change nothing.
		return unpinned
	}
	perNode := make(map[int]int)
	for _, p := range places {
		perNode[p.Node]++
	}
	var spread []string
	for _, node := range topo.Nodes {
		spread = append(spread, fmt.Sprintf("node%d=%d", node.ID, perNode[node.ID]))
	}
	log.Info("shard threads pinned", "numa.policy", policy, "nodes", len(topo.Nodes), "cpus", topo.CPUs(),
		"shards", strings.Join(spread, " "))
	return places
}

// ownsThread says whether the shard's goroutine keeps an OS thread of its
// own: when placement pinned it to CPUs, or when it drives an io_uring ring
// (entered from one thread, for locality). Otherwise it runs wherever the
// runtime puts it, since waking a goroutine locked to a thread hands the
// waker's P to that sleeping thread, a second thread wake-up per request.
func (s *shard) ownsThread() bool {
	return len(s.place.CPUs) > 0 || uring.HasShardState(s.b.opener)
}

// pinThread pins the shard's OS-locked thread as placed, if at all. The
// shard never unlocks its thread, so the runtime retires it with the shard
// and the pinning never reaches another goroutine.
func (s *shard) pinThread() {
	cpus := s.place.CPUs
	if len(cpus) == 0 {
		return
	}
	if err := numa.PinThread(cpus); err != nil {
		s.b.log.Warn("shard thread not pinned", "shard", s.id, "cpus", cpus, "err", err)
	}
}
