package numa

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// fakeSysfs writes a sysfs tree with the given node CPU lists under a
// temporary root and returns the root.
func fakeSysfs(t *testing.T, nodes map[string]string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "devices", "system", "node")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Entries that are not nodes, as the real directory has.
	for _, f := range []string{"online", "possible", "has_cpu"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("0-1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, cpus := range nodes {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "cpulist"), []byte(cpus+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestReadTopology(t *testing.T) {
	twoSockets := map[string]string{"node0": "0-3,8-11", "node1": "4-7,12-15"}
	for _, c := range []struct {
		name    string
		nodes   map[string]string
		allowed []int
		want    []Node
	}{
		{"two nodes, all allowed", twoSockets, seq(0, 16),
			[]Node{{0, []int{0, 1, 2, 3, 8, 9, 10, 11}}, {1, []int{4, 5, 6, 7, 12, 13, 14, 15}}}},
		{"a cpuset narrows each node", twoSockets, []int{2, 3, 4, 12},
			[]Node{{0, []int{2, 3}}, {1, []int{4, 12}}}},
		{"a node without allowed CPUs is left out", twoSockets, []int{5, 6},
			[]Node{{1, []int{5, 6}}}},
		{"memory-only nodes are left out, nodes sorted by number",
			map[string]string{"node10": "2-3", "node2": "0-1", "node3": ""}, seq(0, 4),
			[]Node{{2, []int{0, 1}}, {10, []int{2, 3}}}},
		{"no node directories: one node", nil, []int{3, 1},
			[]Node{{0, []int{1, 3}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir() // no devices/system/node at all
			if c.nodes != nil {
				root = fakeSysfs(t, c.nodes)
			}
			got, err := ReadTopology(root, c.allowed)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Nodes, c.want) {
				t.Fatalf("nodes = %v, want %v", got.Nodes, c.want)
			}
		})
	}
}

func TestReadTopologyRejectsACorruptCPUList(t *testing.T) {
	root := fakeSysfs(t, map[string]string{"node0": "0-3", "node1": "x"})
	if _, err := ReadTopology(root, seq(0, 4)); err == nil {
		t.Fatal("a corrupt cpulist was accepted")
	}
}

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

// On this machine, every CPU the process may use is in exactly one node.
func TestReadTopologyOfThisMachine(t *testing.T) {
	allowed, err := AllowedCPUs()
	if err != nil {
		t.Fatal(err)
	}
	topo, err := ReadTopology("/sys", allowed)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, n := range topo.Nodes {
		got = append(got, n.CPUs...)
	}
	slices.Sort(got)
	if !slices.Equal(got, allowed) || topo.CPUs() != len(allowed) {
		t.Fatalf("nodes %v hold CPUs %v, want the allowed %v", topo.Nodes, got, allowed)
	}
}
