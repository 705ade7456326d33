package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func startKfake(t *testing.T, opts ...kfake.Opt) Broker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := KfakeTarget{Opts: opts}.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Stop() })
	return b
}

func endOffsetSum(t *testing.T, addr, topic string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offsets, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	offsets.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Errorf("end offset of %s/%d: %v", o.Topic, o.Partition, o.Err)
		}
		sum += o.Offset
	})
	return sum
}

func checkLatencySane(t *testing.T, l LatencySummary) {
	t.Helper()
	if !(l.P50Ms > 0 && l.P50Ms <= l.P99Ms && l.P99Ms <= l.P999Ms && l.P999Ms <= l.MaxMs && l.MeanMs > 0 && l.MeanMs <= l.MaxMs) {
		t.Errorf("latency summary out of order: %+v", l)
	}
}

func TestRunProduceAgainstKfake(t *testing.T) {
	b := startKfake(t)
	cfg := ProduceConfig{
		Brokers:    []string{b.Addr()},
		Topic:      "bench-produce",
		Partitions: 3,
		RecordSize: 512,
		Records:    2000,
		Warmup:     300,
		Producers:  2,
		Timeout:    time.Minute,
	}
	res, err := RunProduce(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 2000 || res.Bytes != 2000*512 || res.Errors != 0 || res.Partitions != 3 {
		t.Errorf("counts: got %d records, %d bytes, %d errors, %d partitions; want 2000, %d, 0, 3",
			res.Records, res.Bytes, res.Errors, res.Partitions, 2000*512)
	}
	if res.ElapsedSec <= 0 || res.RecordsPerSec <= 0 {
		t.Fatalf("elapsed %v s, %v records/s: want both positive", res.ElapsedSec, res.RecordsPerSec)
	}
	if want := float64(res.Bytes) / res.ElapsedSec / 1e6; !near(res.MBPerSec, want) {
		t.Errorf("MB/s %v, want bytes/elapsed/1e6 = %v", res.MBPerSec, want)
	}
	if want := float64(res.Records) / res.ElapsedSec; !near(res.RecordsPerSec, want) {
		t.Errorf("records/s %v, want records/elapsed = %v", res.RecordsPerSec, want)
	}
	checkLatencySane(t, res.Latency)
	// The broker holds exactly the warm-up plus the measured records.
	if got := endOffsetSum(t, b.Addr(), "bench-produce"); got != 2300 {
		t.Errorf("broker holds %d records, want 2300 (300 warm-up + 2000)", got)
	}
	if line := res.Line(); !strings.Contains(line, "2000 records") {
		t.Errorf("Line() = %q, want it to name the record count", line)
	}
}

func TestRunProduceIdempotentAcksAllIntoExistingTopic(t *testing.T) {
	b := startKfake(t, kfake.SeedTopics(2, "existing"))
	res, err := RunProduce(context.Background(), ProduceConfig{
		Brokers: []string{b.Addr()}, Topic: "existing", Partitions: 6,
		Records: 1000, Acks: "all", Idempotent: true, Compression: "zstd", Linger: time.Millisecond,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 1000 || res.Partitions != 2 {
		t.Errorf("got %d records on %d partitions, want 1000 on the existing topic's 2", res.Records, res.Partitions)
	}
	// A zero Warmup means no warm-up: the broker holds the measured records only.
	if got := endOffsetSum(t, b.Addr(), "existing"); got != 1000 {
		t.Errorf("broker holds %d records, want 1000", got)
	}
}

func TestRunProduceFailsOnRecordError(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Every produce is refused with a non-retriable error.
	c.ControlKey(int16(kmsg.Produce), func(r kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := r.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic = rt.Topic
			st.TopicID = rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	res, err := RunProduce(context.Background(), ProduceConfig{
		Brokers: c.ListenAddrs(), Topic: "refused", Records: 500, Warmup: 100, Timeout: 30 * time.Second,
	}, nil)
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("err = %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	if !strings.Contains(err.Error(), "warm-up") {
		t.Errorf("err = %v, want it to say the warm-up failed", err)
	}
	if res.Records != 0 {
		t.Errorf("a failed run reported %d records", res.Records)
	}
}

func TestRunProduceMeasuredPhaseErrorIsCounted(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Let the warm-up through, then refuse: the error must come from the
	// measured phase and carry how far it got.
	var produced int
	c.ControlKey(int16(kmsg.Produce), func(r kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := r.(*kmsg.ProduceRequest)
		for _, rt := range req.Topics {
			for _, rp := range rt.Partitions {
				var batch kmsg.RecordBatch
				if err := batch.ReadFrom(rp.Records); err == nil {
					produced += int(batch.NumRecords)
				}
			}
		}
		if produced <= 200 {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic = rt.Topic
			st.TopicID = rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	res, err := RunProduce(context.Background(), ProduceConfig{
		Brokers: c.ListenAddrs(), Topic: "half", Partitions: 1, Records: 5000, Warmup: 200, MaxBuffered: 100,
	}, nil)
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("err = %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	if strings.Contains(err.Error(), "warm-up") || !strings.Contains(err.Error(), "of 5000 records acked") {
		t.Errorf("err = %v, want a measured-phase error naming the progress", err)
	}
	if res.Errors == 0 || res.Records >= 5000 {
		t.Errorf("got %d records and %d errors, want a partial run with errors", res.Records, res.Errors)
	}
}

func TestRunProduceTimesOut(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "silent"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Produce requests are swallowed: no response ever comes.
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, nil, true
	})
	_, err = RunProduce(context.Background(), ProduceConfig{
		Brokers: c.ListenAddrs(), Topic: "silent", Records: 100, Warmup: 10, Timeout: 500 * time.Millisecond,
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "timed out after 500ms") {
		t.Fatalf("err = %v, want a timeout naming the limit", err)
	}
}

func TestProduceConfigValidate(t *testing.T) {
	base := ProduceConfig{Brokers: []string{"127.0.0.1:1"}, Records: 10}.WithDefaults()
	f := func(name string, mutate func(*ProduceConfig), wantErr string) {
		t.Helper()
		c := base
		mutate(&c)
		err := c.Validate()
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%s: unexpected error %v", name, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%s: err = %v, want it to mention %q", name, err, wantErr)
		}
	}
	f("defaults", func(*ProduceConfig) {}, "")
	f("acks all idempotent", func(c *ProduceConfig) { c.Acks, c.Idempotent = "all", true }, "")
	f("idempotent acks 1", func(c *ProduceConfig) { c.Idempotent = true }, "needs acks=all")
	f("bad acks", func(c *ProduceConfig) { c.Acks = "2" }, "want 0, 1 or all")
	f("bad codec", func(c *ProduceConfig) { c.Compression = "brotli" }, "compression")
	f("no brokers", func(c *ProduceConfig) { c.Brokers = nil }, "no brokers")
	f("zero records", func(c *ProduceConfig) { c.Records = 0 }, "records 0")
	f("more producers than records", func(c *ProduceConfig) { c.Producers = 11 }, "producers 11")
}

func near(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= 1e-9*max(abs(a), abs(b))
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestRunProduceOpenLoopKeepsItsSchedule(t *testing.T) {
	b := startKfake(t)
	res, err := RunProduce(context.Background(), ProduceConfig{
		Brokers: []string{b.Addr()}, Topic: "paced", Partitions: 2, RecordSize: 64,
		Duration: 500 * time.Millisecond, Rate: 2000, Producers: 2, Warmup: 0,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 2000 records/s for half a second is 1000 records, by schedule.
	if res.Mode != "open" || res.TargetRate != 2000 || res.Records != 1000 {
		t.Errorf("mode %s rate %v records %d: want an open loop of exactly 1000 records", res.Mode, res.TargetRate, res.Records)
	}
	checkLatencySane(t, res.Latency)
	if res.SendLag.Samples != 1000 || res.Latency.P9999Ms < res.Latency.P999Ms {
		t.Errorf("send lag samples %d, latency %+v: want one lag per record and ordered quantiles", res.SendLag.Samples, res.Latency)
	}
	if got := endOffsetSum(t, b.Addr(), "paced"); got != 1000 {
		t.Errorf("broker holds %d records, want 1000", got)
	}
}

func TestRunProduceDurationClosedLoop(t *testing.T) {
	b := startKfake(t)
	res, err := RunProduce(context.Background(), ProduceConfig{
		Brokers: []string{b.Addr()}, Topic: "timed", Duration: 300 * time.Millisecond, RecordSize: 100, Warmup: 10,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != "closed" || res.Records < 1 || res.SendLag.Samples != 0 {
		t.Errorf("mode %s, %d records, %d lag samples: want a closed loop that sent records and no schedule", res.Mode, res.Records, res.SendLag.Samples)
	}
	if got := endOffsetSum(t, b.Addr(), "timed"); got != res.Records+10 || res.Stream.Records() != got {
		t.Errorf("broker holds %d records, stream says %d, want measured %d + 10 warm-up", got, res.Stream.Records(), res.Records)
	}
}

func TestRunProduceKeyDistributions(t *testing.T) {
	b := startKfake(t)
	perPartition := func(topic string) map[int32]int64 {
		t.Helper()
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		offsets, err := kadm.NewClient(cl).ListEndOffsets(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int32]int64{}
		offsets.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
		return out
	}
	f := func(keys string, keyCount int, check func(map[int32]int64) string) {
		t.Helper()
		topic := "keys-" + keys
		if _, err := RunProduce(context.Background(), ProduceConfig{
			Brokers: []string{b.Addr()}, Topic: topic, Partitions: 8, RecordSize: 32,
			Records: 4000, Warmup: 0, Keys: keys, KeyCount: keyCount,
		}, nil); err != nil {
			t.Fatal(err)
		}
		if msg := check(perPartition(topic)); msg != "" {
			t.Errorf("keys=%s: %s", keys, msg)
		}
	}
	// Uniform keys over many keys reach every partition, none with most.
	f(KeysUniform, 1000, func(p map[int32]int64) string {
		for part, n := range p {
			if n == 0 || n > 1000 {
				return fmt.Sprintf("partition %d got %d of 4000 records: %v", part, n, p)
			}
		}
		return ""
	})
	// Hot keys: the hottest 1% of 100 keys is one key, carrying 90% of
	// the records to one partition.
	f(KeysHot, 100, func(p map[int32]int64) string {
		var top int64
		for _, n := range p {
			top = max(top, n)
		}
		if top < 3400 {
			return fmt.Sprintf("busiest partition got %d of 4000 records, want about 90%%+: %v", top, p)
		}
		return ""
	})
}
