package partlog

import (
	"fmt"

	"github.com/chronik-go/chronik/uring"
)

// indexEntries is a run of fixed-size index entries. The active segment keeps
// them in memory (appends are frequent, lookups hot); a sealed segment reads
// them from its file on demand, so old segments and idle partitions hold no
// index memory.
type indexEntries struct {
	entrySize int
	path      string
	mem       []byte     // every entry, while in memory
	f         uring.File // the index file, while on disk
	n         int        // number of entries
	onDisk    bool
	scratch   [timeEntrySize]byte // one entry read from f, without an allocation per probe
}

// at returns entry i; for an on-disk index the bytes are valid until the next call.
func (x *indexEntries) at(i int) ([]byte, error) {
	if !x.onDisk {
		return x.mem[i*x.entrySize : (i+1)*x.entrySize], nil
	}
	b := x.scratch[:x.entrySize]
	if _, err := x.f.ReadAt(b, int64(i*x.entrySize)); err != nil {
		return nil, fmt.Errorf("read index %s entry %d: %w", x.path, i, err)
	}
	return b, nil
}

// attachFile makes f (the index file of a sealed segment) the entries' home.
// It fails when the file's size is not a whole number of entries.
func (x *indexEntries) attachFile(f uring.File) error {
	size, err := f.Size()
	if err != nil {
		return fmt.Errorf("size of index %s: %w", x.path, err)
	}
	if size%int64(x.entrySize) != 0 {
		return fmt.Errorf("index %s: size %d is not a multiple of %d", x.path, size, x.entrySize)
	}
	x.f, x.n, x.onDisk, x.mem = f, int(size/int64(x.entrySize)), true, nil
	return nil
}

// writeFile persists the in-memory entries to the index file (replacing what
// was there), makes it durable and switches the entries to it.
func (x *indexEntries) writeFile(op uring.Opener) error {
	if x.onDisk {
		return nil
	}
	f, err := op.Open(x.path)
	if err != nil {
		return fmt.Errorf("open index %s: %w", x.path, err)
	}
	err = func() error {
		if len(x.mem) > 0 {
			if _, err := f.WriteAt(x.mem, 0); err != nil {
				return err
			}
		}
		if err := f.Truncate(int64(len(x.mem))); err != nil {
			return err
		}
		return f.Datasync()
	}()
	if err != nil {
		f.Close()
		return fmt.Errorf("write index %s: %w", x.path, err)
	}
	x.f, x.onDisk, x.mem = f, true, nil
	return nil
}

// loadMem reads an on-disk index back into memory, for a sealed segment that
// becomes active again (truncation) or an active segment opened cleanly.
func (x *indexEntries) loadMem() error {
	if !x.onDisk {
		return nil
	}
	mem := make([]byte, x.n*x.entrySize)
	if len(mem) > 0 {
		if _, err := x.f.ReadAt(mem, 0); err != nil {
			return fmt.Errorf("read index %s: %w", x.path, err)
		}
	}
	err := x.f.Close()
	x.f, x.mem, x.onDisk = nil, mem, false
	if err != nil {
		return fmt.Errorf("close index %s: %w", x.path, err)
	}
	return nil
}

// truncate keeps the first n in-memory entries.
func (x *indexEntries) truncate(n int) {
	x.n = n
	x.mem = x.mem[:n*x.entrySize]
}

// reset drops every entry and detaches any file, leaving an empty in-memory index.
func (x *indexEntries) reset() error {
	err := x.close()
	x.mem, x.n, x.onDisk = x.mem[:0], 0, false
	return err
}

func (x *indexEntries) close() error {
	if x.f == nil {
		return nil
	}
	err := x.f.Close()
	x.f = nil
	if err != nil {
		return fmt.Errorf("close index %s: %w", x.path, err)
	}
	return nil
}
