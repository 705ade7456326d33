//go:build cgo

package e2e

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/chronik-go/chronik/internal/testpki"
)

// librdkafka (confluent-kafka-go) on the SSL listener with a client
// certificate, configured as its users do (security.protocol=ssl and PEM
// files): an idempotent produce and a group's read back.
func TestConfluentGoOverSSL(t *testing.T) {
	pki := testpki.New(t)
	dir := t.TempDir()
	caFile, keystoreFile := pki.WriteFiles(t, dir)
	bp := startBinaryListener(t, "SSL", "ssl.keystore.location="+keystoreFile,
		"ssl.truststore.location="+caFile, "ssl.client.auth=required")
	certPEM, keyPEM := pki.Issue(t, "librdkafka", x509.ExtKeyUsageClientAuth)
	certFile, keyFile := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	confluentRoundTrip(t, "ssl-rdkafka", kafka.ConfigMap{
		"bootstrap.servers":        bp.addr,
		"security.protocol":        "ssl",
		"ssl.ca.location":          caFile,
		"ssl.certificate.location": certFile,
		"ssl.key.location":         keyFile,
	})
}

// librdkafka on a SASL_SSL listener with PLAIN, as Confluent Cloud's
// clients are configured (security.protocol=sasl_ssl, sasl.mechanisms=PLAIN,
// sasl.username and sasl.password); a wrong password gets no delivery.
func TestConfluentGoOverSASLSSL(t *testing.T) {
	pki := testpki.New(t)
	caFile, keystoreFile := pki.WriteFiles(t, t.TempDir())
	bp := startBinaryListener(t, "SASL_SSL", "ssl.keystore.location="+keystoreFile,
		"listener.name.sasl_ssl.plain.sasl.jaas.config="+saslUsers)
	confluentSASLSSL(t, bp.addr, caFile, "PLAIN", "alice", "alice-secret", "sasl-ssl-rdkafka")
}

// librdkafka logging in with SCRAM-SHA-512 on a SASL_SSL listener whose
// users were made through the broker's other, plaintext listener with
// AlterUserScramCredentials (franz-go's kadm, as kafka-configs
// --entity-type users --add-config 'SCRAM-SHA-512=[password=...]' does).
func TestConfluentGoSCRAMOverSASLSSL(t *testing.T) {
	pki := testpki.New(t)
	caFile, keystoreFile := pki.WriteFiles(t, t.TempDir())
	bp := &brokerProc{t: t, dataDir: t.TempDir(), addr: freeAddr(t)}
	internal := freeAddr(t)
	for _, s := range []string{
		"listeners=SASL_SSL://" + bp.addr + ",INTERNAL://" + internal,
		"listener.security.protocol.map=SASL_SSL:SASL_SSL,INTERNAL:PLAINTEXT",
		"listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512",
		"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
		"ssl.keystore.location=" + keystoreFile,
		"log.dirs=" + bp.dataDir,
	} {
		bp.args = append(bp.args, "--set", s)
	}
	bp.launch()

	admin, err := kgo.NewClient(kgo.SeedBrokers(internal))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	altered, err := kadm.NewClient(admin).AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{
		{User: "carol", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "carol-secret"}})
	if err != nil || altered["carol"].Err != nil {
		t.Fatalf("create the SCRAM user: %v %+v", err, altered)
	}
	confluentSASLSSL(t, bp.addr, caFile, "SCRAM-SHA-512", "carol", "carol-secret", "scram-rdkafka")
}

// confluentSASLSSL logs librdkafka in over SASL_SSL with mechanism, as its
// users configure it (security.protocol, sasl.mechanisms, sasl.username,
// sasl.password), round-trips records through topic, and checks that the
// same set-up with a wrong password gets none delivered.
func confluentSASLSSL(t *testing.T, addr, caFile, mechanism, user, password, topic string) {
	t.Helper()
	conf := kafka.ConfigMap{
		"bootstrap.servers": addr,
		"security.protocol": "sasl_ssl",
		"ssl.ca.location":   caFile,
		"sasl.mechanisms":   mechanism,
		"sasl.username":     user,
		"sasl.password":     password,
	}
	confluentRoundTrip(t, topic, conf)
	conf["sasl.password"] = "wrong"
	expectNoDelivery(t, conf, topic)
}

// expectNoDelivery checks that a producer configured with conf (a wrong
// password) gets no record delivered to topic.
func expectNoDelivery(t *testing.T, conf kafka.ConfigMap, topic string) {
	t.Helper()
	conf["message.timeout.ms"] = 3000
	p, err := kafka.NewProducer(&conf)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	deliveries := make(chan kafka.Event, 1)
	if err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny}, Value: []byte("x")}, deliveries); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-deliveries:
		if m := e.(*kafka.Message); m.TopicPartition.Error == nil {
			t.Fatal("a producer with a wrong password had its record delivered")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery report within 30s for a producer with a wrong password")
	}
}

// confluentRoundTrip produces 50 records idempotently with conf, waits for
// their delivery reports, and reads them back with a group consumer.
func confluentRoundTrip(t *testing.T, topic string, ssl kafka.ConfigMap) {
	t.Helper()
	producerConf := kafka.ConfigMap{"enable.idempotence": true, "acks": "all"}
	for k, v := range ssl {
		producerConf[k] = v
	}
	p, err := kafka.NewProducer(&producerConf)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const n = 50
	deliveries := make(chan kafka.Event, n)
	for i := range n {
		if err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Value: []byte{byte(i)}}, deliveries); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		select {
		case e := <-deliveries:
			if m := e.(*kafka.Message); m.TopicPartition.Error != nil {
				t.Fatalf("delivery over SSL: %v", m.TopicPartition.Error)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no delivery report within 30s over SSL")
		}
	}
	consumerConf := kafka.ConfigMap{"group.id": topic + "-group", "auto.offset.reset": "earliest"}
	for k, v := range ssl {
		consumerConf[k] = v
	}
	c, err := kafka.NewConsumer(&consumerConf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(topic, nil); err != nil {
		t.Fatal(err)
	}
	seen := map[byte]bool{}
	for deadline := time.Now().Add(30 * time.Second); len(seen) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("read %d of %d records over SSL within 30s", len(seen), n)
		}
		m, err := c.ReadMessage(time.Second)
		if err != nil {
			if kerr, ok := err.(kafka.Error); ok && kerr.IsTimeout() {
				continue
			}
			t.Fatalf("read over SSL: %v", err)
		}
		seen[m.Value[0]] = true
	}
}
