package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// byteUnits are the suffixes ParseByteSize accepts, longest first so "KiB"
// is not read as "B". Binary (KiB) and decimal (KB) units mean what they say.
var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"B", 1},
}

// ParseByteSize reads "1048576", "1MiB", "64KiB" or "1MB" (case-insensitive
// suffix, optional space) as a byte count.
func ParseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range byteUnits {
		if len(t) >= len(u.suffix) && strings.EqualFold(t[len(t)-len(u.suffix):], u.suffix) {
			mult = u.mult
			t = strings.TrimSpace(t[:len(t)-len(u.suffix)])
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("byte size %q: want a non-negative whole number with an optional unit (B, KiB, MiB, GiB, KB, MB, GB)", s)
	}
	if n > (1<<63-1)/mult {
		return 0, fmt.Errorf("byte size %q: too large", s)
	}
	return n * mult, nil
}
