package engine

import (
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// When the metadata store stops under a running broker (its disk failed),
// the broker keeps serving data without spinning a core on the store's
// closed change feed.
func TestMetadataStoreStopDoesNotSpin(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "still", 1)
	if err := tb.store.Close(); err != nil {
		t.Fatal(err)
	}
	start := processCPU(t)
	time.Sleep(500 * time.Millisecond)
	if used := processCPU(t) - start; used > 200*time.Millisecond {
		t.Fatalf("the broker used %v of CPU in 500 ms with the metadata store stopped", used)
	}
	cl := fetchClient(tb)
	if p := produceRaw(t, cl, "still", 0, 11, rawBatch(1, -1, -1, -1)); p.ErrorCode != 0 {
		t.Fatalf("produce with the metadata store stopped: %v", kerr.ErrorForCode(p.ErrorCode))
	}
}

// processCPU is the CPU time the process has used.
func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
