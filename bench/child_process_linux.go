//go:build linux

package bench

import "syscall"

// childProcAttr makes the kernel send the broker SIGTERM if the benchmark
// dies, so an interrupted run never leaves a broker holding its port and disk.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
