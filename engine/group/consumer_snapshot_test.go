package group

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { verifyCleanSnapshots = true }

// reloadCompacted is reload over the journal as compaction leaves it: the
// last record of each key, in log order, tombstoned keys gone.
func (e *env) reloadCompacted() {
	e.t.Helper()
	last := make(map[string]int)
	for i, r := range e.journal.recs {
		last[string(r.Key)] = i
	}
	var kept []Record
	for i, r := range e.journal.recs {
		if last[string(r.Key)] == i && r.Value != nil {
			kept = append(kept, r)
		}
	}
	e.journal.recs = kept
	e.reload()
}

// describeMembers is what a restart must keep of a group: its epochs and
// each member's identity, epoch, subscription, assignment and target.
func describeMembers(t *testing.T, c *Coordinator) kmsg.ConsumerGroupDescribeResponseGroup {
	t.Helper()
	d := c.ConsumerGroupDescribe("g")
	if d.ErrorCode != 0 {
		t.Fatalf("describe: %v", kerr.ErrorForCode(d.ErrorCode))
	}
	return d
}

// A coordinator restart keeps a KIP-848 group's members where they were,
// as Kafka's does: each goes on heartbeating at its epoch with its
// partitions (no member loses them to a rejoin), a member that stops
// heartbeating is fenced a session timeout after the load, and the next
// join moves the epoch past the old one. Also over a compacted log.
func TestConsumerMembersSurviveRestart(t *testing.T) {
	for _, compacted := range []bool{false, true} {
		e := newEnv(t)
		e.topics.add("t", 4)
		a, _ := e.cjoin("a", "t")
		b, _ := e.cjoin("b", "t")
		e.settle(a, b)
		before := describeMembers(t, e.c)
		if compacted {
			e.reloadCompacted()
		} else {
			e.reload()
		}
		after := describeMembers(t, e.c)
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("compacted %v: group after restart\n%+v\nwant\n%+v", compacted, after, before)
		}
		ownedA, ownedB := a.owned.clone(), b.owned.clone()
		if resp := a.beat(); resp.MemberEpoch != before.Epoch || !a.owned.equal(ownedA) {
			t.Fatalf("compacted %v: a after restart at epoch %d owning %v, want %d owning %v", compacted, resp.MemberEpoch, a.owned, before.Epoch, ownedA)
		}
		// b stops heartbeating: fenced a session timeout after the load,
		// and a takes its partitions.
		for range 11 {
			e.clock.advance(time.Second)
			a.beat()
		}
		e.settle(a)
		if a.owned.count() != 4 || !ownedB.subsetOf(a.owned) {
			t.Fatalf("compacted %v: after b's session ran out a owns %v", compacted, a.owned)
		}
		c, resp := e.cjoin("c", "t")
		if resp.ErrorCode != 0 || c.epoch <= before.Epoch {
			t.Fatalf("compacted %v: join after restart at epoch %d, group was at %d", compacted, c.epoch, before.Epoch)
		}
		// A classic join cannot take over a consumer group with members.
		var r reply
		e.c.JoinGroup(Client{}, joinReq("g", "", nil), r.fn())
		if r.join(t).ErrorCode != kerr.InconsistentGroupProtocol.Code {
			t.Fatal("classic member joined a consumer-protocol group")
		}
	}
}

