package engine

import (
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The Go collector's heap goal is twice the live heap, and at least 4 MiB.
// A broker's live heap is a few MiB while each produce request's buffer is
// garbage once written, so 1,000 requests of 16 KiB a second brought a
// collection every 140 ms, each stopping the world for up to 0.8 ms
// (BENCHMARKS.md, "The Go collector and the fsync p99"). The floor raises
// the goal to about gc.min.heap.bytes: after every collection the GC
// percentage is set so that the next goal is about the larger of the floor
// and twice the live heap (it lags a cycle behind the live heap it is
// computed from). Above the floor the runtime behaves as at GOGC=100.
// A process whose GOGC or memory limit is already set (the environment, or
// a program embedding the broker) is left alone, as raiseGOMAXPROCS leaves
// GOMAXPROCS.

// maxUnknownMemoryFloor bounds the floor where the machine's memory is
// unknown.
const maxUnknownMemoryFloor = 1 << 30

// gcFloorFor is the floor a broker asks for with gc.min.heap.bytes set to
// setting on a process that may use memory bytes (0: unknown): at most an
// eighth of it, since the garbage the floor lets pile up is real memory.
func gcFloorFor(setting, memory int64) int64 {
	if memory > 0 {
		return min(setting, memory/8)
	}
	return min(setting, maxUnknownMemoryFloor)
}

// gcFloor is the process's one floor, shared by its brokers (tests run
// several): a start that asks for one installs it if none runs, the last
// stop takes it away.
var gcFloor struct {
	mu          sync.Mutex
	users       int
	floor       int64
	active      bool  // the tuner runs
	epoch       int   // which installation a finalizer belongs to
	lastPercent int64 // what the tuner last set
	tunes       int   // cycles tuned, for tests
}

// holdGCFloor asks for a heap goal of at least floor bytes until the
// returned release is called.
func holdGCFloor(floor int64, log *slog.Logger) (release func()) {
	g := &gcFloor
	g.mu.Lock()
	defer g.mu.Unlock()
	g.users++
	switch {
	case g.active:
		g.floor = max(g.floor, floor)
	case floor > 0 && os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" && runtimeUntuned():
		g.active, g.floor, g.lastPercent = true, floor, 100
		g.epoch++
		log.Debug("Go collector held off below gc.min.heap.bytes", "bytes", floor)
		armGCFloor(g.epoch)
	}
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.users--
		if g.users == 0 && g.active {
			g.active = false
			debug.SetGCPercent(100)
		}
	}
}

// gcMetric reads one runtime/metrics value (0 if the runtime lacks it).
func gcMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// runtimeUntuned says the collector runs at its defaults: GOGC 100 and no
// memory limit.
func runtimeUntuned() bool {
	return gcMetric("/gc/gogc:percent") == 100 && gcMetric("/gc/gomemlimit:bytes") == math.MaxInt64
}

// gcFloorSentinel is collected by every cycle; its finalizer retunes the
// collector and arms a new one for the next cycle. The pointer keeps it out
// of the tiny allocator, whose shared blocks may never be freed (and the
// finalizer never run) while a neighbour lives.
type gcFloorSentinel struct {
	epoch int
	_     *byte
}

func armGCFloor(epoch int) {
	s := &gcFloorSentinel{epoch: epoch}
	runtime.SetFinalizer(s, func(s *gcFloorSentinel) {
		if tuneGCFloor(s.epoch) {
			armGCFloor(s.epoch)
		}
	})
}

// tuneGCFloor sets the GC percentage for the next goal after a cycle; false
// once the floor it was armed for is gone, or once someone else changed
// the percentage (the program embedding the broker: its choice then
// stands, and the release leaves it). The runtime's goal is
// marked + (marked + stacks + globals) × percent/100, and at least
// 4 MiB × percent/100, so both are kept to the floor.
func tuneGCFloor(epoch int) bool {
	g := &gcFloor
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.active || g.epoch != epoch {
		return false
	}
	if int64(gcMetric("/gc/gogc:percent")) != g.lastPercent {
		g.active = false
		return false
	}
	live := max(int64(gcMetric("/gc/heap/live:bytes")), 1)
	scan := live + int64(gcMetric("/gc/scan/stack:bytes")) + int64(gcMetric("/gc/scan/globals:bytes"))
	percent := min((g.floor-live)*100/scan, g.floor*100/(4<<20), math.MaxInt32)
	percent = max(percent, 100)
	debug.SetGCPercent(int(percent))
	g.lastPercent = percent
	g.tunes++
	return true
}
