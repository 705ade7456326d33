package uring

import (
	"testing"
	"unsafe"
)

// The numbers below are the kernel's (include/uapi/linux/io_uring.h): a
// layout mistake here would make the kernel read garbage, so each size and
// every field offset is pinned.
func TestABILayout(t *testing.T) {
	size := func(name string, got, want uintptr) {
		t.Helper()
		if got != want {
			t.Errorf("sizeof(%s) = %d, kernel has %d", name, got, want)
		}
	}
	size("io_uring_params", unsafe.Sizeof(uringParams{}), 120)
	size("io_sqring_offsets", unsafe.Sizeof(sqringOffsets{}), 40)
	size("io_cqring_offsets", unsafe.Sizeof(cqringOffsets{}), 40)
	size("io_uring_sqe", unsafe.Sizeof(sqe{}), 64)
	size("io_uring_cqe", unsafe.Sizeof(cqe{}), 16)
	size("io_uring_probe", unsafe.Sizeof(probeHeader{}), 16)
	size("io_uring_probe_op", unsafe.Sizeof(probeOp{}), 8)

	off := func(name string, got, want uintptr) {
		t.Helper()
		if got != want {
			t.Errorf("offsetof(%s) = %d, kernel has %d", name, got, want)
		}
	}
	var p uringParams
	off("params.sq_entries", unsafe.Offsetof(p.sqEntries), 0)
	off("params.cq_entries", unsafe.Offsetof(p.cqEntries), 4)
	off("params.flags", unsafe.Offsetof(p.flags), 8)
	off("params.sq_thread_cpu", unsafe.Offsetof(p.sqThreadCPU), 12)
	off("params.sq_thread_idle", unsafe.Offsetof(p.sqThreadIdle), 16)
	off("params.features", unsafe.Offsetof(p.features), 20)
	off("params.wq_fd", unsafe.Offsetof(p.wqFD), 24)
	off("params.resv", unsafe.Offsetof(p.resv), 28)
	off("params.sq_off", unsafe.Offsetof(p.sqOff), 40)
	off("params.cq_off", unsafe.Offsetof(p.cqOff), 80)

	var so sqringOffsets
	off("sq_off.head", unsafe.Offsetof(so.head), 0)
	off("sq_off.tail", unsafe.Offsetof(so.tail), 4)
	off("sq_off.ring_mask", unsafe.Offsetof(so.ringMask), 8)
	off("sq_off.ring_entries", unsafe.Offsetof(so.ringEntries), 12)
	off("sq_off.flags", unsafe.Offsetof(so.flags), 16)
	off("sq_off.dropped", unsafe.Offsetof(so.dropped), 20)
	off("sq_off.array", unsafe.Offsetof(so.array), 24)
	off("sq_off.resv1", unsafe.Offsetof(so.resv1), 28)
	off("sq_off.user_addr", unsafe.Offsetof(so.userAddr), 32)

	var co cqringOffsets
	off("cq_off.head", unsafe.Offsetof(co.head), 0)
	off("cq_off.tail", unsafe.Offsetof(co.tail), 4)
	off("cq_off.ring_mask", unsafe.Offsetof(co.ringMask), 8)
	off("cq_off.ring_entries", unsafe.Offsetof(co.ringEntries), 12)
	off("cq_off.overflow", unsafe.Offsetof(co.overflow), 16)
	off("cq_off.cqes", unsafe.Offsetof(co.cqes), 20)
	off("cq_off.flags", unsafe.Offsetof(co.flags), 24)
	off("cq_off.resv1", unsafe.Offsetof(co.resv1), 28)
	off("cq_off.user_addr", unsafe.Offsetof(co.userAddr), 32)

	var s sqe
	off("sqe.opcode", unsafe.Offsetof(s.opcode), 0)
	off("sqe.flags", unsafe.Offsetof(s.flags), 1)
	off("sqe.ioprio", unsafe.Offsetof(s.ioprio), 2)
	off("sqe.fd", unsafe.Offsetof(s.fd), 4)
	off("sqe.off", unsafe.Offsetof(s.off), 8)
	off("sqe.addr", unsafe.Offsetof(s.addr), 16)
	off("sqe.len", unsafe.Offsetof(s.len), 24)
	off("sqe.rw_flags", unsafe.Offsetof(s.opFlags), 28)
	off("sqe.user_data", unsafe.Offsetof(s.userData), 32)
	off("sqe.buf_index", unsafe.Offsetof(s.bufIndex), 40)
	off("sqe.personality", unsafe.Offsetof(s.personality), 42)
	off("sqe.splice_fd_in", unsafe.Offsetof(s.spliceFDIn), 44)
	off("sqe.addr3", unsafe.Offsetof(s.addr3), 48)
	off("sqe.__pad2", unsafe.Offsetof(s.pad2), 56)

	var c cqe
	off("cqe.user_data", unsafe.Offsetof(c.userData), 0)
	off("cqe.res", unsafe.Offsetof(c.res), 8)
	off("cqe.flags", unsafe.Offsetof(c.flags), 12)

	var ph probeHeader
	off("probe.last_op", unsafe.Offsetof(ph.lastOp), 0)
	off("probe.ops_len", unsafe.Offsetof(ph.opsLen), 1)
	off("probe.resv", unsafe.Offsetof(ph.resv), 2)
	off("probe.resv2", unsafe.Offsetof(ph.resv2), 4)

	var po probeOp
	off("probe_op.op", unsafe.Offsetof(po.op), 0)
	off("probe_op.resv", unsafe.Offsetof(po.resv), 1)
	off("probe_op.flags", unsafe.Offsetof(po.flags), 2)
	off("probe_op.resv2", unsafe.Offsetof(po.resv2), 4)
}

// The opcode and flag values are ABI too.
func TestABIConstants(t *testing.T) {
	f := func(name string, got, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %d, kernel has %d", name, got, want)
		}
	}
	f("IORING_OP_NOP", opcodeNop, 0)
	f("IORING_OP_WRITEV", opcodeWritev, 2)
	f("IORING_OP_FSYNC", opcodeFsync, 3)
	f("IORING_OP_READ", opcodeRead, 22)
	f("IORING_OP_WRITE", opcodeWrite, 23)
	f("IOSQE_IO_LINK", sqeIOLink, 4)
	f("IORING_FSYNC_DATASYNC", fsyncDatasync, 1)
	f("IORING_ENTER_GETEVENTS", enterGetEvents, 1)
	f("IORING_SETUP_CLAMP", setupClamp, 16)
	f("IORING_SETUP_SUBMIT_ALL", setupSubmitAll, 128)
	f("IORING_FEAT_SINGLE_MMAP", featSingleMmap, 1)
	f("IORING_FEAT_NODROP", featNoDrop, 2)
	f("IORING_FEAT_SUBMIT_STABLE", featSubmitStable, 4)
	f("IORING_OFF_CQ_RING", offCQRing, 0x8000000)
	f("IORING_OFF_SQES", offSQEs, 0x10000000)
	f("IORING_REGISTER_EVENTFD", registerEventfd, 4)
	f("IORING_UNREGISTER_EVENTFD", unregisterEventfd, 5)
	f("IORING_REGISTER_PROBE", registerProbe, 8)
}
