package group

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Coordinator owns the groups of one __consumer_offsets partition. See the
// package doc for its threading rule: one goroutine, no locks.
type Coordinator struct {
	cfg     Config
	clock   Clock
	journal Journal
	topics  Topics
	log     *slog.Logger

	groups map[string]*group
	expiry *timer // next offsets-expiry sweep; nil when nothing can expire
	closed bool

	// txnGroups names, per producer id, the groups holding offsets that
	// producer's open transaction committed (txn_offsets.go).
	txnGroups map[int64]map[string]struct{}
	// seq counts the offset records written or replayed (Commit.seq).
	seq uint64
}

// group is one group id: its committed offsets plus the state of the
// protocol its members speak. Exactly one of classic and consumer is set.
type group struct {
	c        *Coordinator
	name     string
	offsets  map[string]map[int32]Commit
	classic  *classicGroup
	consumer *consumerGroup

	// txnOffsets are the offsets of open transactions, by producer id,
	// topic and partition: pending until the transaction's marker.
	txnOffsets map[int64]map[string]map[int32]Commit
}

// Group types as ListGroups v5 and DescribeGroups name them.
const (
	typeClassic  = "classic"
	typeConsumer = "consumer"
)

// New returns an empty coordinator; Replay then Loaded rebuild its state.
func New(cfg Config, clock Clock, journal Journal, topics Topics) *Coordinator {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if len(cfg.ConsumerAssignors) == 0 {
		cfg.ConsumerAssignors = []string{assignorUniform, assignorRange}
	}
	return &Coordinator{cfg: cfg, clock: clock, journal: journal, topics: topics, log: log, groups: make(map[string]*group)}
}

// Replay applies one __consumer_offsets record read back from the log.
func (c *Coordinator) Replay(key, value []byte) error {
	d, err := decodeRecord(key, value)
	if err != nil {
		return err
	}
	switch d.kind {
	case recordOffset:
		g := c.groups[d.group]
		if d.tombstone {
			if g != nil {
				g.dropOffset(d.topic, d.partition)
			}
			return nil
		}
		if g == nil {
			g = c.newClassicGroup(d.group)
		}
		d.commit.seq = c.nextSeq()
		g.setOffset(d.topic, d.partition, d.commit)
	case recordGroup:
		g := c.groups[d.group]
		if d.tombstone {
			if g != nil && g.classic != nil {
				g.classic = newClassicGroup(g)
			}
			return nil
		}
		if g == nil {
			g = c.newClassicGroup(d.group)
		}
		g.consumer = nil
		g.classic = newClassicGroup(g)
		g.classic.restore(d.meta)
	case recordConsumerGroup:
		g := c.groups[d.group]
		if d.tombstone {
			if g != nil && g.consumer != nil {
				g.consumer = nil
				g.classic = newClassicGroup(g)
			}
			return nil
		}
		cg := c.consumerGroupForReplay(d.group)
		// The group's state record follows the epoch record in the same
		// append; without members nothing is left to assign at this epoch.
		cg.epoch = d.epoch
		if len(cg.members) == 0 {
			cg.assignmentEpoch = d.epoch
		}
	case recordConsumerState:
		if d.tombstone {
			return nil // written with the epoch record's tombstone, which removes the group
		}
		st, err := decodeConsumerState(d.value)
		if err != nil {
			return fmt.Errorf("group %s: %w", d.group, err)
		}
		cg := c.consumerGroupForReplay(d.group)
		cg.epoch, cg.assignmentEpoch, cg.assignor, cg.metaHash = st.epoch, st.assignmentEpoch, st.assignor, st.metaHash
		cg.stateEpoch, cg.stateWritten = st.epoch, slices.Clone(d.value)
	case recordConsumerMember:
		if d.tombstone {
			if g := c.groups[d.group]; g != nil && g.consumer != nil {
				delete(g.consumer.members, d.member)
			}
			return nil
		}
		m, err := decodeMember(d.member, d.value)
		if err != nil {
			return fmt.Errorf("group %s: %w", d.group, err)
		}
		c.consumerGroupForReplay(d.group).members[m.id] = m
	}
	return nil
}

