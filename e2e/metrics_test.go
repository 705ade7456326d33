package e2e

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// httpGet returns the status and body of one GET.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	cl := http.Client{Timeout: 10 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// metricValue reads one sample of a Prometheus text exposition.
func metricValue(t *testing.T, exposition, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(exposition)
	if m == nil {
		t.Fatalf("no sample %s in:\n%s", series, exposition)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// With metrics.listener set, the binary serves /health and Prometheus
// metrics that follow what clients do: requests by API, connections,
// partitions per shard.
func TestMetricsEndpoint(t *testing.T) {
	metricsAddr := freeAddr(t)
	bp := startBinary(t, "metrics.listener="+metricsAddr, "num.shards=2")
	base := "http://" + metricsAddr
	// The Kafka port accepts before the broker has registered itself:
	// until then /health answers 503 "starting".
	for deadline := time.Now().Add(20 * time.Second); ; {
		code, body := httpGet(t, base+"/health")
		if code == http.StatusOK && strings.TrimSpace(body) == "ok" {
			break
		}
		if code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "starting") || time.Now().After(deadline) {
			t.Fatalf("/health: %d %q, want 200 ok (after 503 starting)", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(bp.addr), kgo.DefaultProduceTopic("metered"), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 5 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	_, body := httpGet(t, base+"/metrics")
	if n := metricValue(t, body, `chronik_request_seconds_count{api="Produce"}`); n < 5 {
		t.Fatalf("%v produce requests counted, want at least 5", n)
	}
	if n := metricValue(t, body, `chronik_connections{listener="PLAINTEXT"}`); n < 1 {
		t.Fatalf("%v connections with a client connected", n)
	}
	parts := metricValue(t, body, `chronik_partitions{shard="0"}`) + metricValue(t, body, `chronik_partitions{shard="1"}`)
	if parts != 1 {
		t.Fatalf("%v partitions over the shards, want the auto-created topic's 1", parts)
	}
	if v := metricValue(t, body, `chronik_shard_activity_running_seconds{activity="sync",shard="0"}`); v != 0 {
		t.Fatalf("sync running for %vs on an idle broker", v)
	}
	for _, want := range []string{"chronik_fdatasyncs_total", "chronik_sync_stalls_total", "go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(body, "\n"+want+" ") {
			t.Errorf("/metrics has no %s", want)
		}
	}
	cl.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body = httpGet(t, base+"/metrics")
		if metricValue(t, body, `chronik_connections{listener="PLAINTEXT"}`) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connections still counted 10 s after the client closed:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	bp.stop()
}
