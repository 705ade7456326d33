package group

import (
	"bytes"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// assignment maps a topic id to a sorted list of its partitions.
type assignment map[[16]byte][]int32

// topicPartition names one partition by topic id.
type topicPartition struct {
	id        [16]byte
	partition int32
}

func (a assignment) clone() assignment {
	out := make(assignment, len(a))
	for id, ps := range a {
		out[id] = slices.Clone(ps)
	}
	return out
}

func (a assignment) has(id [16]byte, p int32) bool {
	_, ok := slices.BinarySearch(a[id], p)
	return ok
}

func (a assignment) add(id [16]byte, p int32) {
	ps := a[id]
	i, ok := slices.BinarySearch(ps, p)
	if !ok {
		a[id] = slices.Insert(ps, i, p)
	}
}

func (a assignment) remove(id [16]byte, p int32) {
	ps := a[id]
	if i, ok := slices.BinarySearch(ps, p); ok {
		ps = slices.Delete(ps, i, i+1)
		if len(ps) == 0 {
			delete(a, id)
		} else {
			a[id] = ps
		}
	}
}

func (a assignment) count() int {
	n := 0
	for _, ps := range a {
		n += len(ps)
	}
	return n
}

func (a assignment) each(fn func(id [16]byte, p int32)) {
	for _, id := range sortedIDs(a) {
		for _, p := range a[id] {
			fn(id, p)
		}
	}
}

func (a assignment) equal(b assignment) bool {
	return maps.EqualFunc(a, b, slices.Equal)
}

// overlaps reports whether any partition of a is in b.
func (a assignment) overlaps(b assignment) bool {
	for id, ps := range a {
		for _, p := range ps {
			if b.has(id, p) {
				return true
			}
		}
	}
	return false
}

// subsetOf reports whether every partition of a is in b.
func (a assignment) subsetOf(b assignment) bool {
	for id, ps := range a {
		for _, p := range ps {
			if !b.has(id, p) {
				return false
			}
		}
	}
	return true
}

func sortedIDs(a assignment) [][16]byte {
	return slices.SortedFunc(maps.Keys(a), func(x, y [16]byte) int { return bytes.Compare(x[:], y[:]) })
}

// assignmentFromRequest reads a heartbeat's owned partitions; nil stays nil
// (a keep-alive heartbeat that reports nothing).
func assignmentFromRequest(ts []kmsg.ConsumerGroupHeartbeatRequestTopic) assignment {
	if ts == nil {
		return nil
	}
	a := make(assignment, len(ts))
	for _, t := range ts {
		for _, p := range t.Partitions {
			a.add(t.TopicID, p)
		}
	}
	return a
}

func (a assignment) heartbeatAssignment() *kmsg.ConsumerGroupHeartbeatResponseAssignment {
	out := &kmsg.ConsumerGroupHeartbeatResponseAssignment{Topics: []kmsg.ConsumerGroupHeartbeatResponseAssignmentTopic{}}
	for _, id := range sortedIDs(a) {
		t := kmsg.NewConsumerGroupHeartbeatResponseAssignmentTopic()
		t.TopicID = id
		t.Partitions = slices.Clone(a[id])
		out.Topics = append(out.Topics, t)
	}
	return out
}

func (a assignment) describeAssignment(topics Topics) kmsg.Assignment {
	var out kmsg.Assignment
	out.TopicPartitions = []kmsg.AssignmentTopicPartition{}
	for _, id := range sortedIDs(a) {
		t := kmsg.NewAssignmentTopicPartition()
		t.TopicID = id
		t.Topic, _ = topics.Name(id)
		t.Partitions = slices.Clone(a[id])
		out.TopicPartitions = append(out.TopicPartitions, t)
	}
	return out
}
