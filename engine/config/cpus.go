package config

import "runtime"

// usableCPUs is the number of CPUs this process may run on: runtime.NumCPU
// counts the sched affinity mask on Linux (so taskset and cpusets narrow it),
// and GOMAXPROCS reflects a container's CPU quota or an operator's explicit
// GOMAXPROCS. More shards than that would only contend for the same cores.
func usableCPUs() int {
	return max(1, min(runtime.NumCPU(), runtime.GOMAXPROCS(0)))
}
