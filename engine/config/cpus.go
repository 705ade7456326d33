package config

import "runtime"

// startProcs is GOMAXPROCS as the runtime chose it at start (the CPU quota
// of a container, or an operator's GOMAXPROCS), before the engine raises it
// for its blocking disk calls (engine/gomaxprocs.go).
var startProcs = runtime.GOMAXPROCS(0)

// UsableCPUs is the number of CPUs this process may run on: runtime.NumCPU
// counts the sched affinity mask on Linux (so taskset and cpusets narrow it),
// and GOMAXPROCS at start reflects a container's CPU quota or an operator's
// explicit GOMAXPROCS. More shards or event loops than that would only
// contend for the same cores.
func UsableCPUs() int {
	return max(1, min(runtime.NumCPU(), startProcs))
}
