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
