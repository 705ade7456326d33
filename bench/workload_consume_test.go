package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestRunConsumeVerifiesWhatProduceWrote(t *testing.T) {
	b := startKfake(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pres, err := RunProduce(ctx, ProduceConfig{
		Brokers: []string{b.Addr()}, Topic: "verify", Partitions: 5, RecordSize: 200,
		Records: 3000, Warmup: 100, Producers: 3, Keys: KeysUniform, KeyCount: 50,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := pres.Stream.Records(); got != 3100 || len(pres.Stream.Sent) != 3 || pres.Stream.Checksum == 0 {
		t.Fatalf("stream %+v: want 3100 records from 3 producers with a checksum", pres.Stream)
	}
	for _, consumers := range []int{1, 2, 7} {
		res, err := RunConsume(ctx, ConsumeConfig{Brokers: []string{b.Addr()}, Topic: "verify", Consumers: consumers, Expect: &pres.Stream}, nil)
		if err != nil {
			t.Fatalf("%d consumers: %v", consumers, err)
		}
		if res.Records != 3100 || res.Bytes != 3100*200 || res.Partitions != 5 || res.Consumers != min(consumers, 5) {
			t.Errorf("%d consumers: %+v; want 3100 records of 200 B from 5 partitions", consumers, res)
		}
		if !strings.Contains(res.Verified, "exactly the records written") || res.RecordsPerSec <= 0 {
			t.Errorf("%d consumers: verified %q, %v records/s", consumers, res.Verified, res.RecordsPerSec)
		}
	}

	// Another run's records in the topic: the expectation no longer holds.
	extra := pres.Stream
	extra.Sent = append([]int64(nil), pres.Stream.Sent...)
	extra.Sent[1]--
	_, err = RunConsume(ctx, ConsumeConfig{Brokers: []string{b.Addr()}, Topic: "verify", Expect: &extra}, nil)
	if err == nil || !strings.Contains(err.Error(), "3100 records") {
		t.Errorf("err = %v, want the count mismatch named", err)
	}
}

// produceRaw writes records as given, so a test can plant a duplicate or a
// corrupted record.
func produceRaw(t *testing.T, addr, topic string, values ...[]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := EnsureTopic(ctx, []string{addr}, topic, 1); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, v := range values {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

func stampedValue(tag uint32, producer int, seq uint64) []byte {
	v := recordValue(64)
	writeStamp(v, tag, stampID(producer, seq, false), time.Now().UnixNano())
	return v
}

func TestRunConsumeFailsLoudly(t *testing.T) {
	f := func(name string, values [][]byte, expect *StreamSummary, want string) {
		t.Helper()
		b := startKfake(t)
		produceRaw(t, b.Addr(), "bad", values...)
		_, err := RunConsume(context.Background(), ConsumeConfig{Brokers: []string{b.Addr()}, Topic: "bad", Expect: expect, Timeout: 30 * time.Second}, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, want)
		}
	}
	corrupt := stampedValue(7, 0, 1)
	corrupt[40] ^= 0xff
	f("duplicate", [][]byte{stampedValue(7, 0, 0), stampedValue(7, 0, 1), stampedValue(7, 0, 1)}, nil,
		"1 duplicated record(s): producer 0 seq 1 (run tag 00000007) again at bad/0@2")
	f("hole", [][]byte{stampedValue(7, 0, 0), stampedValue(7, 0, 2)}, nil, "1 record(s) missing of 3 (first seq 1)")
	f("corrupt", [][]byte{stampedValue(7, 0, 0), corrupt}, nil, "bad/0@1: record (producer 0, seq 1) corrupted")
	f("unstamped", [][]byte{[]byte("hello")}, nil, "no chronik-bench stamp")
	v0, v1 := stampedValue(7, 0, 0), stampedValue(7, 0, 1)
	f("lost tail", [][]byte{v0}, &StreamSummary{Tag: 7, Sent: []int64{2}, Checksum: uint64(crcOfStamped(v0)) + uint64(crcOfStamped(v1))},
		"holds 1 records between its start and end offsets, but 2 were written")
	f("wrong checksum", [][]byte{v0, v1}, &StreamSummary{Tag: 7, Sent: []int64{2}, Checksum: 12345}, "checksum")
}

func TestRunConsumeNoVerifyCountsForeignRecords(t *testing.T) {
	b := startKfake(t)
	produceRaw(t, b.Addr(), "foreign", []byte("a"), []byte("bb"), []byte("ccc"))
	res, err := RunConsume(context.Background(), ConsumeConfig{Brokers: []string{b.Addr()}, Topic: "foreign", NoVerify: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 3 || res.Bytes != 6 || !strings.Contains(res.Verified, "count and offsets only") {
		t.Errorf("result %+v: want 3 records, 6 bytes, counted only", res)
	}
}
