package numa

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cpuSetBits is how many CPUs a unix.CPUSet can name.
const cpuSetBits = 8 * int(unsafe.Sizeof(unix.CPUSet{}))

// AllowedCPUs returns the CPUs the calling thread may run on (for the
// process's main threads: its affinity mask, as taskset and cpusets set it).
func AllowedCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("numa: sched_getaffinity: %w", err)
	}
	var cpus []int
	for c := 0; c < cpuSetBits && len(cpus) < set.Count(); c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// PinThread restricts the calling OS thread to cpus. The caller must hold
// its thread (runtime.LockOSThread) for as long as the pinning should last
// and should exit without unlocking, so that the runtime retires the pinned
// thread instead of handing it to other goroutines.
func PinThread(cpus []int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		if c < 0 || c >= cpuSetBits {
			return fmt.Errorf("numa: CPU %d out of range", c)
		}
		set.Set(c)
	}
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("numa: sched_setaffinity %v: %w", cpus, err)
	}
	return nil
}

// CanPin says PinThread works on this platform.
const CanPin = true
