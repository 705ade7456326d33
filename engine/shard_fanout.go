package engine

import "sync/atomic"

// runOnShards runs run(s, i) for every keys[i] on the shard that owns that
// partition, one mailbox message per shard, then calls done exactly once on
// the goroutine of the shard that finishes last. The caller never waits, so
// a handler can fan out from the event loop; run may only touch keys[i]'s
// own output, since shards run at the same time.
func (b *Broker) runOnShards(keys []partKey, run func(s *shard, i int), done func()) {
	b.fanOut(keys, done, func(s *shard, idx []int, finish func()) {
		for _, i := range idx {
			run(s, i)
		}
		finish()
	})
}

// fanOut submits each shard owning some of keys its indexes; each calls
// finish once when its part is done (at once, or later from a job of its
// own), and done runs once every shard has. With no keys done runs at once.
func (b *Broker) fanOut(keys []partKey, done func(), onShard func(s *shard, idx []int, finish func())) {
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
	finish := func() {
		if pending.Add(-1) == 0 {
			done()
		}
	}
	for s, idx := range byShard {
		s.submit(func(s *shard) { onShard(s, idx, finish) })
	}
}
