package uring

import (
	"fmt"
	"os"
)

// pwriteFile is the portable File: each call is one syscall on the caller's
// goroutine, so a stall blocks only the shard that owns the file.
type pwriteFile struct {
	f *os.File
}

func (p *pwriteFile) WriteAt(b []byte, off int64) (int, error) {
	n, err := p.f.WriteAt(b, off) // os.File.WriteAt loops until done or error
	if err != nil {
		return n, fmt.Errorf("pwrite %s at %d: %w", p.f.Name(), off, err)
	}
	return n, nil
}

func (p *pwriteFile) WritevAt(bufs [][]byte, off int64) (int, error) {
	return pwritev(p.f, bufs, off)
}

func (p *pwriteFile) ReadAt(b []byte, off int64) (int, error) { return p.f.ReadAt(b, off) }

func (p *pwriteFile) Datasync() error {
	if err := datasync(p.f); err != nil {
		return fmt.Errorf("fdatasync %s: %w", p.f.Name(), err)
	}
	return nil
}

func (p *pwriteFile) StartWriteback(off, n int64) error {
	if err := startWriteback(p.f, off, n); err != nil {
		return fmt.Errorf("sync_file_range %s: %w", p.f.Name(), err)
	}
	return nil
}

func (p *pwriteFile) ReserveSpace(off, n int64) error {
	if err := reserveSpace(p.f, off, n); err != nil {
		return fmt.Errorf("fallocate %s at %d, %d bytes: %w", p.f.Name(), off, n, err)
	}
	return nil
}

func (p *pwriteFile) Truncate(size int64) error { return p.f.Truncate(size) }

func (p *pwriteFile) Size() (int64, error) {
	st, err := p.f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func (p *pwriteFile) Name() string { return p.f.Name() }
func (p *pwriteFile) Close() error { return p.f.Close() }
