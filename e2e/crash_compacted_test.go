package e2e

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The kill cycles of TestCrashKillNineLosesNothingAcknowledged on a
// compacted topic whose cleaner runs all the time (64 KiB segments, a
// cleaner that looks again after 20 ms and cleans at any dirty share), so
// that kills land inside cleaning passes and their segment swaps. A
// compacted log keeps only each key's last record, so what must hold after
// every crash is: each key's last acknowledged record, or a later record of
// that key, is still there; every acknowledged record read is where it was
// acknowledged; offsets only grow and no record is stored twice. Every tenth
// record of a key is a tombstone (kept: delete.retention.ms is a day). Both
// sync paths: the shard's WAL, and each partition's file synced directly.
func TestCrashKillNineCompactedTopicKeepsEachKeysLast(t *testing.T) {
	for _, wal := range []bool{true, false} {
		t.Run("wal="+strconv.FormatBool(wal), func(t *testing.T) { compactedCrashCycles(t, wal) })
	}
}

func compactedCrashCycles(t *testing.T, wal bool) {
	bp := startBinary(t, "log.flush.policy=always", "num.shards=2", "log.segment.bytes=65536",
		"log.flush.wal.enable="+strconv.FormatBool(wal), "log.flush.wal.min.partitions=1", "log.flush.wal.checkpoint.bytes=1048576",
		"log.cleaner.backoff.ms=20", "log.cleaner.min.cleanable.ratio=0.01", "log.cleaner.io.max.bytes.per.second=1073741824")
	const topic, partitions, keys = "crash-compacted", 3, 40
	policy := "compact"
	createTopicWith(t, bp.addr, topic, partitions, map[string]*string{"cleanup.policy": &policy})

	acked := newAckLog(headerID)
	opts := []kgo.Opt{kgo.ProducerBatchCompression(kgo.NoCompression())}
	st := runKillCycles(t, bp, topic, partitions, opts, acked, func(cycle, i int) *kgo.Record {
		id := fmt.Sprintf("c%d-r%d", cycle, i)
		// Half the keys live on across cycles; the other half are the
		// cycle's own, so that their last records end up in segments
		// that later cycles clean.
		key := fmt.Appendf(nil, "k%d", i%keys)
		if i%2 == 1 {
			key = fmt.Appendf(nil, "c%d-k%d", cycle, i%keys)
		}
		r := &kgo.Record{Key: key, Headers: []kgo.RecordHeader{{Key: "id", Value: []byte(id)}}}
		if (i/keys)%10 != 9 {
			r.Value = paddedValue([]byte(id), 256)
		}
		return r
	})

	seen := map[string]bool{}
	lastOffset := map[int32]int64{}
	newestByKey := map[partitionKey]int64{} // offset of each key's newest record read
	readStart := time.Now()
	read := readBack(t, bp, topic, partitions, func(r *kgo.Record) {
		if last, ok := lastOffset[r.Partition]; ok && r.Offset <= last {
			t.Fatalf("partition %d: offset %d after %d", r.Partition, r.Offset, last)
		}
		lastOffset[r.Partition] = r.Offset
		id := headerID(r)
		if seen[id] {
			t.Fatalf("record %s stored twice", id)
		}
		seen[id] = true
		acked.checkPlace(t, id, r)
		newestByKey[partitionKey{r.Partition, string(r.Key)}] = r.Offset
	})
	for pk, last := range acked.lastByKey {
		if newest, ok := newestByKey[pk]; !ok || newest < last.offset {
			t.Fatalf("key %s: last acknowledged record %s (partition %d offset %d) lost; newest record of the key read: offset %d (found: %v)",
				pk.key, last.id, last.partition, last.offset, newest, ok)
		}
	}
	if len(acked.byID) == 0 {
		t.Fatal("no record was acknowledged in any cycle: the test proved nothing")
	}
	ends := endOffsets(t, bp.addr, topic, partitions)
	stored := int64(0)
	for _, e := range ends {
		stored += e
	}
	if read >= stored {
		t.Fatalf("read %d records of %d offsets: the cleaner removed nothing, so the test proved nothing about crashes during compaction", read, stored)
	}
	t.Logf("%d cycles (%d stops graceful), %d records acknowledged, %d offsets written, %d records left after compaction, read back in %v; %d kills found a cleaning pass's files, %d restarts finished an interrupted swap, %d rolled segments torn before their seal, %d restarts replayed batches from the WAL",
		st.cycles, st.gracefulStops, len(acked.byID), stored, read, time.Since(readStart).Round(time.Second), st.midClean, st.swapsFinished, st.rolledTorn, st.replayed)
}

// headerID is a compacted crash-test record's id, from its "id" header
// (tombstones have no value to carry it).
func headerID(r *kgo.Record) string {
	for _, h := range r.Headers {
		if h.Key == "id" {
			return string(h.Value)
		}
	}
	return ""
}
