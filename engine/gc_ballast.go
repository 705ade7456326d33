package engine

import (
	"log/slog"
	"os"
)

// gcBallast returns memory that raises the Go collector's heap goal to at
// least minHeap (at GOGC=100 the goal is twice the live heap, the ballast
// included). A broker's live heap is a few MiB while each produce request's
// buffer is garbage once written, so at the runtime's 4 MiB floor 1,000
// requests of 16 KiB a second brought a collection every 140 ms, each
// stopping the world for up to 0.8 ms (BENCHMARKS.md, "The Go collector and
// the fsync p99"). The ballast holds no pointers, so marking it costs
// nothing, and it is never written: fresh from the kernel, its pages take
// address space, not memory. An explicit GOGC or GOMEMLIMIT (which would
// count the ballast against its limit) is the operator's choice and is left
// alone, as raiseGOMAXPROCS leaves GOMAXPROCS. The garbage the floor lets
// pile up is real memory, so it is held to an eighth of the machine's or
// the container's memory (memoryLimit): a broker in a small container
// collects sooner rather than running out.
func gcBallast(minHeap, memory int64, log *slog.Logger) []byte {
	if memory > 0 {
		minHeap = min(minHeap, memory/8)
	}
	if minHeap <= 0 || os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return nil
	}
	log.Debug("garbage collector held off below gc.min.heap.bytes", "bytes", minHeap, "memory", memory)
	return make([]byte, minHeap/2)
}
