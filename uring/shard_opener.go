package uring

// ShardOpener is one shard's Opener. Over io_uring it owns a ring that only
// the shard's goroutine (locked to its OS thread) drives; its files use that
// ring, and NewBatch gives the group-commit API on it. Over pwrite it is the
// plain Opener, and batches run their operations one by one. Close it after
// the shard has closed its files.
type ShardOpener interface {
	Opener
	NewBatch() *Batch
	Close() error
}

// shardOpenerSource is an Opener that keeps I/O state per shard.
type shardOpenerSource interface {
	NewShardOpener() (ShardOpener, error)
}

// HasShardState says whether o keeps I/O state per shard (a ring), which
// the shard's goroutine then drives from a thread of its own.
func HasShardState(o Opener) bool {
	_, ok := o.(shardOpenerSource)
	return ok
}

// NewShardOpener gives a shard its own Opener derived from the process-wide
// one Select returned: a private ring for io_uring, the same Opener for
// pwrite. Call it once per shard, from the shard's goroutine.
func NewShardOpener(o Opener) (ShardOpener, error) {
	if src, ok := o.(shardOpenerSource); ok {
		return src.NewShardOpener()
	}
	return plainShardOpener{Opener: o}, nil
}

// plainShardOpener adapts an Opener without per-shard state.
type plainShardOpener struct{ Opener }

func (plainShardOpener) NewBatch() *Batch { return &Batch{} }
func (plainShardOpener) Close() error     { return nil }