// A member caught mid-revocation by a restart still owes it: the member
// that waits for those partitions does not get them early, the revocation
// completes as before, and one that never confirms is fenced by its
// rebalance timeout counted from the load.
func TestConsumerRevocationSurvivesRestart(t *testing.T) {
	for _, confirm := range []bool{true, false} {
		e := newEnv(t)
		e.topics.add("t", 2)
		a, _ := e.cjoin("a", "t")
		b, _ := e.cjoin("b", "t")
		a.send(a.epoch, nil, nil) // learns of the revocation
		if a.owned.count() != 1 {
			t.Fatalf("a owns %v after the join, want one partition left", a.owned)
		}
		e.reload()
		if b.beat(); b.owned.count() != 0 {
			t.Fatalf("b got %v while a still owes its revocation", b.owned)
		}
		if !confirm {
			e.clock.advance(4 * time.Second)
			b.beat()
			e.clock.advance(2 * time.Second)
			if resp := a.send(a.epoch, nil, nil); resp.ErrorCode != kerr.UnknownMemberID.Code {
				t.Fatalf("member past its rebalance timeout after the restart: %v", kerr.ErrorForCode(resp.ErrorCode))
			}
			e.settle(b)
			if b.owned.count() != 2 {
				t.Fatalf("remaining member owns %v", b.owned)
			}
			continue
		}
		a.beat() // confirms
		e.settle(a, b)
		if a.owned.count() != 1 || b.owned.count() != 1 || a.owned.overlaps(b.owned) {
			t.Fatalf("after the revocation: a %v b %v", a.owned, b.owned)
		}
	}
}

// A heartbeat that changes nothing writes nothing; one that moves a member
// writes the members' snapshot.
func TestConsumerMembersWrittenOnlyOnChange(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 2)
	a, _ := e.cjoin("a", "t")
	n := len(e.journal.recs)
	a.beat()
	a.beat()
	if got := len(e.journal.recs); got != n {
		t.Fatalf("%d records written by heartbeats that changed nothing", got-n)
	}
	e.cjoin("b", "t")
	if len(e.journal.recs) == n {
		t.Fatal("a join wrote no record")
	}
}

// A damaged snapshot fails the load with an error rather than a panic or
// a made-up member.
func TestConsumerMembersSnapshotDamaged(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 3)
	a, _ := e.cjoin("a", "t")
	inst := "i"
	b := &cmember{e: e, id: "b", inst: &inst, owned: make(assignment)}
	b.send(0, []string{"t"}, []kmsg.ConsumerGroupHeartbeatRequestTopic{})
	e.settle(a, b)
	var snap Record
	for _, r := range e.journal.recs {
		if bytes.Equal(r.Key, consumerMembersTombstone("g").Key) {
			snap = r
		}
	}
	if snap.Value == nil {
		t.Fatal("no members snapshot written")
	}
	for n := range len(snap.Value) {
		c := New(e.cfg, e.clock, e.journal, e.topics)
		if err := c.Replay(snap.Key, snap.Value[:n]); err == nil {
			t.Fatalf("a snapshot cut to %d of %d bytes loaded", n, len(snap.Value))
		}
		c.Close()
	}
}

// What persist costs each heartbeat of a large group: encoding its members'
// snapshot to compare with the last one written (100 members sharing
// 10,000 partitions of 100 topics, stable).
//
//	go test ./engine/group -run '^$' -bench EncodeMembers
func BenchmarkEncodeMembers(b *testing.B) {
	e := newEnv(&testing.T{})
	cg := newConsumerGroup(&group{c: e.c, name: "g"})
	sizes := make([]int32, 100)
	for i := range sizes {
		sizes[i] = 100
	}
	ts := assignorTopics(sizes...)
	for i, am := range assignorMembers(100, ts) {
		m := &consumerMember{id: am.id, clientID: "c", clientHost: "/127.0.0.1", epoch: 7, prevEpoch: 6,
			assigned: make(assignment), revoking: make(assignment), target: make(assignment), assignedAt: make(map[topicPartition]int32)}
		for t := range ts {
			if t%100 != i {
				continue
			}
			for p := range ts[t].partitions {
				m.assigned.add(ts[t].id, p)
				m.target.add(ts[t].id, p)
				m.assignedAt[topicPartition{ts[t].id, p}] = 3
			}
		}
		cg.members[m.id] = m
	}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		size = len(cg.encodeMembers())
	}
	b.ReportMetric(float64(size), "bytes")
}
