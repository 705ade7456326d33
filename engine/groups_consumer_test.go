package engine

import (
	"fmt"
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

// After a broker restart KIP-848 members rejoin (their membership is not
// kept, their group epoch and committed offsets are) and consume on from
// the committed offsets.
func TestConsumerProtocolSurvivesRestart(t *testing.T) {
	tb := startGroupBroker(t)
	createTestTopic(t, tb, "r848", 2)
	produceValues(t, tb, "r848", 0, 100)
	first := newConsumedLedger()
	m := startMember(t, tb, "m", "g", "r848", first, consumerProtocol(kgo.CooperativeStickyBalancer())...)
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if missing, _ := first.check(100); len(missing) > 0 {
			return fmt.Errorf("%d not consumed", len(missing))
		}
		return nil
	})
	m.leave()
	before := describeConsumerGroup(t, tb, "g").Epoch

	tb.restart()
	produceValues(t, tb, "r848", 100, 50)
	second := newConsumedLedger()
	m2 := startMember(t, tb, "m2", "g", "r848", second, consumerProtocol(kgo.CooperativeStickyBalancer())...)
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if n := second.distinct(); n < 50 {
			return fmt.Errorf("%d of 50 new records consumed", n)
		}
		return nil
	})
	for i := 0; i < 100; i++ {
		if second.seen[fmt.Sprint(i)] > 0 {
			t.Fatalf("record %d, committed before the restart, was consumed again", i)
		}
	}
	if after := describeConsumerGroup(t, tb, "g").Epoch; after <= before {
		t.Fatalf("group epoch %d after the restart, %d before: an epoch was reused", after, before)
	}
	m2.leave()
}
