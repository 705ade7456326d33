package uring

import (
	"bytes"
	"io"
	"path/filepath"
	"testing"
)

func TestPwriteFileRoundTrip(t *testing.T) {
	f, err := PwriteOpener{}.Open(filepath.Join(t.TempDir(), "seg.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("hello "), 0); err != nil {
		t.Fatal(err)
	}
	// Many small buffers, more than one writev's worth of iovecs on some kernels.
	var bufs [][]byte
	var want bytes.Buffer
	want.WriteString("hello ")
	for i := 0; i < 3000; i++ {
		b := []byte{byte('a' + i%26)}
		bufs = append(bufs, b, nil)
		want.Write(b)
	}
	n, err := f.WritevAt(bufs, 6)
	if err != nil || n != 3000 {
		t.Fatalf("writev: n=%d err=%v", n, err)
	}
	if err := f.Datasync(); err != nil {
		t.Fatal(err)
	}
	size, _ := f.Size()
	if size != int64(want.Len()) {
		t.Fatalf("size %d, want %d", size, want.Len())
	}
	got := make([]byte, want.Len())
	if _, err := f.ReadAt(got, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("read back differs")
	}
	if err := f.Truncate(3); err != nil {
		t.Fatal(err)
	}
	if size, _ := f.Size(); size != 3 {
		t.Fatalf("size after truncate %d", size)
	}
}
