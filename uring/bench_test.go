package uring

import (
	"fmt"
	"path/filepath"
	"testing"
)

// benchWrap bounds the benchmark files: past it the file is truncated and
// appends start again at 0, outside the timed region.
const benchWrap = 64 << 20

// BenchmarkFileAppend appends through File.WriteAt, as a partition log does:
// 1 KiB and 64 KiB records, and 1 KiB records each followed by Datasync.
//
//	go test -run '^$' -bench FileAppend -benchtime 2s ./uring/
func BenchmarkFileAppend(b *testing.B) {
	cases := []struct {
		name string
		size int
		sync bool
	}{
		{"1KiB", 1 << 10, false},
		{"64KiB", 64 << 10, false},
		{"1KiB+datasync", 1 << 10, true},
	}
	for _, no := range openersUnderTest(b) {
		for _, c := range cases {
			b.Run(no.name+"/"+c.name, func(b *testing.B) {
				o := no.new(b)
				defer o.Close()
				f, err := o.Open(filepath.Join(b.TempDir(), "bench.log"))
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				rec := randomBytes(4, c.size)
				b.SetBytes(int64(c.size))
				b.ReportAllocs()
				off := int64(0)
				for b.Loop() {
					if off+int64(c.size) > benchWrap {
						b.StopTimer()
						if err := f.Truncate(0); err != nil {
							b.Fatal(err)
						}
						off = 0
						b.StartTimer()
					}
					if _, err := f.WriteAt(rec, off); err != nil {
						b.Fatal(err)
					}
					off += int64(c.size)
					if c.sync {
						if err := f.Datasync(); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}

// BenchmarkGroupCommit is one shard turn over 16 partitions: a 4 KiB writev
// and an fdatasync per partition, through Batch (one io_uring_enter on a
// ring, 32 syscalls with pwrite).
//
//	go test -run '^$' -bench GroupCommit -benchtime 2s ./uring/
func BenchmarkGroupCommit(b *testing.B) {
	const files, size = 16, 4 << 10
	for _, no := range openersUnderTest(b) {
		b.Run(no.name, func(b *testing.B) {
			o := no.new(b)
			defer o.Close()
			fs := openBenchFiles(b, o, files)
			hdr, rec := randomBytes(5, 61), randomBytes(6, size-61)
			bufs := [][]byte{hdr, rec}
			batch := o.NewBatch()
			b.SetBytes(files * size)
			b.ReportAllocs()
			off := int64(0)
			for b.Loop() {
				off = wrapBenchFiles(b, fs, off, size, benchWrap)
				for _, f := range fs {
					batch.SubmitWritevAt(f, bufs, off)
				}
				for _, f := range fs {
					batch.SubmitDatasync(f)
				}
				if _, err := batch.Wait(); err != nil {
					b.Fatal(err)
				}
				off += size
			}
		})
	}
}

// BenchmarkBatchWrites is the write half of a shard turn without fsync: one
// 4 KiB write to each of n files, through Batch (one io_uring_enter on a ring,
// n pwrites without). It is the measurement behind submitting a turn's
// appends as one batch.
//
//	go test -run '^$' -bench BatchWrites -benchtime 2s ./uring/
func BenchmarkBatchWrites(b *testing.B) {
	const size = 4 << 10
	for _, no := range openersUnderTest(b) {
		for _, files := range []int{1, 16, 256} {
			b.Run(fmt.Sprintf("%s/files=%d", no.name, files), func(b *testing.B) {
				o := no.new(b)
				defer o.Close()
				fs := openBenchFiles(b, o, files)
				rec := randomBytes(7, size)
				batch := o.NewBatch()
				b.SetBytes(int64(files * size))
				b.ReportAllocs()
				off := int64(0)
				wrap := int64(benchWrap / files)
				for b.Loop() {
					off = wrapBenchFiles(b, fs, off, size, wrap)
					for _, f := range fs {
						batch.SubmitWriteAt(f, rec, off)
					}
					if _, err := batch.Wait(); err != nil {
						b.Fatal(err)
					}
					off += size
				}
			})
		}
	}
}

// openBenchFiles opens n files in a fresh directory through o; they close
// when the benchmark ends.
func openBenchFiles(b *testing.B, o Opener, n int) []File {
	dir := b.TempDir()
	fs := make([]File, 0, n)
	for i := range n {
		f, err := o.Open(filepath.Join(dir, fmt.Sprintf("p%d.log", i)))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		fs = append(fs, f)
	}
	return fs
}

// wrapBenchFiles returns the offset for the next size bytes: off, or 0 after
// truncating every file (outside the timed region) once off+size passes wrap.
func wrapBenchFiles(b *testing.B, fs []File, off, size, wrap int64) int64 {
	if off+size <= wrap {
		return off
	}
	b.StopTimer()
	for _, f := range fs {
		if err := f.Truncate(0); err != nil {
			b.Fatal(err)
		}
	}
	b.StartTimer()
	return 0
}
