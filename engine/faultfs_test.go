package engine

import (
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chronik-go/chronik/uring"
	"github.com/chronik-go/chronik/uring/uringtest"
)

// faultOpener wraps the real file writer and injects faults into files whose
// path contains a chosen substring, in the spirit of Pebble's errorfs: EIO on
// open, EIO or ENOSPC on write, EIO on fdatasync, or an fdatasync that hangs
// until released.
type faultOpener struct {
	inner uring.Opener
	mu    sync.Mutex
	open  map[string]error
	write map[string]error
	// writesLeft limits a write fault to that many more failing calls.
	writesLeft map[string]int
	sync       map[string]error
	block      map[string]chan struct{}
	// blockReads holds reads of matching .log files until released.
	blockReads map[string]chan struct{}
	// logReads counts reads of .log files (segment data).
	logReads atomic.Int64
	// blockedSyncs counts fdatasyncs that waited in blockSync, blockedReads
	// reads that waited in blockRead.
	blockedSyncs atomic.Int64
	blockedReads atomic.Int64
	// writeback holds writeback errors of matching files, reported once to
	// each open file description (writebackError); gates hold their
	// fdatasyncs for a test to order (syncGate).
	writeback map[string]*writebackError
	gates     map[string]*syncGate
}

// writebackError is a file's writeback error as Linux keeps it (errseq):
// an fdatasync through a description reports it once, and a description
// opened while it is unreported reports it too.
type writebackError struct {
	err  error
	gen  int
	seen bool
}

// syncGate holds every fdatasync of matching files twice: each call is
// announced on arrived and waits for its check channel before it looks for
// errors, then closes checked and waits for leave before it returns.
type syncGate struct {
	arrived chan *gatedSync
	mu      sync.Mutex
	calls   []*gatedSync // every call held, for releaseAll
}

type gatedSync struct {
	check, checked, leave chan struct{}
	letCheck, letLeave    func()
}

func newGatedSync() *gatedSync {
	c := &gatedSync{check: make(chan struct{}), checked: make(chan struct{}), leave: make(chan struct{})}
	c.letCheck = sync.OnceFunc(func() { close(c.check) })
	c.letLeave = sync.OnceFunc(func() { close(c.leave) })
	return c
}

// releaseAll lets every call held at the gate go on, for a test's cleanup.
func (g *syncGate) releaseAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.calls {
		c.letCheck()
		c.letLeave()
	}
}

func newFaultOpener(inner uring.Opener) *faultOpener {
	return &faultOpener{inner: inner, open: map[string]error{}, write: map[string]error{}, writesLeft: map[string]int{}, sync: map[string]error{}, block: map[string]chan struct{}{}, blockReads: map[string]chan struct{}{}, writeback: map[string]*writebackError{}, gates: map[string]*syncGate{}}
}

// forEachWritePath runs a storage test over pwrite and, where the kernel
// allows it, the io_uring writer; both sit under the fault layer.
func forEachWritePath(t *testing.T, test func(t *testing.T, inner uring.Opener)) {
	t.Run("pwrite", func(t *testing.T) { test(t, uring.PwriteOpener{}) })
	t.Run("uring", func(t *testing.T) {
		// Hosts without io_uring run only the pwrite half; CI sets
		// REQUIRE_URING=1 so this half always runs there.
		uringtest.Require(t)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		o, err := uring.Select("uring", log)
		if err != nil {
			t.Fatalf("io_uring probed usable but: %v", err)
		}
		if c, ok := o.(interface{ Close() error }); ok {
			t.Cleanup(func() { c.Close() })
		}
		test(t, o)
	})
}

func (o *faultOpener) Kind() string { return "fault(" + o.inner.Kind() + ")" }

func (o *faultOpener) Open(path string) (uring.File, error) {
	if err := o.lookup(o.open, path); err != nil {
		return nil, err
	}
	f, err := o.inner.Open(path)
	if err != nil {
		return nil, err
	}
	ff := &faultFile{File: f, o: o, path: path}
	o.mu.Lock()
	defer o.mu.Unlock()
	for match, wb := range o.writeback {
		if strings.Contains(path, match) && wb.seen {
			ff.wbSince = wb.gen // reported already: not to this description
		}
	}
	return ff, nil
}

// failWriteback records a writeback error on matching files, as a failed
// write of their dirty pages leaves it: each description reports it once.
func (o *faultOpener) failWriteback(match string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	wb := o.writeback[match]
	if wb == nil {
		wb = &writebackError{}
		o.writeback[match] = wb
	}
	wb.err, wb.gen, wb.seen = err, wb.gen+1, false
}

// writebackReport is the writeback error an fdatasync through f reports.
func (f *faultFile) writebackReport() error {
	f.o.mu.Lock()
	defer f.o.mu.Unlock()
	for match, wb := range f.o.writeback {
		if strings.Contains(f.path, match) && wb.gen > f.wbSince {
			f.wbSince, wb.seen = wb.gen, true
			return wb.err
		}
	}
	return nil
}

