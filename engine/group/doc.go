// Package group holds Chronik's group coordinator state machines: Kafka's
// classic group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) and
// the KIP-848 consumer protocol (ConsumerGroupHeartbeat with server-side
// assignment), together with the committed offsets of every group.
//
// A Coordinator owns the groups of one __consumer_offsets partition. It is
// not safe for concurrent use: every method, and every timer callback it
// schedules through its Clock, runs on the one goroutine that owns the
// partition (the engine's shard). Nothing blocks and no lock is taken, so a
// slow client never stalls another group.
//
// The classic protocol is assignment-agnostic: the leader's bytes are
// handed to each member unread, so eager, cooperative-sticky and custom
// client assignors all work. The consumer protocol assigns on the broker
// (uniform and range assignors) and reconciles members incrementally:
// partitions are revoked from one member before another is given them.
//
// # Durable state
//
// Group state changes are written through a Journal as records of the
// compacted topic __consumer_offsets, in Kafka's own key/value schemas, and
// replayed by Replay on start-up. A key starts with its version, which names
// the record type:
//
//	key version 0/1  OffsetCommitKey   {group, topic, partition}
//	                 OffsetCommitValue v4 {offset, leader epoch, metadata, commit time, topic id}
//	key version 2    GroupMetadataKey  {group}
//	                 GroupMetadataValue v3 {protocol type, generation, protocol,
//	                                        leader, state time, members[...]}
//	key version 3    ConsumerGroupMetadataKey {group}
//	                 ConsumerGroupMetadataValue v0 {epoch}
//
//	  key:   | int16 version | fields...          |
//	  value: | int16 version | fields...          |   (nil value = tombstone)
//
// A nil value deletes the key (a tombstone). Replay applies records in log
// order, so the last record of a key wins, which is what compaction keeps.
//
// # Transactional offsets
//
// TxnOffsetCommit writes the same offset records through Journal.AppendTxn,
// as a transactional batch of the producer, and holds them pending until
// the transaction's marker in the partition: CompleteTxn then commits them
// (where no later-written commit of the partition exists) or drops them.
// On start-up the records of transactional batches go to ReplayTxn and the
// markers to CompleteTxn; a transaction whose marker is not in the log yet
// stays pending after Loaded. OffsetFetch does not read pending offsets;
// with RequireStable (OffsetFetchStable) their partitions answer
// UNSTABLE_OFFSET_COMMIT.
package group
