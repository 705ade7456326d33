package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-go/chronik/engine/partlog"
	"github.com/chronik-go/chronik/uring"
)

// The clean-shutdown state replaces per-partition files only where a syncfs
// makes the whole filesystem durable first: Linux.

// partitionFiles lists a partition directory's file names.
func partitionFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// A graceful stop leaves each written partition's checkpoint, index tails
// and producers in the one marker file, and creates none in the partition
// directories; the next start opens every partition from it, reading no
// segment, with duplicate detection intact.
func TestGracefulStopKeepsStateInOneFile(t *testing.T) {
	files := newFaultOpener(uring.PwriteOpener{})
	tb := startBrokerWith(t, files)
	createTestTopic(t, tb, "state", 3)
	cl := tb.client()
	var firsts [3]int64
	for p := int32(0); p < 3; p++ {
		r := produceRaw(t, cl, "state", p, 11, rawBatch(4, 11+int64(p), 0, 0))
		if r.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(r.ErrorCode))
		}
		firsts[p] = r.BaseOffset
	}
	cl.Close()
	tb.stop()

	for p := 0; p < 3; p++ {
		dir := partitionDir(tb.dir, partKey{"state", int32(p)})
		// The segment, and the owner file written with the directory.
		if got := partitionFiles(t, dir); !slices.Equal(got, []string{"00000000000000000000.log", partlog.OwnerFileName}) {
			t.Fatalf("partition %d holds %v after a graceful stop, want only its segment and owner file", p, got)
		}
	}
	st, found, err := readCleanStateFile(filepath.Join(tb.dir, cleanShutdownMarker))
	if err != nil || !found || st == nil {
		t.Fatalf("clean-shutdown marker: found %v, state %v, err %v", found, st, err)
	}
	for p := 0; p < 3; p++ {
		e, ok := st.Partitions[filepath.Base(partitionDir(tb.dir, partKey{"state", int32(p)}))]
		if !ok || e.Log.Next != 4 || e.Log.ActiveBase != 0 || e.Producers[11+int64(p)] == nil {
			t.Fatalf("marker entry for partition %d: %+v (present %v)", p, e, ok)
		}
	}

	files.logReads.Store(0)
	tb.open()
	if n := files.logReads.Load(); n != 0 {
		t.Fatalf("the clean start read segment data %d times", n)
	}
	if _, err := os.Stat(filepath.Join(tb.dir, cleanShutdownMarker)); !os.IsNotExist(err) {
		t.Fatalf("the marker outlived the start that used it (stat: %v)", err)
	}
	if _, err := os.Stat(filepath.Join(tb.dir, lastCleanStateFile)); err != nil {
		t.Fatalf("the last clean state was not kept: %v", err)
	}
	fromState := 0
	for _, s := range tb.b.shards {
		onShard(t, s, func(s *shard) {
			for _, p := range s.parts {
				if p.key.topic == "state" && p.log.OpenedFromState() {
					fromState++
				}
			}
		})
	}
	if fromState != 3 {
		t.Fatalf("%d of 3 partitions opened from the clean-shutdown state", fromState)
	}
	cl = tb.client()
	for p := int32(0); p < 3; p++ {
		retry := produceRaw(t, cl, "state", p, 11, rawBatch(4, 11+int64(p), 0, 0))
		if retry.ErrorCode != 0 || retry.BaseOffset != firsts[p] {
			t.Fatalf("partition %d: retried batch %v at %d, want a duplicate at %d", p, kerr.ErrorForCode(retry.ErrorCode), retry.BaseOffset, firsts[p])
		}
		next := produceRaw(t, cl, "state", p, 11, rawBatch(2, 11+int64(p), 0, 4))
		if next.ErrorCode != 0 || next.BaseOffset != 4 {
			t.Fatalf("partition %d: next batch %v at %d, want offset 4", p, kerr.ErrorForCode(next.ErrorCode), next.BaseOffset)
		}
	}
	if n := len(consumeAll(t, tb, "state")); n != 6 {
		t.Fatalf("partition 0 holds %d records, want 6", n)
	}
}

