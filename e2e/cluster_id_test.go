package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// clusterID asks the broker at addr for the cluster ID its metadata reports.
func clusterID(t *testing.T, addr string) string {
	t.Helper()
	cl, ctx, done := briefClient(t, addr, 10*time.Second)
	defer done()
	md, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	return md.Cluster
}

// Without cluster.id the broker generates one at its first start and keeps
// it: clients see the same cluster after a graceful restart and after
// kill -9. Set to another ID the broker refuses the data; set to its own,
// it starts.
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
	bp.stop()

	// Configured with another cluster's ID, it refuses the data and says so.
	code, _, stderr := runToExit(t, append(bp.args, "--set", "cluster.id=another-cluster")...)
	if code == 0 {
		t.Fatalf("started another cluster's broker on this data; stderr:\n%s", stderr)
	}
	if got := lastLine(stderr); !strings.HasPrefix(got, "chronik: metadata") || !strings.Contains(got, id) || !strings.Contains(got, "another-cluster") {
		t.Fatalf("last line %q should name both cluster ids", got)
	}
	// Configured with its own ID, it starts.
	bp.args = append(bp.args, "--set", "cluster.id="+id)
	bp.start()
	if got := clusterID(t, bp.addr); got != id {
		t.Fatalf("cluster id with cluster.id set = %q, want %q", got, id)
	}
}
