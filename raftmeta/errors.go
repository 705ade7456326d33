package raftmeta

import "errors"

var (
	// ErrClosed is returned by calls on a Store after Close.
	ErrClosed = errors.New("raftmeta: store closed")
	// ErrCorrupt is wrapped, with the file name and offset, by Open when a
	// log segment or snapshot file fails its checks in a way a crash cannot
	// explain. The broker must not start on such metadata.
	ErrCorrupt = errors.New("raftmeta: corrupt metadata file")
	// ErrSyncStalled is returned by Propose while a log sync has been running
	// longer than Options.SyncTimeout, so callers back off instead of piling
	// up behind a stuck disk.
	ErrSyncStalled = errors.New("raftmeta: metadata log sync stalled")
	// ErrLeaderChanged is returned to proposals still waiting when this node
	// loses or changes leader; their outcome is unknown.
	ErrLeaderChanged = errors.New("raftmeta: leader changed while the proposal was in flight")
)
