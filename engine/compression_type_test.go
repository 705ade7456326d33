package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/chronik-go/chronik/engine/batch"
)

// storedCodecs fetches partition 0 of topic raw and returns the codec of
// every stored batch.
func storedCodecs(t *testing.T, tb *testBroker, topic string) []int8 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := fetchReq(topic, 0, 0, 1, 0, 1<<20).RequestWith(ctx, fetchClient(tb))
	if err != nil {
		t.Fatal(err)
	}
	var codecs []int8
	if _, err := batch.Split(resp.Topics[0].Partitions[0].RecordBatches, func(h batch.Header, raw []byte) error {
		if !batch.CRCValid(raw) {
			return fmt.Errorf("batch at %d: CRC does not match", h.BaseOffset)
		}
		codecs = append(codecs, h.Codec())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return codecs
}

// A topic's compression.type other than producer stores every batch in that
// codec, as Kafka recompresses, keeping offsets, timestamps, keys, values,
// headers and idempotent sequences; consumers read the records back as
// produced. Before, the key was accepted and ignored.
func TestCompressionTypeRecompressesBatches(t *testing.T) {
	tb := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	codecs := map[string]int8{"uncompressed": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
	producers := map[string]kgo.CompressionCodec{"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(),
		"snappy": kgo.SnappyCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression()}
	for target, want := range codecs {
		topic := "ct-" + target
		if _, err := tb.admin().CreateTopic(ctx, 1, 1, map[string]*string{"compression.type": kadm.StringPtr(target)}, topic); err != nil {
			t.Fatal(err)
		}
		var sent []*kgo.Record
		for _, name := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
			cl := tb.client(kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(producers[name]), kgo.ProducerLinger(0))
			var recs []*kgo.Record
			for i := 0; i < 20; i++ {
				recs = append(recs, &kgo.Record{
					Key:       []byte(fmt.Sprintf("%s-%d", name, i)),
					Value:     []byte(fmt.Sprintf("value %d from a %s producer, repeated repeated repeated", i, name)),
					Headers:   []kgo.RecordHeader{{Key: "h", Value: []byte(name)}},
					Timestamp: time.UnixMilli(1_700_000_000_000 + int64(len(sent))),
				})
			}
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Fatalf("%s: produce from a %s producer: %v", topic, name, err)
			}
			cl.Close()
			sent = append(sent, recs...)
		}
		for i, c := range storedCodecs(t, tb, topic) {
			if c != want {
				t.Fatalf("%s: batch %d stored with codec %d, want %d", topic, i, c, want)
			}
		}
		got := consumeAll(t, tb, topic)
		if len(got) != len(sent) {
			t.Fatalf("%s: consumed %d records, want %d", topic, len(got), len(sent))
		}
		for i, r := range got {
			s := sent[i]
			if r.Offset != s.Offset || string(r.Key) != string(s.Key) || string(r.Value) != string(s.Value) ||
				!r.Timestamp.Equal(s.Timestamp) || len(r.Headers) != 1 || string(r.Headers[0].Value) != string(s.Headers[0].Value) {
				t.Fatalf("%s: record %d = %d %q %q %v %v, want %d %q %q %v %v", topic, i, r.Offset, r.Key, r.Value, r.Timestamp, r.Headers,
					s.Offset, s.Key, s.Value, s.Timestamp, s.Headers)
			}
		}
	}
	// producer (the default) keeps each producer's codec.
	if _, err := tb.admin().CreateTopic(ctx, 1, 1, nil, "ct-producer"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"none", "zstd"} {
		cl := tb.client(kgo.DefaultProduceTopic("ct-producer"), kgo.ProducerBatchCompression(producers[name]))
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("kept as sent kept as sent kept as sent")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		cl.Close()
	}
	if got := storedCodecs(t, tb, "ct-producer"); len(got) != 2 || got[0] != 0 || got[1] != 4 {
		t.Fatalf("compression.type=producer stored codecs %v, want [0 4]", got)
	}
}
