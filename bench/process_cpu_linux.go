//go:build linux

package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// userHZ is the unit of /proc/PID/stat CPU times; the kernel fixes it at 100
// for user space on every architecture Go supports.
const userHZ = 100

// ProcessCPUTime is the user plus system CPU time a process has used.
func ProcessCPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("read CPU time of process %d: %w", pid, err)
	}
	ticks, err := parseStatCPUTicks(string(b))
	if err != nil {
		return 0, fmt.Errorf("process %d: %w", pid, err)
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// selfCPUTime is this process's user plus system CPU time: the client, and an
// in-process broker when there is one.
func selfCPUTime() (time.Duration, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// parseStatCPUTicks returns utime+stime (fields 14 and 15) of /proc/PID/stat
// text. The command name (field 2) may hold spaces and parentheses, so
// fields are counted from the last ')'.
func parseStatCPUTicks(text string) (int64, error) {
	i := strings.LastIndexByte(text, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc stat line")
	}
	f := strings.Fields(text[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat line: %d fields after the name", len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad CPU times %q %q in /proc stat line", f[11], f[12])
	}
	return utime + stime, nil
}
