//go:build cgo

package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
)

// librdkafka's transactional producer (confluent-kafka-go, librdkafka 2.11)
// against the real binary: a committed transaction, an aborted one and a
// committed one whose consumer offsets commit with it
// (SendOffsetsToTransaction); a read_committed consumer then reads exactly
// the committed records, and the group's committed offset is the one sent
// in the transaction.
func TestConfluentGoTransactions(t *testing.T) {
	bp := startBinary(t)
	const topic = "confluent-txn"
	createTopic(t, bp.addr, topic, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	p, err := kafka.NewProducer(&kafka.ConfigMap{
		"bootstrap.servers":      bp.addr,
		"transactional.id":       "confluent-go-txn",
		"transaction.timeout.ms": 30000,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.InitTransactions(ctx); err != nil {
		t.Fatalf("init transactions: %v", err)
	}
	topicName := topic
	run := func(prefix string, n int, commit bool, offsets []kafka.TopicPartition) {
		t.Helper()
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			v := fmt.Sprintf("%s-%02d", prefix, i)
			if err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topicName, Partition: kafka.PartitionAny},
				Key: []byte(v), Value: []byte(v)}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if offsets != nil {
			meta, err := kafka.NewTestConsumerGroupMetadata("confluent-txn-group")
			if err != nil {
				t.Fatal(err)
			}
			if err := p.SendOffsetsToTransaction(ctx, offsets, meta); err != nil {
				t.Fatalf("send offsets to transaction: %v", err)
			}
		}
		if commit {
			err = p.CommitTransaction(ctx)
		} else {
			err = p.AbortTransaction(ctx)
		}
		if err != nil {
			t.Fatalf("end transaction %s (commit %v): %v", prefix, commit, err)
		}
	}
	run("c1", 10, true, nil)
	run("ab", 10, false, []kafka.TopicPartition{{Topic: &topicName, Partition: 0, Offset: 3}})
	run("c2", 10, true, []kafka.TopicPartition{{Topic: &topicName, Partition: 0, Offset: 7}})

	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers":  bp.addr,
		"group.id":           "confluent-txn-reader",
		"auto.offset.reset":  "earliest",
		"isolation.level":    "read_committed",
		"enable.auto.commit": false,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(topic, nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	deadline := time.Now().Add(60 * time.Second)
	for len(got) < 20 && time.Now().Before(deadline) {
		m, err := c.ReadMessage(500 * time.Millisecond)
		if err != nil {
			if e, ok := err.(kafka.Error); ok && e.Code() == kafka.ErrTimedOut {
				continue
			}
			t.Fatal(err)
		}
		got = append(got, string(m.Value))
	}
	// Anything more would be the aborted transaction's records.
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
		if m, err := c.ReadMessage(200 * time.Millisecond); err == nil {
			got = append(got, string(m.Value))
		}
	}
	var want []string
	for _, prefix := range []string{"c1", "c2"} {
		for i := range 10 {
			want = append(want, fmt.Sprintf("%s-%02d", prefix, i))
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("read_committed read %v\nwant %v", got, want)
	}

	cl, actx, done := briefClient(t, bp.addr, 20*time.Second)
	defer done()
	offs, err := kadm.NewClient(cl).FetchOffsets(actx, "confluent-txn-group")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offs.Lookup(topic, 0); !ok || o.At != 7 {
		t.Fatalf("the group's committed offset of partition 0 is %+v (found %v), want 7 (the committed transaction's; the aborted one's was 3)", o, ok)
	}
}
