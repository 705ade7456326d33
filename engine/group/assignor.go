package group

import (
	"cmp"
	"slices"
)

// Server-side assignors of KIP-848 groups, named as Kafka names them.
const (
	assignorUniform = "uniform"
	assignorRange   = "range"
)

// assignorMember is one member as an assignor sees it.
type assignorMember struct {
	id         string
	instanceID *string
	topics     map[string]bool // resolved subscription
	current    assignment      // the member's previous target
}

// assignorTopic is one subscribed topic.
type assignorTopic struct {
	name       string
	id         [16]byte
	partitions int32
}

// assignorFunc computes every member's target assignment. members and
// topics are sorted (members by id, topics by name).
type assignorFunc func(members []assignorMember, topics []assignorTopic) map[string]assignment

func assignorByName(name string) assignorFunc {
	if name == assignorRange {
		return assignRange
	}
	return assignUniform
}

// assignUniform spreads partitions evenly over the members subscribed to
// them and keeps each member's previous partitions where it can, so a
// rebalance moves as few partitions as balance allows (each move costs a
// revoke round trip in the consumer protocol).
func assignUniform(members []assignorMember, topics []assignorTopic) map[string]assignment {
	out := make(map[string]assignment, len(members))
	byTopic := make(map[[16]byte]*assignorTopic, len(topics))
	for i := range topics {
		byTopic[topics[i].id] = &topics[i]
	}
	owner := make(map[topicPartition]string)
	counts := make(map[string]int, len(members))
	subscribed := func(m *assignorMember, id [16]byte) bool {
		t := byTopic[id]
		return t != nil && m.topics[t.name]
	}
	// Keep what is still valid.
	for i := range members {
		m := &members[i]
		a := make(assignment)
		m.current.each(func(id [16]byte, p int32) {
			t := byTopic[id]
			tp := topicPartition{id, p}
			if t == nil || p >= t.partitions || !m.topics[t.name] || owner[tp] != "" {
				return
			}
			owner[tp] = m.id
			a.add(id, p)
		})
		out[m.id] = a
		counts[m.id] = a.count()
	}
	// Hand out the rest, each to the least loaded subscribed member.
	for _, t := range topics {
		for p := int32(0); p < t.partitions; p++ {
			tp := topicPartition{t.id, p}
			if owner[tp] != "" {
				continue
			}
			best := -1
			for i := range members {
				if members[i].topics[t.name] && (best < 0 || counts[members[i].id] < counts[members[best].id]) {
					best = i
				}
			}
			if best < 0 {
				continue
			}
			id := members[best].id
			owner[tp] = id
			out[id].add(t.id, p)
			counts[id]++
		}
	}
	// Balance: move one partition at a time from a member holding at least
	// two more than another member that could take it. Every move lowers
	// the spread, so the loop ends.
	order := make([]int, len(members))
	for i := range order {
		order[i] = i
	}
	for moves := 0; moves < len(owner)*2+1; moves++ {
		slices.SortStableFunc(order, func(a, b int) int {
			return cmp.Compare(counts[members[b].id], counts[members[a].id])
		})
		moved := false
		for _, from := range order {
			fm := &members[from]
			var pick topicPartition
			to := -1
			out[fm.id].each(func(id [16]byte, p int32) {
				for i := len(order) - 1; i >= 0; i-- {
					cand := &members[order[i]]
					if counts[cand.id]+1 >= counts[fm.id] {
						break
					}
					if subscribed(cand, id) && (to < 0 || counts[cand.id] < counts[members[to].id]) {
						pick, to = topicPartition{id, p}, order[i]
					}
				}
			})
			if to >= 0 {
				out[fm.id].remove(pick.id, pick.partition)
				out[members[to].id].add(pick.id, pick.partition)
				counts[fm.id]--
				counts[members[to].id]++
				moved = true
				break
			}
		}
		if !moved {
			break
		}
	}
	return out
}

// assignRange gives each member a contiguous range of every topic it
// subscribes to; static members (by instance id) come first, then dynamic
// ones by member id, and the first members get one extra partition when
// the count does not divide evenly.
func assignRange(members []assignorMember, topics []assignorTopic) map[string]assignment {
	out := make(map[string]assignment, len(members))
	order := make([]*assignorMember, len(members))
	for i := range members {
		order[i] = &members[i]
		out[members[i].id] = make(assignment)
	}
	slices.SortStableFunc(order, func(a, b *assignorMember) int {
		switch {
		case a.instanceID != nil && b.instanceID != nil:
			return cmp.Compare(*a.instanceID, *b.instanceID)
		case a.instanceID != nil:
			return -1
		case b.instanceID != nil:
			return 1
		}
		return cmp.Compare(a.id, b.id)
	})
	for _, t := range topics {
		var subs []*assignorMember
		for _, m := range order {
			if m.topics[t.name] {
				subs = append(subs, m)
			}
		}
		if len(subs) == 0 {
			continue
		}
		per, extra := int(t.partitions)/len(subs), int(t.partitions)%len(subs)
		next := int32(0)
		for i, m := range subs {
			n := per
			if i < extra {
				n++
			}
			for j := 0; j < n; j++ {
				out[m.id].add(t.id, next)
				next++
			}
		}
	}
	return out
}
