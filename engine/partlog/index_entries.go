package partlog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/chronik-go/chronik/uring"
)

// indexTailFlushBytes bounds the index entries a segment holds in memory:
// once its unwritten tail reaches this size it is written to the index file
// (no fsync; recovery rebuilds the active segment's indexes anyway). So an
// idle partition holds at most a few KiB of index, however big its segments.
const indexTailFlushBytes = 4 << 10

// indexEntries is a run of fixed-size index entries: the older ones in the
// index file, read on demand with ReadAt, and a short tail of the newest ones
// in memory, where the active segment's appends and its hot lookups go.
type indexEntries struct {
	entrySize int
	path      string
	opener    uring.Opener
	f         uring.File // nil until an entry is written or the file attached
	inFile    int        // entries in the file
	tail      []byte     // entries after those, not yet written
	n         int        // all entries
	scratch   [timeEntrySize]byte
}

// at returns entry i; for an entry in the file the bytes are valid until the
// next call.
func (x *indexEntries) at(i int) ([]byte, error) {
	if i >= x.inFile {
		j := (i - x.inFile) * x.entrySize
		return x.tail[j : j+x.entrySize], nil
	}
	if err := x.open(); err != nil {
		return nil, err
	}
	b := x.scratch[:x.entrySize]
	if _, err := x.f.ReadAt(b, int64(i*x.entrySize)); err != nil {
		return nil, fmt.Errorf("read index %s entry %d: %w", x.path, i, err)
	}
	return b, nil
}

// added accounts for one entry appended to the tail, writing the tail out
// once it is big enough.
func (x *indexEntries) added() error {
	x.n++
	if len(x.tail) < indexTailFlushBytes {
		return nil
	}
	return x.flush()
}

func (x *indexEntries) open() error {
	if x.f != nil {
		return nil
	}
	f, err := x.opener.Open(x.path)
	if err != nil {
		return fmt.Errorf("open index %s: %w", x.path, err)
	}
	x.f = f
	return nil
}

// flush writes the in-memory tail to the end of the index file.
func (x *indexEntries) flush() error {
	if len(x.tail) == 0 {
		return nil
	}
	if err := x.open(); err != nil {
		return err
	}
	if _, err := x.f.WriteAt(x.tail, int64(x.inFile*x.entrySize)); err != nil {
		return fmt.Errorf("write index %s: %w", x.path, err)
	}
	x.inFile = x.n
	x.tail = x.tail[:0]
	return nil
}

// persist writes every entry out, trims leftovers past them and makes the
// file durable, creating it even when empty: a sealed segment always has
// both index files.
func (x *indexEntries) persist() error {
	if err := x.writeOut(); err != nil {
		return err
	}
	if err := x.f.Datasync(); err != nil {
		return fmt.Errorf("sync index %s: %w", x.path, err)
	}
	return nil
}

// writeOut is persist without the fdatasync, for a caller that syncs the
// file elsewhere (the cleaner's swap task).
func (x *indexEntries) writeOut() error {
	if err := x.flush(); err != nil {
		return err
	}
	if err := x.open(); err != nil {
		return err
	}
	if err := x.f.Truncate(int64(x.n * x.entrySize)); err != nil {
		return fmt.Errorf("truncate index %s: %w", x.path, err)
	}
	x.tail = nil // release the tail's memory: sealed segments do not append
	return nil
}

// attach adopts the existing index file as holding every entry. It fails
// when the file is missing or not a whole number of entries.
func (x *indexEntries) attach() error {
	if _, err := os.Stat(x.path); err != nil {
		return err
	}
	if err := x.open(); err != nil {
		return err
	}
	size, err := x.f.Size()
	if err != nil {
		return fmt.Errorf("size of index %s: %w", x.path, err)
	}
	if size%int64(x.entrySize) != 0 {
		return fmt.Errorf("index %s: size %d is not a multiple of %d", x.path, size, x.entrySize)
	}
	x.inFile = int(size / int64(x.entrySize))
	x.n, x.tail = x.inFile, x.tail[:0]
	return nil
}

// truncate keeps the first n entries.
func (x *indexEntries) truncate(n int) error {
	if n >= x.inFile {
		x.tail = x.tail[:(n-x.inFile)*x.entrySize]
		x.n = n
		return nil
	}
	if err := x.open(); err != nil { // a sealed segment's may be closed
		return err
	}
	if err := x.f.Truncate(int64(n * x.entrySize)); err != nil {
		return fmt.Errorf("truncate index %s: %w", x.path, err)
	}
	x.inFile, x.n, x.tail = n, n, x.tail[:0]
	return nil
}

// reset drops every entry and deletes the file, before a rebuild from data.
func (x *indexEntries) reset() error {
	err := x.close()
	if rerr := os.Remove(x.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		err = errors.Join(err, fmt.Errorf("remove index: %w", rerr))
	}
	x.inFile, x.n, x.tail = 0, 0, x.tail[:0]
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
