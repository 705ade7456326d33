package e2e

import (
	"fmt"
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The kill cycles of TestCrashKillNineLosesNothingAcknowledged on a topic
// whose retention deletes segments all the time (64 KiB segments, 256 KiB
// kept per partition, checked every 50 ms), so that kills land between a
// deletion and the log start offset it moves. After the last restart each
// partition must read contiguously from its log start offset to its end,
// and every acknowledged record at or above the log start must be where it
// was acknowledged, exactly once.
//
// Two producers: batches of at most 16 KiB, where each segment holds
// several and the checks of how much retention keeps hold; and franz-go's
// default batches (up to 1 MiB), where one unacknowledged batch fills the
// active segment alone and counts for all of retention.bytes, so retention
// may delete every acknowledged record before a kill tears that batch off
// and leaves the partition empty at its start, as Kafka's would. That case
// once made a clean start drop the empty segment and a crash then restart
// the log at offset 0 (partlog's TestEmptySegmentAtTheStartKeepsTheLogEnd).
func TestCrashKillNineRetainedTopicLosesNothingAboveLogStart(t *testing.T) {
	for _, c := range []struct {
		name     string
		batchMax int32 // 0: franz-go's default
	}{{"batches=16KiB", 16 << 10}, {"batches=default", 0}} {
		t.Run(c.name, func(t *testing.T) { testCrashRetainedTopic(t, c.batchMax) })
	}
}

func testCrashRetainedTopic(t *testing.T, batchMax int32) {
	bp := startBinary(t, "log.flush.policy=always", "num.shards=2", "log.segment.bytes=65536",
		"log.flush.wal.min.partitions=1", "log.flush.wal.checkpoint.bytes=1048576", "log.retention.check.interval.ms=50")
	const topic, partitions = "crash-retained", 3
	keep := strconv.Itoa(256 << 10)
	createTopicWith(t, bp.addr, topic, partitions, map[string]*string{"retention.bytes": &keep})

	acked := newAckLog(recordID)
	opts := []kgo.Opt{kgo.ProducerBatchCompression(kgo.NoCompression())}
	if batchMax > 0 {
		opts = append(opts, kgo.ProducerBatchMaxBytes(batchMax))
	}
	st := runKillCycles(t, bp, topic, partitions, opts, acked, func(cycle, i int) *kgo.Record {
		return &kgo.Record{Key: []byte(strconv.Itoa(i % 7)), Value: paddedValue(fmt.Appendf(nil, "c%d-r%d", cycle, i), 256)}
	})

	// The restarted broker's first retention checks may still move the
	// log starts: read from them once they hold still.
	starts := startOffsets(t, bp.addr, topic, partitions)
	for deadline := time.Now().Add(10 * time.Second); ; {
		time.Sleep(250 * time.Millisecond)
		again := startOffsets(t, bp.addr, topic, partitions)
		if maps.Equal(again, starts) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log start offsets still moving 10s after the last restart: %v, then %v", starts, again)
		}
		starts = again
	}
	seen := map[string]bool{}
	next := map[int32]int64{}
	read := readBack(t, bp, topic, partitions, func(r *kgo.Record) {
		want, ok := next[r.Partition]
		if !ok {
			want = starts[r.Partition]
		}
		if r.Offset != want {
			t.Fatalf("partition %d: offset %d where %d was next (log start %d)", r.Partition, r.Offset, want, starts[r.Partition])
		}
		next[r.Partition] = r.Offset + 1
		v := recordID(r)
		if seen[v] {
			t.Fatalf("record %s stored twice", v)
		}
		seen[v] = true
		acked.checkPlace(t, v, r)
	})
	kept, deleted := 0, 0
	for v, at := range acked.byID {
		if at[1] < starts[int32(at[0])] {
			deleted++
			continue
		}
		if !seen[v] {
			t.Fatalf("acknowledged record %s (partition %d offset %d) lost; log start offset %d", v, at[0], at[1], starts[int32(at[0])])
		}
		kept++
	}
	// Retention keeps the newest retention.bytes less at most one segment,
	// and a kill tears at most another segment's worth of unacknowledged
	// bytes off what it counted: 128 KiB of ~300-byte records, at least.
	ends := endOffsets(t, bp.addr, topic, partitions)
	for p, start := range starts {
		if batchMax > 0 && start > 0 && ends[p]-start < 256 {
			t.Fatalf("partition %d keeps offsets %d to %d: retention deleted more than retention.bytes asks", p, start, ends[p])
		}
	}
	if deleted == 0 || batchMax > 0 && kept == 0 {
		t.Fatalf("%d acknowledged records kept, %d deleted by retention: the test proved nothing", kept, deleted)
	}
	t.Logf("%d cycles (%d stops graceful), %d records acknowledged, %d deleted by retention, %d read back from log starts %v; %d rolled segments torn before their seal, %d restarts replayed batches from the WAL",
		st.cycles, st.gracefulStops, len(acked.byID), deleted, read, starts, st.rolledTorn, st.replayed)
}
