package uring

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func openTestFile(t *testing.T, o Opener, name string) File {
	t.Helper()
	f, err := o.Open(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// readBack reads a whole file by path, independently of the File under test.
func readBack(t *testing.T, f File) []byte {
	t.Helper()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestFileRoundTrip(t *testing.T) {
	forEachOpener(t, func(t *testing.T, o ShardOpener) {
		f := openTestFile(t, o, "seg.log")
		if n, err := f.WriteAt([]byte("hello "), 0); err != nil || n != 6 {
			t.Fatalf("write: n=%d err=%v", n, err)
		}
		// More buffers than one writev takes (1024), with empty ones between.
		var bufs [][]byte
		var want bytes.Buffer
		want.WriteString("hello ")
		for i := range 3000 {
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
		if size, err := f.Size(); err != nil || size != int64(want.Len()) {
			t.Fatalf("size %d (%v), want %d", size, err, want.Len())
		}
		got := make([]byte, want.Len())
		if n, err := f.ReadAt(got, 0); n != len(got) || (err != nil && err != io.EOF) {
			t.Fatalf("read: n=%d err=%v", n, err)
		}
		if !bytes.Equal(got, want.Bytes()) || !bytes.Equal(readBack(t, f), want.Bytes()) {
			t.Fatal("read back differs")
		}
		if err := f.Truncate(3); err != nil {
			t.Fatal(err)
		}
		if size, _ := f.Size(); size != 3 {
			t.Fatalf("size after truncate %d", size)
		}
	})
}

func TestFileLargeAndSparseWrites(t *testing.T) {
	forEachOpener(t, func(t *testing.T, o ShardOpener) {
		f := openTestFile(t, o, "big.log")
		big := randomBytes(1, 8<<20)
		if n, err := f.WriteAt(big, 0); err != nil || n != len(big) {
			t.Fatalf("8 MiB write: n=%d err=%v", n, err)
		}
		// Few large buffers in one writev.
		parts := [][]byte{big[:3<<20], {}, big[3<<20 : 5<<20], big[5<<20:]}
		if n, err := f.WritevAt(parts, int64(len(big))); err != nil || n != len(big) {
			t.Fatalf("8 MiB writev: n=%d err=%v", n, err)
		}
		// Past the end: the gap reads as zeros.
		tail := []byte("tail")
		gapAt := int64(2*len(big) + 4096)
		if _, err := f.WriteAt(tail, gapAt); err != nil {
			t.Fatal(err)
		}
		got := readBack(t, f)
		if int64(len(got)) != gapAt+4 {
			t.Fatalf("size %d, want %d", len(got), gapAt+4)
		}
		if !bytes.Equal(got[:len(big)], big) || !bytes.Equal(got[len(big):2*len(big)], big) {
			t.Fatal("large writes read back differently")
		}
		if !bytes.Equal(got[2*len(big):gapAt], make([]byte, 4096)) || !bytes.Equal(got[gapAt:], tail) {
			t.Fatal("sparse write read back differently")
		}
	})
}

func TestFileReadAtEOF(t *testing.T) {
	forEachOpener(t, func(t *testing.T, o ShardOpener) {
		f := openTestFile(t, o, "short.log")
		if _, err := f.WriteAt([]byte("0123456789"), 0); err != nil {
			t.Fatal(err)
		}
		p := make([]byte, 8)
		n, err := f.ReadAt(p, 6)
		if n != 4 || err != io.EOF || string(p[:n]) != "6789" {
			t.Fatalf("read across EOF: n=%d err=%v %q", n, err, p[:n])
		}
	})
}

func TestFileAfterClose(t *testing.T) {
	forEachOpener(t, func(t *testing.T, o ShardOpener) {
		f := openTestFile(t, o, "closed.log")
		if _, err := f.WriteAt([]byte("kept"), 0); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		closedErr := func(what string, err error) {
			t.Helper()
			if err == nil {
				t.Errorf("%s after close succeeded", what)
			}
		}
		_, err := f.WriteAt([]byte("lost"), 0)
		closedErr("WriteAt", err)
		_, err = f.WritevAt([][]byte{[]byte("lost")}, 0)
		closedErr("WritevAt", err)
		closedErr("Datasync", f.Datasync())
		if got := readBack(t, f); string(got) != "kept" {
			t.Fatalf("file holds %q after writes to a closed File", got)
		}
	})
}

// A File belongs to one shard, but ReadAt runs on any goroutine, and a
// misbehaving caller may write from several; data must stay intact.
func TestFileConcurrentCallers(t *testing.T) {
	forEachOpener(t, func(t *testing.T, o ShardOpener) {
		f := openTestFile(t, o, "shared.log")
		const writers, rounds, chunk = 4, 100, 512
		var wg sync.WaitGroup
		errs := make(chan error, writers+1)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range rounds {
					off := int64((i*writers + w) * chunk)
					b := bytes.Repeat([]byte{byte(w + 1)}, chunk)
					var err error
					if i%2 == 0 {
						_, err = f.WriteAt(b, off)
					} else {
						_, err = f.WritevAt([][]byte{b[:100], b[100:]}, off)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := make([]byte, chunk)
			for range rounds {
				if _, err := f.ReadAt(p, 0); err != nil && err != io.EOF {
					errs <- err
					return
				}
			}
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got := readBack(t, f)
		if len(got) != writers*rounds*chunk {
			t.Fatalf("size %d", len(got))
		}
		for i := range writers * rounds {
			want := byte(i%writers + 1)
			if c := got[i*chunk : (i+1)*chunk]; !bytes.Equal(c, bytes.Repeat([]byte{want}, chunk)) {
				t.Fatalf("chunk %d not written by writer %d", i, want-1)
			}
		}
	})
}

// One shard turn: every partition's writev and fsync in one batch.
func TestBatchGroupCommit(t *testing.T) {
	forEachOpener(t, func(t *testing.T, o ShardOpener) {
		dir := t.TempDir()
		const files = 8
		var fs []File
		for i := range files {
			f, err := o.Open(filepath.Join(dir, fmt.Sprintf("p%d.log", i)))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fs = append(fs, f)
		}
		b := o.NewBatch()
		for turn := range 3 {
			writes := make([]int, files)
			syncs := make([]int, files)
			for i, f := range fs {
				rec := []byte(fmt.Sprintf("turn %d file %d;", turn, i))
				writes[i] = b.SubmitWritevAt(f, [][]byte{rec[:5], rec[5:]}, int64(turn*32))
			}
			for i, f := range fs {
				syncs[i] = b.SubmitDatasync(f)
			}
			res, err := b.Wait()
			if err != nil {
				t.Fatalf("turn %d: %v", turn, err)
			}
			if len(res) != 2*files {
				t.Fatalf("%d results", len(res))
			}
			for i := range fs {
				want := len(fmt.Sprintf("turn %d file %d;", turn, i))
				if res[writes[i]].N != want || res[syncs[i]].Err != nil {
					t.Fatalf("turn %d file %d: write %+v sync %+v", turn, i, res[writes[i]], res[syncs[i]])
				}
			}
		}
		for i, f := range fs {
			got := readBack(t, f)
			for turn := range 3 {
				rec := fmt.Sprintf("turn %d file %d;", turn, i)
				if string(got[turn*32:turn*32+len(rec)]) != rec {
					t.Fatalf("file %d turn %d: %q", i, turn, got)
				}
			}
		}
	})
}

// A failed write stops the later operations on its file, and only there.
func TestBatchFailureStopsOnlyItsFile(t *testing.T) {
	forEachOpener(t, func(t *testing.T, o ShardOpener) {
		good := openTestFile(t, o, "good.log")
		bad := openTestFile(t, o, "bad.log")
		bad.Close()
		b := o.NewBatch()
		bw := b.SubmitWriteAt(bad, []byte("x"), 0)
		gw := b.SubmitWriteAt(good, []byte("y"), 0)
		bs := b.SubmitDatasync(bad)
		gs := b.SubmitDatasync(good)
		nop := b.SubmitNop()
		res, err := b.Wait()
		if err == nil || res[bw].Err == nil {
			t.Fatalf("write to a closed file succeeded: %v %+v", err, res)
		}
		if !errors.Is(res[bs].Err, res[bw].Err) {
			t.Fatalf("fsync after the failed write: %v, want it to wrap %v", res[bs].Err, res[bw].Err)
		}
		if res[gw].Err != nil || res[gw].N != 1 || res[gs].Err != nil || res[nop].Err != nil {
			t.Fatalf("other file affected: %+v %+v %+v", res[gw], res[gs], res[nop])
		}
		if got := readBack(t, good); string(got) != "y" {
			t.Fatalf("good file holds %q", got)
		}
		// The batch is reusable after a failure.
		b.SubmitWriteAt(good, []byte("z"), 1)
		if _, err := b.Wait(); err != nil {
			t.Fatal(err)
		}
		if got := readBack(t, good); string(got) != "yz" {
			t.Fatalf("good file holds %q", got)
		}
	})
}

func TestBatchReads(t *testing.T) {
	forEachOpener(t, func(t *testing.T, o ShardOpener) {
		f := openTestFile(t, o, "r.log")
		data := randomBytes(2, 100_000)
		b := o.NewBatch()
		b.SubmitWriteAt(f, data, 0)
		full := make([]byte, len(data))
		past := make([]byte, 10)
		empty := b.SubmitReadAt(f, nil, 0)
		rFull := b.SubmitReadAt(f, full, 0)
		rPast := b.SubmitReadAt(f, past, int64(len(data)-4))
		res, err := b.Wait()
		if err != io.EOF {
			t.Fatalf("batch error %v, want io.EOF from the read past the end", err)
		}
		if res[empty] != (Result{}) || res[rFull].N != len(data) || res[rFull].Err != nil || !bytes.Equal(full, data) {
			t.Fatalf("reads: %+v %+v", res[empty], res[rFull])
		}
		if res[rPast].N != 4 || res[rPast].Err != io.EOF || !bytes.Equal(past[:4], data[len(data)-4:]) {
			t.Fatalf("read past end: %+v", res[rPast])
		}
	})
}
