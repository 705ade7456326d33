package uring

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestProbeHost prints what the probe finds on this machine and checks it
// agrees with creating a ring directly.
func TestProbeHost(t *testing.T) {
	uname, _ := exec.Command("uname", "-r").Output()
	disabled, err := os.ReadFile("/proc/sys/kernel/io_uring_disabled")
	if err != nil {
		disabled = []byte("absent (" + err.Error() + ")")
	}
	p := Probe()
	t.Logf("uname -r: %s", strings.TrimSpace(string(uname)))
	t.Logf("kernel.io_uring_disabled: %s", strings.TrimSpace(string(disabled)))
	t.Logf("probe: usable=%v features=%#x setup_flags=%#x", p.Usable, p.Features, p.SetupFlags)
	t.Logf("probe reason: %s", p.Reason)
	if p.Kernel != strings.TrimSpace(string(uname)) {
		t.Errorf("probe kernel %q, uname -r %q", p.Kernel, uname)
	}
	if p.Reason == "" {
		t.Fatal("probe gave no reason")
	}
	r, err := NewRing(8)
	if p.Usable && err != nil {
		t.Fatalf("probe passed but NewRing fails: %v", err)
	}
	if err == nil {
		r.Close()
	}
}

func probeWithSetup(t *testing.T, disabled string, setup setupFunc) ProbeResult {
	t.Helper()
	path := filepath.Join(t.TempDir(), "io_uring_disabled")
	if disabled != "" {
		if err := os.WriteFile(path, []byte(disabled+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return probeHost(probeEnv{disabledPath: path, setup: setup})
}

func failingSetup(errno unix.Errno) setupFunc {
	return func(uint32, *uringParams) (int, error) { return -1, errno }
}

func TestProbeExplainsSetupFailures(t *testing.T) {
	f := func(disabled string, errno unix.Errno, want string) {
		t.Helper()
		p := probeWithSetup(t, disabled, failingSetup(errno))
		if p.Usable || !strings.Contains(p.Reason, want) {
			t.Errorf("disabled=%q %v: usable=%v reason %q, want it to say %q", disabled, errno, p.Usable, p.Reason, want)
		}
		if disabled != "" && p.Disabled != disabled {
			t.Errorf("probe read io_uring_disabled %q, want %q", p.Disabled, disabled)
		}
	}
	f("0", unix.ENOSYS, "kernel has no io_uring")
	f("0", unix.EPERM, "seccomp or container policy")
	f("1", unix.EPERM, "kernel.io_uring_disabled=1")
	f("", unix.EPERM, "seccomp or container policy") // sysctl absent (kernel < 6.6)
	f("0", unix.ENOMEM, "RLIMIT_MEMLOCK")
	f("0", unix.EINVAL, "EINVAL even without setup flags")
	f("0", unix.EFAULT, "io_uring_setup failed")
}

func TestProbeRefusesWhenDisabledSystemWide(t *testing.T) {
	called := false
	p := probeWithSetup(t, "2", func(uint32, *uringParams) (int, error) {
		called = true
		return -1, unix.ENOSYS
	})
	if p.Usable || called || !strings.Contains(p.Reason, "io_uring_disabled=2") {
		t.Fatalf("usable=%v setup called=%v reason %q", p.Usable, called, p.Reason)
	}
}

// An older kernel rejects setup flags it does not know with EINVAL; the
// ring must then come up with fewer flags.
func TestProbeRetriesSetupWithFewerFlags(t *testing.T) {
	requireURing(t)
	var tried []uint32
	p := probeWithSetup(t, "0", func(entries uint32, params *uringParams) (int, error) {
		tried = append(tried, params.flags)
		if params.flags != 0 {
			return -1, unix.EINVAL
		}
		return sysSetup(entries, params)
	})
	if !p.Usable || p.SetupFlags != 0 {
		t.Fatalf("usable=%v flags=%#x reason %q", p.Usable, p.SetupFlags, p.Reason)
	}
	want := []uint32{setupClamp | setupSubmitAll, setupClamp, 0}
	if len(tried) != len(want) || tried[0] != want[0] || tried[1] != want[1] || tried[2] != want[2] {
		t.Fatalf("setup flags tried %#x, want %#x", tried, want)
	}
}

func TestProbeRequiresFeatures(t *testing.T) {
	requireURing(t)
	p := probeWithSetup(t, "0", func(entries uint32, params *uringParams) (int, error) {
		fd, err := sysSetup(entries, params)
		params.features &^= featNoDrop // as a 5.4 kernel would report
		return fd, err
	})
	if p.Usable || !strings.Contains(p.Reason, "IORING_FEAT_NODROP") {
		t.Fatalf("usable=%v reason %q", p.Usable, p.Reason)
	}
}
