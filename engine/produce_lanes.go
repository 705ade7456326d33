package engine

import (
	"sync"
	"sync/atomic"

	"github.com/chronik-go/chronik/engine/batch"
)

// A produce is checked where it is decoded, on the network event loop:
// compressed batches are decompressed and their records walked, as Kafka's
// validator does. For a large batch that takes long enough (a 1 MiB gzip
// batch about a millisecond here) to hold every other connection of that
// loop. Such a produce is checked on its connection's lane instead: one
// goroutine per connection at most, running that connection's produces in
// the order they came. Once a lane runs, the connection's later produces
// join it whatever their size, so the shards see the connection's batches
// in order (an idempotent producer's sequences, a plain producer's record
// order), as Kafka handles a connection's requests one at a time; so do its
// other requests (joinLane): a ListOffsets or Fetch pipelined behind a
// large produce must see it, as in Kafka, not overtake it. At most one lane
// per usable CPU checks a produce at once (the loops' own bound: a check
// holds a decompressor's window).

// Thresholds above which a produce leaves the event loop: compressed batch
// bytes (each is decompressed), or batch bytes of any kind (each record is
// walked, about 3.6 GB/s).
var (
	produceLaneCompressedBytes = 64 << 10
	produceLaneBytes           = 1 << 20
)

// laneCheckHook, when set (tests), runs on a lane before each produce it
// checks.
var laneCheckHook func()

// produceLane runs one connection's produces off the event loop, in order.
// It is in the map only while it runs: the goroutine that empties it
// removes it, so no lane outlives its work, whether or not the connection's
// ConnClosed comes (a request held before Start is served after it).
type produceLane struct {
	id      uint64 // the connection's
	mu      sync.Mutex
	queue   []laneItem
	running bool // a goroutine is running the queue; while set, produces join it
	gone    bool // removed from the map: a produce that finds it looks again
}

// laneItem is a request on a lane: a produce (handle nil), checked with a
// check token, or another request of the connection, handled in its turn.
type laneItem struct {
	r      *request
	handle apiHandler
}

// produceLanes maps connection ids to their running lanes.
type produceLanes struct {
	m sync.Map
	// checks holds a token for each lane checking a produce: at most one
	// per usable CPU at once, as the event loops (one per usable CPU) did,
	// since a check holds its decompressor's window (zstd's up to 8 MiB, a
	// large-window frame's whole section up to 32 MiB) and lanes are one
	// per connection.
	checks    chan struct{}
	handedOff atomic.Int64 // produces queued on a lane, for tests
}

// heavyProduce says whether checking r's batches should leave the loop.
func heavyProduce(r *request) bool {
	compressed, all := 0, 0
	for _, t := range r.produceRequest().Topics {
		for _, p := range t.Partitions {
			all += len(p.Records)
			if len(p.Records) >= batch.HeaderSize && p.Records[22]&0x07 != 0 {
				compressed += len(p.Records)
			}
		}
	}
	return compressed >= produceLaneCompressedBytes || all >= produceLaneBytes
}

// handOff queues r on its connection's lane and reports true when r must
// not be handled on the loop: it is heavy, or the lane is running earlier
// produces of the connection. Calls for one connection come one at a time
// (netpoll serves a connection's requests in order; those held before
// Start are served before any later one).
//
// A produce handled here after the lane's last one sees the lane removed
// (Load finds nothing, or gone under the lane's lock) only after that
// produce reached its shards' mailboxes, so the shards still see the
// connection's batches in order.
func (b *Broker) handOff(r *request) bool {
	heavy := heavyProduce(r)
	for {
		v, ok := b.lanes.m.Load(r.conn.ID)
		if !ok {
			if !heavy {
				return false
			}
			v, _ = b.lanes.m.LoadOrStore(r.conn.ID, &produceLane{id: r.conn.ID})
		}
		l := v.(*produceLane)
		l.mu.Lock()
		if l.gone {
			l.mu.Unlock()
			continue
		}
		if !l.running && !heavy {
			l.mu.Unlock()
			return false
		}
		l.queue = append(l.queue, laneItem{r: r})
		b.lanes.handedOff.Add(1)
		if !l.running {
			l.running = true
			go b.runLane(l)
		}
		l.mu.Unlock()
		return true
	}
}

// runLane handles the lane's produces in order until it is empty, then
// removes it. A produce only checks its batches and submits them to the
// shards, so the lane never waits for a disk; it waits for a check token.
func (b *Broker) runLane(l *produceLane) {
	for {
		l.mu.Lock()
		if len(l.queue) == 0 {
			l.running = false
			l.gone = true
			l.queue = nil
			b.lanes.m.CompareAndDelete(l.id, l)
			l.mu.Unlock()
			return
		}
		it := l.queue[0]
		l.queue[0] = laneItem{}
		l.queue = l.queue[1:]
		l.mu.Unlock()
		if it.handle != nil {
			it.handle(b, it.r)
			continue
		}
		b.lanes.checks <- struct{}{}
		if laneCheckHook != nil {
			laneCheckHook()
		}
		b.produce(it.r)
		<-b.lanes.checks
	}
}

// joinLane queues a request other than a produce behind the produces its
// connection's lane is running, and reports true; false when no lane runs
// (the caller handles it: a lane removed has handed its produces to their
// shards already, so the request still comes after them).
func (b *Broker) joinLane(r *request, handle apiHandler) bool {
	v, ok := b.lanes.m.Load(r.conn.ID)
	if !ok {
		return false
	}
	l := v.(*produceLane)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gone || !l.running {
		return false
	}
	l.queue = append(l.queue, laneItem{r: r, handle: handle})
	return true
}
