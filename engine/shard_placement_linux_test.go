package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

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
	topo, err := numa.ReadTopology(defaultSysfsRoot, allowed)
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
	var cpus []int
	onShard(t, s, func(*shard) {
		var err error
		if cpus, err = numa.AllowedCPUs(); err != nil {
			t.Error(err)
		}
	})
	return cpus
}

// On a host of two NUMA nodes (a made-up sysfs tree splitting this
// machine's CPUs in two), the default policy pins shards to the nodes in
// turn, each to all of its node's CPUs.
func TestShardsTakeTheNodesInTurn(t *testing.T) {
	allowed, err := numa.AllowedCPUs()
	if err != nil {
		t.Fatal(err)
	}
	half := max(1, len(allowed)/2)
	nodes := [][]int{allowed[:half], allowed[half:]}
	if len(nodes[1]) == 0 {
		nodes[1] = nodes[0] // one CPU: both nodes hold it
	}
	root := t.TempDir()
	for i, cpus := range nodes {
		dir := filepath.Join(root, "devices", "system", "node", fmt.Sprintf("node%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var list string
		for j, c := range cpus {
			if j > 0 {
				list += ","
			}
			list += fmt.Sprint(c)
		}
		if err := os.WriteFile(filepath.Join(dir, "cpulist"), []byte(list+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tb := launchBroker(&testBroker{t: t, dir: t.TempDir(), sysfs: root, sets: []string{"num.shards=3"}})
	for i, s := range tb.b.shards {
		want := nodes[i%2]
		if got := shardThreadCPUs(t, s); !slices.Equal(got, want) {
			t.Errorf("shard %d runs on CPUs %v, want node %d's %v", i, got, i%2, want)
		}
	}
}
