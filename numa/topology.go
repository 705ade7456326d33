package numa

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Node is one NUMA node and the CPUs of it this process may run on.
type Node struct {
	ID   int
	CPUs []int
}

// Topology is the NUMA nodes this process may run on, in node order; every
// node has at least one CPU.
type Topology struct {
	Nodes []Node
}

// CPUs is how many CPUs the topology holds.
func (t Topology) CPUs() int {
	n := 0
	for _, node := range t.Nodes {
		n += len(node.CPUs)
	}
	return n
}

// ReadTopology reads the nodes under sysRoot (normally "/sys") and keeps,
// of each, the CPUs in allowed; nodes left without CPUs are dropped. Without
// node directories it returns one node, 0, holding every allowed CPU.
func ReadTopology(sysRoot string, allowed []int) (Topology, error) {
	if len(allowed) == 0 {
		return Topology{}, errors.New("numa: no allowed CPUs")
	}
	dir := filepath.Join(sysRoot, "devices", "system", "node")
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Topology{}, fmt.Errorf("numa: %w", err)
	}
	var t Topology
	for _, e := range entries {
		id, ok := nodeID(e.Name())
		if !ok {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name(), "cpulist"))
		if err != nil {
			return Topology{}, fmt.Errorf("numa: node %d: %w", id, err)
		}
		cpus, err := parseCPUList(string(raw))
		if err != nil {
			return Topology{}, fmt.Errorf("numa: node %d: %w", id, err)
		}
		cpus = slices.DeleteFunc(cpus, func(c int) bool { return !slices.Contains(allowed, c) })
		if len(cpus) > 0 {
			t.Nodes = append(t.Nodes, Node{ID: id, CPUs: cpus})
		}
	}
	if len(t.Nodes) == 0 {
		// No node directories (or none holding an allowed CPU): one node.
		return Topology{Nodes: []Node{{ID: 0, CPUs: slices.Sorted(slices.Values(allowed))}}}, nil
	}
	slices.SortFunc(t.Nodes, func(a, b Node) int { return a.ID - b.ID })
	return t, nil
}

// nodeID parses a sysfs node directory name ("node3").
func nodeID(name string) (int, bool) {
	num, ok := strings.CutPrefix(name, "node")
	if !ok {
		return 0, false
	}
	id, err := strconv.Atoi(num)
	return id, err == nil && id >= 0
}
