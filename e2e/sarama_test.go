package e2e

import (
	"bytes"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// IBM/sarama: an idempotent sync producer and a partition consumer per
// partition read back exactly what was acknowledged.
func TestSaramaProduceConsume(t *testing.T) {
	bp := startBinary(t)
	const topic, partitions, n = "sarama", 6, 6_000
	createTopic(t, bp.addr, topic, partitions)

	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Compression = sarama.CompressionLZ4
	cfg.Producer.Partitioner = sarama.NewHashPartitioner
	prod, err := sarama.NewSyncProducer([]string{bp.addr}, cfg)
	if err != nil {
		t.Fatalf("sarama producer: %v", err)
	}
	led := newLedger()
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	msgs := make([]*sarama.ProducerMessage, 0, 500)
	recs := make([]sentRecord, 0, 500)
	flush := func() {
		if err := prod.SendMessages(msgs); err != nil {
			t.Fatalf("sarama send: %v", err)
		}
		for i, m := range msgs {
			if err := led.add(m.Partition, m.Offset, recs[i]); err != nil {
				t.Fatal(err)
			}
		}
		msgs, recs = msgs[:0], recs[:0]
	}
	for i := 0; i < n; i++ {
		sr := makeRecord(i, base)
		msgs = append(msgs, &sarama.ProducerMessage{
			Topic: topic, Key: sarama.ByteEncoder(sr.key), Value: sarama.ByteEncoder(sr.value), Timestamp: sr.ts,
			Headers: []sarama.RecordHeader{{Key: []byte("idx"), Value: []byte(sr.headerVal)}},
		})
		recs = append(recs, sr)
		if len(msgs) == cap(msgs) {
			flush()
		}
	}
	flush()
	prod.Close()
	led.checkContiguous(t)

	consumer, err := sarama.NewConsumer([]string{bp.addr}, cfg)
	if err != nil {
		t.Fatalf("sarama consumer: %v", err)
	}
	defer consumer.Close()
	total := 0
	for p := int32(0); p < partitions; p++ {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatalf("consume partition %d: %v", p, err)
		}
		want := int64(len(led.parts[p]))
		for next := int64(0); next < want; next++ {
			select {
			case m := <-pc.Messages():
				exp := led.parts[p][m.Offset]
				if m.Offset != next || !bytes.Equal(m.Key, exp.key) || !bytes.Equal(m.Value, exp.value) {
					t.Fatalf("partition %d: got offset %d key %q, want offset %d key %q", p, m.Offset, m.Key, next, exp.key)
				}
				if len(m.Headers) != 1 || string(m.Headers[0].Value) != exp.headerVal {
					t.Fatalf("partition %d offset %d: headers %v", p, m.Offset, m.Headers)
				}
				total++
			case err := <-pc.Errors():
				t.Fatalf("partition %d: %v", p, err)
			case <-time.After(30 * time.Second):
				t.Fatalf("partition %d: timed out at offset %d of %d", p, next, want)
			}
		}
		pc.Close()
	}
	if total != n {
		t.Fatalf("consumed %d, want %d", total, n)
	}
}
