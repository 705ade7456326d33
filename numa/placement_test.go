package numa

import (
	"reflect"
	"testing"
)

func TestPlace(t *testing.T) {
	topo := Topology{Nodes: []Node{{0, []int{0, 1, 2}}, {1, []int{4, 5, 6}}}}
	for _, c := range []struct {
		policy Policy
		shards int
		want   []Placement
	}{
		{PolicyNode, 3, []Placement{{0, []int{0, 1, 2}}, {1, []int{4, 5, 6}}, {0, []int{0, 1, 2}}}},
		// Shards take the nodes in turn, then each node's CPUs in turn,
		// wrapping when there are more shards than CPUs.
		{PolicyCPU, 8, []Placement{{0, []int{0}}, {1, []int{4}}, {0, []int{1}}, {1, []int{5}},
			{0, []int{2}}, {1, []int{6}}, {0, []int{0}}, {1, []int{4}}}},
		{PolicyNone, 2, []Placement{{0, nil}, {1, nil}}},
	} {
		got, err := Place(topo, c.shards, c.policy)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Place(%s, %d) = %v, want %v", c.policy, c.shards, got, c.want)
		}
	}
	if _, err := Place(topo, 1, "socket"); err == nil {
		t.Error("an unknown policy was accepted")
	}
	if _, err := Place(Topology{}, 1, PolicyNode); err == nil {
		t.Error("placing on no nodes was accepted")
	}
	if _, err := Place(Topology{Nodes: []Node{{0, []int{0}}, {1, nil}}}, 2, PolicyCPU); err == nil {
		t.Error("placing on a node without CPUs was accepted")
	}
}
