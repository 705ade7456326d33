package numa

import (
	"runtime"
	"slices"
	"testing"
)

// A pinned thread reports exactly the CPU it was pinned to; the thread is
// retired with its goroutine, so the pinning never reaches another one.
func TestPinThread(t *testing.T) {
	allowed, err := AllowedCPUs()
	if err != nil || len(allowed) == 0 {
		t.Fatalf("AllowedCPUs = %v, %v", allowed, err)
	}
	want := allowed[len(allowed)-1:]
	got := make(chan []int, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the runtime retires the thread
		if err := PinThread(want); err != nil {
			t.Error(err)
			got <- nil
			return
		}
		cpus, err := AllowedCPUs()
		if err != nil {
			t.Error(err)
		}
		got <- cpus
	}()
	if cpus := <-got; !slices.Equal(cpus, want) {
		t.Fatalf("pinned thread runs on %v, want %v", cpus, want)
	}
	if err := PinThread([]int{-1}); err == nil {
		t.Fatal("pinning to CPU -1 was accepted")
	}
}
