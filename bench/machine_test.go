package bench

import (
	"runtime"
	"strings"
	"testing"
)

const cpuinfoSample = `processor	: 0
vendor_id	: AuthenticAMD
model name	: AMD EPYC 7B13 64-Core Processor
flags		: fpu vme

processor	: 1
vendor_id	: AuthenticAMD
model name	: AMD EPYC 7B13 64-Core Processor
flags		: fpu vme
`

func TestParseCPUInfo(t *testing.T) {
	model, n := parseCPUInfo(cpuinfoSample)
	if model != "AMD EPYC 7B13 64-Core Processor" || n != 2 {
		t.Errorf("got %q, %d processors; want the EPYC model and 2", model, n)
	}
	// arm64 lists processors without a model name.
	model, n = parseCPUInfo("processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n\nprocessor\t: 1\n")
	if model != "" || n != 2 {
		t.Errorf("arm64: got %q, %d; want no model and 2", model, n)
	}
}

func TestParseProcessStatus(t *testing.T) {
	text := "Name:\tchronik\nVmPeak:\t 1000 kB\nVmHWM:\t   90112 kB\nVmRSS:\t   81920 kB\nThreads:\t12\n"
	st, err := parseProcessStatus(text)
	if err != nil {
		t.Fatal(err)
	}
	if st.VmRSSKiB != 81920 || st.VmHWMKiB != 90112 || st.Threads != 12 {
		t.Errorf("got %+v, want VmRSS 81920, VmHWM 90112, Threads 12", st)
	}
	if _, err := parseProcessStatus("Name:\tzombie\nState:\tZ\n"); err == nil {
		t.Error("status without VmRSS parsed without error")
	}
}

func TestParseMeminfo(t *testing.T) {
	kib, ok := parseKiBField("MemTotal:       24641536 kB\nMemFree:        1 kB\n", "MemTotal")
	if !ok || kib != 24641536 {
		t.Errorf("MemTotal = %d, %t; want 24641536", kib, ok)
	}
	if _, ok := parseKiBField("MemTotalX: 5 kB\n", "MemTotal"); ok {
		t.Error("matched a field by prefix")
	}
}

func TestParseLoadAvg(t *testing.T) {
	if got := parseLoadAvg("2.73 2.39 1.46 3/412 10922\n"); got != "2.73 2.39 1.46" {
		t.Errorf("parseLoadAvg = %q", got)
	}
	if got := parseLoadAvg(""); got != "" {
		t.Errorf("parseLoadAvg of nothing = %q", got)
	}
}

func TestMountFSType(t *testing.T) {
	mounts := `/dev/vda / ext4 rw,relatime 0 0
proc /proc proc rw 0 0
tmpfs /tmp tmpfs rw 0 0
/dev/vdb /tmp/disk\040space xfs rw 0 0
/dev/vdc /data ext4 rw 0 0
/dev/vdd /data btrfs rw 0 0
`
	f := func(path, want string) {
		t.Helper()
		got, ok := mountFSType(mounts, path)
		if !ok || got != want {
			t.Errorf("mountFSType(%q) = %q, %t; want %q", path, got, ok, want)
		}
	}
	f("/", "ext4")
	f("/work/main", "ext4")
	f("/tmp/chronik-bench-1", "tmpfs")
	f("/tmpx", "ext4") // not under /tmp
	f("/tmp/disk space/run", "xfs")
	f("/data/a", "btrfs") // the later of two stacked mounts wins
	if _, ok := mountFSType("", "/x"); ok {
		t.Error("found a mount in empty mounts text")
	}
}

func TestFilesystemName(t *testing.T) {
	if got := filesystemName(0x01021994); got != "tmpfs" {
		t.Errorf("tmpfs magic named %q", got)
	}
	if got := filesystemName(0x1234); got != "fs-0x1234" {
		t.Errorf("unknown magic named %q, want fs-0x1234", got)
	}
}

func TestDescribeMachine(t *testing.T) {
	m := DescribeMachine(t.TempDir())
	if m.Cores < 1 || m.GoVersion != runtime.Version() {
		t.Errorf("machine %+v: want cores and the Go version", m)
	}
	if runtime.GOOS == "linux" && (m.Kernel == "" || m.DataDirFS == "" || strings.HasPrefix(m.DataDirFS, "unknown")) {
		t.Errorf("machine %+v: want kernel and data dir filesystem on Linux", m)
	}
	line := m.String()
	if !strings.Contains(line, "cores") || !strings.Contains(line, m.GoVersion) {
		t.Errorf("machine line %q lacks cores or Go version", line)
	}
}

func TestShellQuote(t *testing.T) {
	got := ShellQuote([]string{"bin/chronik-bench", "compare", "--set", "log.segment.bytes=1MiB", "--topic", "it's here", ""})
	want := `bin/chronik-bench compare --set log.segment.bytes=1MiB --topic 'it'\''s here' ''`
	if got != want {
		t.Errorf("ShellQuote = %s\nwant         %s", got, want)
	}
}

func TestParseByteSize(t *testing.T) {
	f := func(in string, want int64) {
		t.Helper()
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	f("1048576", 1<<20)
	f("1MiB", 1<<20)
	f("64KiB", 64<<10)
	f("64 kib", 64<<10)
	f("1MB", 1e6)
	f("2GiB", 2<<30)
	f("512B", 512)
	for _, bad := range []string{"", "MiB", "-1KiB", "1.5MiB", "1TiB", "99999999999GiB"} {
		if n, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) = %d, want an error", bad, n)
		}
	}
}
