package engine

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// consumerProtocol makes franz-go use KIP-848 (group.protocol=consumer)
// with the given server-side assignor's client balancer.
func consumerProtocol(b kgo.GroupBalancer) []kgo.Opt {
	return []kgo.Opt{kgo.ServerSideBalancer(), kgo.Balancers(b)}
}

// The KIP-848 flow: members join and leave mid-stream, the broker assigns
// and reconciles, every record is consumed.
func testConsumerProtocolJoinAndLeave(t *testing.T, balancer kgo.GroupBalancer, assignor string) {
	tb := startGroupBroker(t)
	const topic = "kip848"
	createTestTopic(t, tb, topic, 6)
	led := newConsumedLedger()
	opts := consumerProtocol(balancer)
	total := 0
	produce := func(n int) {
		produceValues(t, tb, topic, total, n)
		total += n
	}
	waitConsumed := func() {
		t.Helper()
		checkFor(t, 20*time.Second, 20*time.Millisecond, func() error {
			if missing, _ := led.check(total); len(missing) > 0 {
				return fmt.Errorf("%d of %d records not consumed yet", len(missing), total)
			}
			return nil
		})
	}
	a := startMember(t, tb, "a", "g848", topic, led, opts...)
	produce(300)
	waitOwned(t, topic, 10*time.Second, []*groupMember{a}, []int{6})
	waitConsumed()
	b := startMember(t, tb, "b", "g848", topic, led, opts...)
	c := startMember(t, tb, "c", "g848", topic, led, opts...)
	produce(300)
	waitOwned(t, topic, 15*time.Second, []*groupMember{a, b, c}, []int{2, 2, 2})
	waitConsumed()

	d := describeConsumerGroup(t, tb, "g848")
	if d.ErrorCode != 0 || d.State != "Stable" || len(d.Members) != 3 || d.AssignorName != assignor || d.Epoch != d.AssignmentEpoch {
		t.Fatalf("described: error %d state %q members %d assignor %q epochs %d/%d", d.ErrorCode, d.State, len(d.Members), d.AssignorName, d.Epoch, d.AssignmentEpoch)
	}
	for _, m := range d.Members {
		if m.MemberEpoch != d.Epoch || len(m.Assignment.TopicPartitions) != 1 || len(m.Assignment.TopicPartitions[0].Partitions) != 2 {
			t.Fatalf("member %s: epoch %d assignment %+v", m.MemberID, m.MemberEpoch, m.Assignment)
		}
	}

	b.leave()
	produce(300)
	waitOwned(t, topic, 15*time.Second, []*groupMember{a, c}, []int{3, 3})
	waitConsumed()
	_, dups := led.check(total)
	t.Logf("%s: %d records, %d duplicates", assignor, total, dups)
}

func TestConsumerProtocolUniformJoinAndLeave(t *testing.T) {
	testConsumerProtocolJoinAndLeave(t, kgo.CooperativeStickyBalancer(), "uniform")
}

func TestConsumerProtocolRangeJoinAndLeave(t *testing.T) {
	testConsumerProtocolJoinAndLeave(t, kgo.RangeBalancer(), "range")
}

func describeConsumerGroup(t *testing.T, tb *testBroker, group string) kmsg.ConsumerGroupDescribeResponseGroup {
	t.Helper()
	req := kmsg.NewPtrConsumerGroupDescribeRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(adminCtx(t), tb.client())
	if err != nil {
		t.Fatalf("describe %s: %v", group, err)
	}
	return resp.Groups[0]
}

// A KIP-848 member that dies loses its partitions after
// group.consumer.session.timeout.ms.
func TestConsumerProtocolKilledMember(t *testing.T) {
	tb := startGroupBroker(t)
	createTestTopic(t, tb, "k848", 4)
	led := newConsumedLedger()
	opts := consumerProtocol(kgo.CooperativeStickyBalancer())
	a := startMember(t, tb, "a", "g", "k848", led, opts...)
	b := startMember(t, tb, "b", "g", "k848", led, opts...)
	waitOwned(t, "k848", 10*time.Second, []*groupMember{a, b}, []int{2, 2})
	killed := time.Now()
	b.kill()
	waitOwned(t, "k848", 10*time.Second, []*groupMember{a}, []int{4})
	t.Logf("partitions moved %v after the kill (session timeout 3s)", time.Since(killed))
	produceValues(t, tb, "k848", 0, 100)
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if missing, _ := led.check(100); len(missing) > 0 {
			return fmt.Errorf("%d not consumed", len(missing))
		}
		return nil
	})
}

