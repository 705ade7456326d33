package uring

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// probeEnv holds what the probe reads from the host; tests substitute it.
type probeEnv struct {
	disabledPath string
	setup        setupFunc
}

func hostProbeEnv() probeEnv {
	return probeEnv{disabledPath: "/proc/sys/kernel/io_uring_disabled", setup: sysSetup}
}

// probeOpcodes are the operations this package submits.
var probeOpcodes = []uint8{opcodeNop, opcodeWrite, opcodeWritev, opcodeRead, opcodeFsync}

func probeHost(env probeEnv) ProbeResult {
	res := ProbeResult{Kernel: KernelRelease()}
	if v, err := os.ReadFile(env.disabledPath); err == nil {
		res.Disabled = strings.TrimSpace(string(v))
	}
	// 1 still lets CAP_SYS_ADMIN and kernel.io_uring_group members create
	// rings, so only 2 is decided without asking io_uring_setup.
	if res.Disabled == "2" {
		res.Reason = "io_uring is disabled for every process (kernel.io_uring_disabled=2)"
		return res
	}
	r, err := newRing(8, env.setup)
	if err != nil {
		res.Reason = setupFailureReason(err, res.Disabled)
		return res
	}
	defer r.Close()
	res.Features, res.SetupFlags = r.features, r.setupFlags

	missing, err := r.unsupportedOpcodes(probeOpcodes...)
	if errors.Is(err, unix.EINVAL) {
		res.Reason = "kernel has no IORING_REGISTER_PROBE, so it predates the READ/WRITE opcodes (needs 5.6+)"
		return res
	}
	if err != nil {
		res.Reason = err.Error()
		return res
	}
	if len(missing) > 0 {
		names := make([]string, len(missing))
		for i, op := range missing {
			names[i] = opcodeName(op)
		}
		res.Reason = "kernel cannot run io_uring " + strings.Join(names, ", ")
		return res
	}

	before := r.Stats().Completed
	b := r.NewBatch()
	b.SubmitNop()
	if _, err := b.Wait(); err != nil {
		res.Reason = "io_uring NOP smoke test failed: " + err.Error()
		return res
	}
	if got := r.Stats().Completed - before; got != 1 {
		res.Reason = fmt.Sprintf("io_uring NOP smoke test reaped %d completions, want 1", got)
		return res
	}
	res.Usable = true
	res.Reason = fmt.Sprintf("io_uring works: kernel %s, features %#x, setup flags %#x, opcodes NOP WRITE WRITEV READ FSYNC, NOP round trip ok",
		res.Kernel, res.Features, res.SetupFlags)
	return res
}

// setupFailureReason explains an io_uring_setup failure in operator terms.
func setupFailureReason(err error, disabled string) string {
	switch {
	case errors.Is(err, unix.ENOSYS):
		return "io_uring_setup: ENOSYS: the kernel has no io_uring (older than 5.1 or built without CONFIG_IO_URING): " + err.Error()
	case errors.Is(err, unix.EPERM) && disabled == "1":
		return "io_uring_setup: EPERM: kernel.io_uring_disabled=1 allows io_uring only to CAP_SYS_ADMIN and members of kernel.io_uring_group: " + err.Error()
	case errors.Is(err, unix.EPERM):
		return "io_uring_setup: EPERM: blocked by seccomp or container policy (the default Docker/containerd seccomp profiles deny io_uring): " + err.Error()
	case errors.Is(err, unix.ENOMEM):
		return "io_uring_setup: ENOMEM: no memory for the ring; kernels before 5.12 charge it to RLIMIT_MEMLOCK, raise `ulimit -l` (LimitMEMLOCK=): " + err.Error()
	case errors.Is(err, unix.EINVAL):
		return "io_uring_setup: EINVAL even without setup flags: " + err.Error()
	case errors.Is(err, errMissingFeatures):
		return err.Error()
	}
	return "io_uring_setup failed: " + err.Error()
}

// KernelRelease is the running kernel's release (uname -r), or "unknown".
func KernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}
