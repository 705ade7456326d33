//go:build cgo

package e2e

import (
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// confluent-kafka-go, with the librdkafka it bundles (2.11; make e2e's kcat
// and confluent-kafka-python use Debian's 2.0.2): an idempotent, zstd
// producer whose delivery reports fill the ledger, then a group consumer that
// must read exactly those records in each partition's offset order, intact,
// and whose synchronous commit must land on the end offsets. The consumer
// runs the classic group protocol and KIP-848's (group.protocol=consumer).
func TestConfluentGoProduceConsume(t *testing.T) {
	for _, protocol := range []string{"classic", "consumer"} {
		t.Run("group.protocol="+protocol, func(t *testing.T) { testConfluentGoProduceConsume(t, protocol) })
	}
}

func testConfluentGoProduceConsume(t *testing.T, protocol string) {
	bp := startBinary(t)
	const topic, partitions, n = "confluent-go", 3, 3_000
	createTopic(t, bp.addr, topic, partitions)

	p, err := kafka.NewProducer(&kafka.ConfigMap{
		"bootstrap.servers":  bp.addr,
		"enable.idempotence": true,
		"acks":               "all",
		"compression.type":   "zstd",
		"linger.ms":          5,
	})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	records := make([]sentRecord, n)
	deliveries := make(chan kafka.Event, n)
	topicName := topic
	for i := range records {
		records[i] = makeRecord(i, base)
		sr := records[i]
		err := p.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topicName, Partition: kafka.PartitionAny},
			Key:            sr.key, Value: sr.value, Timestamp: sr.ts,
			Headers: []kafka.Header{{Key: "idx", Value: []byte(sr.headerVal)}},
			Opaque:  i,
		}, deliveries)
		if err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	led := newLedger()
	deadline := time.After(60 * time.Second)
	for range n {
		select {
		case e := <-deliveries:
			m, ok := e.(*kafka.Message)
			if !ok {
				t.Fatalf("delivery report: %v", e)
			}
			if m.TopicPartition.Error != nil {
				t.Fatalf("delivery of record %v: %v", m.Opaque, m.TopicPartition.Error)
			}
			if err := led.add(m.TopicPartition.Partition, int64(m.TopicPartition.Offset), records[m.Opaque.(int)]); err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatalf("%d of %d delivery reports before the deadline", led.total(), n)
		}
	}
	led.checkContiguous(t)
	p.Close()

	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers":  bp.addr,
		"group.id":           "confluent-go-readers",
		"group.protocol":     protocol,
		"auto.offset.reset":  "earliest",
		"enable.auto.commit": false,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(topic, nil); err != nil {
		t.Fatal(err)
	}
	next := map[int32]int64{}
	got := 0
	until := time.Now().Add(120 * time.Second)
	for got < n {
		if time.Now().After(until) {
			t.Fatalf("consumed %d of %d records before the deadline", got, n)
		}
		m, err := c.ReadMessage(time.Second)
		if err != nil {
			if kerr, ok := err.(kafka.Error); ok && !kerr.IsFatal() {
				continue // timeouts and transient errors: the deadline bounds the retries
			}
			t.Fatalf("consume: %v", err)
		}
		var hdrs []consumedHeader
		for _, h := range m.Headers {
			hdrs = append(hdrs, consumedHeader{h.Key, h.Value})
		}
		led.expectNext(t, next, consumedRecord{m.TopicPartition.Partition, int64(m.TopicPartition.Offset), m.Key, m.Value, hdrs, m.Timestamp})
		got++
	}
	if _, err := c.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
	if got := groupType(t, bp.addr, "confluent-go-readers"); got != protocol {
		t.Fatalf("the broker holds the group as %q, want %q", got, protocol)
	}
	// What the group coordinator stored, read back, not what the commit sent.
	var tps []kafka.TopicPartition
	for p := range int32(partitions) {
		tps = append(tps, kafka.TopicPartition{Topic: &topicName, Partition: p})
	}
	committed, err := c.Committed(tps, 10_000)
	if err != nil {
		t.Fatalf("committed offsets: %v", err)
	}
	ends := endOffsets(t, bp.addr, topic, partitions)
	for _, tp := range committed {
		if tp.Error != nil || int64(tp.Offset) != ends[tp.Partition] {
			t.Fatalf("partition %d committed at %v (%v), end offset %d", tp.Partition, tp.Offset, tp.Error, ends[tp.Partition])
		}
	}
}

// groupType is the type (classic or consumer) the broker lists group as.
func groupType(t *testing.T, addr, group string) string {
	t.Helper()
	cl, ctx, done := briefClient(t, addr, 10*time.Second)
	defer done()
	req := kmsg.NewPtrListGroupsRequest() // v5: with each group's type
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("list groups: %v", err)
	}
	for _, g := range resp.Groups {
		if g.Group == group {
			return g.GroupType
		}
	}
	t.Fatalf("group %s not listed", group)
	return ""
}
