package engine

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// memoryLimit is the memory the process may use: the machine's RAM, or its
// cgroup's limit where that is lower (a container). 0 when unknown.
func memoryLimit() int64 {
	var limit int64
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		limit = int64(si.Totalram) * int64(si.Unit)
	}
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// "max" (v2) or a huge number (v1) means no limit.
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && (limit == 0 || n < limit) {
			limit = n
		}
	}
	return limit
}
