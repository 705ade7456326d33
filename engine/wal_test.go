package engine

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/chronik-go/chronik/engine/config"
	"github.com/chronik-go/chronik/engine/partlog"
	"github.com/chronik-go/chronik/engine/walfile"
	"github.com/chronik-go/chronik/uring"
)

// A shard uses its WAL only while its turns spread over
// log.flush.wal.min.partitions partitions (8 by default) and its first WAL
// files are filled, and goes back and forth as the load changes;
// acknowledged batches survive every switch.
func TestShardSwitchesBetweenWALAndDirectSyncs(t *testing.T) {
	// The rate rule is off here: the narrow load below is light too.
	tb := startBroker(t, "num.shards=1", "log.flush.policy=always", "log.flush.wal.light.bytes.per.second=0")
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
	// The first wide window starts filling the shard's first WAL files
	// (wal_spare_fill.go); its turns sync directly until they are ready.
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; i < 3*walWindowTurns || tb.b.Metrics().WALSyncs == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatal("turns over 16 partitions never went through the WAL")
		}
		produce("wide", int32(i%16))
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

// A shard writing one partition uses its WAL while the load is light
// (log.flush.wal.light.bytes.per.second) and syncs the partition directly
// once it streams, and back; acknowledged batches survive every switch.
func TestShardUsesWALWhileLoadIsLight(t *testing.T) {
	// Light: a 2-record batch (about 80 bytes) every 5 ms or slower, under
	// 16 KB/s against a limit of 64 KiB/s. Heavy: a batch of about 50 KB
	// per fsynced produce, one at a time, which even at 30 ms a turn is
	// 1.6 MB/s: twelve times the 128 KiB/s (twice the limit) that leaving
	// the WAL takes.
	tb := startBroker(t, "num.shards=1", "log.flush.policy=always",
		"log.flush.wal.light.bytes.per.second=65536", "log.flush.wal.checkpoint.bytes=262144")
	createTestTopic(t, tb, "stream", 1)
	cl := fetchClient(tb)
	var acked []int64
	heavyBatch := rawBatch(6000, -1, -1, -1)
	produce := func(raw []byte) {
		t.Helper()
		p := produceRaw(t, cl, "stream", 0, 11, raw)
		if p.ErrorCode != 0 {
			t.Fatalf("produce: %v", kerr.ErrorForCode(p.ErrorCode))
		}
		acked = append(acked, p.BaseOffset)
	}
	// untilWAL produces lightly until the WAL takes the turns: its first
	// window syncs directly and its files are filled meanwhile.
	untilWAL := func(phase string) {
		t.Helper()
		before := tb.b.Metrics().WALSyncs
		deadline := time.Now().Add(30 * time.Second)
		for i := 0; i < 2*walWindowTurns || tb.b.Metrics().WALSyncs == before; i++ {
			if time.Now().After(deadline) {
				t.Fatalf("%s: a light load on one partition never went through the WAL", phase)
			}
			produce(rawBatch(2, -1, -1, -1))
			time.Sleep(5 * time.Millisecond)
		}
	}
	heavy := func() {
		for range walWindowTurns {
			produce(heavyBatch)
		}
	}
	untilWAL("at first")
	// The first heavy window may still use the WAL (it was chosen by the
	// light one before it); the one after it must not.
	heavy()
	heavy()
	before := tb.b.Metrics().WALSyncs
	heavy()
	if n := tb.b.Metrics().WALSyncs; n != before {
		t.Fatalf("the WAL was still used %d times while one partition streamed", n-before)
	}
	untilWAL("after streaming")
	tb.restart()
	cl = fetchClient(tb)
	if stored := readPartitionBatchOffsetsUpTo(t, cl, "stream", 0, 32<<20); !slices.Equal(stored, acked) {
		t.Fatalf("the partition holds %d batches after restart, want the %d acknowledged (%v... against %v...)",
			len(stored), len(acked), stored[:min(len(stored), 5)], acked[:5])
	}
}

