package bench

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestNullBrokerAcknowledgesEveryProduceMode(t *testing.T) {
	nb, err := StartNullBroker("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	var want int64
	f := func(cfg ProduceConfig) {
		t.Helper()
		cfg.Brokers, cfg.Topic = []string{nb.Addr()}, fmt.Sprintf("null-%s-%t-%s", cfg.Acks, cfg.Idempotent, cfg.Compression)
		cfg.Partitions, cfg.Records, cfg.Warmup, cfg.Timeout = 3, 2000, 100, time.Minute
		res, err := RunProduce(context.Background(), cfg, nil)
		if err != nil {
			t.Fatalf("%s: %v", cfg.Topic, err)
		}
		want += 2100
		if res.Records != 2000 || res.Partitions != 3 {
			t.Errorf("%s: %d records on %d partitions, want 2000 on 3", cfg.Topic, res.Records, res.Partitions)
		}
	}
	f(ProduceConfig{Acks: "1"})
	f(ProduceConfig{Acks: "all", Idempotent: true, Compression: "lz4", Producers: 2})
	f(ProduceConfig{Acks: "all", Keys: KeysUniform, Linger: time.Millisecond})
	f(ProduceConfig{Acks: "0"})
	// acks=0 has no response to wait for: poll until the broker counted.
	checkFor(t, 10*time.Second, func() error {
		if got := nb.Records(); got != want {
			return fmt.Errorf("null broker counted %d records, want %d", got, want)
		}
		return nil
	})
}

func TestNullBrokerHandsOutConsecutiveOffsets(t *testing.T) {
	nb, err := StartNullBroker("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := EnsureTopic(ctx, []string{nb.Addr()}, "offsets", 1); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(nb.Addr()), kgo.DefaultProduceTopic("offsets"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var mu sync.Mutex
	var offsets []int64
	for i := range 50 {
		cl.Produce(ctx, &kgo.Record{Value: []byte{byte(i)}}, func(r *kgo.Record, err error) {
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			offsets = append(offsets, r.Offset)
			mu.Unlock()
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i, o := range offsets {
		if o != int64(i) {
			t.Fatalf("offsets %v: want 0 to 49 in order", offsets)
		}
	}
}

func TestNullBrokerRefusesFetch(t *testing.T) {
	nb, err := StartNullBroker("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := EnsureTopic(ctx, []string{nb.Addr()}, "nothing", 1); err != nil {
		t.Fatal(err)
	}
	_, err = RunConsume(ctx, ConsumeConfig{Brokers: []string{nb.Addr()}, Topic: "nothing", NoVerify: true}, nil)
	if err == nil {
		t.Fatal("consuming from the null broker succeeded; it stores nothing to fetch")
	}
}

func TestServeNullStopsWithContext(t *testing.T) {
	port, err := FreeLoopbackPort()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var log bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- ServeNull(ctx, []string{"--set", fmt.Sprintf("listeners=PLAINTEXT://127.0.0.1:%d", port), "--set", "log.dirs=/nowhere"}, &log)
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitCtx, waitCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer waitCancel()
	if err := waitForKafka(waitCtx, addr, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := RunProduce(waitCtx, ProduceConfig{Brokers: []string{addr}, Records: 100, Warmup: 0, Partitions: 1}, nil); err != nil {
		t.Fatal(err)
	}
	cancel()
	// ServeNull has returned: log is no longer written.
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "after acknowledging 100 records") {
		t.Errorf("log:\n%s", log.String())
	}
	if err := ServeNull(context.Background(), []string{"--set", "num.shards=1"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), `unknown setting "num.shards"`) {
		t.Errorf("err = %v, want the unknown setting refused", err)
	}
}
