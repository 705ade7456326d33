package engine

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/batch"
	"github.com/chronik-go/chronik/engine/group"
	"github.com/chronik-go/chronik/engine/meta"
)

// offsetsTopic is Kafka's internal topic of committed offsets and group
// metadata. A group is owned by the shard that owns its partition.
const offsetsTopic = "__consumer_offsets"

// groupCoordinators holds one group.Coordinator per __consumer_offsets
// partition this broker leads. byShard[i] is touched only by shard i's
// goroutine, like the partitions themselves.
type groupCoordinators struct {
	b       *Broker
	cfg     group.Config
	byShard []map[int32]*offsetsPartition

	creator internalTopicCreator // of __consumer_offsets
}

// offsetsPartition is a loaded coordinator and the partition it writes to;
// a reopened partition (a different pointer) is loaded again.
type offsetsPartition struct {
	part  *partition
	coord *group.Coordinator
}

func newGroupCoordinators(b *Broker) *groupCoordinators {
	c := b.cfg
	gc := &groupCoordinators{b: b, byShard: make([]map[int32]*offsetsPartition, len(b.shards))}
	for i := range gc.byShard {
		gc.byShard[i] = make(map[int32]*offsetsPartition)
	}
	gc.creator = internalTopicCreator{b: b, name: offsetsTopic, spec: func() meta.Topic {
		return internalTopicSpec(b, offsetsTopic, c.OffsetsTopicNumPartitions, c.OffsetsTopicSegmentBytes)
	}}
	gc.cfg = group.Config{
		MinSessionTimeout:             c.GroupMinSessionTimeout,
		MaxSessionTimeout:             c.GroupMaxSessionTimeout,
		InitialRebalanceDelay:         c.GroupInitialRebalanceDelay,
		MaxSize:                       int(c.GroupMaxSize),
		OffsetsRetention:              c.OffsetsRetention,
		OffsetsRetentionCheckInterval: c.OffsetsRetentionCheckInterval,
		OffsetMetadataMaxBytes:        int(c.OffsetMetadataMaxBytes),
		ConsumerSessionTimeout:        c.GroupConsumerSessionTimeout,
		ConsumerHeartbeatInterval:     c.GroupConsumerHeartbeatInterval,
		ConsumerAssignors:             c.GroupConsumerAssignors,
		Logger:                        b.log,
	}
	return gc
}

// offsetsPartitionFor is Kafka's placement of a group: the absolute value of
// the Java hash code of its id, modulo the partition count, so a group lands
// on the same partition number as on a Kafka cluster.
func offsetsPartitionFor(groupID string, partitions int) int32 {
	var h int32
	for _, c := range utf16.Encode([]rune(groupID)) {
		h = 31*h + int32(c)
	}
	if h == math.MinInt32 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % int32(partitions)
}

// coordinatorOn returns the coordinator of offsets partition p, loading it
// from the log on first use; nil when shard s does not hold p. It runs on s.
func (gc *groupCoordinators) coordinatorOn(s *shard, p int32) *group.Coordinator {
	loaded := gc.byShard[s.id]
	key := partKey{offsetsTopic, p}
	part, ok := s.parts[key]
	op := loaded[p]
	// A log being reopened after a storage fault comes back as it was:
	// its coordinator stays loaded meanwhile (and answers nothing).
	if op != nil && (!ok || op.part != part || part.log == nil && !part.reopening) {
		op.coord.Close()
		delete(loaded, p)
		op = nil
	}
	if !ok || part.log == nil {
		return nil
	}
	if op != nil {
		return op.coord
	}
	start := time.Now()
	coord := group.New(gc.cfg, shardClock{s}, offsetsJournal{s: s, key: key}, viewTopics{gc.b})
	skipped := 0
	records, err := loadGroupLog(part.log, coord, func(err error) {
		skipped++
		gc.b.log.Warn("skip unreadable group record", "partition", p, "err", err)
	})
	if err != nil {
		// Serve what was read rather than refuse the partition's groups.
		gc.b.log.Error("replay group records", "partition", p, "err", err)
	}
	coord.Loaded()
	loaded[p] = &offsetsPartition{part: part, coord: coord}
	if records > 0 {
		gc.b.log.Info("group coordinator loaded", "partition", p, "records", records, "skipped", skipped,
			"groups", coord.GroupCount(), "took", time.Since(start))
	}
	return coord
}

// routeGroup finds the shard and offsets partition of a group's
// coordinator, or the error code for a group this broker cannot serve.
func (b *Broker) routeGroup(groupID string) (*shard, int32, int16) {
	t, ok := b.currentView().topic(offsetsTopic)
	if !ok {
		b.groups.startCreate()
		return nil, 0, kerr.CoordinatorNotAvailable.Code
	}
	p := offsetsPartitionFor(groupID, len(t.Partitions))
	if t.Partitions[p].Leader != b.nodeID {
		return nil, 0, kerr.NotCoordinator.Code
	}
	return b.shardFor(partKey{offsetsTopic, p}), p, 0
}

