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
// (BENCHMARKS.md, "The Go collector and the fsync p99"). The floor keeps
// the goal at gc.min.heap.bytes or more: after every collection the GC
// percentage is set so that the next goal is the larger of the floor and
// twice the live heap. Above the floor the runtime behaves as at GOGC=100.
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
// several): the first start that asks for one installs it, the last stop
// takes it away.
var gcFloor struct {
	mu     sync.Mutex
	users  int
	floor  int64
	active bool // the tuner runs (it is not while the runtime was tuned by someone else)
	epoch  int  // which installation a finalizer belongs to
}

// holdGCFloor asks for a heap goal of at least floor bytes until the
// returned release is called.
func holdGCFloor(floor int64, log *slog.Logger) (release func()) {
	g := &gcFloor
	g.mu.Lock()
	defer g.mu.Unlock()
	g.users++
	if g.users == 1 {
		g.active = floor > 0 && os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" && runtimeUntuned()
		if g.active {
			g.floor = floor
			g.epoch++
			log.Debug("Go collector held off below gc.min.heap.bytes", "bytes", floor)
			armGCFloor(g.epoch)
		}
	} else if g.active {
		g.floor = max(g.floor, floor)
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

// runtimeUntuned says the collector runs at its defaults: GOGC 100 and no
// memory limit.
func runtimeUntuned() bool {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return s[0].Value.Kind() == metrics.KindUint64 && s[0].Value.Uint64() == 100 &&
		s[1].Value.Kind() == metrics.KindUint64 && s[1].Value.Uint64() == math.MaxInt64
}

// gcFloorSentinel is collected by every cycle; its finalizer retunes the
// collector and arms a new one for the next cycle.
type gcFloorSentinel struct{ epoch int }

func armGCFloor(epoch int) {
	s := &gcFloorSentinel{epoch: epoch}
	runtime.SetFinalizer(s, func(s *gcFloorSentinel) {
		if tuneGCFloor(s.epoch) {
			armGCFloor(s.epoch)
		}
	})
}

// tuneGCFloor sets the GC percentage for the next goal after a cycle; false
// once the floor it was armed for is gone.
func tuneGCFloor(epoch int) bool {
	g := &gcFloor
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.active || g.epoch != epoch {
		return false
	}
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	live := int64(1)
	if s[0].Value.Kind() == metrics.KindUint64 {
		live = max(live, int64(s[0].Value.Uint64()))
	}
	percent := int64(100)
	if g.floor > 2*live {
		percent = min((g.floor-live)*100/live, math.MaxInt32)
	}
	debug.SetGCPercent(int(percent))
	return true
}
