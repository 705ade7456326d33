// Package uring owns how partition logs reach the disk: one file-writer
// interface with an io_uring implementation (its own issue) and a portable
// pwrite + fdatasync fallback.
package uring

import "os"

// File is a log file opened for positional writes and reads. A File is owned by
// one shard goroutine; implementations need not be safe for concurrent writers,
// but ReadAt may be called from any goroutine.
type File interface {
	// WriteAt writes all of p at off (short writes are completed or reported).
	WriteAt(p []byte, off int64) (int, error)
	// WritevAt writes the buffers back to back starting at off.
	WritevAt(bufs [][]byte, off int64) (int, error)
	// ReadAt reads len(p) bytes at off, as io.ReaderAt.
	ReadAt(p []byte, off int64) (int, error)
	// Datasync makes written data durable (fdatasync). It may run on any
	// goroutine and must never wait for another one (a ring it cannot
	// borrow at once means a plain call): partlog's fileSyncs relies on it.
	Datasync() error
	// Truncate cuts the file to size bytes.
	Truncate(size int64) error
	// Size reports the file's current size on disk.
	Size() (int64, error)
	Name() string
	Close() error
}

// WritebackStarter is implemented by files that can start writing back a
// range of their dirty pages without waiting (Linux sync_file_range): a log
// that writes its files behind a write-ahead log uses it so that the
// kernel's writeback runs steadily instead of all at the next sync.
type WritebackStarter interface {
	StartWriteback(off, n int64) error
}

// SpaceReserver is implemented by files whose blocks can be reserved ahead
// of the writes that will fill them without changing the file's size (Linux
// fallocate with FALLOC_FL_KEEP_SIZE). A page-cache write into reserved
// blocks skips the filesystem's per-block allocation work (ext4's delayed
// allocation), which a log appending at memory speed notices. Truncate to
// the current size frees what is reserved past it.
type SpaceReserver interface {
	ReserveSpace(off, n int64) error
}

// Opener opens (creating if needed) a log file for reading and writing.
type Opener interface {
	Open(path string) (File, error)
	// Kind names the implementation for logs and metrics ("pwrite", "uring").
	Kind() string
}

// PwriteOpener opens files served by plain pwrite/pread/fdatasync syscalls.
type PwriteOpener struct{}

func (PwriteOpener) Kind() string { return "pwrite" }

func (PwriteOpener) Open(path string) (File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &pwriteFile{f: f}, nil
}
