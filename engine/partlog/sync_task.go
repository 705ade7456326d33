package partlog

import (
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
)

// SyncTask is what one Sync would make durable, captured on the owner
// goroutine so the fdatasync itself can run elsewhere: a slow disk then
// stalls only the sync, not the shard that owns the log.
//
// The owner must not truncate the log while a task of it runs (segments
// removed meanwhile stay open until then); it reports every task's outcome
// with SyncDone.
type SyncTask struct {
	log    *Log    // only its syncFailure is touched off the owner goroutine
	parent string  // parent directory whose entry for dir is not yet durable
	file   logFile // the active segment's, when it has unsynced writes
	dir    string  // dir, when files were created in it since the last sync
	// older are further segment files of tasks this one absorbed.
	older []logFile
	// seals are rolled segments' seal tasks pending when the task was
	// prepared: their bytes are durable only once the seal has run.
	seals []*SealTask
	seq   uint64 // the task's number in its log (Log.syncTasksOut)
}

// Log is the log the task belongs to; tasks of different logs (a partition
// reopened in between) must not be absorbed into one another.
func (t *SyncTask) Log() *Log { return t.log }

// Absorb makes t also do the work of u, another pending task of the same
// log. An fdatasync covers every write made before it starts, so when syncs
// queue up behind a slow disk, one run of the combined task answers for all
// of them: one fdatasync per file instead of one per queued task.
func (t *SyncTask) Absorb(u *SyncTask) {
	if t.parent == "" {
		t.parent = u.parent
	}
	if t.dir == "" {
		t.dir = u.dir
	}
	for _, st := range u.seals {
		if !slices.Contains(t.seals, st) {
			t.seals = append(t.seals, st)
		}
	}
	for _, f := range append([]logFile{u.file}, u.older...) {
		if f.f == nil || f == t.file || slices.Contains(t.older, f) {
			continue
		}
		if t.file.f == nil {
			t.file = f
		} else {
			t.older = append(t.older, f)
		}
	}
}

// PrepareSync captures the pending sync and marks it as taken; writes made
// after it are left for the next task. It returns nil when nothing is pending.
func (l *Log) PrepareSync() (*SyncTask, error) {
	if err := l.writable(); err != nil {
		return nil, err
	}
	if err := l.writeStaged(); err != nil {
		return nil, err
	}
	// The task syncs the batches a roll wrote (the sealing segment's seal
	// below): they need not go to the WAL as well.
	l.unloggedWritten = nil
	t := SyncTask{log: l}
	if l.parentDirty {
		t.parent, l.parentDirty = filepath.Dir(l.dir), false
	}
	if s := l.active(); s != nil && s.dirty {
		t.file, s.dirty = logFile{s.f, &s.syncs}, false
	}
	if l.dirDirty {
		t.dir, l.dirDirty = l.dir, false
	}
	if st := l.sealing; st != nil && st.seg.dirty {
		// Writes to the rolled segment that no earlier task claimed.
		t.seals, st.seg.dirty = []*SealTask{st}, false
	}
	if t.parent == "" && t.file.f == nil && t.dir == "" && len(t.seals) == 0 {
		return nil, nil
	}
	t.seq = l.nextSyncTask
	l.nextSyncTask++
	l.syncTasksOut = append(l.syncTasksOut, t.seq)
	return &t, nil
}

// syncFailure is a log's first failed sync, set on whichever goroutine ran
// it. After a failed fdatasync the kernel may have dropped those pages, and
// a later fdatasync of the same file can succeed without them; a task
// prepared before the owner learned of the failure must not then claim its
// (later) bytes durable, since recovery cuts the log at the lost bytes.
type syncFailure struct{ err atomic.Pointer[error] }

// Run performs the captured syncs. It is safe on any goroutine. Once a task
// of the log has failed, every later task fails with the same error.
func (t *SyncTask) Run() error {
	if p := t.log.syncFailure.err.Load(); p != nil {
		return *p
	}
	err := t.run()
	if err != nil {
		t.log.syncFailure.err.CompareAndSwap(nil, &err)
	}
	return err
}

// Fail records err as the log's sync failure, for a sync that covered the
// task some other way and failed (a syncfs of the whole filesystem): the
// log's later tasks then fail as after a failed Run.
func (t *SyncTask) Fail(err error) { t.log.syncFailure.err.CompareAndSwap(nil, &err) }

func (t *SyncTask) run() error {
	for _, st := range t.seals {
		if err := st.Run(); err != nil { // runs it here or waits for whoever started it
			return err
		}
	}
	if t.parent != "" {
		if err := syncDir(t.parent); err != nil {
			return err
		}
	}
	for _, f := range t.older {
		if err := f.datasync(); err != nil {
			return err
		}
	}
	if t.file.f != nil {
		if err := t.file.datasync(); err != nil {
			return err
		}
	}
	if t.dir != "" {
		return syncDir(t.dir)
	}
	return nil
}

// SyncDone records a task's outcome on the owner. After a failed fdatasync
// the kernel may have dropped the dirty pages, so a retry could succeed
// without the data: the log stops taking writes until it is reopened.
func (l *Log) SyncDone(t *SyncTask, err error) {
	if i := slices.Index(l.syncTasksOut, t.seq); t.log == l && i >= 0 {
		l.syncTasksOut = slices.Delete(l.syncTasksOut, i, i+1)
		if len(l.retired) > 0 && !l.closed {
			// Their files are deleted already: a failed close loses nothing.
			_ = l.closeRetired(false)
		}
		if len(l.awaitingRelease) > 0 && !l.closed {
			l.releaseAwaiting()
		}
	}
	if err == nil || l.closed || t.log != l {
		return // a task of a log since replaced (reopened) says nothing about l
	}
	l.setFailed(fmt.Errorf("partlog %s: %w", l.dir, err))
}

// Failed reports the error that stopped the log taking writes, if any.
func (l *Log) Failed() error { return l.failed }

// OnFail sets fn to be called, on the owner, when the log stops taking
// writes (a failed write, fdatasync, seal, roll or swap), whichever call
// found it: the owner reopens the log from there, instead of each caller
// checking Failed after every call that might fail it. fn may call Failed
// but nothing that writes.
func (l *Log) OnFail(fn func()) { l.onFail = fn }

// setFailed stops the log taking writes with err and tells the owner
// (OnFail). Only the first failure is kept and told: a later one is most
// likely a consequence of it, and the log reopens from disk either way.
func (l *Log) setFailed(err error) {
	if l.failed != nil {
		return
	}
	l.failed = err
	if l.onFail != nil {
		l.onFail()
	}
}
