package partlog

import (
	"sync"

	"github.com/chronik-go/chronik/uring"
)

// fileSyncs orders the fdatasyncs of one segment's .log that may run at
// once: a sync task on the shard's syncer, the roll's seal on its sealer,
// and, for the active segment, a close on the owner while a task is out.
// Linux reports a writeback error once to each open file description, so
// of two overlapping fdatasyncs through the segment's descriptor one can
// take the error and the other hear success over the lost pages — an
// acknowledgement, or a recovery point past them. So each fdatasync
// publishes its error before it leaves and then waits for the others
// running to publish theirs; once one has failed, every fdatasync of the
// file fails (a later one can succeed without the lost pages).
//
// The mutex guards the counters only; no one holds it across the call.
// That no wait here can deadlock rests on uring.File's Datasync never
// waiting for another goroutine: a caller counted in running only waits
// for the kernel.
type fileSyncs struct {
	mu      sync.Mutex
	idle    *sync.Cond // broadcast when running drops to 0
	running int
	err     error // the first failure
}

// datasync fdatasyncs f, the segment's .log, and returns its error or that
// of any fdatasync of the file that overlapped it or came before it.
func (fs *fileSyncs) datasync(f uring.File) error {
	fs.mu.Lock()
	fs.running++
	fs.mu.Unlock()
	err := f.Datasync()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err != nil && fs.err == nil {
		fs.err = err
	}
	fs.running--
	if fs.idle == nil {
		fs.idle = sync.NewCond(&fs.mu) // the zero fileSyncs is ready to use
	}
	if fs.running == 0 {
		fs.idle.Broadcast()
	}
	// Those still running started before this call returned: one may have
	// taken the error of pages this call covers. At most a sync task, a
	// seal and a close run at once, and none waits for another to start
	// (one that started after this call looked is waited for too, which
	// costs at most its own fdatasync).
	for fs.running > 0 {
		fs.idle.Wait()
	}
	if err != nil {
		return err
	}
	return fs.err
}

// logFile is a segment's .log as a sync or seal task holds it.
type logFile struct {
	f     uring.File
	syncs *fileSyncs
}

func (l logFile) datasync() error { return l.syncs.datasync(l.f) }
