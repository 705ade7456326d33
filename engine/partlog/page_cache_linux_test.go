package partlog

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
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

// Clean cached pages of a file are evicted, so the next read goes to the
// disk. (On tmpfs the cache is the storage: nothing can be evicted there.)
func TestEvictCachedPagesDropsCleanPages(t *testing.T) {
	dir := t.TempDir()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type == unix.TMPFS_MAGIC {
		t.Skip("the test directory is on tmpfs, whose pages are the storage")
	}
	path := filepath.Join(dir, "00000000000000000000.log")
	if err := os.WriteFile(path, bytes.Repeat([]byte{7}, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil { // clean pages, still cached
		t.Fatal(err)
	}
	f.Close()
	if residentPages(t, path) == 0 {
		t.Fatal("freshly written pages are not cached: the test cannot tell an eviction")
	}
	if err := evictCachedPages(path); err != nil {
		t.Fatal(err)
	}
	if n := residentPages(t, path); n != 0 {
		t.Fatalf("%d pages still cached", n)
	}
}

// Recovery evicts a segment's cached pages before it reads the segment,
// whether at a start after a crash or at a reopen after a fault; a clean
// open reads and evicts nothing.
func TestRecoveryReadsSegmentsFromTheDisk(t *testing.T) {
	var evicted []string
	op := &testOpener{}
	evictForRecovery = func(path string) error {
		if op.logReads.Load() != 0 {
			t.Errorf("%s evicted after recovery began reading", path)
		}
		evicted = append(evicted, path)
		return evictCachedPages(path)
	}
	defer func() { evictForRecovery = evictCachedPages }()

	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(nil), false)
	fillLog(t, l, 300, 0)
	active := l.active().path(logSuffix)
	crash(l)
	evicted = nil
	l = mustOpen(t, dir, testOptions(op), false)
	if !slices.Contains(evicted, active) {
		t.Fatalf("recovery evicted %v, want the active segment %s among them", evicted, active)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	evicted = nil
	l = mustOpen(t, dir, testOptions(nil), true)
	defer l.Close()
	if len(evicted) != 0 {
		t.Fatalf("a clean open evicted %v", evicted)
	}
}
