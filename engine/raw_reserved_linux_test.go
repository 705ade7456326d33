package engine

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// rawReservedSeqWrite is the raw page-cache loop of make bench (1 MiB
// writes from one buffer, appending to a fresh file in dir) with the file's
// blocks reserved 8 MiB ahead of the writes, as the broker reserves its
// busy segments' (log.preallocate): the raw reference with the same help
// the broker gets. It returns MB/s, 0 where the file system cannot reserve.
func rawReservedSeqWrite(b *testing.B, dir string, total int64) float64 {
	b.Helper()
	f, err := os.CreateTemp(dir, "reserved-seq-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	fd := int(f.Fd())
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	const step = 8 << 20
	start := time.Now()
	var reserved int64
	for off := int64(0); off < total; off += int64(len(buf)) {
		if off+int64(len(buf)) > reserved {
			if err := unix.Fallocate(fd, unix.FALLOC_FL_KEEP_SIZE, reserved, step); err != nil {
				return 0
			}
			reserved += step
		}
		if _, err := unix.Pwrite(fd, buf, off); err != nil {
			b.Fatal(err)
		}
	}
	return float64(total) / time.Since(start).Seconds() / 1e6
}
