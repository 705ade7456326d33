package engine

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentPages counts the pages of path in the page cache.
func residentPages(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// A reopen after a fault reads segment files from the disk: their clean
// cached pages, which may include pages whose writeback failed, are
// evicted first; other files are left alone.
func TestDropCachedLogPagesEvictsSegmentPages(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Write(bytes.Repeat([]byte{7}, 4<<20)); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil { // clean pages, still cached
			t.Fatal(err)
		}
		return path
	}
	segment, index := write("00000000000000000000.log"), write("00000000000000000000.index")
	if residentPages(t, segment) == 0 || residentPages(t, index) == 0 {
		t.Fatal("freshly written pages are not cached: the test cannot tell an eviction")
	}
	if err := dropCachedLogPages(dir); err != nil {
		t.Fatal(err)
	}
	if n := residentPages(t, segment); n != 0 {
		t.Fatalf("%d pages of the segment file still cached", n)
	}
	if residentPages(t, index) == 0 {
		t.Fatal("the index file's pages were evicted too")
	}
}
