//go:build linux

package bench

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// threadPacer pins its goroutine to one OS thread, lowers that thread's
// timer slack from the default 50 µs to 1 µs, and sleeps with nanosleep.
// Measured on the 2-core benchmark VM: a 10 µs sleep overshoots by ~25 µs
// (p99 ~80 µs), against ~1 ms with time.Sleep.
type threadPacer struct{}

// newPacer must be called on the goroutine that will sleep.
func newPacer() pacer {
	runtime.LockOSThread()
	// Best effort: without it sleeps are only less precise.
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	return threadPacer{}
}

func (threadPacer) sleepUntil(t time.Time) {
	for {
		d := time.Until(t)
		if d <= 0 {
			return
		}
		ts := unix.NsecToTimespec(int64(d))
		if err := unix.Nanosleep(&ts, nil); err != nil && err != unix.EINTR {
			time.Sleep(d)
			return
		}
	}
}

// close restores the default slack and unlocks the thread. Letting the
// goroutine end while locked would make Go destroy the thread, and a broker
// child process started from that thread would get its Pdeathsig (SIGTERM)
// in the middle of a run: the death signal follows the creating thread,
// not the process.
func (threadPacer) close() {
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 0, 0, 0, 0) // 0: back to the thread's default
	runtime.UnlockOSThread()
}