// After a crash the producer snapshots kept from the last clean shutdown
// are where replay starts: a producer last seen before that shutdown, longer
// ago than producer.id.expiration.ms, is expired rather than replayed as if
// seen at the restart. (The crash is a graceful stop whose marker is then
// removed: the files are as a crash after that stop's writes leaves them.)
func TestCrashRestoresProducersFromLastCleanState(t *testing.T) {
	tb := startBroker(t, "producer.id.expiration.ms=2000") // checked every ten minutes
	createTestTopic(t, tb, "after-crash", 1)
	cl := tb.client()
	if r := produceRaw(t, cl, "after-crash", 0, 11, rawBatch(3, 21, 0, 0)); r.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(r.ErrorCode))
	}
	cl.Close()
	seenFirst := time.Now()
	tb.restart() // the marker becomes the last clean state
	time.Sleep(time.Until(seenFirst.Add(2200 * time.Millisecond)))
	cl = tb.client()
	if r := produceRaw(t, cl, "after-crash", 0, 11, rawBatch(2, 22, 0, 0)); r.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(r.ErrorCode))
	}
	cl.Close()
	tb.stop()
	if err := os.Remove(filepath.Join(tb.dir, cleanShutdownMarker)); err != nil {
		t.Fatal(err)
	}
	tb.open()
	if got := activeProducers(t, tb, "after-crash", 0); len(got) != 1 || got[0] != 22 {
		t.Fatalf("producers after the crash: %v, want only 22 (21 was last seen %v ago)", got, time.Since(seenFirst).Round(time.Millisecond))
	}
	if n := len(consumeAll(t, tb, "after-crash")); n != 5 {
		t.Fatalf("%d records after the crash, want 5", n)
	}
}

// A state entry is for one incarnation of a topic: a topic deleted and
// created again under the same name does not take the old one's producers.
func TestLastCleanStateIgnoresRecreatedTopic(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "again", 1)
	cl := tb.client()
	if r := produceRaw(t, cl, "again", 0, 11, rawBatch(3, 31, 0, 0)); r.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(r.ErrorCode))
	}
	cl.Close()
	tb.restart() // the last clean state holds the first "again" with producer 31 at offset 3
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := tb.admin().DeleteTopics(ctx, "again"); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		res, err := tb.admin().CreateTopic(ctx, 1, 1, nil, "again")
		if err == nil {
			err = res.Err
		}
		return err
	})
	cl = tb.client()
	if r := produceRaw(t, cl, "again", 0, 11, rawBatch(5, 32, 0, 0)); r.ErrorCode != 0 || r.BaseOffset != 0 {
		t.Fatalf("produce to the new topic: %v at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	cl.Close()
	tb.stop()
	if err := os.Remove(filepath.Join(tb.dir, cleanShutdownMarker)); err != nil {
		t.Fatal(err)
	}
	tb.open()
	if got := activeProducers(t, tb, "again", 0); len(got) != 1 || got[0] != 32 {
		t.Fatalf("producers of the new topic after a crash: %v, want only 32", got)
	}
}

// A marker that does not decode is not trusted: every partition is
// recovered from its segments, and nothing is lost.
func TestCorruptMarkerRecoversEveryPartition(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "corrupt", 1)
	cl := tb.client()
	first := produceRaw(t, cl, "corrupt", 0, 11, rawBatch(3, 41, 0, 0))
	if first.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(first.ErrorCode))
	}
	cl.Close()
	tb.stop()
	marker := filepath.Join(tb.dir, cleanShutdownMarker)
	b, err := os.ReadFile(marker)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-2] ^= 0xff
	if err := os.WriteFile(marker, b, 0o644); err != nil {
		t.Fatal(err)
	}
	tb.open()
	for _, s := range tb.b.shards {
		onShard(t, s, func(s *shard) {
			for _, p := range s.parts {
				if p.log.OpenedFromState() {
					t.Errorf("%s-%d opened from a corrupt marker", p.key.topic, p.key.partition)
				}
			}
		})
	}
	cl = tb.client()
	if retry := produceRaw(t, cl, "corrupt", 0, 11, rawBatch(3, 41, 0, 0)); retry.ErrorCode != 0 || retry.BaseOffset != first.BaseOffset {
		t.Fatalf("retried batch: %v at %d, want a duplicate at %d", kerr.ErrorForCode(retry.ErrorCode), retry.BaseOffset, first.BaseOffset)
	}
	if n := len(consumeAll(t, tb, "corrupt")); n != 3 {
		t.Fatalf("%d records, want 3", n)
	}
}

