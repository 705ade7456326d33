package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

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

// What a crash leaves behind: the data directory as it is on disk while the
// broker runs, with the WAL's entries durable and batches still staged in
// memory missing from the partition files. A broker started on a copy of
// it replays the WAL: every acknowledged batch is back, and entries of a
// topic deleted and re-created since are not replayed into the new one.
func TestWALReplayRestoresWhatACrashLost(t *testing.T) {
	sets := []string{"num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1"}
	tb := startBroker(t, sets...)
	createTestTopic(t, tb, "gone", 1)
	cl := fetchClient(tb)
	for range 3 {
		if code, _ := produceCode(t, cl, "gone"); code != 0 {
			t.Fatal(kerr.ErrorForCode(code))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := tb.admin().DeleteTopics(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	createTestTopic(t, tb, "gone", 1)
	createTestTopic(t, tb, "kept", 1)
	var acked []int64
	for range 3 {
		code, off := produceCode(t, cl, "kept")
		if code != 0 {
			t.Fatal(kerr.ErrorForCode(code))
		}
		acked = append(acked, off)
	}
	crashed := t.TempDir()
	if err := os.CopyFS(crashed, os.DirFS(tb.dir)); err != nil {
		t.Fatal(err)
	}
	if n := segmentBytes(t, filepath.Join(crashed, "kept-0")); n != 0 {
		t.Fatalf("the partition file already holds %d bytes: nothing left for the WAL to restore", n)
	}

	again := &testBroker{t: t, dir: crashed, sets: sets}
	again.open()
	t.Cleanup(again.stop)
	cl = fetchClient(again)
	if got := readBatchOffsets(t, cl, "kept"); !slices.Equal(got, acked) {
		t.Fatalf("after replay kept-0 holds %v, want the acknowledged %v", got, acked)
	}
	if got := readBatchOffsets(t, cl, "gone"); len(got) != 0 {
		t.Fatalf("the re-created topic got the deleted one's batches %v", got)
	}
}

// segmentBytes sums the sizes of a partition directory's .log files.
func segmentBytes(t *testing.T, dir string) int64 {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, l := range logs {
		st, err := os.Stat(l)
		if err != nil {
			t.Fatal(err)
		}
		n += st.Size()
	}
	return n
}
