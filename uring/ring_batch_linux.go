package uring

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxRWBytes caps one SQE's transfer; the kernel would cut larger ones
// short anyway (MAX_RW_COUNT), and a cut op must end its linked chain.
const maxRWBytes = 1 << 30

// maxOpRetries bounds resubmissions of one op after -EINTR/-EAGAIN CQEs.
const maxOpRetries = 16

// maxBusyRetries bounds io_uring_enter retries after EAGAIN/EBUSY when
// nothing is in flight to wait for.
const maxBusyRetries = 20

// runBatch runs b on the ring. False means the ring cannot take it now
// (driven by another goroutine, closed or failed) and b should run with
// plain syscalls.
func (r *Ring) runBatch(b *Batch) bool {
	if !r.tryAcquire() {
		return false
	}
	defer r.release()
	if !r.usable() {
		return false
	}
	b.runInOrder(func(op *batchOp) bool { return !onRing(op) })
	r.drive(b)
	return true
}

// onRing reports whether op can go through a ring: a NOP, or an op on a
// file this package opened for io_uring (any ring can serve its fd).
func onRing(op *batchOp) bool {
	if op.kind == opNop {
		return true
	}
	_, ok := op.file.(*uringFile)
	return ok
}

// runOne runs a single op on a ring the caller has acquired.
func (r *Ring) runOne(op batchOp) Result {
	b := &r.single
	b.ops = append(b.ops[:0], op)
	b.results = append(b.results[:0], Result{})
	b.unfinished = 1
	r.drive(b)
	res := b.results[0]
	clear(b.ops)
	b.ops = b.ops[:0]
	return res
}

// drive runs b's unfinished ops through the ring until each has a result.
// Per loop: place every ready chain that fits, then one io_uring_enter that
// submits them and waits, then reap.
func (r *Ring) drive(b *Batch) {
	r.buildChains(b)
	defer releaseFiles(b)
	for b.unfinished > 0 {
		waitingForRoom := r.place(b)
		if b.unfinished == 0 {
			break // the last ops needed no I/O (empty writes, closed files)
		}
		if r.outstanding == 0 {
			r.failRemaining(b, errors.New("io_uring: no operation could be queued"))
			return
		}
		// With everything placed, wait for all of it in the same call;
		// with chains still waiting for room, return at the first CQE.
		minComplete := uint32(r.outstanding)
		if waitingForRoom {
			minComplete = 1
		}
		if err := r.submitAndWait(minComplete); err != nil {
			r.broken = err
			r.reap(b)
			if r.outstanding > 0 {
				keepBrokenRing(r)
			}
			r.failRemaining(b, err)
			return
		}
		r.reap(b)
	}
}

// buildChains groups b's unfinished ring ops into per-file chains.
func (r *Ring) buildChains(b *Batch) {
	b.chains = b.chains[:0]
	if b.chainIndex == nil {
		b.chainIndex = make(map[string]int)
	}
	clear(b.chainIndex)
	for i := range b.ops {
		op := &b.ops[i]
		if op.finished || !onRing(op) {
			continue
		}
		key := op.chainKey()
		ci, ok := b.chainIndex[key]
		if !ok || key == "" {
			ci = len(b.chains)
			if ci < cap(b.chains) {
				b.chains = b.chains[:ci+1]
				c := &b.chains[ci]
				*c = opChain{ops: c.ops[:0]}
			} else {
				b.chains = append(b.chains, opChain{})
			}
			if key != "" {
				b.chainIndex[key] = ci
			}
		}
		c := &b.chains[ci]
		c.ops = append(c.ops, int32(i))
		if uf, ok := op.file.(*uringFile); ok {
			op.held = uf.hold()
		}
	}
}

// releaseFiles lets Close proceed on the files a ring run held open.
func releaseFiles(b *Batch) {
	for i := range b.ops {
		if op := &b.ops[i]; op.held {
			op.file.(*uringFile).release()
			op.held = false
		}
	}
}

// room is how many more SQEs may be placed now: bounded by free SQ entries
// and by the CQ, which must be able to hold a CQE for every outstanding SQE.
func (r *Ring) room() int {
	sqFree := int(r.sqEntries - (r.sqTailLocal - atomic.LoadUint32(r.sqHead)))
	return min(sqFree, int(r.cqEntries)-r.outstanding)
}

// place queues every ready chain that fits and publishes the SQ tail. It
// reports whether some chain is still waiting for room.
func (r *Ring) place(b *Batch) (waitingForRoom bool) {
	for ci := range b.chains {
		c := &b.chains[ci]
		if c.inflight == 0 && c.next < len(c.ops) {
			r.placeChain(b, ci)
		}
	}
	// Release store: the kernel sees the SQEs before the new tail.
	atomic.StoreUint32(r.sqTail, r.sqTailLocal)
	for ci := range b.chains {
		c := &b.chains[ci]
		if c.inflight == 0 && c.next < len(c.ops) {
			return true
		}
	}
	return false
}

