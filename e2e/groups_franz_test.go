package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// groupStream runs members through a live stream on the real binary: A
// alone, B and C join, B leaves, C dies without leaving (its partitions
// move after the session timeout), D joins. Every record is consumed;
// duplicates only come from the at-least-once window around a rebalance;
// at the end the group's committed offsets cover everything (kadm lag 0).
func groupStream(t *testing.T, opts ...kgo.Opt) {
	bp := startBinary(t, groupSets...)
	const topic, partitions, total = "group-stream", 6, 6000
	createTopic(t, bp.addr, topic, partitions)
	seen := newSeenValues()
	start := func(name string) *member {
		return startGroupMember(t, bp.addr, name, "stream-group", topic, seen, opts...)
	}
	sp := startStream(t, bp.addr, topic, total, 50, 20*time.Millisecond)

	a := start("a")
	sp.waitProduced(t, 1000)
	b := start("b")
	c := start("c")
	waitSpread(t, 20*time.Second, []*member{a, b, c}, []int{2, 2, 2})
	sp.waitProduced(t, 2500)
	b.leave()
	waitSpread(t, 20*time.Second, []*member{a, c}, []int{3, 3})
	sp.waitProduced(t, 3500)
	cutAt := time.Now()
	c.cut()
	waitSpread(t, 20*time.Second, []*member{a}, []int{6})
	t.Logf("a dead member's partitions moved after %v", time.Since(cutAt))
	d := start("d")
	waitSpread(t, 20*time.Second, []*member{a, d}, []int{3, 3})
	if err := <-sp.done; err != nil {
		t.Fatal(err)
	}
	seen.waitAll(t, total, 30*time.Second)
	_, dups := seen.check(total)
	t.Logf("%d records consumed, %d redelivered around rebalances", total, dups)
	if dups > total/5 {
		t.Fatalf("%d redeliveries of %d records: more than rebalance windows explain", dups, total)
	}
	a.leave()
	d.leave()
	waitFor(t, 10*time.Second, "committed offsets at the end", func() error {
		if lag, state := groupLag(t, bp.addr, "stream-group"); lag != 0 || state != "Empty" {
			return fmt.Errorf("lag %d in state %s:%s", lag, state, lagByPartition(t, bp.addr, "stream-group"))
		}
		return nil
	})
}

func TestGroupsFranzEagerStream(t *testing.T) {
	groupStream(t, kgo.Balancers(kgo.RangeBalancer()), kgo.SessionTimeout(2*time.Second), kgo.HeartbeatInterval(200*time.Millisecond))
}

func TestGroupsFranzCooperativeStickyStream(t *testing.T) {
	groupStream(t, kgo.Balancers(kgo.CooperativeStickyBalancer()), kgo.SessionTimeout(2*time.Second), kgo.HeartbeatInterval(200*time.Millisecond))
}

// group.protocol=consumer (KIP-848): the broker assigns.
func TestGroupsFranzConsumerProtocolStream(t *testing.T) {
	groupStream(t, kgo.ServerSideBalancer(), kgo.Balancers(kgo.CooperativeStickyBalancer()))
}

// A static member (KIP-345) that restarts within its session timeout gets
// its partitions back; the other member never revokes. Both members start in
// one generation: franz-go's restarted static leader recomputes the plan and
// rejoins when its share differs from the stored one, which a plan reached
// through cooperative rounds does.
func TestGroupsFranzStaticMemberRejoin(t *testing.T) {
	bp := startBinary(t, append(append([]string(nil), groupSets...), "group.initial.rebalance.delay.ms=1000")...)
	const topic = "group-static"
	createTopic(t, bp.addr, topic, 4)
	seen := newSeenValues()
	opts := []kgo.Opt{kgo.SessionTimeout(10 * time.Second), kgo.HeartbeatInterval(200 * time.Millisecond)}
	a := startGroupMember(t, bp.addr, "a", "static-group", topic, seen, append(opts, kgo.InstanceID("a"))...)
	b := startGroupMember(t, bp.addr, "b", "static-group", topic, seen, append(opts, kgo.InstanceID("b"))...)
	waitSpread(t, 20*time.Second, []*member{a, b}, []int{2, 2})
	was := a.partitions()
	bAssigns, bRevokes := b.counts()
	if bAssigns != 1 || bRevokes != 0 {
		t.Fatalf("the members did not start in one generation (b: %d assigns, %d revokes)", bAssigns, bRevokes)
	}
	a.leave() // a static member does not send LeaveGroup
	a2 := startGroupMember(t, bp.addr, "a2", "static-group", topic, seen, append(opts, kgo.InstanceID("a"))...)
	waitSpread(t, 20*time.Second, []*member{a2, b}, []int{2, 2})
	if got := a2.partitions(); !equalInt32s(got, was) {
		t.Fatalf("restarted static member owns %v, owned %v", got, was)
	}
	if _, revokes := b.counts(); revokes != bRevokes {
		t.Fatal("the other member revoked: the static rejoin rebalanced the group")
	}
}

// Committed offsets survive a graceful restart and a kill -9: a consumer
// started afterwards reads only what came after its group's commits.
func TestGroupsFranzOffsetsSurviveRestart(t *testing.T) {
	bp := startBinary(t, groupSets...)
	const topic = "group-restart"
	createTopic(t, bp.addr, topic, 3)
	sp := startStream(t, bp.addr, topic, 300, 100, 0)
	if err := <-sp.done; err != nil {
		t.Fatal(err)
	}
	first := newSeenValues()
	m := startGroupMember(t, bp.addr, "first", "restart-group", topic, first)
	first.waitAll(t, 300, 20*time.Second)
	m.leave()

	for _, how := range []string{"SIGTERM", "SIGKILL"} {
		if how == "SIGTERM" {
			bp.restart()
		} else {
			bp.kill()
			bp.start()
		}
		if lag, _ := groupLag(t, bp.addr, "restart-group"); lag != 0 {
			t.Fatalf("after %s the group lags %d: committed offsets lost", how, lag)
		}
	}
	next := newSeenValues()
	m2 := startGroupMember(t, bp.addr, "second", "restart-group", topic, next)
	cl, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(t.Context(), &kgo.Record{Value: []byte("300")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the new record", func() error {
		if missing, _ := next.check(301); missing != 300 {
			return fmt.Errorf("%d of 301 unseen, want only the new one seen", missing)
		}
		return nil
	})
	m2.leave()
}

func equalInt32s(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