// gateSyncs holds the fdatasyncs of matching files at a syncGate until
// ungateSyncs; calls already held stay held until the test lets them go,
// or it ends (before the broker stops).
func (o *faultOpener) gateSyncs(t *testing.T, match string) *syncGate {
	g := &syncGate{arrived: make(chan *gatedSync, 16)}
	o.mu.Lock()
	o.gates[match] = g
	o.mu.Unlock()
	t.Cleanup(func() {
		o.ungateSyncs(match)
		g.releaseAll()
	})
	return g
}

func (o *faultOpener) ungateSyncs(match string) {
	o.mu.Lock()
	delete(o.gates, match)
	o.mu.Unlock()
}

// next waits for the next call held at the gate.
func (g *syncGate) next(t *testing.T) *gatedSync {
	t.Helper()
	select {
	case c := <-g.arrived:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no fdatasync reached the gate")
		return nil
	}
}

func (o *faultOpener) setOpen(match string, err error)  { o.set(o.open, match, err) }
func (o *faultOpener) setWrite(match string, err error) { o.set(o.write, match, err) }

// failWrites makes the next n writes to matching files fail with err.
func (o *faultOpener) failWrites(match string, err error, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.write[match], o.writesLeft[match] = err, n
}

// writeFaultUsedUp says a limited write fault on match has failed all the
// writes it was set for.
func (o *faultOpener) writeFaultUsedUp(match string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.write[match] == nil
}

// writeFault is the error a write to path fails with, counting down a
// limited fault.
func (o *faultOpener) writeFault(path string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for match, err := range o.write {
		if !strings.Contains(path, match) {
			continue
		}
		if n, limited := o.writesLeft[match]; limited {
			if n <= 1 {
				delete(o.write, match)
				delete(o.writesLeft, match)
			} else {
				o.writesLeft[match] = n - 1
			}
		}
		return err
	}
	return nil
}
func (o *faultOpener) setSync(match string, err error) { o.set(o.sync, match, err) }

func (o *faultOpener) set(m map[string]error, match string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.writesLeft, match)
	if err == nil {
		delete(m, match)
	} else {
		m[match] = err
	}
}

// blockSync makes fdatasync on matching files wait until the returned func is called.
func (o *faultOpener) blockSync(match string) (release func()) { return o.hold(o.block, match) }

// blockRead makes reads of matching .log files wait until the returned func is called.
func (o *faultOpener) blockRead(match string) (release func()) { return o.hold(o.blockReads, match) }

func (o *faultOpener) hold(m map[string]chan struct{}, match string) (release func()) {
	ch := make(chan struct{})
	o.mu.Lock()
	m[match] = ch
	o.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			o.mu.Lock()
			delete(m, match)
			o.mu.Unlock()
			close(ch)
		})
	}
}

// held returns the channel a call on path must wait for, if any.
func (o *faultOpener) held(m map[string]chan struct{}, path string) chan struct{} {
	return matching(o, m, path)
}

// lookup returns the error a call on path must fail with, if any.
func (o *faultOpener) lookup(m map[string]error, path string) error { return matching(o, m, path) }

// matching returns the value of m whose key path contains, or the zero value.
func matching[V any](o *faultOpener, m map[string]V, path string) (v V) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for match, val := range m {
		if strings.Contains(path, match) {
			return val
		}
	}
	return v
}

type faultFile struct {
	uring.File
	o    *faultOpener
	path string
	// wbSince is the writeback error generation this description has
	// reported (or was opened after another reported).
	wbSince int
}

func (f *faultFile) ReadAt(p []byte, off int64) (int, error) {
	if strings.HasSuffix(f.path, ".log") {
		f.o.logReads.Add(1)
		if ch := f.o.held(f.o.blockReads, f.path); ch != nil {
			f.o.blockedReads.Add(1)
			<-ch
		}
	}
	return f.File.ReadAt(p, off)
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.o.writeFault(f.path); err != nil {
		// A partial write, as a failing disk leaves behind.
		n, _ := f.File.WriteAt(p[:len(p)/2], off)
		return n, err
	}
	return f.File.WriteAt(p, off)
}

func (f *faultFile) WritevAt(bufs [][]byte, off int64) (int, error) {
	if err := f.o.writeFault(f.path); err != nil {
		return 0, err
	}
	return f.File.WritevAt(bufs, off)
}

func (f *faultFile) Datasync() error {
	if ch := f.o.held(f.o.block, f.path); ch != nil {
		f.o.blockedSyncs.Add(1)
		<-ch
	}
	var call *gatedSync
	if g := matching(f.o, f.o.gates, f.path); g != nil {
		call = newGatedSync()
		g.mu.Lock()
		g.calls = append(g.calls, call)
		g.mu.Unlock()
		g.arrived <- call
		<-call.check
	}
	err := f.o.lookup(f.o.sync, f.path)
	if err == nil {
		err = f.File.Datasync()
	}
	if err == nil {
		err = f.writebackReport()
	}
	if call != nil {
		close(call.checked)
		<-call.leave
	}
	return err
}
