//go:build !linux

package uring

import "runtime"

type probeEnv struct{}

func hostProbeEnv() probeEnv { return probeEnv{} }

func probeHost(probeEnv) ProbeResult {
	return ProbeResult{Reason: "io_uring exists only on Linux (GOOS=" + runtime.GOOS + ")"}
}

// KernelRelease is "" off Linux.
func KernelRelease() string { return "" }
