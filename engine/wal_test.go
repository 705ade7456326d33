package engine

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// A shard uses its WAL only while its turns spread over
// log.flush.wal.min.partitions partitions (8 by default), and goes back and
// forth as the load changes; acknowledged batches survive every switch.
func TestShardSwitchesBetweenWALAndDirectSyncs(t *testing.T) {
	tb := startBroker(t, "num.shards=1", "log.flush.policy=always")
	createTestTopic(t, tb, "narrow", 1)
	createTestTopic(t, tb, "wide", 16)
	cl := fetchClient(tb)
	acked := map[partKey][]int64{}
	produce := func(topic string, part int32) {
		t.Helper()
		p := produceRaw(t, cl, topic, part, 11, rawBatch(2, -1, -1, -1))
		if p.ErrorCode != 0 {
			t.Fatalf("produce to %s-%d: %v", topic, part, kerr.ErrorForCode(p.ErrorCode))
		}
		k := partKey{topic, part}
		acked[k] = append(acked[k], p.BaseOffset)
	}
	narrow := func() {
		for range 2 * walWindowTurns {
			produce("narrow", 0)
		}
	}
	narrow()
	if n := tb.b.Metrics().WALSyncs; n != 0 {
		t.Fatalf("one partition's turns went through the WAL (%d syncs)", n)
	}
	for i := range 3 * walWindowTurns {
		produce("wide", int32(i%16))
	}
	wide := tb.b.Metrics().WALSyncs
	if wide == 0 {
		t.Fatal("turns over 16 partitions never went through the WAL")
	}
	narrow()
	// The window that saw the switch back may still have used the WAL;
	// the one after it must not.
	before := tb.b.Metrics().WALSyncs
	narrow()
	if n := tb.b.Metrics().WALSyncs; n != before {
		t.Fatalf("the WAL was still used %d times after the load narrowed to one partition", n-before)
	}
	tb.restart()
	cl = fetchClient(tb)
	for k, offs := range acked {
		if stored := readPartitionBatchOffsets(t, cl, k.topic, k.partition); !slices.Equal(stored, offs) {
			t.Fatalf("%s-%d holds %v after restart, want the acknowledged %v", k.topic, k.partition, stored, offs)
		}
	}
}
