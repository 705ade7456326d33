package engine

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-go/chronik/uring"
)

// A produce's sync task holds its segment's .log; if the next produce rolls
// that segment before the task runs, the roll's seal fdatasyncs the same
// file at the same time. Linux reports a writeback error once to each open
// file description, so through one shared description the first to look
// takes it and the other hears success: a task hearing success answered
// its produce over pages the disk lost, and a seal hearing success moved
// the recovery point past them, so that recovery trusted the lost bytes.
// Both orders, with the lost pages zeroed on disk as a failed writeback
// leaves them, and the fake's descriptions reporting errors as Linux's do.
func TestSealAndSyncTaskBothHearAWritebackError(t *testing.T) {
	for _, sealFirst := range []bool{true, false} {
		name := "task looks first"
		if sealFirst {
			name = "seal looks first"
		}
		t.Run(name, func(t *testing.T) {
			forEachWritePath(t, func(t *testing.T, inner uring.Opener) {
				testSealAndSyncTaskBothHearAWritebackError(t, inner, sealFirst)
			})
		})
	}
}

func testSealAndSyncTaskBothHearAWritebackError(t *testing.T, inner uring.Opener, sealFirst bool) {
	fo, tb, cl := startFaultBroker(t, inner, []string{"log.segment.bytes=1024"}, "sw")
	first := filepath.Join("sw-0", "00000000000000000000.log")
	gate := fo.gateSyncs(t, first)
	type answer struct {
		code int16
		off  int64
		err  error
	}
	produce := func(records int) <-chan answer {
		ch := make(chan answer, 1)
		c := fetchClient(tb) // its own connection: answers come in order per connection
		go func() {
			p, err := tryProduceRaw(c, "sw", 0, 11, rawBatch(records, -1, -1, -1))
			ch <- answer{p.ErrorCode, p.BaseOffset, err}
		}()
		return ch
	}
	// The second batch (offsets 2-3) goes to the first segment, whose sync
	// task is held; then its pages are lost.
	second := produce(2)
	task := gate.next(t)
	segPath := filepath.Join(tb.dir, first)
	loseTail(t, segPath)
	fo.failWriteback(first, syscall.EIO)
	// 120 records do not fit the first segment: the roll's seal syncs it.
	third := produce(120)
	seal := gate.next(t)
	fo.ungateSyncs(first)

	// The first to look takes the error; the other looks and returns from
	// its call while the first is still in its own. It must then wait for
	// the first (it is seen waiting in fileSyncs) rather than act on its
	// success: answer its produce, or move the recovery point past the
	// first segment.
	a, b := task, seal
	if sealFirst {
		a, b = seal, task
	}
	a.letCheck()
	<-a.checked
	b.letCheck()
	<-b.checked
	b.letLeave()
	early := make(chan answer, 1)
	checkFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if rp, ok := readRecoveryPointFile(t, filepath.Join(tb.dir, "sw-0")); ok && rp > 0 {
			t.Fatalf("the seal moved the recovery point to %d, past pages whose writeback failed", rp)
		}
		select {
		case got := <-second:
			early <- got
			return nil
		default:
		}
		if !waitingInFileSyncs() {
			return fmt.Errorf("the second fdatasync neither waits for the first nor acts")
		}
		return nil
	})
	a.letLeave()
	if len(early) > 0 {
		second = early
	}

	for i, ch := range []<-chan answer{second, third} {
		select {
		case got := <-ch:
			if got.err != nil {
				t.Fatal(got.err)
			}
			if got.code != kerr.KafkaStorageError.Code {
				t.Fatalf("produce %d over lost pages: %v at %d, want KAFKA_STORAGE_ERROR", i+2, kerr.ErrorForCode(got.code), got.off)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("produce %d not answered", i+2)
		}
	}
	// The partition reopens from disk; recovery finds the lost batch and
	// cuts the log there, so the next batch takes offset 2 and only
	// well-formed batches are served.
	if off := produceWhenResumed(t, cl, "sw"); off != 2 {
		t.Fatalf("after recovery the next batch took offset %d, want 2 (the lost batch and the one after it are not there)", off)
	}
	if got := readBatchOffsets(t, cl, "sw"); fmt.Sprint(got) != "[0 2]" {
		t.Fatalf("stored batches at %v, want [0 2]", got)
	}
}

// loseTail zeroes a segment file past its first batch on disk, as a failed
// writeback of the later batches' pages leaves them.
func loseTail(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var head [12]byte
	if _, err := f.ReadAt(head[:], 0); err != nil {
		t.Fatal(err)
	}
	firstEnd := 12 + int64(binary.BigEndian.Uint32(head[8:]))
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() <= firstEnd {
		t.Fatalf("%s holds %d bytes, nothing past its first batch (%d)", path, st.Size(), firstEnd)
	}
	if _, err := f.WriteAt(make([]byte, st.Size()-firstEnd), firstEnd); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// waitingInFileSyncs says whether a goroutine waits in partlog's fileSyncs
// for an overlapping fdatasync of the same file to finish.
func waitingInFileSyncs() bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "sync.(*Cond).Wait") && strings.Contains(g, "partlog.(*fileSyncs).datasync") {
			return true
		}
	}
	return false
}

// readRecoveryPointFile reads a partition directory's recovery point, if it
// has a whole one.
func readRecoveryPointFile(t *testing.T, dir string) (int64, bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "recovery.checkpoint"))
	if err != nil || len(b) != 18 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(b[6:])), true
}
