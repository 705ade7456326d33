package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// After a crash, the state kept from the last clean stop stands in for a
// partition's producer snapshot. If the log ends below it (the disk lost
// offsets the stop had synced), it is skipped — and must not come back once
// the log has grown past that offset with other batches: a later crash then
// took the stale producer state for the state there, storing a retry twice
// and answering a lost batch as a duplicate of another producer's records.
func TestLastCleanStateBelowWhichTheLogWasCutIsRetired(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "stale", 1)
	cl := tb.client()
	produceRaw(t, cl, "stale", 0, 11, rawBatch(3, 71, 0, 0))
	produceRaw(t, cl, "stale", 0, 11, rawBatch(3, 71, 0, 3))
	tb.restart() // the kept clean state: producer 71 up to sequence 5, at offset 6
	tb.stop()
	os.Remove(filepath.Join(tb.dir, cleanShutdownMarker)) // as after a crash
	seg := filepath.Join(partitionDir(tb.dir, partKey{"stale", 0}), "00000000000000000000.log")
	if err := os.Truncate(seg, int64(len(rawBatch(3, 71, 0, 0)))); err != nil { // the disk lost offsets 3-5
		t.Fatal(err)
	}
	tb.open()
	cl = tb.client()
	if r := produceRaw(t, cl, "stale", 0, 11, rawBatch(3, 72, 0, 0)); r.ErrorCode != 0 || r.BaseOffset != 3 {
		t.Fatalf("producer 72: %v at %d, want offset 3", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	tb.stop()
	os.Remove(filepath.Join(tb.dir, cleanShutdownMarker)) // a crash again, the log back at offset 6
	tb.open()
	cl = tb.client()
	if r := produceRaw(t, cl, "stale", 0, 11, rawBatch(3, 72, 0, 0)); r.ErrorCode != 0 || r.BaseOffset != 3 {
		t.Errorf("retry of producer 72's batch: %v at %d, want its duplicate at 3", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
	}
	if r := produceRaw(t, cl, "stale", 0, 11, rawBatch(3, 71, 0, 3)); r.ErrorCode == 0 && r.BaseOffset == 3 {
		t.Errorf("producer 71's lost batch answered as a duplicate at 3, which holds producer 72's records")
	}
}
