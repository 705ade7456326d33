package uring

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// How a batch travels through the ring:
//
//	Batch.Submit*  ──► ops grouped per file into chains (call order kept)
//	place          ──► each ready chain's ops as linked SQEs (IOSQE_IO_LINK),
//	                   while room = min(free SQ entries, CQ entries − outstanding)
//	                   slot[user_data] pins the buffers and the iovec array
//	io_uring_enter ──► submit all placed SQEs, wait for all outstanding CQEs
//	reap           ──► CQE → slot → op: done, short (resubmit the rest of the
//	                   chain once it drains), or failed (rest of chain not run)
//
// Memory ordering: SQEs are written with plain stores, then published by an
// atomic store of the SQ tail; CQEs are read after an atomic load of the CQ
// tail and released by an atomic store of the CQ head. Go's atomics are
// sequentially consistent, which covers the kernel's acquire/release pairs.

// Ring is one io_uring instance: a submission queue the kernel reads and a
// completion queue it fills, both mapped into this process.
//
// Ownership: a Ring is driven by one goroutine at a time — its owner, a shard
// that calls runtime.LockOSThread. The lock is for locality, not for
// correctness: the ring is set up without SINGLE_ISSUER, DEFER_TASKRUN and
// COOP_TASKRUN, so any thread may enter it and completion work queued on a
// thread the goroutine left still runs. Every entry point that touches the queues
// (Batch.Wait, the File methods of files opened on the ring) first claims the
// ring with a compare-and-swap; a caller that loses the race does not wait and
// does not touch the queues, it runs its operation with plain syscalls
// instead. So misuse from a second goroutine costs speed, never memory safety.
//
// Buffers handed to the kernel are referenced from a per-SQE slot and pinned
// (runtime.Pinner) until their CQE is reaped, and Wait returns only after every
// CQE of its batch is reaped, so no buffer is reused while the kernel may
// still read or write it. At most CQ-size operations are ever outstanding,
// so the completion queue cannot overflow.
type Ring struct {
	fd         int
	features   uint32
	setupFlags uint32
	sqEntries  uint32
	cqEntries  uint32

	sqMem, cqMem, sqeMem []byte
	sharedCQMem          bool // cqMem aliases sqMem (IORING_FEAT_SINGLE_MMAP)

	sqHead, sqTail *uint32 // head: advanced by the kernel; tail: ours
	sqMask         uint32
	sqes           []sqe

	cqHead, cqTail *uint32 // head: ours; tail: advanced by the kernel
	cqOverflow     *uint32
	cqMask         uint32
	cqes           []cqe

	sqTailLocal uint32 // next SQ tail to publish
	outstanding int    // SQEs placed whose CQE is not reaped yet
	slots       []ringSlot
	freeSlots   []uint32

	enter enterFunc
	state atomic.Int32 // ringFree, ringBusy or ringBusyCloseAsked
	// broken is set when io_uring_enter fails for a reason the ring cannot
	// recover from; the ring is then never entered again.
	broken error
	closed bool

	single Batch // reused by the File methods: one operation per call
	stats  RingStats
	// contended counts callers that found the ring busy and used plain
	// syscalls; read from any goroutine.
	contended atomic.Uint64
}

// ringSlot keeps one in-flight SQE's memory alive and pinned until its CQE.
type ringSlot struct {
	batch *Batch
	op    int32
	chain int32
	iov   []unix.Iovec
	pin   runtime.Pinner
}

// RingStats counts what the ring has done since it was created.
type RingStats struct {
	SQEntries, CQEntries uint32
	Features, SetupFlags uint32
	Enters               uint64 // io_uring_enter calls that returned
	SubmitCalls          uint64 // of those, calls that submitted at least one SQE
	Submitted            uint64 // SQEs consumed by the kernel
	Completed            uint64 // CQEs reaped
	MaxOutstanding       int    // high-water mark of SQEs awaiting their CQE
	Retries              uint64 // enters retried after EINTR, EAGAIN or EBUSY
	Contended            uint64 // calls that found the ring busy and used plain syscalls
	CQOverflow           uint32 // the kernel's overflow counter; stays 0
}

// enterFunc is io_uring_enter; tests inject failures through it.
type enterFunc func(ringFD int, toSubmit, minComplete, flags uint32) (int, error)

// setupFunc is io_uring_setup; the probe's tests inject failures through it.
type setupFunc func(entries uint32, p *uringParams) (int, error)

