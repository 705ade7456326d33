package e2e

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The foundation scenario: 100,000 records with keys, values, headers and
// timestamps over 6 partitions, produced idempotently, survive a restart and
// read back exactly, in order per partition.
func TestFranzProduceRestartConsume100k(t *testing.T) {
	bp := startBinary(t)
	const topic, partitions, n = "franz-100k", 6, 100_000
	createTopic(t, bp.addr, topic, partitions)
	led := produceFranz(t, bp.addr, topic, n)
	if len(led.parts) != partitions {
		t.Fatalf("records landed on %d partitions, want %d", len(led.parts), partitions)
	}
	bp.restart()
	consumeFranzAndVerify(t, bp.addr, topic, partitions, led)
}

// A broker killed without warning recovers every record the page cache held
// and keeps offsets contiguous for the next producer.
func TestFranzKillNineRecovery(t *testing.T) {
	bp := startBinary(t)
	const topic, partitions, n = "franz-kill", 3, 5_000
	createTopic(t, bp.addr, topic, partitions)
	led := produceFranz(t, bp.addr, topic, n, kgo.ProducerBatchCompression(kgo.ZstdCompression()))
	bp.kill()
	bp.start()
	consumeFranzAndVerify(t, bp.addr, topic, partitions, led)
}
