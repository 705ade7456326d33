package numa

import (
	"fmt"
	"strconv"
	"strings"
)

// maxCPU bounds CPU numbers read from sysfs, so a corrupt list cannot make
// a range allocate without limit.
const maxCPU = 1 << 16

// parseCPUList parses the kernel's CPU list format ("0-3,8-11", "5", or
// empty for a node without CPUs) into ascending CPU numbers.
func parseCPUList(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.Atoi(lo)
		if err != nil || first < 0 || first > maxCPU {
			return nil, fmt.Errorf("numa: bad CPU list %q", s)
		}
		last := first
		if isRange {
			last, err = strconv.Atoi(hi)
			if err != nil || last < first || last > maxCPU {
				return nil, fmt.Errorf("numa: bad CPU list %q", s)
			}
		}
		for c := first; c <= last; c++ {
			if n := len(cpus); n > 0 && c <= cpus[n-1] {
				return nil, fmt.Errorf("numa: CPU list %q is not ascending", s)
			}
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}
