package uring

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Writeback hints run on a goroutine other than the file's owner, which may
// close the file meanwhile: the hint then fails as a closed file, which the
// caller can tell from a real failure.
func TestStartWritebackAfterClose(t *testing.T) {
	f, err := PwriteOpener{}.Open(filepath.Join(t.TempDir(), "seg.log"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 8192), 0); err != nil {
		t.Fatal(err)
	}
	ws, ok := f.(WritebackStarter)
	if !ok {
		t.Fatal("pwrite files do not start writeback")
	}
	if err := ws.StartWriteback(0, 8192); err != nil {
		t.Fatalf("StartWriteback on an open file: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ws.StartWriteback(0, 8192); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("StartWriteback after Close = %v, want os.ErrClosed", err)
	}
}
