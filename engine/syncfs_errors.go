package engine

import (
	"strconv"
	"strings"
)

// syncfsReportsErrors says whether syncfs on a kernel of this release
// reports writeback errors: Linux 5.8 and later do. Older kernels return
// success from a syncfs whose writeback failed, so a WAL checkpoint would
// retire files whose partition pages were lost and a syncfs-synced turn
// would be acknowledged: the broker then makes no turn durable through
// syncfs (syncfsTrusted).
func syncfsReportsErrors(release string) bool {
	major, rest, _ := strings.Cut(release, ".")
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(leadingDigits(rest))
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > 5 || ma == 5 && mi >= 8
}

// leadingDigits is the run of decimal digits s starts with ("8" of "8-rc1").
func leadingDigits(s string) string {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return s[:n]
}
