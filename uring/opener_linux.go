package uring

import (
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
)

// Ring sizes. A shard's ring holds one turn of group commit (a writev and an
// fdatasync per partition); a pooled ring serves one File call at a time.
const (
	shardRingEntries = 256
	poolRingEntries  = 8
)

// UringOpener is the Opener Select returns when io_uring works. Its Open
// gives Files that borrow a ring from a small pool for each call, safe from
// any goroutine. A shard should instead call NewShardOpener(o) once on its
// own goroutine: that Opener's files share one ring owned by the shard, and
// its NewBatch submits a whole turn's writes and fsyncs together.
type UringOpener struct {
	pool  *ringPool
	probe ProbeResult
}

func newUringOpener(p ProbeResult, log *slog.Logger) (Opener, error) {
	return &UringOpener{probe: p, pool: newRingPool(poolRingEntries, 2*runtime.GOMAXPROCS(0), log)}, nil
}

// A UringOpener gives each shard a ring of its own (HasShardState).
var _ shardOpenerSource = (*UringOpener)(nil)

func (o *UringOpener) Kind() string { return "uring" }

func (o *UringOpener) Open(path string) (File, error) {
	return openUringFile(path, nil, o.pool)
}

// NewShardOpener creates a ring for one shard. Only the shard's goroutine
// (locked to its OS thread) may drive it; see Ring.
func (o *UringOpener) NewShardOpener() (ShardOpener, error) {
	r, err := NewRing(shardRingEntries)
	if err != nil {
		return nil, fmt.Errorf("shard io_uring: %w", err)
	}
	return &ringShardOpener{ring: r}, nil
}

// Probe returns what the start-up probe found.
func (o *UringOpener) Probe() ProbeResult { return o.probe }

// Close releases the pooled rings; files from Open fall back to pwrite.
func (o *UringOpener) Close() error {
	return o.pool.close()
}

// ringShardOpener is one shard's Opener over the shard's own ring.
type ringShardOpener struct{ ring *Ring }

func (s *ringShardOpener) Kind() string { return "uring" }

func (s *ringShardOpener) Open(path string) (File, error) { return openUringFile(path, s.ring, nil) }

func (s *ringShardOpener) NewBatch() *Batch { return s.ring.NewBatch() }

// Ring exposes the shard's ring for its counters.
func (s *ringShardOpener) Ring() *Ring { return s.ring }

func (s *ringShardOpener) Close() error { return s.ring.Close() }

// ringPool lends rings to File calls made outside a shard's own ring. It
// never blocks: when all rings are lent out, get returns nil and the caller
// uses plain syscalls.
type ringPool struct {
	entries uint32
	max     int32
	free    chan *Ring
	created atomic.Int32
	closed  atomic.Bool
	log     *slog.Logger
	warn    sync.Once
}

func newRingPool(entries uint32, max int, log *slog.Logger) *ringPool {
	return &ringPool{entries: entries, max: int32(max), free: make(chan *Ring, max), log: log}
}

// get returns an acquired ring, or nil.
func (p *ringPool) get() *Ring {
	for {
		select {
		case r := <-p.free:
			r.tryAcquire() // exclusive: it came from the pool
			if r.usable() {
				return r
			}
			p.discard(r)
			continue
		default:
		}
		break
	}
	if p.closed.Load() {
		return nil
	}
	if p.created.Add(1) > p.max {
		p.created.Add(-1)
		return nil
	}
	r, err := NewRing(p.entries)
	if err != nil {
		p.created.Add(-1)
		p.warn.Do(func() {
			if p.log != nil {
				p.log.Warn("wal.io: cannot create io_uring ring, using pwrite for this call", "err", err)
			}
		})
		return nil
	}
	r.tryAcquire()
	return r
}

// put returns an acquired ring to the pool.
func (p *ringPool) put(r *Ring) {
	if !r.usable() || p.closed.Load() {
		p.discard(r)
		return
	}
	r.release()
	select {
	case p.free <- r:
		if p.closed.Load() {
			p.close() // close raced with this put
		}
	default: // cannot happen: at most max rings exist
		r.Close()
		p.created.Add(-1)
	}
}

// discard closes an acquired ring and forgets it.
func (p *ringPool) discard(r *Ring) {
	r.release()
	r.Close()
	p.created.Add(-1)
}

func (p *ringPool) close() error {
	p.closed.Store(true)
	for {
		select {
		case r := <-p.free:
			r.tryAcquire()
			p.discard(r)
		default:
			return nil
		}
	}
}
