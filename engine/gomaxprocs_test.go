package engine

import (
	"io"
	"log/slog"
	"runtime"
	"testing"

	"github.com/chronik-go/chronik/engine/config"
)

// The engine gives the scheduler one P per shard beyond the usable CPUs,
// never lowers GOMAXPROCS, and leaves an operator's explicit GOMAXPROCS be.
func TestRaiseGOMAXPROCS(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	t.Setenv("GOMAXPROCS", "")
	runtime.GOMAXPROCS(1)
	raiseGOMAXPROCS(3, quiet)
	if got, want := runtime.GOMAXPROCS(0), config.UsableCPUs()+3; got != want {
		t.Fatalf("GOMAXPROCS with 3 shards = %d, want usable CPUs + 3 = %d", got, want)
	}
	runtime.GOMAXPROCS(1000)
	raiseGOMAXPROCS(3, quiet)
	if got := runtime.GOMAXPROCS(0); got != 1000 {
		t.Fatalf("GOMAXPROCS lowered from 1000 to %d", got)
	}

	t.Setenv("GOMAXPROCS", "1")
	runtime.GOMAXPROCS(1)
	raiseGOMAXPROCS(3, quiet)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("GOMAXPROCS=1 from the environment became %d", got)
	}
}