// coordinate runs fn on the shard that owns the group's coordinator. Every
// reply leaves after that shard's turn commits, so what the coordinator
// wrote for it is in the log first; fail builds the answer for a group
// this broker cannot serve.
func (b *Broker) coordinate(r *request, groupID string, fail func(code int16) kmsg.Response, fn func(c *group.Coordinator, reply func(kmsg.Response))) {
	s, p, code := b.routeGroup(groupID)
	if code != 0 {
		r.respond(fail(code))
		return
	}
	s.submit(func(s *shard) {
		part := s.parts[partKey{offsetsTopic, p}]
		reply := func(resp kmsg.Response) { replyAfterTurn(s, part, r, resp, fail) }
		c := b.groups.coordinatorOn(s, p)
		if c == nil {
			reply(fail(kerr.NotCoordinator.Code))
			return
		}
		fn(c, reply)
	})
}

// forGroups runs fn(i, c) for every ids[i] on the shard owning its
// coordinator, or fail(i, code) where the group cannot be served here, and
// calls done once, after every shard involved committed its turn (done
// may run on a shard's syncer goroutine). fn and fail may touch only the
// output of their own i.
func (b *Broker) forGroups(ids []string, fn func(i int, c *group.Coordinator), fail func(i int, code int16), done func()) {
	type target struct {
		i int
		p int32
	}
	byShard := make(map[*shard][]target)
	for i, id := range ids {
		s, p, code := b.routeGroup(id)
		if code != 0 {
			fail(i, code)
			continue
		}
		byShard[s] = append(byShard[s], target{i, p})
	}
	if len(byShard) == 0 {
		done()
		return
	}
	var pending atomic.Int32
	pending.Store(int32(len(byShard)))
	for s, ts := range byShard {
		s.submit(func(s *shard) {
			// The partitions, taken on the shard: the waiter may run on
			// its syncer.
			parts := make([]*partition, len(ts))
			for k, t := range ts {
				parts[k] = s.parts[partKey{offsetsTopic, t.p}]
				if c := b.groups.coordinatorOn(s, t.p); c != nil {
					fn(t.i, c)
				} else {
					fail(t.i, kerr.NotCoordinator.Code)
				}
			}
			s.afterTurn = append(s.afterTurn, func(syncErrs map[*partition]error) {
				for k, t := range ts {
					if parts[k] != nil && syncErrs[parts[k]] != nil {
						// What the answer rests on (DeleteGroups' tombstones)
						// did not reach the disk, as in coordinate.
						fail(t.i, kerr.CoordinatorNotAvailable.Code)
					}
				}
				if pending.Add(-1) == 0 {
					done()
				}
			})
		})
	}
}

// forEachCoordinator runs fn for every coordinator this broker leads (fn
// runs on several shards at once) and then done, once.
func (b *Broker) forEachCoordinator(fn func(c *group.Coordinator), done func()) {
	b.onLedPartitions(offsetsTopic, func(s *shard, p int32) {
		if c := b.groups.coordinatorOn(s, p); c != nil {
			fn(c)
		}
	}, done)
}

// onLedPartitions runs fn(s, p) for every partition p of an internal topic
// this broker leads, on the shard s that owns it (shards at once), then
// done, once.
func (b *Broker) onLedPartitions(topic string, fn func(s *shard, p int32), done func()) {
	t, ok := b.currentView().topic(topic)
	if !ok {
		done()
		return
	}
	byShard := make(map[*shard][]int32)
	for p := range t.Partitions {
		if t.Partitions[p].Leader == b.nodeID {
			s := b.shardFor(partKey{topic, int32(p)})
			byShard[s] = append(byShard[s], int32(p))
		}
	}
	if len(byShard) == 0 {
		done()
		return
	}
	var pending atomic.Int32
	pending.Store(int32(len(byShard)))
	for s, ps := range byShard {
		s.submit(func(s *shard) {
			for _, p := range ps {
				fn(s, p)
			}
			if pending.Add(-1) == 0 {
				done()
			}
		})
	}
}

// loadAll loads every coordinator at start-up, so restored members' session
// timers run and expiry sweeps resume without waiting for a request.
func (gc *groupCoordinators) loadAll() {
	gc.b.forEachCoordinator(func(*group.Coordinator) {}, func() {})
}

// closeAll answers parked group requests and stops the coordinators' timers
// on their shards; the shards must still be running.
func (gc *groupCoordinators) closeAll() {
	var wg sync.WaitGroup
	for _, s := range gc.b.shards {
		wg.Add(1)
		s.submit(func(s *shard) {
			defer wg.Done()
			loaded := gc.byShard[s.id]
			for p, op := range loaded {
				op.coord.Close()
				delete(loaded, p)
			}
		})
	}
	wg.Wait()
}

