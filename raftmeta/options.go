package raftmeta

import (
	"errors"
	"log/slog"
	"time"
)

// Options configure a Store.
type Options struct {
	// NodeID is this member's raft id (the broker's node.id; must not be 0).
	NodeID uint64
	// ClusterID is the cluster's ID. A new cluster takes it (a new one is
	// generated when it is empty) and records it in the directory; later
	// opens use the recorded one, and refuse to start when ClusterID is set
	// and differs from it.
	ClusterID string
	// SnapshotEvery is how many applied entries trigger a snapshot and a log
	// compaction (default 1000).
	SnapshotEvery uint64
	// Logger receives the store's and raft's own messages (default slog.Default()).
	Logger *slog.Logger
	// SyncTimeout is how long one log sync may run before the store reports
	// itself stalled: Propose fails fast with ErrSyncStalled and Health
	// returns an error (default 5s). An fdatasync cannot be cancelled; this
	// only keeps callers from queueing behind it.
	SyncTimeout time.Duration
	// OpenTimeout bounds how long Open waits for this node to become leader
	// and replay its log (default 30s).
	OpenTimeout time.Duration
}

func (o Options) withDefaults() (Options, error) {
	if o.NodeID == 0 {
		return o, errors.New("raftmeta: NodeID must not be 0")
	}
	if o.SnapshotEvery == 0 {
		o.SnapshotEvery = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.SyncTimeout <= 0 {
		o.SyncTimeout = 5 * time.Second
	}
	if o.OpenTimeout <= 0 {
		o.OpenTimeout = 30 * time.Second
	}
	return o, nil
}