// A segment roll writes a producer snapshot at the new segment's base, so a
// broker that crashes without ever having stopped cleanly replays producer
// state from the active segment, not from the log's start: a producer whose
// batches all lie below the roll and who was last seen longer ago than
// producer.id.expiration.ms is expired, not replayed as if seen at the
// restart.
func TestSegmentRollSnapshotsProducers(t *testing.T) {
	tb := startBroker(t, "producer.id.expiration.ms=2000", "log.segment.bytes=1024")
	createTestTopic(t, tb, "rolls", 1)
	cl := tb.client()
	if r := produceRaw(t, cl, "rolls", 0, 11, rawBatch(3, 51, 0, 0)); r.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(r.ErrorCode))
	}
	seenFirst := time.Now()
	time.Sleep(2200 * time.Millisecond)
	// 120 records do not fit in the first segment's remaining space: a roll.
	if r := produceRaw(t, cl, "rolls", 0, 11, rawBatch(120, 52, 0, 0)); r.ErrorCode != 0 || r.BaseOffset != 3 {
		t.Fatalf("second batch: %v at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	cl.Close()
	dir := partitionDir(tb.dir, partKey{"rolls", 0})
	if logs, _ := filepath.Glob(filepath.Join(dir, "*.log")); len(logs) != 2 {
		t.Fatalf("partition files %v, want two segments", partitionFiles(t, dir))
	}
	stopLeavingNoCleanState(t, tb)
	tb.open()
	if got := activeProducers(t, tb, "rolls", 0); len(got) != 1 || got[0] != 52 {
		t.Fatalf("producers after the crash: %v, want only 52 (51 was last seen %v ago, below the roll)", got, time.Since(seenFirst).Round(time.Millisecond))
	}
	cl = tb.client()
	if r := produceRaw(t, cl, "rolls", 0, 11, rawBatch(120, 52, 0, 0)); r.ErrorCode != 0 || r.BaseOffset != 3 {
		t.Fatalf("retried batch of 52: %v at %d, want a duplicate at 3", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
}

// A snapshot from the last clean shutdown is not used for a log that, after
// a crash, ends below it (its batches were lost): a batch the producer
// retries is then stored, not answered as a duplicate of a batch the log no
// longer holds.
func TestLastCleanStatePastLogEndIsNotUsed(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "lost", 1)
	cl := tb.client()
	for seq := int32(0); seq < 6; seq += 3 {
		if r := produceRaw(t, cl, "lost", 0, 11, rawBatch(3, 71, 0, seq)); r.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(r.ErrorCode))
		}
	}
	cl.Close()
	tb.restart() // the last clean state: producer 71 at sequence 5, offset 6
	tb.stop()
	if err := os.Remove(filepath.Join(tb.dir, cleanShutdownMarker)); err != nil {
		t.Fatal(err)
	}
	// The second batch is lost, as a disk that dropped it would leave the log.
	seg := filepath.Join(partitionDir(tb.dir, partKey{"lost", 0}), "00000000000000000000.log")
	if err := os.Truncate(seg, int64(len(rawBatch(3, 71, 0, 0)))); err != nil {
		t.Fatal(err)
	}
	tb.open()
	cl = tb.client()
	if r := produceRaw(t, cl, "lost", 0, 11, rawBatch(3, 71, 0, 3)); r.ErrorCode != 0 || r.BaseOffset != 3 {
		t.Fatalf("retried lost batch: %v at %d, want it stored at 3", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	if n := len(consumeAll(t, tb, "lost")); n != 6 {
		t.Fatalf("%d records after the retry, want 6 (the lost batch answered as a duplicate?)", n)
	}
}

// A roll snapshot that a crash leaves past the log's end (a power cut took
// the rolled segment's tail, and the later segment with it) is removed, not
// only skipped: kept, it would pass for the state at its offset once the
// log grows past that offset again with other batches.
func TestSnapshotPastLogEndIsRemoved(t *testing.T) {
	tb := startBroker(t, "log.segment.bytes=1024")
	createTestTopic(t, tb, "cut", 1)
	cl := tb.client()
	for i := 0; i < 2; i++ {
		if r := produceRaw(t, cl, "cut", 0, 11, rawBatch(120, 61, 0, int32(120*i))); r.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(r.ErrorCode))
		}
	}
	cl.Close()
	stopLeavingNoCleanState(t, tb)
	dir := partitionDir(tb.dir, partKey{"cut", 0})
	snapshot := filepath.Join(dir, producerStateFile)
	if _, err := os.Stat(snapshot); err != nil {
		t.Fatalf("no roll snapshot: %v", err)
	}
	for _, suffix := range []string{".log", ".index", ".timeindex"} {
		os.Remove(filepath.Join(dir, fmt.Sprintf("%020d%s", 120, suffix)))
	}
	if err := os.Truncate(filepath.Join(dir, fmt.Sprintf("%020d.log", 0)), 100); err != nil {
		t.Fatal(err)
	}
	tb.open()
	if _, err := os.Stat(snapshot); !os.IsNotExist(err) {
		t.Fatalf("producer snapshot at 120 kept after recovery ended the log at 0: %v", err)
	}
	if got := activeProducers(t, tb, "cut", 0); len(got) != 0 {
		t.Fatalf("producers %v after the log lost every batch, want none", got)
	}
}