// startCreate creates __consumer_offsets in the background unless a
// creation is already under way, and returns a channel closed when that
// attempt ends. Kafka creates the topic on the first coordinator lookup.
func (gc *groupCoordinators) startCreate() <-chan struct{} { return gc.creator.startCreate() }

// ensureOffsetsTopic waits until __consumer_offsets exists, creating it if
// needed.
func (b *Broker) ensureOffsetsTopic(ctx context.Context) error { return b.groups.creator.ensure(ctx) }

// shardClock runs coordinator timers as shard mailbox messages.
type shardClock struct{ s *shard }

func (shardClock) Now() time.Time { return time.Now() }

func (c shardClock) AfterFunc(d time.Duration, fn func()) func() {
	t := time.AfterFunc(d, func() { c.s.submit(func(*shard) { fn() }) })
	return func() { t.Stop() }
}

// offsetsJournal appends coordinator records to its __consumer_offsets
// partition through the normal partition append path.
type offsetsJournal struct {
	s   *shard
	key partKey
}

func (j offsetsJournal) Append(recs []group.Record) error {
	p, ok := j.s.parts[j.key]
	if !ok || p.log == nil {
		return fmt.Errorf("%s-%d is not open here", j.key.topic, j.key.partition)
	}
	raw := encodeGroupBatch(recs, time.Now())
	h, err := batch.ParseHeader(raw)
	if err != nil {
		return fmt.Errorf("encode group records: %w", err)
	}
	res := p.append(raw, &h, j.s.b.settingsFor(j.key.topic))
	switch {
	case res.err != nil:
		return fmt.Errorf("append to %s-%d: %w", j.key.topic, j.key.partition, res.err)
	case res.errCode != 0:
		return fmt.Errorf("append to %s-%d: %w", j.key.topic, j.key.partition, kerr.ErrorForCode(res.errCode))
	}
	return nil
}

// AppendTxn appends recs as one transactional batch of producerID at
// producerEpoch (a transactional offset commit): it opens the producer's
// transaction on the partition, as a produce would, but bypasses the
// idempotence checks, since coordinator batches carry no sequence.
func (j offsetsJournal) AppendTxn(producerID int64, producerEpoch int16, recs []group.Record) error {
	p, ok := j.s.parts[j.key]
	if !ok || p.log == nil {
		return fmt.Errorf("%s-%d is not open here", j.key.topic, j.key.partition)
	}
	if err := p.log.Failed(); err != nil {
		return fmt.Errorf("append to %s-%d: %w", j.key.topic, j.key.partition, err)
	}
	raw := encodeCoordinatorBatch(recs, time.Now(), producerID, producerEpoch)
	h, err := batch.ParseHeader(raw)
	if err != nil {
		return fmt.Errorf("encode transactional group records: %w", err)
	}
	st := j.s.b.settingsFor(j.key.topic)
	base, err := p.stage(raw, &h, st)
	if err != nil {
		return fmt.Errorf("append to %s-%d: %w", j.key.topic, j.key.partition, err)
	}
	// Applied to producer state too, as Kafka records a coordinator's
	// append: its producer's markers then are not taken for its last entry
	// (the cleaner would keep them all), and DescribeProducers shows it.
	h.BaseOffset = base
	if err := p.applyProducerBatch(h, raw, time.Now().UnixMilli()); err != nil {
		return err
	}
	p.afterAppend(int64(h.NumRecords), st)
	return nil
}

// viewTopics is the served metadata view as the coordinator reads it.
type viewTopics struct{ b *Broker }

func (t viewTopics) Version() uint64 { return t.b.currentView().snap.AppliedIndex }

func (t viewTopics) Lookup(name string) ([16]byte, int32, bool) {
	tp, ok := t.b.currentView().topic(name)
	if !ok {
		return [16]byte{}, 0, false
	}
	return tp.ID, int32(len(tp.Partitions)), true
}

func (t viewTopics) Name(id [16]byte) (string, bool) { return t.b.currentView().topicByID(id) }

// Names lists the topics regex subscriptions may match: not internal ones.
func (t viewTopics) Names() []string {
	v := t.b.currentView()
	names := slices.Sorted(maps.Keys(v.snap.Topics))
	return slices.DeleteFunc(names, func(n string) bool { return v.snap.Topics[n].Internal || isInternalTopic(n) })
}

// clientHost is the ClientHost groups report, written as Kafka writes an
// address: "/" and the IP.
func clientHost(r *request) string {
	host, _, err := net.SplitHostPort(r.conn.Remote)
	if err != nil {
		host = r.conn.Remote
	}
	return "/" + host
}
