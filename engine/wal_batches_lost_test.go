package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-go/chronik/uring"
)

// Acknowledged batches the WAL holds past a hole in their partition's log
// (the file lost a batch whose WAL file a checkpoint had already retired)
// cannot be put back; the start goes on, and the loss shows in a metric an
// operator can alert on, not only in the log.
func TestWALBatchesPastAHoleAreCountedLost(t *testing.T) {
	sets := []string{"num.shards=1", "log.flush.policy=always", "log.flush.wal.min.partitions=1"}
	tb := startBroker(t, sets...)
	createTestTopic(t, tb, "holed", 1)
	if code, off := produceCode(t, fetchClient(tb), "holed"); code != 0 || off != 0 {
		t.Fatalf("first produce: %v at %d", kerr.ErrorForCode(code), off)
	}
	// A clean restart writes the first batch to its file; the WAL files
	// left are spares, their entries of an older generation.
	tb.restart()
	first := segmentBytes(t, filepath.Join(tb.dir, "holed-0"))
	if first == 0 {
		t.Fatal("the first batch is not in its file after a clean restart")
	}
	cl := fetchClient(tb)
	for want := int64(2); want <= 6; want += 2 { // two records a batch
		if code, off := produceCode(t, cl, "holed"); code != 0 || off != want {
			t.Fatalf("produce: %v at %d, want offset %d", kerr.ErrorForCode(code), off, want)
		}
	}
	crashed := t.TempDir()
	if err := os.CopyFS(crashed, os.DirFS(tb.dir)); err != nil {
		t.Fatal(err)
	}
	if n := segmentBytes(t, filepath.Join(crashed, "holed-0")); n != first {
		t.Fatalf("the partition file holds %d bytes, %d before: the later batches are not only in the WAL", n, first)
	}
	// The crash also took the first batch from its file (pages the kernel
	// never wrote back), which no WAL file holds any more; any segment
	// begun after it goes too, so the log ends at 0, below the WAL's
	// batches.
	dir := filepath.Join(crashed, "holed-0")
	if err := os.Truncate(filepath.Join(dir, "00000000000000000000.log"), 0); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "0*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !strings.HasPrefix(filepath.Base(f), "00000000000000000000.") {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	}

	again := openCrashCopy(t, crashed, sets)
	if n := again.b.Metrics().WALBatchesLost; n != 3 {
		t.Fatalf("WALBatchesLost %d after replaying three batches past a hole, want 3", n)
	}
}

// The same loss found by a reopen after a storage fault: the file lost
// batches written before a clean restart (their WAL files recycled since)
// and the ones after it, which the WAL still holds but which can no longer
// follow the log's end. Every one of those is counted, not only the first.
func TestWriteBehindReopenCountsBatchesPastAHoleLost(t *testing.T) {
	fo, tb, cl, batch := startWriteBehindBroker(t, uring.PwriteOpener{}, "wh")
	produceAcknowledged(t, cl, "wh", batch, 4)
	tb.restart() // the four go to the file; the WAL files become spares
	cl = fetchClient(tb)
	walHeld := produceAcknowledged(t, cl, "wh", batch, 18)
	walHeld = append(walHeld, loseFileAndReopen(t, fo, tb, cl, "wh", batch)...)
	if n := tb.b.Metrics().WALBatchesLost; n != int64(len(walHeld)) {
		t.Fatalf("WALBatchesLost %d after a reopen whose log lost what preceded %d acknowledged WAL batches, want %d", n, len(walHeld), len(walHeld))
	}
}