// A static KIP-848 member that leaves with epoch -2 and comes back gets its
// partitions back; the group epoch does not move and the other member
// keeps its partitions throughout.
func TestConsumerProtocolStaticMemberRejoins(t *testing.T) {
	tb := startGroupBroker(t)
	createTestTopic(t, tb, "s848", 4)
	led := newConsumedLedger()
	opts := consumerProtocol(kgo.CooperativeStickyBalancer())
	a := startMember(t, tb, "a", "g", "s848", led, append(opts, kgo.InstanceID("ia"))...)
	b := startMember(t, tb, "b", "g", "s848", led, append(opts, kgo.InstanceID("ib"))...)
	waitOwned(t, "s848", 10*time.Second, []*groupMember{a, b}, []int{2, 2})
	aParts := a.partitions("s848")
	epoch := describeConsumerGroup(t, tb, "g").Epoch
	_, bRevokes := b.counts()

	a.leave()
	a2 := startMember(t, tb, "a2", "g", "s848", led, append(opts, kgo.InstanceID("ia"))...)
	waitOwned(t, "s848", 10*time.Second, []*groupMember{a2, b}, []int{2, 2})
	if got := a2.partitions("s848"); fmt.Sprint(got) != fmt.Sprint(aParts) {
		t.Fatalf("returning static member got %v, had %v", got, aParts)
	}
	if d := describeConsumerGroup(t, tb, "g"); d.Epoch != epoch {
		t.Fatalf("group epoch moved from %d to %d", epoch, d.Epoch)
	}
	if _, revokes := b.counts(); revokes != bRevokes {
		t.Fatalf("the other member revoked partitions (%d -> %d revocations)", bRevokes, revokes)
	}
}

// A broker restart keeps KIP-848 members: franz-go consumers that reconnect
// to the restarted broker (same address) go on heartbeating as the same
// members at the same epochs, keep their partitions without losing or
// revoking any, and consume on from where they were; as Kafka's
// coordinator does after a failover. A member that joins afterwards gets a
// group epoch past the old one.
func TestConsumerProtocolSurvivesRestart(t *testing.T) {
	tb := startGroupBroker(t)
	createTestTopic(t, tb, "r848", 4)
	led := newConsumedLedger()
	opts := consumerProtocol(kgo.CooperativeStickyBalancer())
	a := startMember(t, tb, "a", "g", "r848", led, opts...)
	b := startMember(t, tb, "b", "g", "r848", led, opts...)
	waitOwned(t, "r848", 10*time.Second, []*groupMember{a, b}, []int{2, 2})
	produceValues(t, tb, "r848", 0, 100)
	waitLedger(t, led, 100)
	before := describeConsumerGroup(t, tb, "g")
	aAssigns, aRevokes := a.counts()
	bAssigns, bRevokes := b.counts()
	aParts, bParts := a.partitions("r848"), b.partitions("r848")

	tb.sets = append(tb.sets, "listeners=PLAINTEXT://"+tb.addr) // the members' seed address
	tb.restart()
	produceValues(t, tb, "r848", 100, 100)
	waitLedger(t, led, 200)
	time.Sleep(time.Second) // five heartbeat intervals
	after := describeConsumerGroup(t, tb, "g")
	if after.ErrorCode != 0 || after.Epoch != before.Epoch || len(after.Members) != len(before.Members) {
		t.Fatalf("group after the restart: error %d epoch %d, %d members; before epoch %d, %d members",
			after.ErrorCode, after.Epoch, len(after.Members), before.Epoch, len(before.Members))
	}
	for i, m := range after.Members {
		if m.MemberID != before.Members[i].MemberID || m.MemberEpoch != before.Members[i].MemberEpoch {
			t.Fatalf("member %s at epoch %d after the restart, was %s at %d", m.MemberID, m.MemberEpoch, before.Members[i].MemberID, before.Members[i].MemberEpoch)
		}
	}
	for _, c := range []struct {
		m                *groupMember
		assigns, revokes int
		parts            []int32
	}{{a, aAssigns, aRevokes, aParts}, {b, bAssigns, bRevokes, bParts}} {
		if assigns, revokes := c.m.counts(); assigns != c.assigns || revokes != c.revokes || !slices.Equal(c.m.partitions("r848"), c.parts) {
			t.Fatalf("%s after the restart: %d assignments, %d revocations, owns %v; before %d, %d, %v",
				c.m.name, assigns, revokes, c.m.partitions("r848"), c.assigns, c.revokes, c.parts)
		}
	}
	if _, dups := led.check(200); dups > 0 {
		t.Fatalf("%d records consumed twice across the restart", dups)
	}
	c := startMember(t, tb, "c", "g", "r848", led, opts...)
	checkFor(t, 15*time.Second, 20*time.Millisecond, func() error {
		if n := c.owned("r848"); n == 0 || n+a.owned("r848")+b.owned("r848") != 4 {
			return fmt.Errorf("a %d, b %d, c %d partitions", a.owned("r848"), b.owned("r848"), n)
		}
		return nil
	})
	if d := describeConsumerGroup(t, tb, "g"); d.Epoch <= before.Epoch {
		t.Fatalf("group epoch %d after a join past the restart, %d before: an epoch was reused", d.Epoch, before.Epoch)
	}
}

// waitLedger waits until led holds every value below n.
func waitLedger(t *testing.T, led *consumedLedger, n int) {
	t.Helper()
	checkFor(t, 15*time.Second, 20*time.Millisecond, func() error {
		if missing, _ := led.check(n); len(missing) > 0 {
			return fmt.Errorf("%d of %d records not consumed yet", len(missing), n)
		}
		return nil
	})
}
