package main

import (
	"log/slog"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// raiseFileLimit lifts RLIMIT_NOFILE as far as the kernel lets this process:
// every partition holds a few open files (segment, offset and time index), so
// 10,000 partitions need more than the 20,000 or so many hosts allow.
func raiseFileLimit(log *slog.Logger) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	want := lim.Max
	if raw, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64); err == nil && n > want {
			want = n
		}
	}
	if want > lim.Max {
		// Raising the hard limit needs CAP_SYS_RESOURCE; try, then settle for the hard limit.
		if unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: want, Max: want}) == nil {
			log.Info("open file limit raised", "limit", want)
			return
		}
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
	}
	log.Info("open file limit", "limit", lim.Max, "note", "about 3 files per partition with data")
}
