package uring

import (
	"fmt"
	"io"
	"slices"
)

// Batch collects the file operations of one shard turn so that a ring hands
// them to the kernel together: all partitions' writes and their fsyncs in one
// io_uring_enter when they fit.
//
// Ordering and failure rules, the same with or without a ring:
//   - operations on one file (files are told apart by Name) run in the order
//     they were submitted; on a ring they form one linked chain, so a Datasync
//     starts only after the writes before it completed in full;
//   - operations on different files run concurrently;
//   - when an operation fails, the later operations on the same file are not
//     run and report that failure (a Datasync after a failed write never
//     claims the data is durable).
//
// Without a ring (pwrite, other platforms, a ring busy in another goroutine or
// failed) Wait runs the operations one by one through the File methods.
// Buffers must stay unchanged until Wait returns. A Batch belongs to one
// goroutine and is reusable after Wait.
type Batch struct {
	ring    *Ring
	ops     []batchOp
	results []Result

	// Scratch for Wait, kept to avoid allocating every turn.
	unfinished int
	chains     []opChain
	chainIndex map[string]int
	failed     map[string]error
}

// Result is one operation's outcome. A read that reaches end of file
// reports io.EOF with the bytes it got, as io.ReaderAt does.
type Result struct {
	N   int
	Err error
}

type opKind uint8

const (
	opNop opKind = iota
	opWrite
	opWritev
	opRead
	opDatasync
)

func (k opKind) String() string {
	switch k {
	case opNop:
		return "nop"
	case opWrite:
		return "write"
	case opWritev:
		return "writev"
	case opRead:
		return "read"
	case opDatasync:
		return "fdatasync"
	}
	return fmt.Sprintf("op %d", uint8(k))
}

// movesBytes reports whether the op transfers data (and so can be short).
func (k opKind) movesBytes() bool { return k == opWrite || k == opWritev || k == opRead }

type batchOp struct {
	kind     opKind
	file     File // nil for opNop
	buf      []byte
	bufs     [][]byte
	off      int64
	size     int // bytes asked for
	done     int // bytes moved so far
	retries  int
	finished bool
	held     bool // a ring run holds the file open (uringFile.hold)
}

// opChain is the ordered list of one file's operations while a ring runs them.
type opChain struct {
	ops      []int32 // indexes into Batch.ops, in submission order
	next     int     // first op in ops without a result
	inflight int     // SQEs of this chain awaiting their CQE
	err      error   // first failure; later ops are not run
}

// SubmitNop adds an operation that does nothing; on a ring it is a NOP
// round trip through the kernel. It returns the index of its Result.
func (b *Batch) SubmitNop() int { return b.add(batchOp{kind: opNop}) }

// SubmitWriteAt adds a write of p at off.
func (b *Batch) SubmitWriteAt(f File, p []byte, off int64) int {
	return b.add(batchOp{kind: opWrite, file: f, buf: p, off: off, size: len(p)})
}

// SubmitWritevAt adds a write of bufs back to back at off.
func (b *Batch) SubmitWritevAt(f File, bufs [][]byte, off int64) int {
	size := 0
	for _, p := range bufs {
		size += len(p)
	}
	return b.add(batchOp{kind: opWritev, file: f, bufs: bufs, off: off, size: size})
}

// SubmitReadAt adds a read filling p from off.
func (b *Batch) SubmitReadAt(f File, p []byte, off int64) int {
	return b.add(batchOp{kind: opRead, file: f, buf: p, off: off, size: len(p)})
}

// SubmitDatasync adds an fdatasync of f, ordered after f's earlier operations
// in this batch.
func (b *Batch) SubmitDatasync(f File) int { return b.add(batchOp{kind: opDatasync, file: f}) }

// Len is the number of operations submitted since the last Wait.
func (b *Batch) Len() int { return len(b.ops) }

func (b *Batch) add(op batchOp) int {
	b.ops = append(b.ops, op)
	return len(b.ops) - 1
}

// Wait runs every submitted operation and returns their results, indexed as
// the Submit calls returned, with the first error among them. The results
// are valid until the next Wait.
func (b *Batch) Wait() ([]Result, error) {
	b.results = slices.Grow(b.results[:0], len(b.ops))[:len(b.ops)]
	clear(b.results)
	b.unfinished = len(b.ops)
	if len(b.ops) > 0 && (b.ring == nil || !b.ring.runBatch(b)) {
		b.runInOrder(func(*batchOp) bool { return true })
	}
	clear(b.ops) // drop buffer references
	b.ops = b.ops[:0]
	for _, r := range b.results {
		if r.Err != nil {
			return b.results, r.Err
		}
	}
	return b.results, nil
}

func (b *Batch) finish(i int32, r Result) {
	b.results[i] = r
	b.ops[i].finished = true
	b.unfinished--
}

// chainKey groups operations that must run in order; a NOP has none.
func (op *batchOp) chainKey() string {
	if op.file == nil {
		return ""
	}
	return op.file.Name()
}

// failsChain reports whether r stops the later operations on the same file.
func failsChain(r Result) bool { return r.Err != nil && r.Err != io.EOF }

// runInOrder runs the picked operations one at a time through the File
// methods, in submission order, skipping those behind a failure on their file.
func (b *Batch) runInOrder(pick func(*batchOp) bool) {
	if b.failed == nil {
		b.failed = make(map[string]error)
	}
	clear(b.failed)
	for i := range b.ops {
		op := &b.ops[i]
		if op.finished || !pick(op) {
			continue
		}
		key := op.chainKey()
		if err, ok := b.failed[key]; ok && key != "" {
			b.finish(int32(i), Result{Err: op.skipped(err)})
			continue
		}
		r := op.runDirect()
		if failsChain(r) && key != "" {
			b.failed[key] = r.Err
		}
		b.finish(int32(i), r)
	}
}

func (op *batchOp) runDirect() Result {
	var n int
	var err error
	switch op.kind {
	case opWrite:
		n, err = op.file.WriteAt(op.buf, op.off)
	case opWritev:
		n, err = op.file.WritevAt(op.bufs, op.off)
	case opRead:
		n, err = op.file.ReadAt(op.buf, op.off)
	case opDatasync:
		err = op.file.Datasync()
	}
	return Result{N: n, Err: err}
}

// skipped is the error of an operation not run because an earlier one on
// its file failed; it wraps that failure.
func (op *batchOp) skipped(cause error) error {
	return fmt.Errorf("%s %s not run: an earlier operation on the file failed: %w", op.kind, op.file.Name(), cause)
}

// describe names the operation for error messages.
func (op *batchOp) describe() string {
	switch {
	case op.file == nil:
		return op.kind.String()
	case op.kind.movesBytes():
		return fmt.Sprintf("%s %s at %d", op.kind, op.file.Name(), op.off)
	}
	return fmt.Sprintf("%s %s", op.kind, op.file.Name())
}
