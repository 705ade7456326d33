package engine

import (
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// gcPercent is the collector's GC percentage now.
func gcPercent() uint64 { return gcMetric("/gc/gogc:percent") }

// The floor is at most an eighth of the memory the process may use (1 GiB
// where that is unknown).
func TestGCFloorForBoundsTheSetting(t *testing.T) {
	for _, c := range []struct{ setting, memory, want int64 }{
		{128 << 20, 16 << 30, 128 << 20},
		{128 << 20, 512 << 20, 64 << 20},
		{4 << 30, 0, 1 << 30},
		{0, 16 << 30, 0},
	} {
		if got := gcFloorFor(c.setting, c.memory); got != c.want {
			t.Errorf("gcFloorFor(%d, %d) = %d, want %d", c.setting, c.memory, got, c.want)
		}
	}
}

// tunesAfterCollections runs collections until the tuner has tuned n more
// cycles, within 5 s.
func tunesAfterCollections(t *testing.T, n int) {
	t.Helper()
	gcFloor.mu.Lock()
	want := gcFloor.tunes + n
	gcFloor.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for {
		gcFloor.mu.Lock()
		done := gcFloor.tunes >= want
		gcFloor.mu.Unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d cycles tuned in 5 s of collections", n)
		}
		runtime.GC() // the finalizer runs after the cycle
		time.Sleep(5 * time.Millisecond)
	}
}

// Held, the floor retunes the collector after every cycle so that its heap
// goal is the floor while the live heap is small (brokers in one process
// share the largest floor); released by its last holder, the percentage
// is back at 100 and stays there. A percentage the embedding program sets
// meanwhile stands, and GOGC in the environment leaves the runtime alone.
func TestGCFloorTunesTheCollectorWhileHeld(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	if !runtimeUntuned() || gcFloor.users != 0 {
		// The process runs with its own GOGC or memory limit: the floor
		// must leave them as they are.
		before := gcPercent()
		holdGCFloor(64<<20, log)()
		runtime.GC()
		if p := gcPercent(); p != before {
			t.Fatalf("a tuned runtime's GC percentage went from %d to %d", before, p)
		}
		return
	}
	const floor = 64 << 20
	release1 := holdGCFloor(floor, log)
	release2 := holdGCFloor(32<<20, log)
	tunesAfterCollections(t, 3) // the finalizer re-arms itself
	if goal := gcMetric("/gc/heap/goal:bytes"); goal < floor*3/4 || goal > floor*5/4 {
		t.Fatalf("heap goal %d MiB under a %d MiB floor", goal>>20, floor>>20)
	}
	release1()
	if p := gcPercent(); p <= 100 {
		t.Fatalf("with one holder left the GC percentage is %d", p)
	}
	release2()
	if p := gcPercent(); p != 100 {
		t.Fatalf("after the last release the GC percentage is %d, want 100", p)
	}
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	if p := gcPercent(); p != 100 {
		t.Fatalf("a collection after the release set the GC percentage to %d", p)
	}

	// The program sets its own percentage while the floor is held.
	release := holdGCFloor(floor, log)
	tunesAfterCollections(t, 1)
	debug.SetGCPercent(50)
	for i := 0; i < 5; i++ {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	release()
	if p := gcPercent(); p != 50 {
		t.Fatalf("the program's GC percentage 50 became %d", p)
	}
	debug.SetGCPercent(100)

	t.Setenv("GOGC", "100")
	release = holdGCFloor(floor, log)
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	if p := gcPercent(); p != 100 {
		t.Fatalf("with GOGC in the environment the floor set the GC percentage to %d", p)
	}
	release()
}
