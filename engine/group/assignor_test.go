package group

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func assignorTopics(sizes ...int32) []assignorTopic {
	var ts []assignorTopic
	for i, n := range sizes {
		ts = append(ts, assignorTopic{name: fmt.Sprintf("t%d", i), id: [16]byte{byte(i + 1)}, partitions: n})
	}
	return ts
}

func assignorMembers(n int, topics []assignorTopic) []assignorMember {
	ms := make([]assignorMember, n)
	for i := range ms {
		ms[i] = assignorMember{id: fmt.Sprintf("m%03d", i), topics: make(map[string]bool), current: make(assignment)}
		for _, t := range topics {
			ms[i].topics[t.name] = true
		}
	}
	return ms
}

// checkAssignment verifies every partition of a subscribed topic is
// assigned exactly once, and only to a subscriber.
func checkAssignment(t *testing.T, ms []assignorMember, ts []assignorTopic, out map[string]assignment) {
	t.Helper()
	owner := make(map[topicPartition]string)
	for _, m := range ms {
		out[m.id].each(func(id [16]byte, p int32) {
			tp := topicPartition{id, p}
			if o := owner[tp]; o != "" {
				t.Fatalf("partition %v assigned to %s and %s", tp, o, m.id)
			}
			owner[tp] = m.id
			for _, tt := range ts {
				if tt.id == id && !m.topics[tt.name] {
					t.Fatalf("%s got %s/%d without subscribing", m.id, tt.name, p)
				}
			}
		})
	}
	for _, tt := range ts {
		subscribed := false
		for _, m := range ms {
			subscribed = subscribed || m.topics[tt.name]
		}
		for p := int32(0); p < tt.partitions; p++ {
			if subscribed && owner[topicPartition{tt.id, p}] == "" {
				t.Fatalf("partition %s/%d not assigned", tt.name, p)
			}
		}
	}
}

func spread(ms []assignorMember, out map[string]assignment) (lo, hi int) {
	lo = 1 << 30
	for _, m := range ms {
		n := out[m.id].count()
		lo, hi = min(lo, n), max(hi, n)
	}
	return lo, hi
}

// Uniform is balanced for equal subscriptions and sticky: a member joining
// takes only its share from the others.
func TestUniformAssignorBalancedAndSticky(t *testing.T) {
	ts := assignorTopics(7, 13, 1)
	ms := assignorMembers(5, ts)
	out := assignUniform(ms, ts)
	checkAssignment(t, ms, ts, out)
	if lo, hi := spread(ms, out); hi-lo > 1 {
		t.Fatalf("spread %d..%d", lo, hi)
	}
	for i := range ms {
		ms[i].current = out[ms[i].id]
	}
	ms = append(ms, assignorMembers(6, ts)[5])
	next := assignUniform(ms, ts)
	checkAssignment(t, ms, ts, next)
	if lo, hi := spread(ms, next); hi-lo > 1 {
		t.Fatalf("spread after a join %d..%d", lo, hi)
	}
	moved := 0
	for _, m := range ms[:5] {
		out[m.id].each(func(id [16]byte, p int32) {
			if !next[m.id].has(id, p) {
				moved++
			}
		})
	}
	if want := next[ms[5].id].count(); moved != want {
		t.Fatalf("%d partitions moved for a newcomer that took %d", moved, want)
	}
}

// Random subscriptions: every partition once, to a subscriber, and no
// member above the least loaded one that could have taken one of its
// partitions by more than one.
func TestUniformAssignorRandomSubscriptions(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		ts := assignorTopics(int32(1+rng.IntN(8)), int32(1+rng.IntN(8)), int32(1+rng.IntN(8)))
		ms := assignorMembers(1+rng.IntN(6), ts)
		for i := range ms {
			for _, tt := range ts {
				ms[i].topics[tt.name] = rng.IntN(3) > 0
			}
		}
		out := assignUniform(ms, ts)
		checkAssignment(t, ms, ts, out)
		for _, a := range ms {
			for _, b := range ms {
				if out[a.id].count() <= out[b.id].count()+1 {
					continue
				}
				out[a.id].each(func(id [16]byte, p int32) {
					for _, tt := range ts {
						if tt.id == id && b.topics[tt.name] {
							t.Fatalf("round %d: %s holds %d, %s holds %d and could take %s/%d", round, a.id, out[a.id].count(), b.id, out[b.id].count(), tt.name, p)
						}
					}
				})
			}
		}
	}
}

