package group

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { verifyMemberMarks = true }

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
// writes its record.
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

// A damaged group or member record fails the load with an error, not a
// panic, a made-up member, or a group changed by the record it refused.
func TestConsumerRecordsDamaged(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 3)
	a, _ := e.cjoin("a", "t")
	inst := "i"
	b := &cmember{e: e, id: "b", inst: &inst, owned: make(assignment)}
	b.send(0, []string{"t"}, []kmsg.ConsumerGroupHeartbeatRequestTopic{})
	e.settle(a, b)
	var state, member Record
	for _, r := range e.journal.recs {
		switch {
		case bytes.Equal(r.Key, consumerStateTombstone("g").Key):
			state = r
		case bytes.Equal(r.Key, consumerMemberKey("g", "b")):
			member = r
		}
	}
	if state.Value == nil || member.Value == nil {
		t.Fatal("no group state or member b record written")
	}
	for _, r := range []Record{state, member} {
		bad := [][]byte{append(slices.Clone(r.Value), 0)} // a byte past the last field
		for n := range len(r.Value) {
			bad = append(bad, r.Value[:n])
		}
		for _, v := range bad {
			c := New(e.cfg, e.clock, e.journal, e.topics)
			if err := c.Replay(r.Key, v); err == nil {
				t.Fatalf("a damaged record (%d of %d bytes) loaded", len(v), len(r.Value))
			}
			if c.GroupCount() != 0 {
				t.Fatalf("a refused record (%d of %d bytes) created its group", len(v), len(r.Value))
			}
			c.Close()
		}
	}
}

// A member joining a large group writes that member's records and the
// ones its arrival moves, not the group at each step: 100 members over 100
// topics of 100 partitions, a 101st joins and all settle. A record of the
// whole group per step wrote 34 MB here.
func TestConsumerRebalanceWritesWhatChanged(t *testing.T) {
	verifyMemberMarks = false // it would encode every member at each heartbeat
	defer func() { verifyMemberMarks = true }()
	e := newEnv(t)
	e.cfg.MaxSize = 1000
	e.c = New(e.cfg, e.clock, e.journal, e.topics)
	e.c.Loaded()
	var names []string
	for i := range 100 {
		n := fmt.Sprintf("t%02d", i)
		e.topics.add(n, 100)
		names = append(names, n)
	}
	var ms []*cmember
	for i := range 100 {
		m, _ := e.cjoin(fmt.Sprintf("m%03d", i), names...)
		ms = append(ms, m)
	}
	e.settle(ms...)
	before := describeMembers(t, e.c)
	n0 := len(e.journal.recs)
	m, _ := e.cjoin("zz", names...)
	ms = append(ms, m)
	e.settle(ms...)
	written := 0
	for _, r := range e.journal.recs[n0:] {
		written += len(r.Key) + len(r.Value)
	}
	t.Logf("one join and settle: %d records, %d bytes", len(e.journal.recs)-n0, written)
	if written > 1<<20 {
		t.Fatalf("one member joining 100 over 10,000 partitions wrote %d bytes to __consumer_offsets", written)
	}
	// And what was written is the whole state.
	after := describeMembers(t, e.c)
	e.reloadCompacted()
	if got := describeMembers(t, e.c); !reflect.DeepEqual(got, after) || got.Epoch == before.Epoch {
		t.Fatalf("reloaded group differs from the settled one (epoch %d, was %d before the join)", got.Epoch, before.Epoch)
	}
}

