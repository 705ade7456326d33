package e2e

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

// segmentio/kafka-go: a Writer with a hash balancer and a Reader per partition.
func TestKafkaGoProduceConsume(t *testing.T) {
	bp := startBinary(t)
	const topic, partitions, n = "kafkago", 6, 6_000
	createTopic(t, bp.addr, topic, partitions)

	w := &kafka.Writer{
		Addr:         kafka.TCP(bp.addr),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		Compression:  compress.Snappy,
		BatchSize:    500,
		BatchTimeout: 5 * time.Millisecond,
	}
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	byKey := map[string]sentRecord{}
	msgs := make([]kafka.Message, 0, n)
	for i := 0; i < n; i++ {
		sr := makeRecord(i, base)
		byKey[string(sr.key)] = sr
		msgs = append(msgs, kafka.Message{Key: sr.key, Value: sr.value, Time: sr.ts, Headers: []kafka.Header{{Key: "idx", Value: []byte(sr.headerVal)}}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; i < n; i += 1000 {
		if err := w.WriteMessages(ctx, msgs[i:i+1000]...); err != nil {
			t.Fatalf("kafka-go write: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	seen := 0
	for p := 0; p < partitions; p++ {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bp.addr}, Topic: topic, Partition: p, MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 200 * time.Millisecond})
		hwm := readHighWatermark(t, bp.addr, topic, p)
		var next int64
		for next < hwm {
			rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
			m, err := r.ReadMessage(rctx)
			rcancel()
			if err != nil {
				t.Fatalf("partition %d read at %d: %v", p, next, err)
			}
			if m.Offset != next {
				t.Fatalf("partition %d: offset %d, want %d", p, m.Offset, next)
			}
			exp, ok := byKey[string(m.Key)]
			if !ok || !bytes.Equal(m.Value, exp.value) || len(m.Headers) != 1 || string(m.Headers[0].Value) != exp.headerVal {
				t.Fatalf("partition %d offset %d: record %q does not match what was written", p, m.Offset, m.Key)
			}
			delete(byKey, string(m.Key))
			next++
			seen++
		}
		r.Close()
	}
	if seen != n || len(byKey) != 0 {
		t.Fatalf("read %d records, %d written records never seen", seen, len(byKey))
	}
}

func readHighWatermark(t *testing.T, addr, topic string, p int) int64 {
	t.Helper()
	conn, err := kafka.DialLeader(context.Background(), "tcp", addr, topic, p)
	if err != nil {
		t.Fatalf("dial leader: %v", err)
	}
	defer conn.Close()
	off, err := conn.ReadLastOffset()
	if err != nil {
		t.Fatalf("last offset: %v", err)
	}
	return off
}
