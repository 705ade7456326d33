package uring

import (
	"fmt"
	"os"
	"sync"
)

// uringFile is the File whose writes and syncs go through io_uring. Each
// method submits its SQE and waits for the CQE on a ring it borrows for the
// call: the shard's own ring, or one from the opener's pool. When no ring is
// free (another goroutine drives it) the call runs as plain pwrite on the
// same fd, so a File is usable from any goroutine. ReadAt is always pread:
// reads come from fetch handlers on other goroutines, and a page-cache hit
// costs one syscall either way.
type uringFile struct {
	f     *os.File
	fd    int
	name  string
	plain pwriteFile
	ring  *Ring     // the shard's ring; nil when opened through the pool
	pool  *ringPool // used when ring is nil

	// life is read-held by every ring operation on fd and write-held by
	// Close, so the fd cannot be closed (and its number reused) while the
	// kernel works on it — Datasync may run off the owner goroutine.
	life   sync.RWMutex
	closed bool // guarded by life
}

func openUringFile(path string, ring *Ring, pool *ringPool) (*uringFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &uringFile{f: f, fd: int(f.Fd()), name: f.Name(), plain: pwriteFile{f: f}, ring: ring, pool: pool}, nil
}

// borrow claims a ring for one call, or returns nil to use plain syscalls.
func (u *uringFile) borrow() *Ring {
	if u.ring == nil {
		return u.pool.get()
	}
	if !u.ring.tryAcquire() {
		return nil
	}
	if !u.ring.usable() {
		u.ring.release()
		return nil
	}
	return u.ring
}

func (u *uringFile) giveBack(r *Ring) {
	if u.ring == nil {
		u.pool.put(r)
		return
	}
	r.release()
}

// hold keeps the fd open until release; false means the file is closed
// or closing. It never waits.
func (u *uringFile) hold() bool {
	if !u.life.TryRLock() {
		return false
	}
	if u.closed {
		u.life.RUnlock()
		return false
	}
	return true
}

func (u *uringFile) release() { u.life.RUnlock() }

// run runs op on a borrowed ring; ok is false when none was free.
func (u *uringFile) run(op batchOp) (res Result, ok bool) {
	if !u.hold() {
		return Result{Err: fmt.Errorf("io_uring %s: %w", op.describe(), os.ErrClosed)}, true
	}
	defer u.release()
	r := u.borrow()
	if r == nil {
		return Result{}, false
	}
	res = r.runOne(op)
	u.giveBack(r)
	return res, true
}

func (u *uringFile) WriteAt(p []byte, off int64) (int, error) {
	if res, ok := u.run(batchOp{kind: opWrite, file: u, buf: p, off: off, size: len(p)}); ok {
		return res.N, res.Err
	}
	return u.plain.WriteAt(p, off)
}

func (u *uringFile) WritevAt(bufs [][]byte, off int64) (int, error) {
	size := 0
	for _, p := range bufs {
		size += len(p)
	}
	if res, ok := u.run(batchOp{kind: opWritev, file: u, bufs: bufs, off: off, size: size}); ok {
		return res.N, res.Err
	}
	return u.plain.WritevAt(bufs, off)
}

func (u *uringFile) ReadAt(p []byte, off int64) (int, error) { return u.f.ReadAt(p, off) }

func (u *uringFile) Datasync() error {
	if res, ok := u.run(batchOp{kind: opDatasync, file: u}); ok {
		return res.Err
	}
	return u.plain.Datasync()
}

func (u *uringFile) StartWriteback(off, n int64) error { return u.plain.StartWriteback(off, n) }

func (u *uringFile) ReserveSpace(off, n int64) error { return u.plain.ReserveSpace(off, n) }

func (u *uringFile) Truncate(size int64) error { return u.f.Truncate(size) }

func (u *uringFile) Size() (int64, error) { return u.plain.Size() }

func (u *uringFile) Name() string { return u.name }

// Close waits for ring operations on the file to finish, then closes the
// fd. Calls after Close fail with os.ErrClosed.
func (u *uringFile) Close() error {
	u.life.Lock()
	defer u.life.Unlock()
	u.closed = true
	return u.f.Close()
}
