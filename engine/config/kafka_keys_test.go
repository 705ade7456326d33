package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Kafka's own KRaft server.properties loads unchanged: the controller
// listener is not bound, the client listener is advertised as Kafka
// advertises it, and the keys Chronik has no use for are named with why.
// Kafka 3's form (controller.quorum.voters, no advertised controller) too.
func TestKafkaServerProperties(t *testing.T) {
	dir := t.TempDir()
	kafka4, err := os.ReadFile("testdata/kafka-kraft-server.properties")
	if err != nil {
		t.Fatal(err)
	}
	kafkaKRaftProperties := string(kafka4)
	kafka3 := strings.NewReplacer(
		"controller.quorum.bootstrap.servers=localhost:9093", "controller.quorum.voters=1@localhost:9093",
		",CONTROLLER://localhost:9093", "").Replace(kafkaKRaftProperties)
	for name, props := range map[string]string{"Kafka 4": kafkaKRaftProperties, "Kafka 3": kafka3} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "")+".properties")
		if err := os.WriteFile(path, []byte(props), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load([]string{"--config", path}, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		specs, err := c.ListenerSpecs()
		want := []Listener{{Name: "PLAINTEXT", Protocol: "PLAINTEXT", Addr: ":9092", AdvertisedHost: "localhost", AdvertisedPort: 9092}}
		if err != nil || !reflect.DeepEqual(specs, want) {
			t.Fatalf("%s: listeners %+v, %v; want %+v", name, specs, err, want)
		}
		taken := map[string]bool{}
		for _, kv := range c.TakenKafkaKeys() {
			taken[kv[0]] = kv[1] != ""
		}
		for _, k := range []string{"process.roles", "num.io.threads", "socket.send.buffer.bytes", "offsets.topic.replication.factor", "inter.broker.listener.name"} {
			if !taken[k] {
				t.Fatalf("%s: %s not among the taken keys %v", name, k, c.TakenKafkaKeys())
			}
		}
		if c.NodeID != 1 || c.LogSegmentBytes != 1073741824 || c.LogDirs[0] != "/tmp/kraft-combined-logs" {
			t.Fatalf("%s: the keys Chronik has were not read: %+v", name, c)
		}
	}

	for _, bad := range []string{
		"process.roles=controller",
		"process.roles=broker,observer",
		"min.insync.replicas=2", // would change what clients see: not taken
		"controller.listener.names=PLAINTEXT",
	} {
		if _, err := Load(setArgs(bad), nil); err == nil {
			t.Fatalf("%s was taken", bad)
		}
	}
	c, err := Load(nil, []string{"CHRONIK_NUM_IO_THREADS=16"})
	if err != nil || c.KafkaKeys["num.io.threads"] != "16" {
		t.Fatalf("from the environment: %v, %v", c, err)
	}
}
