// Package partlog is the segmented write-ahead log of one Kafka partition.
//
// A *Log is owned by one shard goroutine and takes no locks. Appends write
// whole record batches (stamped with their base offset and leader epoch) at
// the end of the active segment through uring.File; Sync makes them durable.
// A segment is rolled when it would grow past Options.SegmentBytes or, as
// Kafka rolls by segment.ms, the incoming batch's max timestamp is more than
// Options.SegmentMs past its first batch's (by the wall clock since its
// first append when that batch has no timestamp; SetRollLimits changes both
// on an open log): the owner writes out its
// indexes and appends to the next segment at once, while a SealTask
// (Options.Sealer, any goroutine) fdatasyncs it and then moves the recovery
// point past it. A log has at most one seal pending, so after a crash
// recovery validates the last segment, and the one before it only when the
// recovery point has not reached the last; every older segment is trusted.
//
// # Recovery point (recovery.checkpoint)
//
// 18 bytes, replaced atomically and durably by each seal task (and by a
// recovery that re-validated a rolled segment): magic "CPRP", u16 version 1,
// i64 recovery point, crc32c. It is at (or, when a power cut lost the next
// segment's name, past) the active segment's base once the last roll's seal
// is on disk, and TruncateTo lowers it before cutting. A log without one has
// never rolled, or was written by a version that sealed every roll in place;
// either way every segment but the last is durable. An unreadable one is
// treated alike: validating a compacted segment (offset gaps) by contiguity
// would cut it. So a roll that finds none readable writes one at the rolled
// segment's base before it hands the seal off.
//
// # Directory layout
//
//	<dir>/
//	  00000000000000000000.log        sealed segment: batches at offsets [0, 4711)
//	  00000000000000000000.index      its sparse offset index
//	  00000000000000000000.timeindex  its sparse time index
//	  00000000000000004711.log        active segment (always the last one)
//	  00000000000000004711.index      written 4 KiB at a time as they grow, made
//	  00000000000000004711.timeindex  durable when the segment is rolled or closed
//	  partition.checkpoint            log start offset and clean-shutdown state
//	  recovery.checkpoint             recovery point (logs that have rolled)
//	  cleaner.checkpoint              compaction progress (compacted topics only)
//	  partition.metadata              Options.Owner: whose directory it is (owner.go)
//
// A segment is named by the base offset of its first batch, zero-padded to
// 20 digits so names sort as offsets do. A new partition has no directory
// until its first append (or Close), and no segment file until its first
// append.
//
// # Segment (.log)
//
// Record batches back to back, each in the magic v2 layout of package batch,
// as the producer sent them except for the stamped base offset and leader
// epoch (both outside the CRC-covered range):
//
//	+------------------------+------------------------+-----+
//	| batch (base B0)        | batch (base B0+n0)     | ... |
//	+------------------------+------------------------+-----+
//	 ^ position 0             ^ position 12+batchLength(B0)
//
// Offsets are contiguous as appended: each batch's base offset is the
// previous batch's last offset + 1, and the first batch's base offset is the
// segment's name. Recovery relies on this to reject stale or foreign bytes
// with a valid CRC in the active segment. Only compaction (below) leaves gaps,
// and only in sealed segments: readers then start at the first batch after
// an offset that no batch holds.
//
// # Offset index (.index)
//
// One 8-byte big-endian entry per ~IndexIntervalBytes of log, for the first
// batch appended after the interval was crossed; the first batch of a segment
// has no entry (its position is 0):
//
//	+---------------------------+---------------------------+
//	| relative offset  int32    | position         int32    |
//	+---------------------------+---------------------------+
//	  batch base offset - segment base   byte offset in .log
//
// A lookup takes the last entry whose relative offset is <= the target and
// walks batch headers forward from its position. Only the newest entries
// (under 4 KiB per index) are held in memory; older ones are read from the
// file, so an idle partition holds almost no index memory. Recovery ignores
// the active segment's index files and rebuilds them from its batches.
//
// # Time index (.timeindex)
//
// One 12-byte big-endian entry, written next to an offset index entry when
// the segment's largest timestamp so far has grown, plus a final entry when
// the segment is sealed, so the last entry always holds the segment's largest
// timestamp:
//
//	+---------------------------------------+---------------------------+
//	| timestamp (largest so far)  int64     | relative offset  int32    |
//	+---------------------------------------+---------------------------+
//	                                          base of the first batch that
//	                                          reached that timestamp
//
// Every batch before that relative offset has a smaller max timestamp, so a
// search for the first record at or after time T may start at the last entry
// whose timestamp is <= T.
//
// # Checkpoint (partition.checkpoint)
//
// 44 bytes, replaced atomically (write temp file, fdatasync, rename, sync
// directory) when the log start offset moves by DeleteBefore, when every
// segment is removed, and on Close:
//
//	+-------+---------+-------+-----------+--------+-------------+-------------+--------+
//	| magic | version | flags | log start | next   | active base | active size | crc32c |
//	| "CPLG"| u16 = 1 | u16   | i64       | i64    | i64         | i64         | u32    |
//	+-------+---------+-------+-----------+--------+-------------+-------------+--------+
//
// flags bit 0 (clean) says the log was closed cleanly with the given next
// offset and active segment; Open(clean=true) trusts it only while the active
// segment's base and size on disk still match, and otherwise recovers.
//
// CloseToState writes neither the checkpoint nor the active segment's index
// tails: it returns them as a CleanState for a caller that keeps many logs'
// states in one file (10,000 partitions would otherwise create or rename
// 30,000 small files per shutdown). Open(clean=true) with
// Options.CleanState trusts that state instead of the checkpoint's clean
// flag, under the same size check plus one on the index files' sizes.
//
// # Compaction (cleanup.policy=compact)
//
// Log.Clean runs Kafka's cleaner in small steps on the owner goroutine. A
// pass maps the latest offset of every key in the dirty sealed segments
// (from the cleaner checkpoint's first dirty offset up to the active segment,
// less those younger than min.compaction.lag.ms, bounded by a key budget),
// then rewrites every sealed segment below the mapped range, in groups that
// fit one segment, into one cleaned segment per group named by the group's
// first base offset:
//
//	before:  [0: a1 b1 c1] [40: a2 b2] [75: a3 c-tombstone] [90: active ...]
//	after:   [0: b2 a3 c-tombstone]                         [90: active ...]
//	         (b2 at 41, a3 at 75, the tombstone at 76: offsets never change)
//
// A batch keeps its base offset, last offset delta, producer fields and
// codec; it loses the records a later record of the same key supersedes
// (and records without a key) and is recompressed with its codec; a batch
// losing every record disappears, except an idempotent producer's last batch,
// which stays empty so the producer's sequence survives. Control and
// transactional batches are kept whole. A tombstone's batch gets a delete
// horizon (KIP-534: attributes bit 6, base timestamp = cleaning time +
// delete.retention.ms, record deltas rebased) when first cleaned; a pass after
// the horizon drops the tombstone.
//
// The swap of a group is crash-safe through the cleaner.swap manifest (see
// segment_swap.go): the cleaned segment is written under .cleaned names and
// fdatasynced, the manifest commits it, then the old files go and the new
// ones are renamed into place; Open finishes a committed swap and deletes
// uncommitted .cleaned files. Those fsyncs run as a CleanTask off the owner
// (like SyncTask); the group stays readable through its open files and is
// pinned against retention until CleanTaskDone swaps it in memory. cleaner.checkpoint (first dirty offset, next
// delete horizon; a hint written by rename) lets a restart resume without
// recleaning.
package partlog
