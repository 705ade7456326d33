package engine

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

var errWriteback = errors.New("injected writeback error")

// writebackErrorReports stands in for how Linux (5.8 on) reports a
// writeback error through syncfs: once to each open descriptor of the
// filesystem, at the first syncfs through it after the error. The syncfs
// that reports an error first is held until a syncfs that came after it
// has returned and then until settled says the broker settled (or a
// second): the window in which one shard has heard of the error and not yet
// recorded it, while another finishes its checkpoint.
type writebackErrorReports struct {
	mu       sync.Mutex
	errs     int              // writeback errors so far
	seen     map[*os.File]int // errors each descriptor has reported
	holding  bool             // the first report since the last error is held
	returned chan struct{}    // closed when a later syncfs has returned
	once     *sync.Once
	settled  func() bool
	// overlapped says a held report was let go by a later syncfs
	// returning, not by the timer: the calls overlapped as meant.
	overlapped atomic.Bool
}

// fail injects a writeback error.
func (w *writebackErrorReports) fail(settled func() bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errs++
	w.holding = false
	w.returned, w.once, w.settled = make(chan struct{}), new(sync.Once), settled
}

func (w *writebackErrorReports) syncfs(f *os.File) error {
	if err := syncFilesystem(f); err != nil {
		return err
	}
	w.mu.Lock()
	report := w.seen[f] < w.errs
	w.seen[f] = w.errs
	hold := report && !w.holding
	held := w.holding
	if hold {
		w.holding = true
	}
	returned, once, settled := w.returned, w.once, w.settled
	w.mu.Unlock()
	if hold {
		select {
		case <-returned:
			w.overlapped.Store(true)
		case <-time.After(5 * time.Second):
		}
		for end := time.Now().Add(time.Second); time.Now().Before(end) && !settled(); {
			time.Sleep(5 * time.Millisecond)
		}
		return errWriteback
	}
	if held {
		defer once.Do(func() { close(returned) })
	}
	if report {
		return errWriteback
	}
	return nil
}

// A writeback error reaches every shard's syncfs, each through its own
// descriptor of the data directory: with one shared descriptor, the shard
// whose checkpoint came second heard success and retired a WAL file while
// the first had not yet recorded the failure, though the error may have
// cost that file's batches their partition pages. Every WAL file stays for
// the next start, which holds every acknowledged batch.
func TestEveryShardHearsAWritebackError(t *testing.T) {
	reports := &writebackErrorReports{seen: make(map[*os.File]int)}
	sets := []string{"num.shards=2", "log.flush.policy=always", "log.flush.wal.min.partitions=1",
		"log.flush.wal.checkpoint.bytes=65536"}
	tb := launchBroker(&testBroker{t: t, dir: t.TempDir(), sets: sets, syncfs: reports.syncfs})
	createTestTopic(t, tb, "werr", 2)
	if tb.b.shardFor(partKey{"werr", 0}) == tb.b.shardFor(partKey{"werr", 1}) {
		t.Fatal("werr-0 and werr-1 are on one shard; the test needs one on each")
	}
	cl := fetchClient(tb)
	acked := make(map[int32][]int64)
	produce := func(p int32, b []byte) {
		t.Helper()
		r := produceRaw(t, cl, "werr", p, 7, b)
		if r.ErrorCode != 0 {
			t.Fatalf("werr-%d: %v", p, kerr.ErrorForCode(r.ErrorCode))
		}
		acked[p] = append(acked[p], r.BaseOffset)
	}
	for p := range int32(2) {
		produce(p, rawBatch(5, -1, -1, -1))
	}
	before, err := tb.b.listWALFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(before) < 2 {
		t.Fatalf("WAL files before the error: %v, want one per shard at least", before)
	}
	kept := func() error {
		files, err := tb.b.listWALFiles()
		if err != nil {
			return err
		}
		for _, f := range before {
			if !slices.ContainsFunc(files, func(g walFile) bool { return g.path == f.path }) {
				return fmt.Errorf("%s is gone (WAL files: %v)", f.path, files)
			}
		}
		return nil
	}
	reports.fail(func() bool { return kept() != nil })

	// 96 KiB to each shard's WAL: one checkpoint each, one after the other.
	batch := sweepBatch(sweepSmallBatches)
	for p := range int32(2) {
		for range 6 {
			produce(p, slices.Clone(batch))
		}
	}
	checkFor(t, 15*time.Second, 20*time.Millisecond, func() error {
		if n := tb.b.Metrics().WALCheckpoints; n < 2 {
			return fmt.Errorf("%d checkpoints, want one per shard", n)
		}
		return nil
	})
	if err := kept(); err != nil {
		t.Fatalf("a WAL file was retired after a writeback error: %v", err)
	}
	if !reports.overlapped.Load() {
		t.Fatal("the two shards' checkpoints did not overlap: the test did not stage its window")
	}
	cl.Close()
	tb.stopAfterFailedSync()
	tb.syncfs = nil
	tb.open()
	cl = fetchClient(tb)
	for p := range int32(2) {
		if got := readPartitionBatchOffsets(t, cl, "werr", p); !slices.Equal(got, acked[p]) {
			t.Fatalf("after the restart werr-%d holds %v, want the acknowledged %v", p, got, acked[p])
		}
	}
}

// Every syncfs caller has a descriptor of its own: each shard's syncer and
// its checkpoints (which run beside it), and the broker's replay and
// shutdown.
func TestSyncfsDescriptorsAreNotShared(t *testing.T) {
	tb := startBroker(t, "num.shards=3")
	seen := map[*os.File]string{tb.b.dataDirFile: "the broker's"}
	for _, s := range tb.b.shards {
		for what, f := range map[string]*os.File{"syncer": s.wal.syncerDir, "checkpoint": s.wal.checkpointDir} {
			name := fmt.Sprintf("shard %d's %s", s.id, what)
			if f == nil {
				t.Fatalf("%s descriptor is missing", name)
			}
			if other, ok := seen[f]; ok {
				t.Fatalf("%s descriptor is %s", name, other)
			}
			seen[f] = name
		}
	}
}
