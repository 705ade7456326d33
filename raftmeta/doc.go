// Package raftmeta replicates the cluster metadata (meta.State) with an etcd
// raft group and keeps it durable in its own log and snapshots. Single-node
// mode is a one-member group that elects itself as soon as it opens; cluster
// mode adds members and a transport for rd.Messages, nothing else.
//
// One goroutine (the raft loop) owns the raft.RawNode, the log files and the
// state machine. Propose calls queue their entries in a bounded channel; each
// loop turn moves every queued proposal into raft, so concurrent proposals
// share one Ready: one log write and one fdatasync. After the write the loop
// applies the committed entries, publishes the new immutable meta.Snapshot
// (Current is an atomic load), answers the proposals, and calls Advance.
//
// On-disk layout of the directory:
//
//	log-<seq, 16 hex>.wal    raft log segments; only the newest is appended to
//	snap-<index, 16 hex>.snap  the newest snapshot (older ones are removed)
//	cluster.id               the cluster's ID, written (atomically) before the
//	                         first bootstrap; snapshots carry it too
//	*.tmp                    an interrupted atomic write, removed on open
//
// Log segment:
//
//	+----------+---------+---------+-----
//	| CHRKWAL1 | frame 1 | frame 2 | ...
//	+----------+---------+---------+-----
//
//	frame:   | length uint32 LE | CRC-32C of payload uint32 LE | payload |
//	payload: records, each a kind byte and uvarint fields:
//	         1 HardState: term, vote, commit
//	         2 Entry:     term, index, type, data length, data
//
// One frame is one Ready's HardState and entries, written with one write and
// made durable with one fdatasync before anything is applied or sent. A
// HardState that only advances the commit index is not synced on its own; it
// is written with the next frame (or on Close). So every frame is synced
// before the next is written, and only the last frame can be torn: on open a
// last frame that is cut short, fails its CRC at the end of the file, or is
// followed only by zeros is truncated away; a bad frame with more data after
// it, or any damage in an older segment, is corruption (ErrCorrupt) and Open
// fails naming the file.
//
// Snapshot file: "CHRKSNP1" then one frame whose payload is the raftpb.Snapshot
// (protobuf; its Data is meta.MarshalSnapshot JSON). It is written to a .tmp
// file, synced, renamed into place and the directory synced. Every
// Options.SnapshotEvery applied entries a snapshot is taken, a new segment is
// started holding the HardState and the entries after it, and the older
// segments and snapshots are removed.
//
// Proposal entries carry (node id, request id) before the ops so the proposer
// can match the applied entry to its waiting Propose call (see proposal.go).
package raftmeta
