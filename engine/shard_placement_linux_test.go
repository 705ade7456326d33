package engine

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chronik-go/chronik/numa"
)

// Each shard's thread runs on the CPUs numa.policy places it on: one CPU
// each under cpu (shards taking the nodes, then their CPUs, in turn), its
// node's allowed CPUs under node (on a one-node machine: left unpinned, as
// pinning would change nothing), and whatever the process may use under
// none.
func TestShardThreadsArePinned(t *testing.T) {
	allowed, err := numa.AllowedCPUs()
	if err != nil {
		t.Fatal(err)
	}
	topo, err := numa.ReadTopology(sysfsRoot, allowed)
	if err != nil {
		t.Fatal(err)
	}
	const shards = 3
	for _, policy := range []numa.Policy{numa.PolicyCPU, numa.PolicyNode, numa.PolicyNone} {
		t.Run(string(policy), func(t *testing.T) {
			places, err := numa.Place(topo, shards, policy)
			if err != nil {
				t.Fatal(err)
			}
			tb := startBroker(t, fmt.Sprintf("num.shards=%d", shards), "numa.policy="+string(policy))
			for i, s := range tb.b.shards {
				want := places[i].CPUs
				if len(want) == 0 || policy == numa.PolicyNode && len(topo.Nodes) == 1 {
					want = allowed // unpinned: whatever the process may use
				}
				if got := shardThreadCPUs(t, s); !slices.Equal(got, want) {
					t.Errorf("shard %d runs on CPUs %v, want %v", i, got, want)
				}
			}
		})
	}
}

// shardThreadCPUs reads the affinity of s's thread from s's own goroutine.
func shardThreadCPUs(t *testing.T, s *shard) []int {
	t.Helper()
	got := make(chan []int, 1)
	s.submit(func(*shard) {
		cpus, err := numa.AllowedCPUs()
		if err != nil {
			t.Error(err)
		}
		got <- cpus
	})
	select {
	case cpus := <-got:
		return cpus
	case <-time.After(10 * time.Second):
		t.Fatal("shard did not run the affinity check")
		return nil
	}
}
