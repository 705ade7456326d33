package uring

import "sync"

// ProbeResult is what the start-up probe found out about io_uring here.
type ProbeResult struct {
	Usable bool
	// Reason says in one sentence why io_uring is or is not used.
	Reason string
	// Kernel is the running kernel's release (uname -r).
	Kernel string
	// Disabled is /proc/sys/kernel/io_uring_disabled, "" where absent.
	Disabled string
	// Features and SetupFlags are what io_uring_setup reported and accepted.
	Features, SetupFlags uint32
}

var probeOnce = sync.OnceValue(func() ProbeResult { return probeHost(hostProbeEnv()) })

// Probe checks once per process whether io_uring can serve file writes:
// the io_uring_disabled sysctl, io_uring_setup, the required feature bits,
// the opcodes this package uses, and a NOP round trip.
func Probe() ProbeResult { return probeOnce() }