func sysSetup(entries uint32, p *uringParams) (int, error) {
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

func sysEnter(ringFD int, toSubmit, minComplete, flags uint32) (int, error) {
	n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(ringFD), uintptr(toSubmit),
		uintptr(minComplete), uintptr(flags), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func sysRegister(ringFD int, opcode uint32, arg unsafe.Pointer, nrArgs uint32) error {
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(ringFD), uintptr(opcode),
		uintptr(arg), uintptr(nrArgs), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// setupFlagLadder is tried in order; EINVAL from io_uring_setup means the
// kernel does not know a flag, so the next, smaller set is tried.
var setupFlagLadder = []uint32{setupClamp | setupSubmitAll, setupClamp, 0}

// requiredFeatures are the guarantees this package's design rests on: no
// completion is ever dropped, and SQE-referenced data is consumed at submit.
const requiredFeatures = featNoDrop | featSubmitStable

// errMissingFeatures reports a kernel too old for the ring's guarantees.
var errMissingFeatures = errors.New("kernel lacks required io_uring features")

// NewRing creates a ring with room for entries submissions (rounded up to a
// power of two by the kernel; the completion queue is twice that).
func NewRing(entries uint32) (*Ring, error) {
	return newRing(entries, sysSetup)
}

func newRing(entries uint32, setup setupFunc) (*Ring, error) {
	var p uringParams
	fd := -1
	var err error
	for _, flags := range setupFlagLadder {
		p = uringParams{flags: flags}
		fd, err = setup(entries, &p)
		if err != unix.EINVAL {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("io_uring_setup(%d entries): %w", entries, err)
	}
	r := &Ring{fd: fd, features: p.features, setupFlags: p.flags, enter: sysEnter}
	if missing := requiredFeatures &^ p.features; missing != 0 {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: features %#x, missing %s", errMissingFeatures, p.features, featureNames(missing))
	}
	if err := r.mapQueues(&p); err != nil {
		r.unmap()
		unix.Close(fd)
		return nil, err
	}
	r.single.ring = r
	return r, nil
}

func featureNames(bits uint32) string {
	s := ""
	add := func(bit uint32, name string) {
		if bits&bit != 0 {
			if s != "" {
				s += ", "
			}
			s += name
		}
	}
	add(featNoDrop, "IORING_FEAT_NODROP (5.5)")
	add(featSubmitStable, "IORING_FEAT_SUBMIT_STABLE (5.5)")
	return s
}

// mapQueues maps the SQ ring, CQ ring and SQE array and resolves the
// kernel-reported offsets into pointers.
func (r *Ring) mapQueues(p *uringParams) error {
	const prot = unix.PROT_READ | unix.PROT_WRITE
	const flags = unix.MAP_SHARED | unix.MAP_POPULATE
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes + p.cqEntries*uint32(unsafe.Sizeof(cqe{})))
	single := p.features&featSingleMmap != 0
	if single {
		sqSize = max(sqSize, cqSize)
	}
	var err error
	if r.sqMem, err = unix.Mmap(r.fd, offSQRing, sqSize, prot, flags); err != nil {
		return fmt.Errorf("mmap io_uring SQ ring (%d bytes): %w", sqSize, err)
	}
	if single {
		r.cqMem, r.sharedCQMem = r.sqMem, true
	} else if r.cqMem, err = unix.Mmap(r.fd, offCQRing, cqSize, prot, flags); err != nil {
		return fmt.Errorf("mmap io_uring CQ ring (%d bytes): %w", cqSize, err)
	}
	sqeSize := int(p.sqEntries) * int(unsafe.Sizeof(sqe{}))
	if r.sqeMem, err = unix.Mmap(r.fd, offSQEs, sqeSize, prot, flags); err != nil {
		return fmt.Errorf("mmap io_uring SQEs (%d bytes): %w", sqeSize, err)
	}

	r.sqEntries, r.cqEntries = p.sqEntries, p.cqEntries
	r.sqHead = u32At(r.sqMem, p.sqOff.head)
	r.sqTail = u32At(r.sqMem, p.sqOff.tail)
	r.sqMask = *u32At(r.sqMem, p.sqOff.ringMask)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	// The SQ index array maps ring positions to SQE slots; the identity
	// mapping lets SQE i always live at ring position i.
	array := unsafe.Slice(u32At(r.sqMem, p.sqOff.array), p.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	r.cqHead = u32At(r.cqMem, p.cqOff.head)
	r.cqTail = u32At(r.cqMem, p.cqOff.tail)
	r.cqOverflow = u32At(r.cqMem, p.cqOff.overflow)
	r.cqMask = *u32At(r.cqMem, p.cqOff.ringMask)
	r.cqes = unsafe.Slice((*cqe)(unsafe.Pointer(&r.cqMem[p.cqOff.cqes])), p.cqEntries)
	r.sqTailLocal = atomic.LoadUint32(r.sqTail)

	r.slots = make([]ringSlot, p.cqEntries)
	r.freeSlots = make([]uint32, 0, p.cqEntries)
	for i := int(p.cqEntries) - 1; i >= 0; i-- {
		r.freeSlots = append(r.freeSlots, uint32(i))
	}
	return nil
}

func u32At(mem []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }

func (r *Ring) unmap() {
	if r.sqeMem != nil {
		unix.Munmap(r.sqeMem)
	}
	if r.cqMem != nil && !r.sharedCQMem {
		unix.Munmap(r.cqMem)
	}
	if r.sqMem != nil {
		unix.Munmap(r.sqMem)
	}
	r.sqMem, r.cqMem, r.sqeMem = nil, nil, nil
	r.sqes, r.cqes = nil, nil
	r.sqHead, r.sqTail, r.cqHead, r.cqTail, r.cqOverflow = nil, nil, nil, nil, nil
}

// Ring states: who drives it, and whether Close arrived while it was busy.
const (
	ringFree int32 = iota
	ringBusy
	ringBusyCloseAsked
)

// tryAcquire claims the ring for the calling goroutine; false means another
// goroutine is driving it right now.
func (r *Ring) tryAcquire() bool {
	if r.state.CompareAndSwap(ringFree, ringBusy) {
		return true
	}
	r.contended.Add(1)
	return false
}

// release gives the ring up, closing it if Close was called meanwhile.
func (r *Ring) release() {
	if r.state.CompareAndSwap(ringBusy, ringFree) {
		return
	}
	r.closeAcquired()
	r.state.Store(ringFree)
}

// usable reports whether the ring may be entered; call with the ring acquired.
func (r *Ring) usable() bool { return !r.closed && r.broken == nil }

// Close releases the ring; files opened on it fall back to plain syscalls.
// If another goroutine is driving the ring (a Datasync run off the shard),
// that goroutine closes it when its call ends. A ring whose enter failed
// irrecoverably may still have operations in the kernel; its memory is then
// kept for the life of the process.
func (r *Ring) Close() error {
	for {
		if r.state.CompareAndSwap(ringFree, ringBusy) {
			err := r.closeAcquired()
			r.state.Store(ringFree)
			return err
		}
		if r.state.CompareAndSwap(ringBusy, ringBusyCloseAsked) || r.state.Load() == ringBusyCloseAsked {
			return nil
		}
	}
}

func (r *Ring) closeAcquired() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.outstanding > 0 {
		return nil // failed with operations in the kernel: kept by keepBrokenRing
	}
	r.unmap()
	if err := unix.Close(r.fd); err != nil {
		return fmt.Errorf("close io_uring fd %d: %w", r.fd, err)
	}
	return nil
}

var brokenRings struct {
	sync.Mutex
	rings []*Ring
}

// keepBrokenRing keeps a failed ring's slots (and so its pinned buffers)
// reachable forever: the kernel may still touch them.
func keepBrokenRing(r *Ring) {
	brokenRings.Lock()
	brokenRings.rings = append(brokenRings.rings, r)
	brokenRings.Unlock()
}

// Stats returns the ring's counters. Call it from the owner.
func (r *Ring) Stats() RingStats {
	s := r.stats
	s.SQEntries, s.CQEntries = r.sqEntries, r.cqEntries
	s.Features, s.SetupFlags = r.features, r.setupFlags
	s.Contended = r.contended.Load()
	if r.cqOverflow != nil {
		s.CQOverflow = atomic.LoadUint32(r.cqOverflow)
	}
	return s
}

// NewBatch returns an empty batch that runs on this ring.
func (r *Ring) NewBatch() *Batch { return &Batch{ring: r} }

// RegisterEventfd asks the kernel to signal efd on every completion, so an
// event loop can wake on completions it did not wait for.
func (r *Ring) RegisterEventfd(efd int) error {
	v := int32(efd)
	if err := sysRegister(r.fd, registerEventfd, unsafe.Pointer(&v), 1); err != nil {
		return fmt.Errorf("io_uring register eventfd %d: %w", efd, err)
	}
	return nil
}

// UnregisterEventfd undoes RegisterEventfd.
func (r *Ring) UnregisterEventfd() error {
	if err := sysRegister(r.fd, unregisterEventfd, nil, 0); err != nil {
		return fmt.Errorf("io_uring unregister eventfd: %w", err)
	}
	return nil
}

// unsupportedOpcodes asks the kernel (IORING_REGISTER_PROBE, 5.6) which of
// ops it cannot run.
func (r *Ring) unsupportedOpcodes(ops ...uint8) ([]uint8, error) {
	const maxOps = 256
	buf := make([]byte, int(unsafe.Sizeof(probeHeader{}))+maxOps*int(unsafe.Sizeof(probeOp{})))
	if err := sysRegister(r.fd, registerProbe, unsafe.Pointer(&buf[0]), maxOps); err != nil {
		return nil, fmt.Errorf("io_uring register probe: %w", err)
	}
	hdr := (*probeHeader)(unsafe.Pointer(&buf[0]))
	table := unsafe.Slice((*probeOp)(unsafe.Pointer(&buf[unsafe.Sizeof(probeHeader{})])), maxOps)
	var missing []uint8
	for _, op := range ops {
		if op >= hdr.opsLen || table[op].flags&opSupported == 0 {
			missing = append(missing, op)
		}
	}
	return missing, nil
}

// opcodeName names the opcodes this package uses, for probe reasons.
func opcodeName(op uint8) string {
	switch op {
	case opcodeNop:
		return "NOP"
	case opcodeWritev:
		return "WRITEV"
	case opcodeFsync:
		return "FSYNC"
	case opcodeRead:
		return "READ"
	case opcodeWrite:
		return "WRITE"
	}
	return fmt.Sprintf("opcode %d", op)
}
