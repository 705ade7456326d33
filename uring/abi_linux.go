package uring

// The io_uring kernel ABI (include/uapi/linux/io_uring.h), restated in Go
// because golang.org/x/sys/unix carries only the syscall numbers. Layouts
// are pinned by abi_linux_test.go against the kernel's sizes and offsets.

// io_uring_setup flags we may ask for; the rest of the kernel's set is not used.
const (
	setupClamp     = 1 << 4 // IORING_SETUP_CLAMP: clamp entries to the kernel maximum (5.6)
	setupSubmitAll = 1 << 7 // IORING_SETUP_SUBMIT_ALL: keep submitting past a failed SQE (5.18)
)

// Feature bits reported in io_uring_params.features.
const (
	featSingleMmap   = 1 << 0 // IORING_FEAT_SINGLE_MMAP: SQ and CQ rings share one mapping (5.4)
	featNoDrop       = 1 << 1 // IORING_FEAT_NODROP: completions are never dropped (5.5)
	featSubmitStable = 1 << 2 // IORING_FEAT_SUBMIT_STABLE: SQE data is copied at submit (5.5)
)

// io_uring_enter flags.
const enterGetEvents = 1 << 0 // IORING_ENTER_GETEVENTS

// Opcodes (enum io_uring_op); the numbers are ABI and never change.
const (
	opcodeNop    = 0  // IORING_OP_NOP
	opcodeWritev = 2  // IORING_OP_WRITEV
	opcodeFsync  = 3  // IORING_OP_FSYNC
	opcodeRead   = 22 // IORING_OP_READ (5.6)
	opcodeWrite  = 23 // IORING_OP_WRITE (5.6)
)

// SQE flags.
const sqeIOLink = 1 << 2 // IOSQE_IO_LINK: the next SQE starts only after this one succeeds fully

// fsync_flags.
const fsyncDatasync = 1 << 0 // IORING_FSYNC_DATASYNC

// mmap offsets of the three shared regions.
const (
	offSQRing = 0          // IORING_OFF_SQ_RING
	offCQRing = 0x8000000  // IORING_OFF_CQ_RING
	offSQEs   = 0x10000000 // IORING_OFF_SQES
)

// io_uring_register opcodes.
const (
	registerEventfd   = 4 // IORING_REGISTER_EVENTFD
	unregisterEventfd = 5 // IORING_UNREGISTER_EVENTFD
	registerProbe     = 8 // IORING_REGISTER_PROBE (5.6)
)

// opSupported is IO_URING_OP_SUPPORTED in io_uring_probe_op.flags.
const opSupported = 1 << 0

// sqringOffsets is struct io_sqring_offsets (40 bytes).
type sqringOffsets struct {
	head        uint32
	tail        uint32
	ringMask    uint32
	ringEntries uint32
	flags       uint32
	dropped     uint32
	array       uint32
	resv1       uint32
	userAddr    uint64
}

// cqringOffsets is struct io_cqring_offsets (40 bytes).
type cqringOffsets struct {
	head        uint32
	tail        uint32
	ringMask    uint32
	ringEntries uint32
	overflow    uint32
	cqes        uint32
	flags       uint32
	resv1       uint32
	userAddr    uint64
}

// uringParams is struct io_uring_params (120 bytes).
type uringParams struct {
	sqEntries    uint32
	cqEntries    uint32
	flags        uint32
	sqThreadCPU  uint32
	sqThreadIdle uint32
	features     uint32
	wqFD         uint32
	resv         [3]uint32
	sqOff        sqringOffsets
	cqOff        cqringOffsets
}

// sqe is struct io_uring_sqe (64 bytes), with the unions named by the
// member this package uses.
type sqe struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64
	len         uint32
	opFlags     uint32 // rw_flags / fsync_flags
	userData    uint64
	bufIndex    uint16
	personality uint16
	spliceFDIn  int32
	addr3       uint64
	pad2        uint64
}

// cqe is struct io_uring_cqe (16 bytes).
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// probeHeader is struct io_uring_probe without its flexible ops array (16 bytes).
type probeHeader struct {
	lastOp uint8
	opsLen uint8
	resv   uint16
	resv2  [3]uint32
}

// probeOp is struct io_uring_probe_op (8 bytes).
type probeOp struct {
	op    uint8
	resv  uint8
	flags uint16
	resv2 uint32
}
