package engine

import (
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var ceilingCRC = crc32.MakeTable(crc32.Castagnoli)

// minimalAppendPipeline is the least any broker of this shape must do for n
// produce requests of frame, with nothing else: sweepProducers senders each
// copy the frame (as a receive would) and check one CRC-32C over it, and
// one OS-locked writer appends each body to one file with pwrite. It
// returns MB/s counting shape.bytes() per request, as runSweepLoad does, so
// that BenchmarkAppendAgainstRawDisk can put the broker against it and it
// against the raw page-cache loop in one run: how far the 0.9 goal is
// reachable on the machine at all, and how much of the gap is the broker's.
func minimalAppendPipeline(b *testing.B, dir string, n int, frame []byte, shape sweepShape) float64 {
	f, err := os.Create(filepath.Join(dir, "minimal-pipeline"))
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	type write struct {
		body []byte
		done chan error
	}
	writes := make(chan write, sweepProducers)
	writer := make(chan struct{})
	go func() {
		defer close(writer)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var off int64
		for w := range writes {
			written, err := unix.Pwrite(int(f.Fd()), w.body, off)
			if err == nil && written < len(w.body) {
				err = os.ErrInvalid // a short write to the page cache: not expected here
			}
			off += int64(max(written, 0))
			w.done <- err
		}
	}()
	var failed atomic.Pointer[error] // the first failure
	start := time.Now()
	spreadOverProducers(int64(n), func(int64) {
		if failed.Load() != nil {
			return
		}
		body := slices.Clone(frame)
		_ = crc32.Checksum(body, ceilingCRC)
		done := make(chan error, 1)
		writes <- write{body: body, done: done}
		if err := <-done; err != nil {
			failed.CompareAndSwap(nil, &err)
		}
	})
	elapsed := time.Since(start)
	close(writes)
	<-writer
	if err := failed.Load(); err != nil {
		b.Fatalf("minimal pipeline: %v", *err)
	}
	return float64(n*shape.bytes()) / elapsed.Seconds() / 1e6
}
