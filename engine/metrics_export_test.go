package engine

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-go/chronik/uring"
)

// gatherSample returns the value of one labelled sample of reg.
func gatherSample(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue next
				}
			}
			return sampleValue(m), true
		}
	}
	return 0, false
}

func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetHistogram() != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}

// A stalled fdatasync shows while it lasts: Health names the shard once the
// sync has run past io.timeout.ms, the activity gauge counts up, the stall
// counter moves, and all of it clears when the disk answers.
func TestHealthAndMetricsShowAStalledSync(t *testing.T) {
	forEachWritePath(t, testHealthAndMetricsShowAStalledSync)
}

func testHealthAndMetricsShowAStalledSync(t *testing.T, inner uring.Opener) {
	fo := newFaultOpener(inner)
	tb := startBrokerWith(t, fo, "num.shards=1", "log.flush.policy=always", "io.timeout.ms=300", "log.flush.wal.enable=false")
	reg := prometheus.NewRegistry()
	if err := tb.b.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	createTestTopic(t, tb, "hs", 1)
	cl := fetchClient(tb)
	if code, _ := produceCode(t, cl, "hs"); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	if h := tb.b.Health(); len(h) != 0 {
		t.Fatalf("health of an idle broker: %q", h)
	}
	if n, ok := gatherSample(t, reg, "chronik_request_seconds", map[string]string{"api": "Produce"}); !ok || n < 1 {
		t.Fatalf("produce requests counted: %v (%v)", n, ok)
	}
	if n, ok := gatherSample(t, reg, "chronik_partitions", map[string]string{"shard": "0"}); !ok || n != 1 {
		t.Fatalf("partitions of shard 0: %v (%v), want 1", n, ok)
	}
	release := fo.blockSync("hs-0") // idempotent
	defer release()
	if code, _ := produceCode(t, cl, "hs"); code != kerr.KafkaStorageError.Code {
		t.Fatalf("produce behind a stalled fdatasync: %v", kerr.ErrorForCode(code))
	}
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if h := strings.Join(tb.b.Health(), "\n"); !strings.Contains(h, "shard 0: sync running for") {
			return fmt.Errorf("health during the stall: %q", h)
		}
		return nil
	})
	if v, _ := gatherSample(t, reg, "chronik_shard_activity_running_seconds", map[string]string{"shard": "0", "activity": "sync"}); v < 0.3 {
		t.Fatalf("sync running for %vs during a stall past io.timeout.ms=300", v)
	}
	if v, _ := gatherSample(t, reg, "chronik_sync_stalls_total", nil); v < 1 {
		t.Fatalf("stalls counted: %v", v)
	}
	// The shard itself still answers: its partitions are counted.
	if n, ok := gatherSample(t, reg, "chronik_partitions", map[string]string{"shard": "0"}); !ok || n != 1 {
		t.Fatalf("partitions of shard 0 during the stall: %v (%v)", n, ok)
	}
	release()
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if h := tb.b.Health(); len(h) != 0 {
			return fmt.Errorf("health after the stall: %q", h)
		}
		return nil
	})
}

// A partition whose log failed and cannot be reopened is counted offline
// until a reopen succeeds.
func TestMetricsCountOfflinePartitions(t *testing.T) {
	fo := newFaultOpener(uring.PwriteOpener{})
	tb := startBrokerWith(t, fo, "num.shards=1", "log.flush.policy=always", "log.flush.wal.enable=false")
	reg := prometheus.NewRegistry()
	if err := tb.b.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	createTestTopic(t, tb, "ho", 1)
	cl := fetchClient(tb)
	offline := func() float64 {
		v, ok := gatherSample(t, reg, "chronik_partitions_offline", map[string]string{"shard": "0"})
		if !ok {
			t.Fatal("no offline count for shard 0")
		}
		return v
	}
	if code, _ := produceCode(t, cl, "ho"); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	if v := offline(); v != 0 {
		t.Fatalf("%v partitions offline before any fault", v)
	}
	// A failed fdatasync fails the log; the open fault fails its reopens.
	fo.setSync("ho-0", syscall.EIO)
	fo.setOpen("ho-0", syscall.EIO)
	if code, _ := produceCode(t, cl, "ho"); code != kerr.KafkaStorageError.Code {
		t.Fatalf("produce with failing fdatasync: %v", kerr.ErrorForCode(code))
	}
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if v := offline(); v != 1 {
			return fmt.Errorf("%v partitions offline, want 1", v)
		}
		return nil
	})
	fo.setSync("ho-0", nil)
	fo.setOpen("ho-0", nil)
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		if v := offline(); v != 0 {
			return fmt.Errorf("%v partitions offline after the fault cleared", v)
		}
		return nil
	})
}

// Once the broker is stopping, /health says so and a scrape returns at
// once without asking the shards (their loops are ending).
func TestHealthSaysStoppingAndScrapesStayQuick(t *testing.T) {
	tb := startBroker(t)
	reg := prometheus.NewRegistry()
	if err := tb.b.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if h := tb.b.Health(); len(h) != 0 {
		t.Fatalf("health while serving: %q", h)
	}
	b := tb.b
	tb.stop()
	if h := b.Health(); len(h) != 1 || h[0] != "stopping" {
		t.Fatalf("health after the stop: %q", h)
	}
	start := time.Now()
	if _, ok := gatherSample(t, reg, "chronik_partitions", nil); ok {
		t.Fatal("partition counts after the stop")
	}
	if took := time.Since(start); took > 250*time.Millisecond {
		t.Fatalf("a scrape after the stop took %v: it waited for the shards", took)
	}
}