// The rate rule's limits: under the limit is light; once the WAL was
// chosen for the rate alone it stays until twice the limit (but not when
// it was chosen for its partitions); 0 turns the rule off; the largest
// setting is light at any rate.
func TestWALLightRate(t *testing.T) {
	for _, c := range []struct {
		limit            int64
		bytes            int64
		wide, wideByRate bool
		want             bool
	}{
		{limit: 1000, bytes: 900, want: true},
		{limit: 1000, bytes: 1500, want: false},
		{limit: 1000, bytes: 1500, wide: true, wideByRate: true, want: true},
		{limit: 1000, bytes: 2500, wide: true, wideByRate: true, want: false},
		{limit: 1000, bytes: 1500, wide: true, want: false},
		{limit: 0, bytes: 1, want: false},
		{limit: math.MaxInt64, bytes: 1 << 40, wide: true, wideByRate: true, want: true},
	} {
		cfg := config.Defaults()
		cfg.WALLightBytesPerSecond = c.limit
		s := &shard{b: &Broker{cfg: cfg}, walWide: c.wide, walWideByParts: c.wide && !c.wideByRate, walWindowBytes: c.bytes}
		if got := s.walLight(time.Second); got != c.want {
			t.Errorf("limit %d B/s, %d bytes in a second, WAL chosen before %v (for its rate %v): light %v, want %v",
				c.limit, c.bytes, c.wide, c.wideByRate, got, c.want)
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
	crashed, acked := walOnlyCrashCopy(t, tb, cl, "kept")
	walDir := filepath.Join(crashed, walDirName)
	_, replayed := crashedWALFile(t, crashed)

	again := openCrashCopy(t, crashed, sets)
	cl = fetchClient(again)
	if got := readBatchOffsets(t, cl, "kept"); !slices.Equal(got, acked) {
		t.Fatalf("after replay kept-0 holds %v, want the acknowledged %v", got, acked)
	}
	// The replayed file, filled and now redundant, is the shard's spare
	// rather than deleted and filled again: the same file, its entries
	// still in it (a new fill holds zeros).
	spare := filepath.Join(walDir, walSpareName(0))
	info, err := os.Stat(spare)
	if err != nil {
		t.Fatal(err)
	}
	first, err := firstWALEntryGen(spare)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(info, replayed) || first == 0 {
		t.Errorf("the replayed WAL file %s did not become the shard's spare", replayed.Name())
	}
	if got := readBatchOffsets(t, cl, "gone"); len(got) != 0 {
		t.Fatalf("the re-created topic got the deleted one's batches %v", got)
	}
}

// DeleteRecords can move the log start inside a batch that only the WAL
// holds (written behind it); a crash then leaves a log whose file is below
// the start, which recovery empties. The replay puts the batch back whole:
// the records from the start on are there, at their offsets, and the next
// produce follows them instead of reusing their offsets.
func TestWALReplayRestoresABatchDeleteRecordsCutInto(t *testing.T) {
	sets := []string{"num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1"}
	tb := startBroker(t, sets...)
	createTestTopic(t, tb, "cut", 1)
	cl := fetchClient(tb)
	if p := produceRaw(t, cl, "cut", 0, 11, rawBatch(10, -1, -1, -1)); p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("produce: %v at %d", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dres, err := tb.admin().DeleteRecords(ctx, kadm.Offsets{"cut": {0: {Topic: "cut", Partition: 0, At: 5}}})
	if d, _ := dres.Lookup("cut", 0); err != nil || d.Err != nil || d.LowWatermark != 5 {
		t.Fatalf("delete records before 5: %v %+v", err, d)
	}
	crashed := t.TempDir()
	if err := os.CopyFS(crashed, os.DirFS(tb.dir)); err != nil {
		t.Fatal(err)
	}
	if n := segmentBytes(t, filepath.Join(crashed, "cut-0")); n != 0 {
		t.Fatalf("the partition file already holds %d bytes: nothing left for the WAL to restore", n)
	}

	again := openCrashCopy(t, crashed, sets)
	adm := again.admin()
	starts, err := adm.ListStartOffsets(ctx, "cut")
	if o := listedOffset(t, "start", starts, err, "cut"); o.Offset != 5 {
		t.Fatalf("start offset after the crash %d, want 5", o.Offset)
	}
	ends, err := adm.ListEndOffsets(ctx, "cut")
	if o := listedOffset(t, "end", ends, err, "cut"); o.Offset != 10 {
		t.Fatalf("end offset after the crash %d, want 10: the acknowledged records 5-9 are lost", o.Offset)
	}
	cl = fetchClient(again)
	resp, err := fetchReq("cut", 0, 5, 1, 0, 1<<20).RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if fp := resp.Topics[0].Partitions[0]; fp.ErrorCode != 0 || len(fp.RecordBatches) == 0 {
		t.Fatalf("fetch at 5: %v, %d bytes; want the restored batch", kerr.ErrorForCode(fp.ErrorCode), len(fp.RecordBatches))
	}
	if p := produceRaw(t, cl, "cut", 0, 11, rawBatch(1, -1, -1, -1)); p.ErrorCode != 0 || p.BaseOffset != 10 {
		t.Fatalf("produce after the crash: %v at %d, want offset 10", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}
}

// A replay that cannot write a batch back (the disk fails) fails the start
// and keeps the WAL files, the batches' only copy: a start once the disk
// takes writes again restores them.
func TestWALReplayThatCannotWriteFailsTheStart(t *testing.T) {
	replayAgainstAFault(t, "", func(fo *faultOpener) { fo.setWrite("kept-0", syscall.EIO) })
}

// replayAgainstAFault leaves a crash copy whose three acknowledged batches
// only the WAL holds and starts a broker on it (on kernel, "" for this
// one's) whose partition files fail as fault sets: the start must fail in
// the replay and keep the WAL file. A start without the fault then restores
// every acknowledged batch.
func replayAgainstAFault(t *testing.T, kernel string, fault func(*faultOpener)) {
	t.Helper()
	sets := []string{"num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1"}
	tb := startBroker(t, sets...)
	createTestTopic(t, tb, "kept", 1)
	cl := fetchClient(tb)
	crashed, acked := walOnlyCrashCopy(t, tb, cl, "kept")
	walFile, _ := crashedWALFile(t, crashed)

	fo := newFaultOpener(uring.PwriteOpener{})
	fault(fo)
	failing := &testBroker{t: t, dir: crashed, sets: sets, opener: fo, kernel: kernel}
	err := failing.tryOpen()
	if err == nil {
		failing.stop()
		t.Fatal("the broker started although the replay could not make the acknowledged batches durable again")
	}
	if !strings.Contains(err.Error(), "replay could not write") {
		t.Fatalf("the start failed for another reason than the replay: %v", err)
	}
	if _, err := os.Stat(walFile); err != nil {
		t.Fatalf("the WAL file holding the only copy of the batches is gone after the failed start: %v", err)
	}

	again := &testBroker{t: t, dir: crashed, sets: sets, kernel: kernel}
	again.open()
	t.Cleanup(again.stop)
	if got := readBatchOffsets(t, fetchClient(again), "kept"); !slices.Equal(got, acked) {
		t.Fatalf("after the disk recovered kept-0 holds %v, want the acknowledged %v", got, acked)
	}
}

// After a sync that failed in the run (the WAL files are all kept), a
// graceful stop writes no clean-shutdown marker: the pages the sync lost may
// lie inside files whose length looks right, so the next start must
// validate every log and replay the WAL rather than trust them.
func TestStopAfterAFailedSyncWritesNoCleanMarker(t *testing.T) {
	sets := []string{"num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1"}
	tb := startBroker(t, sets...)
	createTestTopic(t, tb, "kept", 1)
	cl := fetchClient(tb)
	var acked []int64
	for range 3 {
		code, off := produceCode(t, cl, "kept")
		if code != 0 {
			t.Fatal(kerr.ErrorForCode(code))
		}
		acked = append(acked, off)
	}
	cl.Close()
	tb.b.syncfsFailed() // as checkpointWAL or syncWholeFilesystem after a failed syncfs
	tb.stopAfterFailedSync()
	tb.open()
	if got := readBatchOffsets(t, fetchClient(tb), "kept"); !slices.Equal(got, acked) {
		t.Fatalf("after the restart kept-0 holds %v, want the acknowledged %v", got, acked)
	}
}

// A WAL file whose first entry a crash tore is not kept as a spare after
// the replay: a spare's first entry must carry its newest generation, from
// which the next start sets the generation counter.
func TestWALReplayDeletesAFileWithATornFirstEntry(t *testing.T) {
	sets := []string{"num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1"}
	tb := startBroker(t, sets...)
	createTestTopic(t, tb, "torn", 1)
	cl := fetchClient(tb)
	crashed, _ := walOnlyCrashCopy(t, tb, cl, "torn")
	walDir := filepath.Join(crashed, walDirName)
	path, _ := crashedWALFile(t, crashed)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The first entry's CRC no longer matches: as if the crash cut its
	// write short.
	if _, err := f.WriteAt([]byte{0xde, 0xad}, 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	openCrashCopy(t, crashed, sets)
	// (A file filled since may have the deleted file's inode number, so
	// the contents tell: a fill holds zeros, the torn file its entries.)
	for _, slot := range []string{walSpareName(0), walSecondSpareName(0)} {
		head := make([]byte, len(walfile.Magic))
		f, err := os.Open(filepath.Join(walDir, slot))
		if err != nil {
			continue
		}
		_, err = f.ReadAt(head, 0)
		f.Close()
		if err != nil || string(head) == walfile.Magic {
			t.Errorf("the WAL file with a torn first entry became %s (%v)", slot, err)
		}
	}
}

// Batches the WAL replay restores count for duplicate detection: an
// idempotent producer retrying one after the crash gets its original offset,
// and its next batch goes on at the next sequence.
func TestWALReplayRestoresProducerState(t *testing.T) {
	sets := []string{"num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1"}
	tb := startBroker(t, sets...)
	createTestTopic(t, tb, "dedup", 1)
	cl := tb.client()
	var offsets []int64
	for seq := int32(0); seq < 9; seq += 3 {
		r := produceRaw(t, cl, "dedup", 0, 11, rawBatch(3, 61, 0, seq))
		if r.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(r.ErrorCode))
		}
		offsets = append(offsets, r.BaseOffset)
	}
	crashed := t.TempDir()
	if err := os.CopyFS(crashed, os.DirFS(tb.dir)); err != nil {
		t.Fatal(err)
	}
	if n := segmentBytes(t, filepath.Join(crashed, "dedup-0")); n != 0 {
		t.Fatalf("the partition file already holds %d bytes: nothing left for the WAL to restore", n)
	}

	again := openCrashCopy(t, crashed, sets)
	cl = again.client()
	if r := produceRaw(t, cl, "dedup", 0, 11, rawBatch(3, 61, 0, 6)); r.ErrorCode != 0 || r.BaseOffset != offsets[2] {
		t.Fatalf("retried last batch after replay: %v at %d, want a duplicate at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset, offsets[2])
	}
	if r := produceRaw(t, cl, "dedup", 0, 11, rawBatch(3, 61, 0, 9)); r.ErrorCode != 0 || r.BaseOffset != 9 {
		t.Fatalf("next batch after replay: %v at %d, want offset 9", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	if got := readBatchOffsets(t, fetchClient(again), "dedup"); !slices.Equal(got, []int64{0, 3, 6, 9}) {
		t.Fatalf("batches after replay and retry: %v, want [0 3 6 9]", got)
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

// A checkpoint over more write-behind partitions than one turn writes
// (checkpointWritesPerTurn) goes on over later turns, and finishes when no
// other work comes: every partition file then holds its batches and only
// the current WAL file is left. Copies of the data directory taken before
// and while it runs replay every acknowledged batch.
func TestWALCheckpointOverManyPartitions(t *testing.T) {
	sets := []string{"num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1",
		"log.flush.wal.checkpoint.bytes=8388608"}
	tb := startBroker(t, sets...)
	const parts = 3 * checkpointWritesPerTurn
	createTestTopic(t, tb, "many", parts)
	cl := fetchClient(tb)
	acked := make(map[int32][]int64)
	produce := func(p int32, b []byte) {
		t.Helper()
		r := produceRaw(t, cl, "many", p, 7, slices.Clone(b))
		if r.ErrorCode != 0 {
			t.Fatalf("many-%d: %v", p, kerr.ErrorForCode(r.ErrorCode))
		}
		acked[p] = append(acked[p], r.BaseOffset)
	}
	type crashCopy struct {
		dir   string
		acked map[int32][]int64
	}
	var copies []crashCopy
	takeCopy := func() {
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(tb.dir)); err != nil {
			t.Fatal(err)
		}
		snap := make(map[int32][]int64, len(acked))
		for p, offs := range acked {
			snap[p] = slices.Clone(offs)
		}
		copies = append(copies, crashCopy{dir: dir, acked: snap})
	}

	// 6 MiB of 16 KiB batches, one per partition: all staged (under
	// writeBehindBytes), all in the WAL, no checkpoint yet.
	small := sweepBatch(sweepSmallBatches)
	for p := range int32(parts) {
		produce(p, small)
	}
	if n := tb.b.Metrics().WALCheckpoints; n != 0 {
		t.Fatalf("%d checkpoints before the WAL reached its checkpoint size", n)
	}
	takeCopy()
	before, err := tb.b.listWALFiles()
	if err != nil {
		t.Fatal(err)
	}
	// Two ~1 MiB batches to another topic take the WAL past 8 MiB; the
	// next turn starts the checkpoint, and nothing is produced after it.
	createTestTopic(t, tb, "filler", 1)
	big := sweepBatch(rawShape)
	for range 2 {
		if r := produceRaw(t, cl, "filler", 0, 7, slices.Clone(big)); r.ErrorCode != 0 {
			t.Fatalf("filler: %v", kerr.ErrorForCode(r.ErrorCode))
		}
	}
	produce(1, small)
	takeCopy()
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if tb.b.Metrics().WALCheckpoints == 0 {
			return fmt.Errorf("no checkpoint yet")
		}
		if err := walFilesGone(tb, before); err != nil {
			return fmt.Errorf("the checkpoint has not retired the old file: %w", err)
		}
		return nil
	})
	for p := range parts {
		if segmentBytes(t, filepath.Join(tb.dir, fmt.Sprintf("many-%d", p))) == 0 {
			t.Fatalf("many-%d: its partition file is empty after the checkpoint", p)
		}
	}

	for i, c := range copies {
		again := &testBroker{t: t, dir: c.dir, sets: sets}
		again.open()
		cl := fetchClient(again)
		for p := range int32(parts) {
			if got := readPartitionBatchOffsets(t, cl, "many", p); !slices.Equal(got, c.acked[p]) {
				t.Fatalf("copy %d: many-%d holds %v, want the acknowledged %v", i, p, got, c.acked[p])
			}
		}
		cl.Close()
		again.stop()
	}
}

// walFilesGone says whether every WAL file of before has left the
// directory under its name: retired, recycled, or deleted. (The current
// file and the next one a checkpoint prepared may be there besides.)
func walFilesGone(tb *testBroker, before []walFile) error {
	files, err := tb.b.listWALFiles()
	if err != nil {
		return err
	}
	for _, f := range files {
		if slices.ContainsFunc(before, func(b walFile) bool { return b.path == f.path }) {
			return fmt.Errorf("%s is still there (WAL files: %v)", f.path, files)
		}
	}
	return nil
}

// A batch acknowledged through the WAL is visible to a fetch sent after the
// acknowledgement, though it is still staged and the shard may not yet have
// applied the finished sync job: read-your-writes, as Kafka's high watermark
// moves before the produce is answered. Another partition of the same shard
// keeps it busy meanwhile.
func TestWALAcknowledgedBatchIsVisible(t *testing.T) {
	tb := startBroker(t, "num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1")
	createTestTopic(t, tb, "seen", 1)
	createTestTopic(t, tb, "busy", 1)
	cl, busy := fetchClient(tb), fetchClient(tb)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 100000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := tryProduceRaw(busy, "busy", 0, 11, rawBatch(4, -1, -1, -1)); err != nil {
				return
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < 300; i++ {
		p := produceRaw(t, cl, "seen", 0, 11, rawBatch(1, -1, -1, -1))
		if p.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(p.ErrorCode))
		}
		resp, err := fetchReq("seen", 0, p.BaseOffset, 1, 0, 1<<20).RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		fp := resp.Topics[0].Partitions[0]
		if fp.ErrorCode != 0 || fp.HighWatermark <= p.BaseOffset || len(fp.RecordBatches) == 0 {
			t.Fatalf("fetch %d at the acknowledged offset %d: %v, high watermark %d, %d bytes",
				i, p.BaseOffset, kerr.ErrorForCode(fp.ErrorCode), fp.HighWatermark, len(fp.RecordBatches))
		}
	}
	if tb.b.Metrics().WALSyncs == 0 {
		t.Fatal("no write-ahead log sync: the batches were not acknowledged through the WAL")
	}
}

// A partition that cannot be opened at start-up after a crash fails the
// start: the write-ahead log holds its acknowledged batches, which a start
// serving it offline would count as orphaned and retire. Once the fault is
// cleared, the next start replays them.
func TestWALKeptWhenAPartitionCannotOpenAtStart(t *testing.T) {
	sets := []string{"num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1"}
	tb := startBroker(t, sets...)
	createTestTopic(t, tb, "kept", 1)
	crashed, acked := walOnlyCrashCopy(t, tb, fetchClient(tb), "kept")
	// An owner file that cannot be read fails the partition's open.
	owner := filepath.Join(crashed, "kept-0", partlog.OwnerFileName)
	os.Remove(owner)
	if err := os.Mkdir(owner, 0o755); err != nil {
		t.Fatal(err)
	}
	failing := &testBroker{t: t, dir: crashed, sets: sets}
	if err := failing.tryOpen(); err == nil {
		failing.stop()
		t.Fatal("the broker started with a partition it could not open and its batches in the WAL")
	}
	if err := os.Remove(owner); err != nil {
		t.Fatal(err)
	}
	again := openCrashCopy(t, crashed, sets)
	if got := readBatchOffsets(t, fetchClient(again), "kept"); !slices.Equal(got, acked) {
		t.Fatalf("after the fault cleared kept-0 holds %v, want the acknowledged %v", got, acked)
	}
}

// crashedWALFile returns the one WAL file in use that a crash copy holds
// (walOnlyCrashCopy), with its file information.
func crashedWALFile(t *testing.T, crashed string) (string, os.FileInfo) {
	t.Helper()
	dir := filepath.Join(crashed, walDirName)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var found []os.DirEntry
	for _, e := range entries {
		if _, _, ok := walfile.ParseFileName(e.Name()); ok {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("the crash left %d WAL files; want the one in use", len(found))
	}
	info, err := found[0].Info()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, found[0].Name()), info
}

// openCrashCopy starts a broker on a copied data directory (a crash copy)
// with sets, stopped when the test ends.
func openCrashCopy(t *testing.T, dir string, sets []string) *testBroker {
	t.Helper()
	tb := &testBroker{t: t, dir: dir, sets: sets}
	tb.open()
	t.Cleanup(tb.stop)
	return tb
}

// walOnlyCrashCopy produces three batches to partition 0 of topic, which a
// WAL-covered broker acknowledges before they reach the partition file, and
// copies the data directory as a crash then would leave it. It returns the
// copy and the acknowledged offsets.
func walOnlyCrashCopy(t *testing.T, tb *testBroker, cl *kgo.Client, topic string) (string, []int64) {
	t.Helper()
	var acked []int64
	for range 3 {
		code, off := produceCode(t, cl, topic)
		if code != 0 {
			t.Fatal(kerr.ErrorForCode(code))
		}
		acked = append(acked, off)
	}
	crashed := t.TempDir()
	if err := os.CopyFS(crashed, os.DirFS(tb.dir)); err != nil {
		t.Fatal(err)
	}
	if n := segmentBytes(t, filepath.Join(crashed, topic+"-0")); n != 0 {
		t.Fatalf("the partition file already holds %d bytes: nothing left for the WAL to restore", n)
	}
	return crashed, acked
}
