package uring

// MaxWritevBuffers keeps one vectored write under the kernel's IOV_MAX (1024).
const MaxWritevBuffers = 1024

// MaxWritevBytes bounds one vectored write of several buffers. Buffered
// writes of more than 2 MiB per call ran 3-5 times slower per byte than
// 1 MiB calls on the 6.18 ext4 VM behind BENCHMARKS.md (the kernel's copy
// into the page cache took the time), so a turn that gathered 60 MiB of
// appends writes it in 1 MiB calls: BenchmarkAppendAgainstRawDisk, flush=never.
const MaxWritevBytes = 1 << 20

// WritevChunk returns how many of bufs the next vectored write takes: at
// least one (a single larger buffer goes whole), at most MaxWritevBuffers,
// and no more than MaxWritevBytes in all past the first.
func WritevChunk(bufs [][]byte) int {
	n, size := 0, 0
	for n < len(bufs) && n < MaxWritevBuffers {
		size += len(bufs[n])
		if n > 0 && size > MaxWritevBytes {
			break
		}
		n++
	}
	return n
}