// consumerGroupForReplay is the KIP-848 group a replayed record applies to,
// created, or converted from a classic group, as the log's order says.
func (c *Coordinator) consumerGroupForReplay(name string) *consumerGroup {
	g := c.groups[name]
	if g == nil {
		g = c.newClassicGroup(name)
	}
	if g.consumer == nil {
		g.classic = nil
		g.consumer = newConsumerGroup(g)
	}
	return g.consumer
}

// Loaded ends the replay: restored members get their session timers, and
// classic groups whose records were all deleted are dropped. An empty
// consumer-protocol group stays until the expiry sweep, so its epoch keeps
// counting up if members come back first.
func (c *Coordinator) Loaded() {
	for name, g := range c.groups {
		if g.consumer != nil {
			g.consumer.loaded()
		}
		if g.classic != nil {
			g.classic.loaded()
			if g.removable() {
				delete(c.groups, name)
			}
		}
	}
	c.armExpiry()
}

// Close answers every parked request with NOT_COORDINATOR and stops all
// timers; the coordinator must not be used afterwards.
func (c *Coordinator) Close() {
	c.closed = true
	c.expiry.stop()
	for _, g := range c.groups {
		g.stop(kerr.NotCoordinator.Code)
	}
}

func (c *Coordinator) newClassicGroup(name string) *group {
	g := &group{c: c, name: name}
	g.classic = newClassicGroup(g)
	c.groups[name] = g
	return g
}

func (c *Coordinator) write(recs ...Record) error {
	if len(recs) == 0 {
		return nil
	}
	return c.journal.Append(recs)
}

// typ is the group type ListGroups and DescribeGroups report.
func (g *group) typ() string {
	if g.consumer != nil {
		return typeConsumer
	}
	return typeClassic
}

func (g *group) state() string {
	if g.consumer != nil {
		return g.consumer.stateName()
	}
	return g.classic.state.String()
}

func (g *group) protocolType() string {
	if g.consumer != nil {
		return typeConsumer
	}
	return g.classic.protocolType
}

// empty reports whether the group has no members, so that its type may
// change and it may be deleted.
func (g *group) empty() bool {
	if g.consumer != nil {
		return len(g.consumer.members) == 0
	}
	return g.classic.state == stateEmpty && len(g.classic.pending) == 0
}

// hasMembers reports members that make a group non-empty for DeleteGroups
// and OffsetDelete: as in Kafka, a classic group in state Empty has none,
// even with KIP-394 pending member ids out (a client that kept sending
// first joins would otherwise block deletion for good).
func (g *group) hasMembers() bool {
	if g.consumer != nil {
		return len(g.consumer.members) > 0
	}
	return g.classic.state != stateEmpty
}

// removable reports a group that holds neither members nor offsets,
// pending transactional ones included.
func (g *group) removable() bool {
	return g.empty() && len(g.offsets) == 0 && len(g.txnOffsets) == 0
}

// stop answers parked requests with code and stops the group's timers.
func (g *group) stop(code int16) {
	if g.classic != nil {
		g.classic.stop(code)
	}
	if g.consumer != nil {
		g.consumer.stop()
	}
}

// toConsumer turns an empty classic group into a KIP-848 group, keeping its
// offsets, as Kafka does when a consumer-protocol member joins it.
func (g *group) toConsumer() {
	g.classic.stop(kerr.NotCoordinator.Code)
	g.classic = nil
	g.consumer = newConsumerGroup(g)
}

// toClassic turns an empty KIP-848 group back into a classic one.
func (g *group) toClassic() {
	g.consumer.stop()
	g.consumer = nil
	g.classic = newClassicGroup(g)
}

// newMemberID is Kafka's member id: the client (or instance) id, a dash and
// a random UUID.
func newMemberID(prefix string) string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%s-%x-%x-%x-%x-%x", prefix, u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}