// A partition without idempotent producers gets an (empty) snapshot at a
// roll too, or a crash would replay it from the log's start.
func TestSegmentRollSnapshotsWithoutProducers(t *testing.T) {
	tb := startBroker(t, "log.segment.bytes=1024")
	createTestTopic(t, tb, "plain", 1)
	cl := tb.client()
	for i := 0; i < 2; i++ {
		if r := produceRaw(t, cl, "plain", 0, 11, rawBatch(120, -1, -1, -1)); r.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(r.ErrorCode))
		}
	}
	raw, err := os.ReadFile(filepath.Join(partitionDir(tb.dir, partKey{"plain", 0}), producerStateFile))
	if err != nil {
		t.Fatalf("no producer snapshot after a roll: %v", err)
	}
	var snap producerSnapshot
	if err := json.Unmarshal(raw, &snap); err != nil || snap.Offset != 120 || len(snap.Producers) != 0 {
		t.Fatalf("snapshot %s (%v), want an empty one at offset 120", raw, err)
	}
}

// Producer state whose restore failed (here: its snapshot file unreadable
// while the log takes back a failed write) is not written into the
// clean-shutdown file: the next start rebuilds it from the log, and a
// retried batch is still a duplicate.
func TestUnreliableProducerStateIsNotKept(t *testing.T) {
	files := newFaultOpener(uring.PwriteOpener{})
	// Without the WAL (log.flush.policy=interval) a failed write is taken
	// back at once and producer state restored.
	tb := startBrokerWith(t, files)
	createTestTopic(t, tb, "shaky", 1)
	cl := tb.client()
	first := produceRaw(t, cl, "shaky", 0, 11, rawBatch(3, 81, 0, 0))
	if first.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(first.ErrorCode))
	}
	unreadable := filepath.Join(partitionDir(tb.dir, partKey{"shaky", 0}), producerStateFile)
	if err := os.Mkdir(unreadable, 0o755); err != nil {
		t.Fatal(err)
	}
	files.setWrite("shaky-0", syscall.EIO)
	if r := produceRaw(t, cl, "shaky", 0, 11, rawBatch(3, 81, 0, 3)); r.ErrorCode == 0 {
		t.Fatal("a write fault was not reported")
	}
	files.setWrite("shaky-0", nil)
	if err := os.Remove(unreadable); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	tb.stop()
	st, _, err := readCleanStateFile(filepath.Join(tb.dir, cleanShutdownMarker))
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := st.Partitions["shaky-0"]; ok {
		t.Fatalf("the clean-shutdown file kept unreliable producer state %+v", e.Producers)
	}
	tb.open()
	cl = tb.client()
	if r := produceRaw(t, cl, "shaky", 0, 11, rawBatch(3, 81, 0, 0)); r.ErrorCode != 0 || r.BaseOffset != first.BaseOffset {
		t.Fatalf("retried first batch after the restart: %v at %d, want a duplicate at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset, first.BaseOffset)
	}
}

