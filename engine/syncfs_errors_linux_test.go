package engine

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-go/chronik/internal/syncbuf"
	"github.com/chronik-go/chronik/uring"
)

// On a kernel whose syncfs does not report writeback errors, no turn is
// made durable through a syncfs: not through the shard WAL (whose
// checkpoints rely on one), not with one syncfs for many partitions. Each
// partition is synced with its own fdatasync instead.
func TestNoSyncfsDurabilityOnKernelsThatHideItsErrors(t *testing.T) {
	for _, c := range []struct {
		kernel  string
		trusted bool
	}{{"5.4.0-200-generic", false}, {"6.1.0", true}} {
		t.Run(c.kernel, func(t *testing.T) {
			tb := launchBroker(&testBroker{t: t, dir: t.TempDir(), kernel: c.kernel, sets: []string{"num.shards=1",
				"log.flush.policy=always", "log.flush.wal.min.partitions=1", "log.flush.syncfs.min.partitions=2"}})
			const parts = 4
			createTestTopic(t, tb, "k", parts)
			cl := fetchClient(tb)
			defer func() { cl.Close() }()
			for range 3 {
				answers, err := produceToEveryPartition(cl, "k", parts)
				if err != nil {
					t.Fatal(err)
				}
				for p, a := range answers {
					if a.ErrorCode != 0 {
						t.Fatalf("k-%d: error code %d", p, a.ErrorCode)
					}
				}
			}
			metricsBeforeRestart := tb.b.Metrics()
			// A clean stop and start keep every acknowledged batch; without a
			// trusted syncfs each partition syncs its own files at the stop.
			cl.Close()
			tb.stop()
			st, found, err := readCleanStateFile(filepath.Join(tb.dir, cleanShutdownMarker))
			if err != nil || !found {
				t.Fatalf("no clean-shutdown marker after a clean stop (%v)", err)
			}
			// Logs' state in the marker is vouched for by the stop's syncfs.
			if hasState := st != nil; hasState != c.trusted {
				t.Fatalf("the marker holds the logs' state: %v; want %v", hasState, c.trusted)
			}
			tb.logs = &syncbuf.Buffer{}
			tb.open()
			if logs := tb.logs.String(); strings.Contains(logs, "recovering") {
				t.Fatalf("the start after a clean stop recovered logs:\n%s", logs)
			}
			cl = fetchClient(tb)
			for p := range int32(parts) {
				if got := readPartitionBatchOffsets(t, cl, "k", p); len(got) != 3 {
					t.Fatalf("k-%d holds batches at %v after a clean restart, want 3", p, got)
				}
			}
			m := metricsBeforeRestart
			through := m.WALSyncs + m.Syncfs
			switch {
			case c.trusted && through == 0:
				t.Fatalf("no turn went through the WAL or a syncfs on a kernel that reports syncfs errors: %+v", m)
			case !c.trusted && through != 0:
				t.Fatalf("%d turns were made durable through a syncfs that hides writeback errors: %+v", through, m)
			case !c.trusted && m.Syncs < 3*parts:
				t.Fatalf("%d fdatasyncs for %d acknowledged batches", m.Syncs, 3*parts)
			}
		})
	}
}

// untrustedKernel is a kernel whose syncfs hides writeback errors.
const untrustedKernel = "5.4.0-200-generic"

// A WAL left by a run on a newer kernel is replayed on such a kernel with
// each partition's own fdatasync before the WAL files go: a replay whose
// sync fails fails the start and keeps them.
func TestWALReplaySyncsEachPartitionOnKernelsThatHideSyncfsErrors(t *testing.T) {
	replayAgainstAFault(t, untrustedKernel, func(fo *faultOpener) { fo.setSync("kept-0", syscall.EIO) })
}

// On such a kernel a stop whose partition could not close cleanly writes
// no clean-shutdown marker, as with a trusted syncfs.
func TestFailedCloseWritesNoMarkerOnKernelsThatHideSyncfsErrors(t *testing.T) {
	fo := newFaultOpener(uring.PwriteOpener{})
	tb := launchBroker(&testBroker{t: t, dir: t.TempDir(), opener: fo, kernel: untrustedKernel,
		sets: []string{"num.shards=1", "log.flush.policy=always"}})
	createTestTopic(t, tb, "shut", 1)
	cl := fetchClient(tb)
	if code, _ := produceCode(t, cl, "shut"); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	cl.Close()
	fo.setSync("shut-0", syscall.EIO)
	tb.stopAfterFailedSync()
}

// A stop that left no log state in its marker also removes the state an
// earlier stop left, which would otherwise outlive the logs it described.
func TestAnEmptyMarkerRetiresTheLastCleanState(t *testing.T) {
	dir := t.TempDir()
	tb := launchBroker(&testBroker{t: t, dir: dir})
	tb.restart() // a marker with state, kept as the last clean state
	last := filepath.Join(dir, lastCleanStateFile)
	if _, err := os.Stat(last); err != nil {
		t.Fatalf("no last clean state after a clean restart: %v", err)
	}
	tb.stop()
	tb.kernel = untrustedKernel
	tb.open() // the trusted stop's marker: its state is kept again
	tb.restart()
	if _, err := os.Stat(last); !os.IsNotExist(err) {
		t.Fatalf("the last clean state outlived a stop that kept none (%v)", err)
	}
}
