package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// clusterID asks the broker at addr for the cluster ID its metadata reports.
func clusterID(t *testing.T, addr string) string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	md, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	return md.Cluster
}

// Without cluster.id the broker generates one at its first start and keeps
// it: clients see the same cluster after a graceful restart and after
// kill -9.
func TestGeneratedClusterIDSurvivesRestarts(t *testing.T) {
	bp := startBinary(t)
	id := clusterID(t, bp.addr)
	if id == "" {
		t.Fatal("the broker reports no cluster id")
	}
	bp.restart()
	if got := clusterID(t, bp.addr); got != id {
		t.Fatalf("cluster id after a graceful restart = %q, want %q", got, id)
	}
	bp.kill()
	bp.start()
	if got := clusterID(t, bp.addr); got != id {
		t.Fatalf("cluster id after kill -9 = %q, want %q", got, id)
	}
}
