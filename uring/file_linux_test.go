package uring

import (
	"bytes"
	"errors"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// A write that crosses RLIMIT_FSIZE is cut short by the kernel; the File
// must report the bytes that landed and the EFBIG of the remainder, which
// for io_uring means the remainder really was resubmitted.
func TestFileShortWriteAtFileSizeLimit(t *testing.T) {
	// The limit is process-wide; keep it far above any other file the test
	// binary writes (its test log among them).
	const limit = 64 << 20
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if old.Max < limit {
		t.Fatalf("hard RLIMIT_FSIZE %d is below the test's %d", old.Max, limit)
	}
	forEachOpener(t, func(t *testing.T, o ShardOpener) {
		f := openTestFile(t, o, "limited.log")
		set := unix.Rlimit{Cur: limit, Max: old.Max}
		if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &set); err != nil {
			t.Fatal(err)
		}
		defer unix.Setrlimit(unix.RLIMIT_FSIZE, &old)

		data := randomBytes(3, 8192)
		n, err := f.WriteAt(data, limit-4096)
		// os.File.WriteAt drops the count of a pwrite that an error cut
		// short, so pwriteFile reports 0 though 4096 bytes landed.
		pwriteQuirk := o.Kind() == "pwrite" && n == 0
		if (n != 4096 && !pwriteQuirk) || !errors.Is(err, syscall.EFBIG) {
			t.Fatalf("write across the limit: n=%d err=%v, want 4096 and EFBIG", n, err)
		}
		n, err = f.WritevAt([][]byte{data[:1000], data[1000:]}, limit-100)
		if n != 100 || !errors.Is(err, syscall.EFBIG) {
			t.Fatalf("writev across the limit: n=%d err=%v, want 100 and EFBIG", n, err)
		}
		unix.Setrlimit(unix.RLIMIT_FSIZE, &old)
		got := readBack(t, f)
		if len(got) != limit || !bytes.Equal(got[limit-4096:limit-100], data[:3996]) || !bytes.Equal(got[limit-100:], data[:100]) {
			t.Fatalf("file after short writes: size %d", len(got))
		}
	})
}