// placeChain places chain ci's ops from c.next as linked SQEs, as many as
// fit. A part ends early at an op that is cut (too many iovecs or bytes),
// because the kernel would see the cut op as complete and start its link.
func (r *Ring) placeChain(b *Batch, ci int) {
	c := &b.chains[ci]
	var prev *sqe
	for i := c.next; i < len(c.ops); i++ {
		opIdx := c.ops[i]
		op := &b.ops[opIdx]
		if _, ok := op.file.(*uringFile); ok && !op.held {
			if prev != nil {
				break // resolve after the earlier ops in the chain
			}
			err := fmt.Errorf("io_uring %s: %w", op.describe(), os.ErrClosed)
			b.finish(opIdx, Result{Err: err})
			c.err = err
			r.settleChain(b, c)
			return
		}
		if op.kind.movesBytes() && op.done == op.size {
			if prev != nil {
				break
			}
			b.finish(opIdx, Result{N: op.size}) // nothing to move
			c.next = i + 1
			continue
		}
		if r.room() == 0 {
			break
		}
		s, cut := r.prepare(b, ci, opIdx)
		if prev != nil {
			prev.flags |= sqeIOLink
		}
		prev = s
		c.inflight++
		if cut {
			break
		}
	}
}

// prepare fills the next SQE for op's remaining work and records what the
// kernel will touch in a slot until the CQE comes back.
func (r *Ring) prepare(b *Batch, ci int, opIdx int32) (s *sqe, cut bool) {
	slotID := r.freeSlots[len(r.freeSlots)-1]
	r.freeSlots = r.freeSlots[:len(r.freeSlots)-1]
	slot := &r.slots[slotID]
	slot.batch, slot.op, slot.chain = b, opIdx, int32(ci)

	op := &b.ops[opIdx]
	s = &r.sqes[r.sqTailLocal&r.sqMask]
	*s = sqe{userData: uint64(slotID)}
	if uf, ok := op.file.(*uringFile); ok {
		s.fd = int32(uf.fd)
	}
	off := uint64(op.off + int64(op.done))
	switch op.kind {
	case opNop:
		s.opcode = opcodeNop
	case opDatasync:
		s.opcode = opcodeFsync
		s.opFlags = fsyncDatasync
	case opWrite, opRead:
		p := op.buf[op.done:]
		n := min(len(p), maxRWBytes)
		cut = n < len(p)
		slot.pin.Pin(&p[0])
		s.opcode = opcodeWrite
		if op.kind == opRead {
			s.opcode = opcodeRead
		}
		s.addr = uint64(uintptr(unsafe.Pointer(&p[0])))
		s.len = uint32(n)
		s.off = off
	case opWritev:
		slot.iov, _, cut = fillIovecs(slot.iov[:0], op.bufs, op.done, iovMax, maxRWBytes)
		slot.pin.Pin(&slot.iov[0])
		for i := range slot.iov {
			slot.pin.Pin(slot.iov[i].Base)
		}
		s.opcode = opcodeWritev
		s.addr = uint64(uintptr(unsafe.Pointer(&slot.iov[0])))
		s.len = uint32(len(slot.iov))
		s.off = off
	}
	r.sqTailLocal++
	r.outstanding++
	r.stats.MaxOutstanding = max(r.stats.MaxOutstanding, r.outstanding)
	return s, cut
}

// fillIovecs appends iovecs for bufs minus their first skip bytes, at most
// maxIov entries and maxBytes bytes, skipping empty buffers. cut reports
// that bytes remain beyond what was appended.
func fillIovecs(iov []unix.Iovec, bufs [][]byte, skip, maxIov, maxBytes int) (_ []unix.Iovec, n int, cut bool) {
	for _, p := range bufs {
		if skip >= len(p) {
			skip -= len(p)
			continue
		}
		p = p[skip:]
		skip = 0
		if len(iov) == maxIov || n == maxBytes {
			return iov, n, true
		}
		take := min(len(p), maxBytes-n)
		v := unix.Iovec{Base: &p[0]}
		v.SetLen(take)
		iov = append(iov, v)
		n += take
		if take < len(p) {
			return iov, n, true
		}
	}
	return iov, n, false
}

