package engine

import (
	"log/slog"
	"os"
	"runtime"

	"github.com/chronik-go/chronik/engine/config"
)

// raiseGOMAXPROCS gives the Go scheduler one P more per shard than there
// are usable CPUs. Every shard has two goroutines that spend much of their
// time inside blocking system calls: its loop, writing to
// partition files (which the kernel may throttle when dirty pages pile up)
// and its syncer in fdatasync. A goroutine in a system call keeps its P
// until the runtime's monitor takes it back, so with GOMAXPROCS at the CPU
// count a core sat idle while producers waited to run; with the extra Ps
// the append sweep at 1,000 partitions went 1.4x faster (BENCHMARKS.md).
// An explicit GOMAXPROCS in the environment is the operator's choice and
// is left alone.
func raiseGOMAXPROCS(shards int, log *slog.Logger) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	from := runtime.GOMAXPROCS(0)
	to := config.UsableCPUs() + shards
	if to <= from {
		return
	}
	runtime.GOMAXPROCS(to)
	log.Info("GOMAXPROCS raised so that shards blocked in disk calls leave the CPUs to other work", "from", from, "to", to, "shards", shards)
}
