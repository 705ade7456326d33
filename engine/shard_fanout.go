package engine

import "sync/atomic"

// runOnShards runs run(s, i) for every keys[i] on the shard that owns that
// partition, one mailbox message per shard, then calls done exactly once on
// the goroutine of the shard that finishes last. The caller never waits, so
// a handler can fan out from the event loop; run may only touch keys[i]'s
// own output, since shards run at the same time.
func (b *Broker) runOnShards(keys []partKey, run func(s *shard, i int), done func()) {
	b.fanOut(keys, run, done, false)
}

// runOnShardsAfterAppends is runOnShards for reads that must see what was
// appended before them (Kafka serves a connection's requests one at a
// time, so a ListOffsets pipelined behind a produce sees its records): a
// shard whose partitions among keys hold appends staged in its current
// turn, not yet written or synced, runs its part once that turn is
// committed, in a job of its own.
func (b *Broker) runOnShardsAfterAppends(keys []partKey, run func(s *shard, i int), done func()) {
	b.fanOut(keys, run, done, true)
}

func (b *Broker) fanOut(keys []partKey, run func(s *shard, i int), done func(), afterAppends bool) {
	if len(keys) == 0 {
		done()
		return
	}
	byShard := make(map[*shard][]int)
	for i, k := range keys {
		s := b.shardFor(k)
		byShard[s] = append(byShard[s], i)
	}
	var pending atomic.Int32
	pending.Store(int32(len(byShard)))
	runAll := func(s *shard, idx []int) {
		for _, i := range idx {
			run(s, i)
		}
		if pending.Add(-1) == 0 {
			done()
		}
	}
	for s, idx := range byShard {
		s.submit(func(s *shard) {
			if afterAppends && s.anyStaged(keys, idx) {
				s.afterTurn = append(s.afterTurn, func(map[*partition]error) {
					s.submit(func(s *shard) { runAll(s, idx) })
				})
				return
			}
			runAll(s, idx)
		})
	}
}

// anyStaged says whether a partition among keys[idx] holds appends staged
// in the shard's current turn.
func (s *shard) anyStaged(keys []partKey, idx []int) bool {
	for _, i := range idx {
		if p := s.parts[keys[i]]; p != nil && p.queuedForWrite {
			return true
		}
	}
	return false
}