// Range gives contiguous ranges per topic, extra partitions to the first
// members, static members (by instance id) first.
func TestRangeAssignor(t *testing.T) {
	ts := assignorTopics(7)
	ms := assignorMembers(3, ts)
	inst := "zz"
	ms[2].instanceID = &inst // sorts first
	out := assignRange(ms, ts)
	checkAssignment(t, ms, ts, out)
	id := ts[0].id
	want := map[string][]int32{ms[2].id: {0, 1, 2}, ms[0].id: {3, 4}, ms[1].id: {5, 6}}
	for m, ps := range want {
		if fmt.Sprint(out[m][id]) != fmt.Sprint(ps) {
			t.Fatalf("%s got %v, want %v", m, out[m][id], ps)
		}
	}
}

func BenchmarkUniformAssignor100Members(b *testing.B) {
	ts := assignorTopics(100, 100, 100)
	ms := assignorMembers(100, ts)
	b.ReportAllocs()
	for b.Loop() {
		assignUniform(ms, ts)
	}
}

// A second member joins a group whose one member holds every partition of
// one topic: the uniform assignor moves half of them (it runs on the shard
// that owns the group).
//
//	go test ./engine/group -run '^$' -bench AssignUniformSecondMember
func BenchmarkAssignUniformSecondMember(b *testing.B) {
	for _, n := range []int32{1000, 10000} {
		b.Run(fmt.Sprintf("partitions=%d", n), func(b *testing.B) {
			ts := assignorTopics(n)
			ms := assignorMembers(2, ts)
			for p := int32(0); p < n; p++ {
				ms[0].current.add(ts[0].id, p)
			}
			for b.Loop() {
				out := assignUniform(ms, ts)
				if got := out[ms[1].id].count(); got != int(n/2) {
					b.Fatalf("the newcomer got %d of %d", got, n)
				}
			}
		})
	}
}

// Two members join one that holds every partition: the holder keeps its
// share and the newcomers take theirs from it directly, with no partition
// passed on a second time (each move is a revocation round trip).
func TestUniformAssignorTwoJoinersMoveOnlyTheirShare(t *testing.T) {
	ts := assignorTopics(10)
	ms := assignorMembers(3, ts)
	for p := int32(0); p < 10; p++ {
		ms[0].current.add(ts[0].id, p)
	}
	out := assignUniform(ms, ts)
	checkAssignment(t, ms, ts, out)
	if got := out[ms[0].id].count(); got != 4 {
		t.Fatalf("the holder kept %d of 10, want 4 (its share)", got)
	}
	if lo, hi := spread(ms, out); hi-lo > 1 {
		t.Fatalf("spread %d..%d", lo, hi)
	}
}

// Uneven subscriptions: one member holds all 10,000 partitions of t0, 199
// more subscribe to t0 and 200 others only to t1 (10 partitions), so the
// t0 members' real share is far above the group's even share.
//
//	go test ./engine/group -run '^$' -bench AssignUniformUneven
func BenchmarkAssignUniformUneven(b *testing.B) {
	ts := assignorTopics(10000, 10)
	ms := assignorMembers(400, ts)
	for i := range ms {
		if i < 200 {
			delete(ms[i].topics, "t1")
		} else {
			delete(ms[i].topics, "t0")
		}
	}
	for p := int32(0); p < 10000; p++ {
		ms[0].current.add(ts[0].id, p)
	}
	for b.Loop() {
		out := assignUniform(ms, ts)
		if lo, hi := spread(ms[:200], out); hi-lo > 1 {
			b.Fatalf("t0 members spread %d..%d", lo, hi)
		}
	}
}
