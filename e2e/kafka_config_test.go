package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Kafka's own KRaft server.properties starts the binary unchanged but for
// its ports and data directory: clients are served on its PLAINTEXT
// listener, its CONTROLLER listener is not bound (Chronik's metadata
// quorum is in-process), and the keys Chronik has no use for are named in
// warnings.
func TestKafkaServerPropertiesStartTheBroker(t *testing.T) {
	props, err := os.ReadFile("../engine/config/testdata/kafka-kraft-server.properties")
	if err != nil {
		t.Fatal(err)
	}
	bp := &brokerProc{t: t, dataDir: t.TempDir(), addr: freeAddr(t)}
	controller := freeAddr(t)
	_, port, _ := net.SplitHostPort(bp.addr)
	_, controllerPort, _ := net.SplitHostPort(controller)
	file := strings.NewReplacer(
		"PLAINTEXT://:9092", "PLAINTEXT://127.0.0.1:"+port,
		"PLAINTEXT://localhost:9092", "PLAINTEXT://127.0.0.1:"+port,
		":9093", ":"+controllerPort,
		"log.dirs=/tmp/kraft-combined-logs", "log.dirs="+bp.dataDir,
	).Replace(string(props))
	path := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	bp.args = []string{"--config", path}
	bp.launch()

	produceAndReadBack(t, bp.addr, "from-kafka-config", 5)
	if c, err := net.DialTimeout("tcp", controller, time.Second); err == nil {
		c.Close()
		t.Fatalf("the controller listener %s is bound", controller)
	}
	logs := bp.stderr.String()
	for _, key := range []string{"process.roles", "num.io.threads", "offsets.topic.replication.factor"} {
		if !strings.Contains(logs, "Kafka config key taken and not used") || !strings.Contains(logs, "key="+key) {
			t.Fatalf("no warning names %s:\n%s", key, logs)
		}
	}
}
