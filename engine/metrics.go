package engine

import (
	"sync/atomic"
	"time"
)

// brokerMetrics are the engine's counters, updated lock-free on hot paths.
type brokerMetrics struct {
	syncs          atomic.Int64 // fdatasync tasks run
	syncNanos      atomic.Int64 // total time in them
	syncfs         atomic.Int64 // sync groups written back with one syncfs first
	syncGroups     atomic.Int64 // groups of queued turns synced together
	syncStalls     atomic.Int64 // turns whose sync outlived io.timeout.ms
	storageErrors  atomic.Int64 // produce partitions answered KAFKA_STORAGE_ERROR
	reopens        atomic.Int64 // failed partition logs reopened after recovery
	reopenFailures atomic.Int64 // reopens that failed (the partition stays without a log)
	turnWrites     atomic.Int64 // shard turns whose appends went to the kernel as one batch
	turnWriteNano  atomic.Int64 // total time waiting for those batches
	walSyncs       atomic.Int64 // groups of turns made durable by one write-ahead log fdatasync
	// walFillFailures counts WAL files that could not be filled ahead
	// (wal_spare_fill.go); the shard then grows them as it goes.
	walFillFailures atomic.Int64
	walBytes        atomic.Int64 // bytes appended to write-ahead logs
	walCheckpoints  atomic.Int64 // write-ahead log checkpoints (syncfs) run
	// walCheckpointStalls counts checkpoints whose syncfs outlived
	// io.timeout.ms (wal.go, checkpointWAL).
	walCheckpointStalls atomic.Int64
	// walBatchesLost counts acknowledged batches a WAL held that could
	// not be put back into their logs (wal_replay.go, wal_reopen.go).
	walBatchesLost atomic.Int64
}

func (m *brokerMetrics) observeTurnWrite(d time.Duration) {
	m.turnWrites.Add(1)
	m.turnWriteNano.Add(int64(d))
}

func (m *brokerMetrics) observeSync(d time.Duration) {
	m.syncs.Add(1)
	m.syncNanos.Add(int64(d))
}

// Metrics is a point-in-time copy of the engine's counters.
type Metrics struct {
	Syncs          int64
	SyncTime       time.Duration
	Syncfs         int64
	SyncGroups     int64
	SyncStalls     int64
	StorageErrors  int64
	Reopens        int64
	ReopenFailures int64
	TurnWrites     int64
	TurnWriteTime  time.Duration
	WALSyncs       int64
	WALBytes       int64
	WALCheckpoints int64
	// WALCheckpointStalls counts checkpoints whose syncfs outlived
	// io.timeout.ms.
	WALCheckpointStalls int64
	// WALBatchesLost counts acknowledged batches a write-ahead log held
	// that a start's replay or a reopen's restore could not put back:
	// their partition's log had lost what came before them.
	WALBatchesLost int64
}

// Metrics returns the engine's counters.
func (b *Broker) Metrics() Metrics {
	m := &b.metrics
	return Metrics{
		Syncs:               m.syncs.Load(),
		SyncTime:            time.Duration(m.syncNanos.Load()),
		Syncfs:              m.syncfs.Load(),
		SyncGroups:          m.syncGroups.Load(),
		SyncStalls:          m.syncStalls.Load(),
		StorageErrors:       m.storageErrors.Load(),
		Reopens:             m.reopens.Load(),
		ReopenFailures:      m.reopenFailures.Load(),
		TurnWrites:          m.turnWrites.Load(),
		TurnWriteTime:       time.Duration(m.turnWriteNano.Load()),
		WALSyncs:            m.walSyncs.Load(),
		WALBytes:            m.walBytes.Load(),
		WALCheckpointStalls: m.walCheckpointStalls.Load(),
		WALCheckpoints:      m.walCheckpoints.Load(),
		WALBatchesLost:      m.walBatchesLost.Load(),
	}
}
