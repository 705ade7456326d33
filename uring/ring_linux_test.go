package uring

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func newTestRing(t *testing.T, entries uint32) *Ring {
	t.Helper()
	requireURing(t)
	r, err := NewRing(entries)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

func openRingFile(t *testing.T, r *Ring, name string) *uringFile {
	t.Helper()
	f, err := openUringFile(filepath.Join(t.TempDir(), name), r, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// completedOnRing asserts that exactly n CQEs were reaped since before,
// i.e. the operations really went through the kernel ring.
func completedOnRing(t *testing.T, r *Ring, before RingStats, n uint64) {
	t.Helper()
	if got := r.Stats().Completed - before.Completed; got != n {
		t.Fatalf("%d CQEs reaped, want %d", got, n)
	}
}

func TestRingEveryOpcode(t *testing.T) {
	r := newTestRing(t, 16)
	f := openRingFile(t, r, "ops.log")
	b := r.NewBatch()
	before := r.Stats()
	nop := b.SubmitNop()
	w := b.SubmitWriteAt(f, []byte("hello, "), 0)
	wv := b.SubmitWritevAt(f, [][]byte{[]byte("io_"), nil, []byte("uring")}, 7)
	sync := b.SubmitDatasync(f)
	got := make([]byte, 16)
	rd := b.SubmitReadAt(f, got, 0)
	res, err := b.Wait()
	if err != io.EOF {
		t.Fatalf("batch error %v, want io.EOF (the read asks one byte past the end)", err)
	}
	completedOnRing(t, r, before, 6) // the read's EOF takes a second, empty READ
	if res[nop] != (Result{}) || res[w] != (Result{N: 7}) || res[wv] != (Result{N: 8}) || res[sync] != (Result{}) {
		t.Fatalf("results %+v", res)
	}
	if res[rd].N != 15 || res[rd].Err != io.EOF || string(got[:15]) != "hello, io_uring" {
		t.Fatalf("read %+v %q", res[rd], got)
	}
	if disk := readBack(t, f); string(disk) != "hello, io_uring" {
		t.Fatalf("file holds %q", disk)
	}
}

// Every partition's writev and fsync of one shard turn reach the kernel in
// a single io_uring_enter.
func TestRingGroupCommitInOneEnter(t *testing.T) {
	r := newTestRing(t, 64)
	const files = 8
	var fs []*uringFile
	for i := range files {
		fs = append(fs, openRingFile(t, r, fmt.Sprintf("p%d.log", i)))
	}
	b := r.NewBatch()
	for i, f := range fs {
		b.SubmitWritevAt(f, [][]byte{[]byte("rec"), {byte('0' + i)}}, 0)
	}
	for _, f := range fs {
		b.SubmitDatasync(f)
	}
	before := r.Stats()
	if _, err := b.Wait(); err != nil {
		t.Fatal(err)
	}
	after := r.Stats()
	if calls, sqes := after.SubmitCalls-before.SubmitCalls, after.Submitted-before.Submitted; calls != 1 || sqes != 2*files {
		t.Fatalf("%d SQEs in %d submitting enters, want %d in 1", sqes, calls, 2*files)
	}
	for i, f := range fs {
		if got := readBack(t, f); string(got) != fmt.Sprintf("rec%d", i) {
			t.Fatalf("file %d holds %q", i, got)
		}
	}
}

// The fsync is linked behind the write: when the kernel fails the write
// (EBADF on a read-only fd), it cancels the fsync rather than running it —
// an unlinked fdatasync on a read-only fd would succeed.
func TestRingLinkedFsyncFollowsItsWrite(t *testing.T) {
	r := newTestRing(t, 8)
	path := filepath.Join(t.TempDir(), "ro.log")
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ro, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	f := &uringFile{f: ro, fd: int(ro.Fd()), name: path, plain: pwriteFile{f: ro}, ring: r}
	defer f.Close()
	b := r.NewBatch()
	w := b.SubmitWriteAt(f, []byte("y"), 0)
	s := b.SubmitDatasync(f)
	before := r.Stats()
	res, _ := b.Wait()
	completedOnRing(t, r, before, 2)
	if !errors.Is(res[w].Err, unix.EBADF) {
		t.Fatalf("write on a read-only fd: %v", res[w].Err)
	}
	if !errors.Is(res[s].Err, unix.EBADF) || !bytes.Contains([]byte(res[s].Err.Error()), []byte("not run")) {
		t.Fatalf("fsync behind the failed write: %v", res[s].Err)
	}
	// The same fsync alone succeeds, so the cancellation came from the link.
	b.SubmitDatasync(f)
	if _, err := b.Wait(); err != nil {
		t.Fatalf("lone fdatasync on a read-only fd: %v", err)
	}
}

// More operations than the completion queue holds still all complete, and
// the ring never has more outstanding than its CQ can take.
func TestRingMoreOpsThanCompletionQueue(t *testing.T) {
	r := newTestRing(t, 64)
	st := r.Stats()
	t.Logf("ring: %d SQ entries, %d CQ entries", st.SQEntries, st.CQEntries)
	const ops = 4096
	dir := t.TempDir()

	// Many files, so many chains compete for room.
	var fs []*uringFile
	for i := range 16 {
		f, err := openUringFile(filepath.Join(dir, fmt.Sprintf("f%d.log", i)), r, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fs = append(fs, f)
	}
	b := r.NewBatch()
	for i := range ops {
		f := fs[i%len(fs)]
		var rec [8]byte
		binary.LittleEndian.PutUint64(rec[:], uint64(i))
		b.SubmitWriteAt(f, rec[:], int64(i/len(fs))*8)
	}
	for _, f := range fs {
		b.SubmitDatasync(f)
	}
	// One file's long chain, and NOPs.
	long := openRingFile(t, r, "long.log")
	for i := range ops {
		b.SubmitWriteAt(long, []byte{byte(i)}, int64(i))
	}
	for range ops {
		b.SubmitNop()
	}
	res, err := b.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3*ops+len(fs) {
		t.Fatalf("%d results", len(res))
	}
	after := r.Stats()
	completedOnRing(t, r, st, uint64(len(res)))
	if after.MaxOutstanding > int(after.CQEntries) || after.CQOverflow != 0 {
		t.Fatalf("outstanding peaked at %d with %d CQ entries, overflow %d", after.MaxOutstanding, after.CQEntries, after.CQOverflow)
	}
	t.Logf("%d ops: %d enters, %d submitting, peak outstanding %d", len(res), after.Enters-st.Enters, after.SubmitCalls-st.SubmitCalls, after.MaxOutstanding)
	for i, f := range fs {
		got := readBack(t, f)
		for j := 0; j < len(got); j += 8 {
			if want := uint64(j/8*len(fs) + i); binary.LittleEndian.Uint64(got[j:]) != want {
				t.Fatalf("file %d record %d = %d, want %d", i, j/8, binary.LittleEndian.Uint64(got[j:]), want)
			}
		}
	}
	got := readBack(t, long)
	for i := range ops {
		if got[i] != byte(i) {
			t.Fatalf("long chain byte %d = %d", i, got[i])
		}
	}
}

// A writev of more buffers than one SQE takes is cut at 1024 iovecs; the
// fsync linked behind it must wait for the last part, not the first.
func TestRingCutWritevBeforeFsync(t *testing.T) {
	r := newTestRing(t, 8)
	f := openRingFile(t, r, "cut.log")
	var bufs [][]byte
	var want []byte
	for i := range 2500 {
		bufs = append(bufs, []byte{byte(i), byte(i >> 8)})
		want = append(want, byte(i), byte(i>>8))
	}
	b := r.NewBatch()
	w := b.SubmitWritevAt(f, bufs, 0)
	s := b.SubmitDatasync(f)
	before := r.Stats()
	res, err := b.Wait()
	if err != nil || res[w].N != len(want) || res[s].Err != nil {
		t.Fatalf("%v %+v", err, res)
	}
	completedOnRing(t, r, before, 4) // 1024 + 1024 + 452 iovecs, then the fsync
	if got := readBack(t, f); !bytes.Equal(got, want) {
		t.Fatal("cut writev read back differently")
	}
}

// io_uring_enter returns EINTR when a signal (Go's preemption SIGURG among
// them) interrupts the wait; the ring retries.
func TestRingRetriesInterruptedEnter(t *testing.T) {
	r := newTestRing(t, 8)
	f := openRingFile(t, r, "eintr.log")
	fails := []error{unix.EINTR, unix.EINTR, unix.EINTR}
	calls := 0
	r.enter = func(fd int, toSubmit, minComplete, flags uint32) (int, error) {
		calls++
		if len(fails) > 0 {
			err := fails[0]
			fails = fails[1:]
			return 0, err
		}
		return sysEnter(fd, toSubmit, minComplete, flags)
	}
	before := r.Stats()
	if n, err := f.WriteAt([]byte("survives"), 0); err != nil || n != 8 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if calls != 4 || r.Stats().Retries-before.Retries != 3 {
		t.Fatalf("%d enter calls, %d retries; want 4 and 3", calls, r.Stats().Retries-before.Retries)
	}
	completedOnRing(t, r, before, 1)
	if got := readBack(t, f); string(got) != "survives" {
		t.Fatalf("file holds %q", got)
	}
}

// EAGAIN and EBUSY from io_uring_enter are transient: retried, bounded.
func TestRingRetriesBusyEnter(t *testing.T) {
	r := newTestRing(t, 8)
	f := openRingFile(t, r, "busy.log")
	fails := []error{unix.EAGAIN, unix.EBUSY, unix.EAGAIN}
	r.enter = func(fd int, toSubmit, minComplete, flags uint32) (int, error) {
		if len(fails) > 0 {
			err := fails[0]
			fails = fails[1:]
			return 0, err
		}
		return sysEnter(fd, toSubmit, minComplete, flags)
	}
	if err := f.Datasync(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("ok"), 0); err != nil {
		t.Fatal(err)
	}

	// Endless EAGAIN gives up with an error instead of spinning.
	r.enter = func(int, uint32, uint32, uint32) (int, error) { return 0, unix.EAGAIN }
	_, err := f.WriteAt([]byte("no"), 0)
	if !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("endless EAGAIN: %v", err)
	}
	// The ring is now out of service; the File carries on with pwrite.
	if _, err := f.WriteAt([]byte("OK"), 0); err != nil {
		t.Fatal(err)
	}
	if got := readBack(t, f); string(got) != "OK" {
		t.Fatalf("file holds %q", got)
	}
}

// A hard io_uring_enter failure takes the ring out of service: the ops of
// that batch report it, later File calls use plain syscalls.
func TestRingFailureFallsBackToPwrite(t *testing.T) {
	r := newTestRing(t, 8)
	f := openRingFile(t, r, "broken.log")
	r.enter = func(int, uint32, uint32, uint32) (int, error) { return 0, unix.EFAULT }
	b := r.NewBatch()
	b.SubmitWriteAt(f, []byte("lost"), 0)
	b.SubmitDatasync(f)
	res, err := b.Wait()
	if !errors.Is(err, unix.EFAULT) || !errors.Is(res[1].Err, unix.EFAULT) {
		t.Fatalf("%v %+v", err, res)
	}
	before := r.Stats()
	if _, err := f.WriteAt([]byte("kept"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Datasync(); err != nil {
		t.Fatal(err)
	}
	b.SubmitWriteAt(f, []byte("!"), 4)
	if _, err := b.Wait(); err != nil {
		t.Fatal(err)
	}
	if r.Stats().Enters != before.Enters {
		t.Fatal("a failed ring was entered again")
	}
	if got := readBack(t, f); string(got) != "kept!" {
		t.Fatalf("file holds %q", got)
	}
}

// While another goroutine drives the ring, a File call does not wait for
// it and does not touch the queues: it uses pwrite on the same fd.
func TestRingBusyCallerUsesPwrite(t *testing.T) {
	r := newTestRing(t, 8)
	f := openRingFile(t, r, "busy.log")
	if !r.tryAcquire() {
		t.Fatal("fresh ring is busy")
	}
	before := r.Stats()
	if _, err := f.WriteAt([]byte("plain"), 0); err != nil {
		t.Fatal(err)
	}
	b := r.NewBatch()
	b.SubmitWriteAt(f, []byte("!"), 5)
	if _, err := b.Wait(); err != nil {
		t.Fatal(err)
	}
	r.release()
	after := r.Stats()
	// WriteAt, then Wait and the WriteAt it fell back to, each found it busy.
	if after.Contended-before.Contended != 3 || after.Completed != before.Completed {
		t.Fatalf("contended %d, completed %d", after.Contended-before.Contended, after.Completed-before.Completed)
	}
	if got := readBack(t, f); string(got) != "plain!" {
		t.Fatalf("file holds %q", got)
	}
}

func TestRingEventfd(t *testing.T) {
	r := newTestRing(t, 8)
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	if err := r.RegisterEventfd(efd); err != nil {
		t.Fatal(err)
	}
	b := r.NewBatch()
	b.SubmitNop()
	b.SubmitNop()
	if _, err := b.Wait(); err != nil {
		t.Fatal(err)
	}
	var counter [8]byte
	if _, err := unix.Read(efd, counter[:]); err != nil {
		t.Fatalf("eventfd not signalled: %v", err)
	}
	// The kernel signals once per batch of posted CQEs, not once per CQE.
	if n := binary.NativeEndian.Uint64(counter[:]); n < 1 || n > 2 {
		t.Fatalf("eventfd counted %d signals for 2 completions", n)
	}
	if err := r.UnregisterEventfd(); err != nil {
		t.Fatal(err)
	}
	b.SubmitNop()
	if _, err := b.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Read(efd, counter[:]); err != unix.EAGAIN {
		t.Fatalf("eventfd signalled after unregister: %v", err)
	}
}

func TestFillIovecs(t *testing.T) {
	bufs := [][]byte{[]byte("abc"), nil, []byte("de"), []byte("fghij")}
	f := func(skip, maxIov, maxBytes int, want string, wantCut bool) {
		t.Helper()
		iov, n, cut := fillIovecs(nil, bufs, skip, maxIov, maxBytes)
		var got []byte
		for _, v := range iov {
			got = append(got, unsafeBytes(v)...)
		}
		if string(got) != want || n != len(want) || cut != wantCut {
			t.Errorf("skip %d max %d/%d: %q n=%d cut=%v, want %q cut=%v", skip, maxIov, maxBytes, got, n, cut, want, wantCut)
		}
	}
	f(0, 10, 100, "abcdefghij", false)
	f(2, 10, 100, "cdefghij", false) // resume inside the first buffer
	f(3, 10, 100, "defghij", false)  // resume at a buffer boundary, past the empty one
	f(6, 10, 100, "ghij", false)     // inside the last buffer
	f(10, 10, 100, "", false)        // all done
	f(0, 2, 100, "abcde", true)      // iovec limit
	f(1, 1, 100, "bc", true)         // iovec limit with a skip
	f(0, 10, 4, "abcd", true)        // byte limit inside a buffer
	f(0, 10, 5, "abcde", true)       // byte limit at a boundary
	f(5, 10, 5, "fghij", false)      // the remainder after that cut
}

func unsafeBytes(v unix.Iovec) []byte { return unsafe.Slice(v.Base, int(v.Len)) }

// Close while another goroutine drives the ring (a Datasync run off the
// shard) does not wait: that goroutine closes the ring as its call ends.
func TestRingCloseWhileBusy(t *testing.T) {
	r := newTestRing(t, 8)
	f := openRingFile(t, r, "late.log")
	if !r.tryAcquire() {
		t.Fatal("fresh ring is busy")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if r.closed {
		t.Fatal("ring closed under its driver")
	}
	r.release()
	if !r.closed || r.sqMem != nil {
		t.Fatal("ring still open after its driver let go")
	}
	enters := r.Stats().Enters
	if _, err := f.WriteAt([]byte("after"), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Datasync(); err != nil {
		t.Fatal(err)
	}
	if r.Stats().Enters != enters {
		t.Fatal("closed ring entered")
	}
	if got := readBack(t, f); string(got) != "after" {
		t.Fatalf("file holds %q", got)
	}
}
