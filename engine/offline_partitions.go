package engine

import (
	"sync"
	"sync/atomic"
)

// offlinePartitions names the partitions whose log cannot serve — failed
// by a storage fault, being reopened, or left without a log by a reopen
// or open that failed — so that Metadata, on any goroutine, reports them
// as Kafka reports a partition on an offline log directory: no leader.
// Producers then spread keyless records over the partitions that have one
// (franz-go, librdkafka and the Java client skip leaderless partitions),
// instead of sending some to a partition that can only fail them. The
// owning shard writes the entries; the count keeps the common case (none
// offline) free of lookups.
//
// An entry names the partition that wrote it: a partition removed (its
// topic deleted) may still note itself later (writeTurn fails a removed
// partition's queued produce, say), after a partition of a topic created
// again under the same name took its key, and only clears its own entry.
type offlinePartitions struct {
	m sync.Map // partKey → *partition
	n atomic.Int64
}

// set records whether p is offline.
func (o *offlinePartitions) set(p *partition, offline bool) {
	if offline {
		if _, had := o.m.Swap(p.key, p); !had {
			o.n.Add(1)
		}
		return
	}
	if o.m.CompareAndDelete(p.key, p) {
		o.n.Add(-1)
	}
}

// has says whether k is offline.
func (o *offlinePartitions) has(k partKey) bool {
	if o.n.Load() == 0 {
		return false
	}
	_, ok := o.m.Load(k)
	return ok
}

// noteOffline records, on p's shard, whether p's log can serve. Called
// wherever that may have changed: a log that failed (its OnFail hook,
// logFailed, reaches reopenSoon whichever call failed it), a reopen that
// started or finished, a partition closed or removed.
func (p *partition) noteOffline() {
	offline := !p.closed && (p.log == nil || p.log.Failed() != nil)
	p.shard.b.offline.set(p, offline)
}
