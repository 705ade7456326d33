package raftmeta

import (
	"sync"
	"sync/atomic"

	"github.com/chronik-go/chronik/engine/meta"
)

// snapshotFeed holds the current snapshot and hands each new one to the
// watchers. Each watcher has a one-slot channel where the newest snapshot
// replaces an unread older one, so a slow reader costs no memory and never
// blocks the apply loop.
type snapshotFeed struct {
	current atomic.Pointer[meta.Snapshot]

	mu       sync.Mutex // orders publish against watch/cancel/close
	watchers map[chan *meta.Snapshot]struct{}
	closed   bool
}

// publish makes s current and offers it to every watcher.
func (f *snapshotFeed) publish(s *meta.Snapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.current.Store(s)
	for ch := range f.watchers {
		offerLatest(ch, s)
	}
}

// offerLatest puts s in the one-slot ch, dropping an unread older value. Only
// the publisher sends, so after the drain the send has room.
func offerLatest(ch chan *meta.Snapshot, s *meta.Snapshot) {
	select {
	case ch <- s:
		return
	default:
	}
	select {
	case <-ch:
	default:
	}
	select {
	case ch <- s:
	default:
	}
}

// watch returns a channel primed with the current snapshot, so a watcher
// never misses the state between reading Current and subscribing.
func (f *snapshotFeed) watch() (<-chan *meta.Snapshot, func()) {
	ch := make(chan *meta.Snapshot, 1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		close(ch)
		return ch, func() {}
	}
	if s := f.current.Load(); s != nil {
		ch <- s
	}
	if f.watchers == nil {
		f.watchers = map[chan *meta.Snapshot]struct{}{}
	}
	f.watchers[ch] = struct{}{}
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if _, ok := f.watchers[ch]; ok {
				delete(f.watchers, ch)
				close(ch)
			}
		})
	}
}

// close ends every watcher's channel; later watches get a closed channel.
func (f *snapshotFeed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for ch := range f.watchers {
		close(ch)
	}
	f.watchers = nil
}
