package engine

import (
	"os"
	"testing"
)

// The limits along the process's cgroup path are read, for v2 and v1, and
// "no limit" values are not limits.
func TestCgroupMemoryLimitsWalkTheProcessPath(t *testing.T) {
	files := map[string]string{
		"/sys/fs/cgroup/system.slice/app.service/memory.max":     "536870912\n",
		"/sys/fs/cgroup/system.slice/memory.max":                 "max\n",
		"/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "268435456\n",
		"/sys/fs/cgroup/memory/memory.limit_in_bytes":            "9223372036854771712\n",
	}
	read := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
	got := cgroupMemoryLimits("0::/system.slice/app.service\n", read)
	if len(got) != 1 || got[0] != 512<<20 {
		t.Fatalf("v2 limits %v, want [512 MiB]", got)
	}
	got = cgroupMemoryLimits("12:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n", read)
	if len(got) != 1 || got[0] != 256<<20 {
		t.Fatalf("v1 limits %v, want [256 MiB]", got)
	}
	if got := cgroupMemoryLimits("0::/\n", read); len(got) != 0 {
		t.Fatalf("no limit set, yet %v", got)
	}
	if m := memoryLimit(); m <= 0 {
		t.Fatalf("memory limit %d, want the machine's or its cgroup's", m)
	}
}