// submitAndWait makes one io_uring_enter that submits every placed SQE and
// waits for minComplete CQEs, retrying EINTR, EAGAIN and EBUSY. An error
// means the ring cannot be used any more.
func (r *Ring) submitAndWait(minComplete uint32) error {
	busy := 0
	for {
		toSubmit := r.sqTailLocal - atomic.LoadUint32(r.sqHead)
		n, err := r.enter(r.fd, toSubmit, minComplete, enterGetEvents)
		r.stats.Enters++
		switch err {
		case nil:
			if n > 0 {
				r.stats.SubmitCalls++
				r.stats.Submitted += uint64(n)
			}
			return nil
		case unix.EINTR:
			// A signal (the Go scheduler's SIGURG among them) cut the wait;
			// the kernel reports EINTR only when it submitted nothing.
			r.stats.Retries++
			continue
		case unix.EAGAIN, unix.EBUSY:
			// The kernel is short of request memory, or has completions it
			// could not post: both clear as CQEs are reaped.
			r.stats.Retries++
			busy++
			if busy > maxBusyRetries {
				return fmt.Errorf("io_uring_enter: still %w after %d retries", err, busy-1)
			}
			if r.outstanding > int(toSubmit) {
				return r.waitForOne() // the caller reaps, then submits again
			}
			time.Sleep(time.Duration(busy) * 50 * time.Microsecond)
			continue
		default:
			return fmt.Errorf("io_uring_enter(submit %d, wait %d): %w", toSubmit, minComplete, err)
		}
	}
}

// waitForOne waits, submitting nothing, until at least one CQE is posted.
func (r *Ring) waitForOne() error {
	for {
		_, err := r.enter(r.fd, 0, 1, enterGetEvents)
		r.stats.Enters++
		switch err {
		case nil:
			return nil
		case unix.EINTR:
			r.stats.Retries++
			continue
		}
		return fmt.Errorf("io_uring_enter(wait 1): %w", err)
	}
}

// reap consumes every CQE the kernel has posted.
func (r *Ring) reap(b *Batch) {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail) // acquire: CQE contents are visible
	for ; head != tail; head++ {
		c := r.cqes[head&r.cqMask]
		r.complete(b, c.userData, c.res)
	}
	// Release store: the kernel may reuse the entries only after we read them.
	atomic.StoreUint32(r.cqHead, head)
}

// complete applies one CQE to its op and frees its slot.
func (r *Ring) complete(b *Batch, userData uint64, res int32) {
	r.stats.Completed++
	if userData >= uint64(len(r.slots)) || r.slots[userData].batch != b {
		return // not ours; cannot happen while one goroutine drives the ring
	}
	slot := &r.slots[userData]
	slot.pin.Unpin()
	clear(slot.iov) // drop buffer references
	opIdx, ci := slot.op, int(slot.chain)
	slot.batch = nil
	r.freeSlots = append(r.freeSlots, uint32(userData))
	r.outstanding--

	c := &b.chains[ci]
	c.inflight--
	r.settle(b, c, opIdx, res)
	if c.inflight == 0 {
		r.settleChain(b, c)
	}
}

// settle records what one CQE says about its op. An op left unfinished is
// resubmitted, from where it stopped, once its chain has drained.
func (r *Ring) settle(b *Batch, c *opChain, opIdx int32, res int32) {
	op := &b.ops[opIdx]
	if res >= 0 {
		switch op.kind {
		case opNop, opDatasync:
			b.finish(opIdx, Result{})
		case opWrite, opWritev:
			op.done += int(res)
			switch {
			case op.done >= op.size:
				b.finish(opIdx, Result{N: op.size})
			case res == 0:
				err := fmt.Errorf("io_uring %s: %w", op.describe(), io.ErrShortWrite)
				b.finish(opIdx, Result{N: op.done, Err: err})
				c.err = err
			}
			// Otherwise short or cut: the rest is resubmitted.
		case opRead:
			op.done += int(res)
			switch {
			case op.done >= op.size:
				b.finish(opIdx, Result{N: op.size})
			case res == 0:
				b.finish(opIdx, Result{N: op.done, Err: io.EOF})
			}
		}
		return
	}
	errno := unix.Errno(-res)
	switch {
	case errno == unix.ECANCELED && c.err == nil:
		// An earlier linked op was short or retried; this one runs again.
		return
	case errno == unix.ECANCELED:
		return // settleChain reports it as not run
	case (errno == unix.EINTR || errno == unix.EAGAIN) && op.retries < maxOpRetries:
		op.retries++
		return
	}
	err := fmt.Errorf("io_uring %s: %w", op.describe(), errno)
	b.finish(opIdx, Result{N: op.done, Err: err})
	c.err = err
}

// settleChain moves a drained chain past its finished ops, and after a
// failure marks the rest of the chain as not run.
func (r *Ring) settleChain(b *Batch, c *opChain) {
	for c.next < len(c.ops) && b.ops[c.ops[c.next]].finished {
		c.next++
	}
	if c.err == nil {
		return
	}
	for ; c.next < len(c.ops); c.next++ {
		i := c.ops[c.next]
		if op := &b.ops[i]; !op.finished {
			b.finish(i, Result{Err: op.skipped(c.err)})
		}
	}
}

// failRemaining ends every unfinished op with err after the ring failed.
func (r *Ring) failRemaining(b *Batch, err error) {
	for i := range b.ops {
		if op := &b.ops[i]; !op.finished {
			b.finish(int32(i), Result{N: op.done, Err: fmt.Errorf("io_uring %s: %w", op.describe(), err)})
		}
	}
}
