package engine

import (
	"fmt"
	"os"
)

// Each shard syncs the data filesystem through a descriptor of its own. The
// kernel reports a writeback error once per open descriptor, to the first
// syncfs through it after the error: with one shared descriptor, a shard
// whose syncfs came second would hear success and retire WAL files whose
// partition pages the error may have cost, before the first shard had
// recorded the failure (syncfsFailed).

// openSyncfsDirs opens n descriptors of the data directory, one per shard.
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

// closeSyncfsDirs closes the broker's and the shards' descriptors of the
// data directory, once no shard can sync through them any more.
func (b *Broker) closeSyncfsDirs() {
	b.dataDirFile.Close()
	for _, s := range b.shards {
		s.wal.syncfsDir.Close()
	}
}
