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
	// Balance: move partitions from a member holding at least two more
	// than another member that could take them, most loaded first, to the
	// least loaded that can. Moves between one pair go in bulk (a member's
	// lowest partitions of each topic the other subscribes to), so the cost
	// follows the partitions moved, not a scan of every partition per move;
	// moving one at a time with such scans took 5 s for 10,000 partitions.
	// Every pass moves at least one partition and lowers the spread, so the
	// loop ends.
	order := make([]int, len(members))
	for i := range order {
		order[i] = i
	}
	// Moves in bulk stop at the even share on both sides, or a member
	// could take more than its share and pass some on again (each pass-on
	// is one more revocation).
	var share balanceShare
	if len(members) > 0 {
		share.floor = len(owner) / len(members)
		share.ceil = (len(owner) + len(members) - 1) / len(members)
	}
	for pass := 0; pass < len(owner)+1; pass++ {
		slices.SortStableFunc(order, func(a, b int) int {
			return cmp.Compare(counts[members[b].id], counts[members[a].id])
		})
		moved := false
	pairs:
		for _, from := range order {
			for j := len(order) - 1; j >= 0; j-- {
				if counts[members[order[j]].id]+1 >= counts[members[from].id] {
					break
				}
				if moveForBalance(&members[from], &members[order[j]], out, counts, share, subscribed) {
					moved = true
					break pairs
				}
			}
		}
		if !moved {
			break
		}
	}
	return out
}

// balanceShare is the even share of partitions per member, rounded down
// and up.
type balanceShare struct{ floor, ceil int }

// moveForBalance moves partitions from one member to another that
// subscribes to their topics while the first holds at least two more,
// neither passing the even share where it can help it. It reports whether
// it moved any.
func moveForBalance(from, to *assignorMember, out map[string]assignment, counts map[string]int,
	share balanceShare, subscribed func(*assignorMember, [16]byte) bool) bool {
	moved := false
	fa, ta := out[from.id], out[to.id]
	for _, id := range sortedIDs(fa) {
		if counts[to.id]+1 >= counts[from.id] {
			break
		}
		if !subscribed(to, id) {
			continue
		}
		ps := fa[id]
		// Half the gap at most; and no further than the even share on a
		// side not yet past it. (Past it, subscriptions are uneven and the
		// real share differs: half the gap then, or the moves would go one
		// partition a pass.)
		half := (counts[from.id] - counts[to.id]) / 2
		n := min(len(ps), half)
		if d := counts[from.id] - share.ceil; d > 0 {
			n = min(n, d)
		}
		if d := share.floor - counts[to.id]; d > 0 {
			n = min(n, d)
		}
		for _, p := range ps[:n] {
			ta.add(id, p)
		}
		if n == len(ps) {
			delete(fa, id)
		} else {
			fa[id] = ps[n:]
		}
		counts[from.id] -= n
		counts[to.id] += n
		moved = moved || n > 0
	}
	return moved
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
