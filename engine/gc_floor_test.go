package engine

import (
	"log/slog"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// gcPercent is the collector's GC percentage now.
func gcPercent() uint64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

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

// Held, the floor raises the GC percentage after each collection so that the
// next heap goal is the floor, while the live heap is small; released by
// its last holder, the percentage is back at 100. With GOGC set in the
// environment it is not held at all.
func TestGCFloorTunesTheCollectorWhileHeld(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	if p := gcPercent(); p != 100 {
		t.Fatalf("GC percentage %d before the test, want 100", p)
	}
	release1 := holdGCFloor(256<<20, log)
	release2 := holdGCFloor(64<<20, log)
	deadline := time.Now().Add(5 * time.Second)
	for gcPercent() <= 100 {
		if time.Now().After(deadline) {
			t.Fatal("after collections the GC percentage is still 100 under a 256 MiB floor")
		}
		runtime.GC() // the finalizer runs after the cycle
		time.Sleep(10 * time.Millisecond)
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

	t.Setenv("GOGC", "100")
	release := holdGCFloor(256<<20, log)
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	if p := gcPercent(); p != 100 {
		t.Fatalf("with GOGC in the environment the floor set the GC percentage to %d", p)
	}
	release()
}