// What persist costs for one changed member of a large group: encoding its
// record (100 partitions over 100 topics, as the uniform assignor spreads a
// member of 100 over 100 topics of 100).
//
//	go test ./engine/group -run '^$' -bench EncodeMember
func BenchmarkEncodeMember(b *testing.B) {
	sizes := make([]int32, 100)
	for i := range sizes {
		sizes[i] = 100
	}
	ts := assignorTopics(sizes...)
	m := &consumerMember{id: "m", clientID: "c", clientHost: "/127.0.0.1", epoch: 7, prevEpoch: 6,
		assigned: make(assignment), revoking: make(assignment), target: make(assignment), assignedAt: make(map[topicPartition]int32)}
	for i := range ts {
		m.assigned.add(ts[i].id, int32(i))
		m.target.add(ts[i].id, int32(i))
		m.assignedAt[topicPartition{ts[i].id, int32(i)}] = 3
	}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		size = len(encodeMember(m))
	}
	b.ReportMetric(float64(size), "bytes")
}

// Members restored under an older epoch than the group's last epoch
// record were written before a build that kept only epochs ran (a
// downgrade and upgrade): they are dropped, as that build dropped them,
// rather than brought back holding partitions their clients gave up.
func TestConsumerMembersOlderThanTheEpochAreDropped(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 2)
	a, _ := e.cjoin("a", "t")
	e.settle(a)
	// An older build: every member rejoined, the epoch moved on, and only
	// the epoch record was written.
	epoch := describeMembers(t, e.c).Epoch
	e.journal.recs = append(e.journal.recs, consumerGroupRecord("g", epoch+3))
	e.reload()
	d := describeMembers(t, e.c)
	if len(d.Members) != 0 || d.Epoch != epoch+3 {
		t.Fatalf("after a newer epoch record: %d members at epoch %d, want none at %d", len(d.Members), d.Epoch, epoch+3)
	}
	if resp := a.send(a.epoch, nil, nil); resp.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("a member of the stale record heartbeats: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	b, resp := e.cjoin("b", "t")
	if resp.ErrorCode != 0 || b.epoch <= epoch+3 || b.owned.count() != 2 {
		t.Fatalf("join after the drop: %v at epoch %d owning %v", kerr.ErrorForCode(resp.ErrorCode), b.epoch, b.owned)
	}
	// The dropped member's record is tombstoned: a further restart does
	// not bring it back.
	e.reloadCompacted()
	if d := describeMembers(t, e.c); len(d.Members) != 1 || d.Members[0].MemberID != "b" {
		t.Fatalf("after another restart: %+v", d.Members)
	}
}

// A heartbeat whose records cannot be stored is answered
// COORDINATOR_NOT_AVAILABLE, so the member does not act on a change a
// restart would not know; the change is written with the next heartbeat.
func TestConsumerHeartbeatNotStoredIsRefused(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 2)
	a, _ := e.cjoin("a", "t")
	e.journal.failing = true
	if resp := (&cmember{e: e, id: "b", owned: make(assignment)}).send(0, []string{"t"}, []kmsg.ConsumerGroupHeartbeatRequestTopic{}); resp.ErrorCode != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("join whose records failed to store: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	e.journal.failing = false
	a.beat() // writes what the failed join left marked
	e.reload()
	if d := describeMembers(t, e.c); len(d.Members) != 2 {
		t.Fatalf("after the retried write and a restart: %d members, want a and b", len(d.Members))
	}
}

// A member whose leave could not be written (its tombstone still owed)
// must not come back after DeleteGroup once compaction has dropped the
// group's tombstones: the deletion tombstones it too.
func TestConsumerDeletedGroupStaysDeletedAfterAFailedLeave(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 2)
	a, _ := e.cjoin("a", "t")
	e.journal.failing = true
	if resp := a.send(-1, nil, nil); resp.ErrorCode != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("leave whose tombstone failed to store: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	e.journal.failing = false
	if code := e.c.DeleteGroup("g"); code != 0 {
		t.Fatalf("delete: %v", kerr.ErrorForCode(code))
	}
	e.reloadCompacted()
	if n := e.c.GroupCount(); n != 0 {
		d := e.c.ConsumerGroupDescribe("g")
		t.Fatalf("deleted group back after a restart: %d groups, g has %d members at epoch %d", n, len(d.Members), d.Epoch)
	}
}
