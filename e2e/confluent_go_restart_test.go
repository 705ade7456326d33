//go:build cgo

package e2e

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A librdkafka KIP-848 consumer (group.protocol=consumer) goes on through a
// broker restart as the same member: it reconnects, heartbeats at its
// epoch, keeps its partitions (no revocation, no lost assignment, no new
// assignment) and reads what is produced after the restart. Before the
// broker kept KIP-848 members, the restart fenced it and it rejoined.
func TestConfluentGoKIP848MemberSurvivesRestart(t *testing.T) {
	bp := startBinary(t, "group.consumer.heartbeat.interval.ms=500")
	const topic, partitions = "kip848-restart", 4
	createTopic(t, bp.addr, topic, partitions)
	produceNumbered(t, bp.addr, topic, 0, 100)

	var mu sync.Mutex
	var events []string
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers":  bp.addr,
		"group.id":           "kip848-restart",
		"group.protocol":     "consumer",
		"auto.offset.reset":  "earliest",
		"enable.auto.commit": false,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rebalance := func(c *kafka.Consumer, e kafka.Event) error {
		mu.Lock()
		defer mu.Unlock()
		switch e := e.(type) {
		case kafka.AssignedPartitions:
			events = append(events, fmt.Sprintf("assigned %d", len(e.Partitions)))
		case kafka.RevokedPartitions:
			events = append(events, fmt.Sprintf("revoked %d (lost %v)", len(e.Partitions), c.AssignmentLost()))
		}
		return nil
	}
	if err := c.Subscribe(topic, rebalance); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	consume := func(want int) {
		t.Helper()
		until := time.Now().Add(60 * time.Second)
		for len(seen) < want {
			if time.Now().After(until) {
				t.Fatalf("consumed %d of %d records before the deadline", len(seen), want)
			}
			m, err := c.ReadMessage(200 * time.Millisecond)
			if err != nil {
				if kerr, ok := err.(kafka.Error); ok && !kerr.IsFatal() {
					continue
				}
				t.Fatalf("consume: %v", err)
			}
			seen[string(m.Value)]++
		}
	}
	consume(100)
	if _, err := c.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
	before := describeKIP848Group(t, bp.addr, "kip848-restart")
	mu.Lock()
	eventsBefore := len(events)
	mu.Unlock()

	bp.restart()
	produceNumbered(t, bp.addr, topic, 100, 100)
	consume(200)
	// A few heartbeat intervals past the restart, so a fenced member would
	// have heard it by now.
	until := time.Now().Add(3 * time.Second)
	for time.Now().Before(until) {
		c.Poll(100)
	}
	mu.Lock()
	after := append([]string(nil), events[eventsBefore:]...)
	mu.Unlock()
	if len(after) > 0 {
		t.Fatalf("rebalance events after the restart: %v", after)
	}
	for v, n := range seen {
		if n > 1 {
			t.Fatalf("record %s consumed %d times", v, n)
		}
	}
	d := describeKIP848Group(t, bp.addr, "kip848-restart")
	if len(d.Members) != 1 || len(before.Members) != 1 || d.Members[0].MemberID != before.Members[0].MemberID || d.Members[0].MemberEpoch != before.Members[0].MemberEpoch {
		t.Fatalf("member after the restart %+v, before %+v", d.Members, before.Members)
	}
}

// produceNumbered produces values from..from+n-1 to topic, acknowledged.
func produceNumbered(t *testing.T, addr, topic string, from, n int) {
	t.Helper()
	cl, ctx, done := briefClient(t, addr, 20*time.Second)
	defer done()
	var rs []*kgo.Record
	for i := from; i < from+n; i++ {
		rs = append(rs, &kgo.Record{Topic: topic, Value: []byte(fmt.Sprint(i))})
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// describeKIP848Group is ConsumerGroupDescribe of one group.
func describeKIP848Group(t *testing.T, addr, group string) kmsg.ConsumerGroupDescribeResponseGroup {
	t.Helper()
	cl, ctx, done := briefClient(t, addr, 10*time.Second)
	defer done()
	req := kmsg.NewPtrConsumerGroupDescribeRequest()
	req.Groups = []string{group}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || len(resp.Groups) != 1 || resp.Groups[0].ErrorCode != 0 {
		t.Fatalf("describe %s: %v %+v", group, err, resp)
	}
	return resp.Groups[0]
}
