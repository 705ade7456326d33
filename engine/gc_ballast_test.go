package engine

import (
	"log/slog"
	"runtime"
	"testing"
)

// The ballast is half of gc.min.heap.bytes, at most a sixteenth of the
// memory the process may use, none at 0, and none where the operator set
// GOGC or GOMEMLIMIT in the environment.
func TestGCBallastFollowsSettingAndEnvironment(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	if b := gcBallast(64<<20, 0, log); len(b) != 32<<20 {
		t.Fatalf("ballast for a 64 MiB floor, memory unknown, is %d bytes, want 32 MiB", len(b))
	}
	if b := gcBallast(64<<20, 16<<30, log); len(b) != 32<<20 {
		t.Fatalf("ballast for a 64 MiB floor with 16 GiB of memory is %d bytes, want 32 MiB", len(b))
	}
	if b := gcBallast(64<<20, 256<<20, log); len(b) != 16<<20 {
		t.Fatalf("ballast for a 64 MiB floor in a 256 MiB container is %d bytes, want 16 MiB", len(b))
	}
	if b := gcBallast(0, 16<<30, log); b != nil {
		t.Fatalf("ballast with the floor off is %d bytes", len(b))
	}
	if m := memoryLimit(); runtime.GOOS == "linux" && m <= 0 {
		t.Fatalf("memory limit %d on Linux, want the machine's or its cgroup's", m)
	}
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "200")
			if b := gcBallast(64<<20, 16<<30, log); b != nil {
				t.Fatalf("%s set, yet a ballast of %d bytes", env, len(b))
			}
		})
	}
}
