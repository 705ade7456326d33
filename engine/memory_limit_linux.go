package engine

import (
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// memoryLimit is the memory the process may use: the machine's RAM, or the
// lowest limit of its cgroup and the cgroup's ancestors where that is
// lower (a container, a systemd unit with MemoryMax). 0 when unknown.
func memoryLimit() int64 {
	var limit int64
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		limit = int64(si.Totalram) * int64(si.Unit)
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return limit
	}
	for _, n := range cgroupMemoryLimits(string(self), os.ReadFile) {
		if limit == 0 || n < limit {
			limit = n
		}
	}
	return limit
}

// cgroupMemoryLimits reads the memory limits along the process's cgroup
// path, as /proc/self/cgroup names it, where the hierarchy is mounted at
// its usual place: cgroup v2's memory.max under /sys/fs/cgroup, v1's
// memory.limit_in_bytes under /sys/fs/cgroup/memory. "max" and v1's
// near-2^63 "no limit" are not limits.
func cgroupMemoryLimits(self string, read func(string) ([]byte, error)) []int64 {
	var limits []int64
	for _, line := range strings.Split(strings.TrimSpace(self), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		var root, file string
		switch {
		case f[0] == "0" && f[1] == "":
			root, file = "/sys/fs/cgroup", "memory.max"
		case strings.Contains(","+f[1]+",", ",memory,"):
			root, file = "/sys/fs/cgroup/memory", "memory.limit_in_bytes"
		default:
			continue
		}
		for p := path.Clean("/" + f[2]); ; p = path.Dir(p) {
			if b, err := read(path.Join(root, p, file)); err == nil {
				if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && n < 1<<62 {
					limits = append(limits, n)
				}
			}
			if p == "/" {
				break
			}
		}
	}
	return limits
}