// stopLeavingNoCleanState stops the broker and removes what a clean stop
// leaves (the marker, the last clean state): the next start is as after a
// crash that no clean shutdown preceded.
func stopLeavingNoCleanState(t *testing.T, tb *testBroker) {
	t.Helper()
	tb.stop()
	for _, f := range []string{cleanShutdownMarker, lastCleanStateFile} {
		if err := os.Remove(filepath.Join(tb.dir, f)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
}

// A shutdown whose final syncfs stalls (a dying disk) gives up after its
// limit instead of hanging the stop: it reports the error, writes no
// clean-shutdown marker and keeps the WAL, and the next start recovers
// every acknowledged record as after a crash.
func TestStalledShutdownSyncIsBounded(t *testing.T) {
	var stall atomic.Bool
	release := make(chan struct{})
	defer close(release)
	syncfs := func(f *os.File) error {
		if stall.Load() {
			<-release
			return nil
		}
		return syncFilesystem(f)
	}
	tb := launchBroker(&testBroker{t: t, dir: t.TempDir(), syncfs: syncfs, sets: []string{"io.timeout.ms=300",
		"shutdown.timeout.ms=300", "log.flush.policy=always", "num.shards=1", "log.flush.wal.min.partitions=1"}})
	createTestTopic(t, tb, "stall", 1)
	cl := tb.client()
	if r := produceRaw(t, cl, "stall", 0, 11, rawBatch(5, -1, -1, -1)); r.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(r.ErrorCode))
	}
	cl.Close()
	stall.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tb.shutdownListeners(ctx)
	start := time.Now()
	err := tb.b.Close()
	if err == nil || !strings.Contains(err.Error(), "did not finish") {
		t.Fatalf("close over a stalled syncfs: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("close took %v with io.timeout.ms=300", took)
	}
	if err := tb.store.Close(); err != nil {
		t.Fatal(err)
	}
	tb.b = nil
	if _, err := os.Stat(filepath.Join(tb.dir, cleanShutdownMarker)); !os.IsNotExist(err) {
		t.Fatalf("clean-shutdown marker after a failed sync: %v", err)
	}
	if wals, _ := filepath.Glob(filepath.Join(tb.dir, walDirName, "*")); len(wals) == 0 {
		t.Fatal("the WAL was removed although the filesystem sync did not finish")
	}
	tb.syncfs = nil // the disk is well again
	tb.open()
	ends, err := tb.admin().ListEndOffsets(adminCtx(t), "stall")
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := ends.Lookup("stall", 0); e.Offset != 5 {
		t.Fatalf("end offset %d after the recovering start, want 5", e.Offset)
	}
}
