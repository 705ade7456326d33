package engine

import (
	"strings"
	"sync/atomic"

	"github.com/chronik-go/chronik/uring"
)

// fileCallCounter opens log files through inner and counts, on files whose
// path contains match ("" matches all), the writeback hints and block
// reservations made on them.
type fileCallCounter struct {
	inner    uring.Opener
	match    string
	hints    atomic.Int64
	reserves atomic.Int64
}

func (o *fileCallCounter) Kind() string { return "call-counter(" + o.inner.Kind() + ")" }

func (o *fileCallCounter) Open(path string) (uring.File, error) {
	f, err := o.inner.Open(path)
	if err != nil {
		return nil, err
	}
	return &countingFile{File: f, o: o, counted: strings.Contains(path, o.match)}, nil
}

type countingFile struct {
	uring.File
	o       *fileCallCounter
	counted bool
}

func (f *countingFile) StartWriteback(off, n int64) error {
	if f.counted {
		f.o.hints.Add(1)
	}
	if ws, ok := f.File.(uring.WritebackStarter); ok {
		return ws.StartWriteback(off, n)
	}
	return nil
}

func (f *countingFile) ReserveSpace(off, n int64) error {
	if f.counted {
		f.o.reserves.Add(1)
	}
	if r, ok := f.File.(uring.SpaceReserver); ok {
		return r.ReserveSpace(off, n)
	}
	return nil
}