// ListGroups lists the groups matching the state and type filters (empty
// filters match all), compared case-insensitively as Kafka does.
func (c *Coordinator) ListGroups(states, types []string) []kmsg.ListGroupsResponseGroup {
	var out []kmsg.ListGroupsResponseGroup
	match := func(filter []string, v string) bool { return len(filter) == 0 || equalFoldAny(filter, v) }
	for _, g := range c.groups {
		if !match(states, g.state()) || !match(types, g.typ()) {
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group = g.name
		lg.ProtocolType = g.protocolType()
		lg.GroupState = g.state()
		lg.GroupType = g.typ()
		out = append(out, lg)
	}
	slices.SortFunc(out, func(a, b kmsg.ListGroupsResponseGroup) int { return strings.Compare(a.Group, b.Group) })
	return out
}

// DescribeGroup describes one group for DescribeGroups. A missing group is
// Dead, with GROUP_ID_NOT_FOUND from v6 on.
func (c *Coordinator) DescribeGroup(version int16, name string) kmsg.DescribeGroupsResponseGroup {
	out := kmsg.NewDescribeGroupsResponseGroup()
	out.Group = name
	g := c.groups[name]
	if g == nil {
		out.State = stateDead.String()
		if version >= 6 {
			out.ErrorCode = kerr.GroupIDNotFound.Code
			msg := fmt.Sprintf("Group %s not found.", name)
			out.ErrorMessage = &msg
		}
		return out
	}
	if g.consumer != nil {
		g.consumer.describeClassic(&out)
		return out
	}
	g.classic.describe(&out)
	return out
}

// DeleteGroup deletes an empty group and its offsets (DeleteGroups).
func (c *Coordinator) DeleteGroup(name string) int16 {
	g := c.groups[name]
	if g == nil {
		return kerr.GroupIDNotFound.Code
	}
	if g.hasMembers() {
		return kerr.NonEmptyGroup.Code
	}
	if err := c.write(g.deletionRecords()...); err != nil {
		c.log.Error("delete group", "group", name, "err", err)
		return kerr.CoordinatorNotAvailable.Code
	}
	g.stop(kerr.GroupIDNotFound.Code)
	g.dropTxnOffsets()
	delete(c.groups, name)
	return 0
}

// deletionRecords are the tombstones that remove a group from the log:
// those of its committed offsets, and as Kafka's deleteAllOffsets those of
// partitions with only a pending transactional offset, so that a replay
// drops that one too.
func (g *group) deletionRecords() []Record {
	var recs []Record
	for topic, ps := range g.offsets {
		for p := range ps {
			recs = append(recs, offsetTombstone(g.name, topic, p))
		}
	}
	g.txnOnlyPartitions(func(topic string, p int32) {
		recs = append(recs, offsetTombstone(g.name, topic, p))
	})
	return append(recs, g.metadataTombstones()...)
}

// metadataTombstones remove the group's metadata records: those of both
// protocols (groupTombstones) and the KIP-848 member records it may still
// have in the log, those whose tombstone a failed write left owed
// included, or compaction would leave a member to come back at the next
// load.
func (g *group) metadataTombstones() []Record {
	recs := groupTombstones(g.name)
	if cg := g.consumer; cg != nil {
		ids := slices.Collect(maps.Keys(cg.removed))
		for id := range cg.members {
			if !cg.removed[id] {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			recs = append(recs, Record{Key: consumerMemberKey(g.name, id)})
		}
	}
	return recs
}

// groupTombstones remove a group's metadata records of both protocols: a
// group that changed type has the old type's record in the log too (a type
// change writes nothing), and once compaction dropped the newer record's
// tombstone, the old one would bring the group back at the next load.
func groupTombstones(name string) []Record {
	return []Record{groupTombstone(name), consumerGroupTombstone(name), consumerStateTombstone(name)}
}

// GroupCount is the number of groups held, for tests and metrics.
func (c *Coordinator) GroupCount() int { return len(c.groups) }
