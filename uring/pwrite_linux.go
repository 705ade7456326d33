package uring

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// datasync runs fdatasync on f.
func datasync(f *os.File) error { return onDescriptor(f, unix.Fdatasync) }

// onDescriptor runs call on f's descriptor through the file's RawConn, so
// the descriptor stays referenced for the call: a Close on the owner
// goroutine meanwhile waits for it instead of freeing (and letting the
// kernel reuse) the fd. EINTR is retried.
func onDescriptor(f *os.File, call func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if serr = call(int(fd)); serr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		// Control fails only on a closed file; say so in the os package's
		// terms, since a caller on another goroutine may race a close.
		return fmt.Errorf("%w: %v", os.ErrClosed, err)
	}
	return serr
}

// iovMax is Linux's limit on iovecs per call (UIO_MAXIOV); past it pwritev
// fails with EINVAL.
const iovMax = 1024

// pwritev writes bufs at off with pwritev(2), completing short writes.
func pwritev(f *os.File, bufs [][]byte, off int64) (int, error) {
	total := 0
	fd := int(f.Fd())
	for len(bufs) > 0 {
		chunk := bufs
		if len(chunk) > iovMax {
			chunk = chunk[:iovMax]
		}
		n, err := unix.Pwritev(fd, chunk, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return total, fmt.Errorf("pwritev %s at %d: %w", f.Name(), off, err)
		}
		total += n
		off += int64(n)
		for n > 0 && len(bufs) > 0 {
			if n >= len(bufs[0]) {
				n -= len(bufs[0])
				bufs = bufs[1:]
				continue
			}
			bufs = append([][]byte{bufs[0][n:]}, bufs[1:]...)
			n = 0
		}
		// Drop empty buffers so a zero-length tail cannot spin the loop.
		for len(bufs) > 0 && len(bufs[0]) == 0 {
			bufs = bufs[1:]
		}
	}
	return total, nil
}

// startWriteback asks the kernel to begin writing back a range of f's dirty
// pages without waiting for it (sync_file_range with WRITE only).
func startWriteback(f *os.File, off, n int64) error {
	return onDescriptor(f, func(fd int) error {
		return unix.SyncFileRange(fd, off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}

// reserveSpace allocates blocks for n bytes at off without changing the
// file's size (fallocate, FALLOC_FL_KEEP_SIZE).
func reserveSpace(f *os.File, off, n int64) error {
	return onDescriptor(f, func(fd int) error {
		return unix.Fallocate(fd, unix.FALLOC_FL_KEEP_SIZE, off, n)
	})
}
