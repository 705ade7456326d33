package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// testMembersJoinAndLeave runs three members through a stream: A alone, B
// joins, C joins, B leaves, while records keep arriving. Every record must
// be consumed; duplicates may only come from the at-least-once window of a
// rebalance, so there are few.
func testMembersJoinAndLeave(t *testing.T, balancer kgo.GroupBalancer) {
	tb := startGroupBroker(t)
	const topic, partitions = "stream", 6
	createTestTopic(t, tb, topic, partitions)
	led := newConsumedLedger()
	opts := []kgo.Opt{kgo.Balancers(balancer), kgo.SessionTimeout(3 * time.Second), kgo.HeartbeatInterval(100 * time.Millisecond)}

	total := 0
	produce := func(n int) {
		produceValues(t, tb, topic, total, n)
		total += n
	}
	waitConsumed := func() {
		t.Helper()
		checkFor(t, 20*time.Second, 20*time.Millisecond, func() error {
			if missing, _ := led.check(total); len(missing) > 0 {
				return fmt.Errorf("%d of %d records not consumed yet (first %d)", len(missing), total, missing[0])
			}
			return nil
		})
	}

	a := startMember(t, tb, "a", "g", topic, led, opts...)
	produce(500)
	waitOwned(t, topic, 10*time.Second, []*groupMember{a}, []int{6})
	waitConsumed()

	b := startMember(t, tb, "b", "g", topic, led, opts...)
	produce(500)
	waitOwned(t, topic, 10*time.Second, []*groupMember{a, b}, []int{3, 3})
	waitConsumed()

	c := startMember(t, tb, "c", "g", topic, led, opts...)
	produce(500)
	waitOwned(t, topic, 10*time.Second, []*groupMember{a, b, c}, []int{2, 2, 2})
	waitConsumed()

	b.leave()
	produce(500)
	waitOwned(t, topic, 10*time.Second, []*groupMember{a, c}, []int{3, 3})
	waitConsumed()

	_, dups := led.check(total)
	t.Logf("%s: %d records, %d duplicates", balancer.ProtocolName(), total, dups)
	if dups > total/4 {
		t.Fatalf("%d duplicates of %d records: more than a rebalance window redelivers", dups, total)
	}
}

func TestGroupEagerMembersJoinAndLeave(t *testing.T) {
	testMembersJoinAndLeave(t, kgo.RangeBalancer())
}

func TestGroupCooperativeStickyMembersJoinAndLeave(t *testing.T) {
	testMembersJoinAndLeave(t, kgo.CooperativeStickyBalancer())
}

// A member that dies without LeaveGroup keeps its partitions only until its
// session timeout; then the others take them and consume what it missed.
func TestGroupKilledMemberLosesPartitionsAfterSessionTimeout(t *testing.T) {
	tb := startGroupBroker(t)
	const topic = "killed"
	createTestTopic(t, tb, topic, 4)
	led := newConsumedLedger()
	const session = 2 * time.Second
	opts := []kgo.Opt{kgo.SessionTimeout(session), kgo.HeartbeatInterval(100 * time.Millisecond)}
	a := startMember(t, tb, "a", "g", topic, led, opts...)
	b := startMember(t, tb, "b", "g", topic, led, opts...)
	waitOwned(t, topic, 10*time.Second, []*groupMember{a, b}, []int{2, 2})

	killed := time.Now()
	b.kill()
	produceValues(t, tb, topic, 0, 400)
	waitOwned(t, topic, session+5*time.Second, []*groupMember{a}, []int{4})
	took := time.Since(killed)
	t.Logf("partitions moved %v after the kill (session timeout %v)", took, session)
	if took < session/2 {
		t.Fatalf("partitions moved after %v, before the %v session timeout could have passed", took, session)
	}
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if missing, _ := led.check(400); len(missing) > 0 {
			return fmt.Errorf("%d records not consumed", len(missing))
		}
		return nil
	})
}

// A static member (KIP-345) that restarts within its session timeout gets
// its partitions back without a rebalance: the other member never revokes.
func TestGroupStaticMemberRejoinsWithoutRebalance(t *testing.T) {
	// Both members must land in the first generation. A restarted static
	// leader that is told to skip the assignment (KIP-814) still balances
	// in franz-go and rejoins when its own share differs from the stored
	// one; a plan reached through cooperative rounds (b joining after a
	// owned everything) differs from a fresh one, so that client would
	// rebalance the group against any broker.
	tb := startGroupBroker(t, "group.initial.rebalance.delay.ms=1000")
	const topic = "static"
	createTestTopic(t, tb, topic, 4)
	led := newConsumedLedger()
	opts := []kgo.Opt{kgo.SessionTimeout(5 * time.Second), kgo.HeartbeatInterval(100 * time.Millisecond)}
	a := startMember(t, tb, "a", "g", topic, led, append(opts, kgo.InstanceID("instance-a"))...)
	b := startMember(t, tb, "b", "g", topic, led, append(opts, kgo.InstanceID("instance-b"))...)
	waitOwned(t, topic, 10*time.Second, []*groupMember{a, b}, []int{2, 2})
	aParts := a.partitions(topic)
	bAssigns, bRevokes := b.counts()
	if bAssigns != 1 || bRevokes != 0 {
		t.Fatalf("the members did not start in one generation (b: %d assigns, %d revokes)", bAssigns, bRevokes)
	}

	a.leave() // a static member's Close sends no LeaveGroup
	a2 := startMember(t, tb, "a2", "g", topic, led, append(opts, kgo.InstanceID("instance-a"))...)
	waitOwned(t, topic, 10*time.Second, []*groupMember{a2, b}, []int{2, 2})
	if got := a2.partitions(topic); fmt.Sprint(got) != fmt.Sprint(aParts) {
		t.Fatalf("restarted static member got %v, had %v", got, aParts)
	}
	produceValues(t, tb, topic, 0, 200)
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if missing, _ := led.check(200); len(missing) > 0 {
			return fmt.Errorf("%d records not consumed", len(missing))
		}
		return nil
	})
	if assigns, revokes := b.counts(); assigns != bAssigns || revokes != bRevokes {
		t.Fatalf("the other member saw a rebalance: assigns %d->%d, revokes %d->%d", bAssigns, assigns, bRevokes, revokes)
	}

	// The same for a follower: a was the leader.
	bParts := b.partitions(topic)
	aAssigns, aRevokes := a2.counts()
	b.leave()
	b2 := startMember(t, tb, "b2", "g", topic, led, append(opts, kgo.InstanceID("instance-b"))...)
	waitOwned(t, topic, 10*time.Second, []*groupMember{a2, b2}, []int{2, 2})
	if got := b2.partitions(topic); fmt.Sprint(got) != fmt.Sprint(bParts) {
		t.Fatalf("restarted static follower got %v, had %v", got, bParts)
	}
	if assigns, revokes := a2.counts(); assigns != aAssigns || revokes != aRevokes {
		t.Fatalf("the leader saw a rebalance: assigns %d->%d, revokes %d->%d", aAssigns, assigns, aRevokes, revokes)
	}
}
