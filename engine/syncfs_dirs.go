package engine

import (
	"fmt"
	"os"
)

// Each shard syncs the data filesystem through descriptors of its own: one
// for its syncer and one for its checkpoints, which run beside it. The
// kernel reports a writeback error once per open descriptor, to the first
// syncfs through it after the error: with a shared descriptor, a shard whose
// syncfs came second would hear success and retire WAL files (or answer a
// turn) whose partition pages the error may have cost, before the first
// caller had recorded the failure (syncfsFailed).

// openSyncfsDirs opens n descriptors of the data directory.
func openSyncfsDirs(dir string, n int) ([]*os.File, error) {
	fs := make([]*os.File, 0, n)
	for range n {
		f, err := os.Open(dir)
		if err != nil {
			for _, f := range fs {
				f.Close()
			}
			return nil, fmt.Errorf("data dir %s: open for the shards' filesystem syncs: %w", dir, err)
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// closeShardSyncfsDirs closes the shards' descriptors of the data
// directory, once every shard has stopped.
func (b *Broker) closeShardSyncfsDirs() {
	for _, s := range b.shards {
		s.wal.syncerDir.Close()
		s.wal.checkpointDir.Close()
	}
}
