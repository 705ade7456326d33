package bench

import (
	"fmt"
	"os"
	"strconv"
)

// ProcessStatus is what /proc/PID/status and /proc/PID/fd tell about a broker
// process's footprint.
type ProcessStatus struct {
	VmRSSKiB int64 `json:"vm_rss_kib"` // resident set now
	VmHWMKiB int64 `json:"vm_hwm_kib"` // peak resident set
	Threads  int64 `json:"threads"`
	OpenFDs  int   `json:"open_fds"`
}

// ReadProcessStatus reads the memory and thread figures of a live process.
// It needs Linux's /proc; elsewhere it returns the open error.
func ReadProcessStatus(pid int) (ProcessStatus, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return ProcessStatus{}, fmt.Errorf("read status of process %d: %w", pid, err)
	}
	st, err := parseProcessStatus(string(b))
	if err != nil {
		return ProcessStatus{}, fmt.Errorf("process %d: %w", pid, err)
	}
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return ProcessStatus{}, fmt.Errorf("list open files of process %d: %w", pid, err)
	}
	st.OpenFDs = len(fds)
	return st, nil
}

// parseProcessStatus extracts VmRSS, VmHWM and Threads from /proc/PID/status
// text. VmRSS is required: without it there is nothing to report.
func parseProcessStatus(text string) (ProcessStatus, error) {
	var st ProcessStatus
	var ok bool
	if st.VmRSSKiB, ok = parseKiBField(text, "VmRSS"); !ok {
		return ProcessStatus{}, fmt.Errorf("no VmRSS line in /proc status")
	}
	st.VmHWMKiB, _ = parseKiBField(text, "VmHWM")
	st.Threads, _ = parseKiBField(text, "Threads")
	return st, nil
}
