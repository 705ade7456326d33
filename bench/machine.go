package bench

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes the host a benchmark ran on. Every published figure names
// it, because a number without its machine cannot be compared with anything.
type Machine struct {
	CPUModel    string `json:"cpu_model"`
	Cores       int    `json:"cores"` // logical CPUs the OS reports
	MemTotalMiB int64  `json:"mem_total_mib"`
	Kernel      string `json:"kernel"`
	DataDirFS   string `json:"data_dir_fs,omitempty"` // filesystem holding broker data
	LoadAvg     string `json:"load_avg,omitempty"`    // 1, 5, 15 minute load when the run began
	GoVersion   string `json:"go_version"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
}

// DescribeMachine gathers what can be learnt about this host. dataDir names a
// directory whose filesystem type is reported ("" skips it). Missing sources
// (no /proc on this OS) leave fields empty rather than failing the benchmark.
func DescribeMachine(dataDir string) Machine {
	m := Machine{
		Cores:     runtime.NumCPU(),
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		model, processors := parseCPUInfo(string(b))
		m.CPUModel = model
		if processors > 0 {
			m.Cores = processors
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kib, ok := parseKiBField(string(b), "MemTotal"); ok {
			m.MemTotalMiB = kib / 1024
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = parseLoadAvg(string(b))
	}
	if k, err := kernelRelease(); err == nil {
		m.Kernel = k
	}
	if dataDir != "" {
		if fs, err := filesystemType(dataDir); err == nil {
			m.DataDirFS = fs
		} else {
			m.DataDirFS = "unknown (" + err.Error() + ")"
		}
	}
	return m
}

// String is the one-line form printed above every report.
func (m Machine) String() string {
	var b strings.Builder
	model := m.CPUModel
	if model == "" {
		model = "unknown CPU"
	}
	fmt.Fprintf(&b, "%s, %d cores", model, m.Cores)
	if m.MemTotalMiB > 0 {
		fmt.Fprintf(&b, ", %.1f GiB RAM", float64(m.MemTotalMiB)/1024)
	}
	if m.Kernel != "" {
		fmt.Fprintf(&b, ", %s", m.Kernel)
	}
	if m.DataDirFS != "" {
		fmt.Fprintf(&b, ", data on %s", m.DataDirFS)
	}
	fmt.Fprintf(&b, ", %s %s/%s", m.GoVersion, m.OS, m.Arch)
	if m.LoadAvg != "" {
		// Other work on the host skews every figure; say how busy it was.
		fmt.Fprintf(&b, ", load avg %s at start", m.LoadAvg)
	}
	return b.String()
}

// parseCPUInfo returns the first "model name" and the number of "processor"
// entries in /proc/cpuinfo text. Some architectures (arm64) have no model name;
// their "Hardware" or "CPU part" lines are not a model, so the model stays "".
func parseCPUInfo(text string) (model string, processors int) {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(key) {
		case "processor":
			processors++
		case "model name":
			if model == "" {
				model = strings.TrimSpace(value)
			}
		}
	}
	return model, processors
}

// parseLoadAvg keeps the three load averages of /proc/loadavg text.
func parseLoadAvg(text string) string {
	f := strings.Fields(text)
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// parseKiBField finds "Name:   1234 kB" in /proc/meminfo or /proc/PID/status
// text and returns 1234.
func parseKiBField(text, name string) (int64, bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || key != name {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) == 0 {
			return 0, false
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, false
		}
		return n, true
	}
	return 0, false
}

// filesystemNames maps statfs f_type magic numbers (linux/magic.h) to names.
// Whether broker data sits on tmpfs or a real disk changes produce figures by
// an order of magnitude, so the report must say which.
var filesystemNames = map[int64]string{
	0xEF53:     "ext2/ext3/ext4", // one magic for all three; /proc/mounts tells them apart
	0x58465342: "xfs",
	0x9123683E: "btrfs",
	0x01021994: "tmpfs",
	0x794C7630: "overlayfs",
	0x2FC12FC1: "zfs",
	0x6969:     "nfs",
	0xF2F52010: "f2fs",
	0x65735546: "fuse",
	0x858458F6: "ramfs",
	0x5346544E: "ntfs",
	0x4D44:     "vfat",
	0x00C36400: "ceph",
	0xFF534D42: "cifs",
	0x01021997: "9p",
}

// mountFSType returns the filesystem type of the mount holding path, read
// from /proc/self/mounts text: the entry with the longest mount point that
// is path or a parent of it, the last such entry when mounts stack.
func mountFSType(mounts, path string) (string, bool) {
	best, fstype := -1, ""
	sc := bufio.NewScanner(strings.NewReader(mounts))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			continue
		}
		mnt := unescapeMountField(f[1])
		if !pathWithin(path, mnt) || len(mnt) < best {
			continue
		}
		best, fstype = len(mnt), f[2]
	}
	return fstype, best >= 0
}

// pathWithin reports whether path is dir or lies below it.
func pathWithin(path, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(path, "/")
	}
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// unescapeMountField undoes the octal escapes (\040 for a space) that
// /proc/mounts uses in paths.
func unescapeMountField(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// filesystemName names a statfs magic, or gives it in hex when unknown.
func filesystemName(magic int64) string {
	if name, ok := filesystemNames[magic]; ok {
		return name
	}
	return fmt.Sprintf("fs-0x%x", magic)
}
