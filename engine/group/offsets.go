package group

import (
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (g *group) setOffset(topic string, partition int32, c Commit) {
	if g.offsets == nil {
		g.offsets = make(map[string]map[int32]Commit)
	}
	ps := g.offsets[topic]
	if ps == nil {
		ps = make(map[int32]Commit)
		g.offsets[topic] = ps
	}
	ps[partition] = c
}

// dropOffset applies an offset tombstone: the committed offset goes, and
// with it every pending transactional offset of the partition, as Kafka's
// replay of a tombstone has it.
func (g *group) dropOffset(topic string, partition int32) {
	ps := g.offsets[topic]
	delete(ps, partition)
	if len(ps) == 0 {
		delete(g.offsets, topic)
	}
	g.dropTxnOffset(topic, partition)
}

func (g *group) offset(topic string, partition int32) (Commit, bool) {
	c, ok := g.offsets[topic][partition]
	return c, ok
}

// commitValidation is a group's verdict on an OffsetCommit before its
// partitions are looked at: a code for the whole request, or a check per
// partition (KIP-1251 relaxes the member epoch per partition).
type commitValidation struct {
	code      int16
	partition func(topic string, partition int32) int16
	accepted  func() // runs once offsets were written (a classic member's heartbeat)
}

// pendingCommit is one partition of an OffsetCommit on its way to the log.
type pendingCommit struct {
	topic     string
	partition int32
	commit    Commit
	out       *kmsg.OffsetCommitResponseTopicPartition
}

// commitTarget is one topic of a commit request as the coordinator sees
// it: the name (resolved from the id where the request names topics by
// id), the id the topic has now, and its partition count.
type commitTarget struct {
	name       string
	id         [16]byte
	partitions int32
	known      bool // false for a topic id no topic has
	exists     bool
}

// commitTopic resolves a commit request's topic, by id when byID.
func (c *Coordinator) commitTopic(byID bool, name string, id [16]byte) commitTarget {
	t := commitTarget{name: name, known: true}
	if byID {
		t.name, t.known = c.topics.Name(id)
	}
	t.id, t.partitions, t.exists = c.topics.Lookup(t.name)
	return t
}

// code is the error a commit to partition p of t gets before the group is
// looked at: UNKNOWN_TOPIC_ID or UNKNOWN_TOPIC_OR_PARTITION, as a Kafka
// broker answers from its metadata.
func (t commitTarget) code(p int32) int16 {
	switch {
	case !t.known:
		return kerr.UnknownTopicID.Code
	case !t.exists || p < 0 || p >= t.partitions:
		return kerr.UnknownTopicOrPartition.Code
	}
	return 0
}

// commit is the Commit stored for an offset committed to t at now.
func (t commitTarget) commit(offset int64, leaderEpoch int32, metadata *string, now time.Time) Commit {
	var md string
	if metadata != nil {
		md = *metadata
	}
	return Commit{Offset: offset, LeaderEpoch: leaderEpoch, Metadata: md, CommitTime: now, TopicID: t.id}
}

// checkMetadata refuses commit metadata past offset.metadata.max.bytes.
func (c *Coordinator) checkMetadata(md *string) int16 {
	if md != nil && utf16Length(*md) > c.cfg.OffsetMetadataMaxBytes {
		return kerr.OffsetMetadataTooLarge.Code
	}
	return 0
}

// OffsetCommit stores the offsets of one OffsetCommit request. Offsets for
// topics or partitions that do not exist get UNKNOWN_TOPIC_OR_PARTITION (or
// UNKNOWN_TOPIC_ID for v10 topic ids), as a Kafka broker answers.
func (c *Coordinator) OffsetCommit(req *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	resp.Topics = make([]kmsg.OffsetCommitResponseTopic, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := &resp.Topics[i]
		*st = kmsg.NewOffsetCommitResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		st.Partitions = make([]kmsg.OffsetCommitResponseTopicPartition, len(rt.Partitions))
		for j := range rt.Partitions {
			st.Partitions[j] = kmsg.NewOffsetCommitResponseTopicPartition()
			st.Partitions[j].Partition = rt.Partitions[j].Partition
		}
	}
	setAll := func(code int16) *kmsg.OffsetCommitResponse {
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				resp.Topics[i].Partitions[j].ErrorCode = code
			}
		}
		return resp
	}
	if c.closed {
		return setAll(kerr.NotCoordinator.Code)
	}

	g := c.groups[req.Group]
	var v commitValidation
	switch {
	case g == nil:
		// Only a group-less commit (generation -1) may create a group,
		// whatever member id it names (Kafka creates an empty group,
		// where such a commit is accepted); one with a generation refers
		// to a group that does not exist: from v9 Kafka says so
		// (GROUP_ID_NOT_FOUND), before that it answers ILLEGAL_GENERATION.
		switch {
		case req.Generation >= 0 && req.Version >= 9:
			v.code = kerr.GroupIDNotFound.Code
		case req.Generation >= 0:
			v.code = kerr.IllegalGeneration.Code
		}
	case g.consumer != nil:
		v = g.consumer.validateCommit(req)
	default:
		v = g.classic.validateCommit(req)
	}
	if v.code != 0 {
		return setAll(v.code)
	}

	now := c.clock.Now()
	var pending []pendingCommit
	for i := range req.Topics {
		rt := &req.Topics[i]
		t := c.commitTopic(req.Version >= 10, rt.Topic, rt.TopicID)
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			out := &resp.Topics[i].Partitions[j]
			if out.ErrorCode = t.code(rp.Partition); out.ErrorCode != 0 {
				continue
			}
			if out.ErrorCode = c.checkMetadata(rp.Metadata); out.ErrorCode != 0 {
				continue
			}
			if v.partition != nil {
				if out.ErrorCode = v.partition(t.name, rp.Partition); out.ErrorCode != 0 {
					continue
				}
			}
			leaderEpoch := rp.LeaderEpoch
			if req.Version < 6 {
				leaderEpoch = -1
			}
			pending = append(pending, pendingCommit{
				topic: t.name, partition: rp.Partition, out: out,
				commit: t.commit(rp.Offset, leaderEpoch, rp.Metadata, now),
			})
		}
	}
	if len(pending) == 0 {
		return resp
	}
	recs := make([]Record, len(pending))
	for i, p := range pending {
		recs[i] = offsetCommitRecord(req.Group, p.topic, p.partition, p.commit)
	}
	if err := c.write(recs...); err != nil {
		c.log.Error("commit offsets", "group", req.Group, "err", err)
		for _, p := range pending {
			p.out.ErrorCode = kerr.CoordinatorNotAvailable.Code
		}
		return resp
	}
	if g == nil {
		g = c.newClassicGroup(req.Group)
	}
	for _, p := range pending {
		p.commit.seq = c.nextSeq()
		g.setOffset(p.topic, p.partition, p.commit)
	}
	if v.accepted != nil {
		v.accepted()
	}
	c.armExpiry()
	return resp
}

// OffsetFetch answers one group of an OffsetFetch request (v8+ batches
// groups; older versions are one group). Partitions without a commit, and
// groups that do not exist, read offset -1. Offsets of open transactions
// are not read; OffsetFetchStable is OffsetFetch with RequireStable.
func (c *Coordinator) OffsetFetch(version int16, rg *kmsg.OffsetFetchRequestGroup) kmsg.OffsetFetchResponseGroup {
	return c.OffsetFetchStable(version, rg, false)
}

// OffsetFetchStable is OffsetFetch honouring the request's RequireStable
// (v7+, KIP-447): a partition with a transactional offset pending answers
// UNSTABLE_OFFSET_COMMIT, offset -1, so that the client retries once the
// transaction ended, as Kafka answers. Listing all of a group's offsets
// (null topics) covers the partitions with a committed offset only.
func (c *Coordinator) OffsetFetchStable(version int16, rg *kmsg.OffsetFetchRequestGroup, requireStable bool) kmsg.OffsetFetchResponseGroup {
	requireStable = requireStable && version >= 7
	out := kmsg.NewOffsetFetchResponseGroup()
	out.Group = rg.Group
	if c.closed {
		out.ErrorCode = kerr.NotCoordinator.Code
		return out
	}
	g := c.groups[rg.Group]
	if g != nil && g.consumer != nil && version >= 9 && (rg.MemberID != nil || rg.MemberEpoch >= 0) {
		if out.ErrorCode = g.consumer.validateFetch(rg); out.ErrorCode != 0 {
			return out
		}
	}
	if rg.Topics == nil {
		if g == nil {
			return out
		}
		for _, topic := range slices.Sorted(maps.Keys(g.offsets)) {
			st := kmsg.NewOffsetFetchResponseGroupTopic()
			st.Topic = topic
			if version >= 10 {
				id, _, ok := c.topics.Lookup(topic)
				if !ok {
					continue // v10 names topics by id only
				}
				st.TopicID = id
			}
			ps := g.offsets[topic]
			for _, p := range slices.Sorted(maps.Keys(ps)) {
				if !c.current(topic, ps[p]) {
					continue
				}
				sp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
				sp.Partition = p
				if requireStable && g.txnPending(topic, p) {
					unstable(&sp)
				} else {
					fillFetched(&sp, ps[p])
				}
				st.Partitions = append(st.Partitions, sp)
			}
			if len(st.Partitions) > 0 {
				out.Topics = append(out.Topics, st)
			}
		}
		return out
	}
	for _, rt := range rg.Topics {
		st := kmsg.NewOffsetFetchResponseGroupTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		name, known := rt.Topic, true
		if version >= 10 {
			name, known = c.topics.Name(rt.TopicID)
		}
		for _, p := range rt.Partitions {
			sp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
			sp.Partition = p
			sp.Offset = -1
			switch {
			case !known:
				sp.ErrorCode = kerr.UnknownTopicID.Code
			case g != nil && requireStable && g.txnPending(name, p):
				unstable(&sp)
			case g != nil:
				if cm, ok := g.offset(name, p); ok && c.current(name, cm) {
					fillFetched(&sp, cm)
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		out.Topics = append(out.Topics, st)
	}
	return out
}

// current reports whether a commit belongs to the topic that now has its
// name: not one deleted (and perhaps re-created) since, as Kafka drops a
// deleted topic's offsets.
func (c *Coordinator) current(topic string, cm Commit) bool {
	id, _, ok := c.topics.Lookup(topic)
	return ok && (cm.TopicID == [16]byte{} || cm.TopicID == id)
}

// unstable is Kafka's answer for a partition with a transactional offset
// pending.
func unstable(sp *kmsg.OffsetFetchResponseGroupTopicPartition) {
	sp.ErrorCode = kerr.UnstableOffsetCommit.Code
	sp.Offset, sp.LeaderEpoch = -1, -1
	md := ""
	sp.Metadata = &md
}

func fillFetched(sp *kmsg.OffsetFetchResponseGroupTopicPartition, c Commit) {
	sp.Offset = c.Offset
	sp.LeaderEpoch = c.LeaderEpoch
	md := c.Metadata
	sp.Metadata = &md
}

// OffsetDelete removes committed offsets of topics the group is not
// subscribed to (KIP-496).
func (c *Coordinator) OffsetDelete(req *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse {
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	if c.closed {
		resp.ErrorCode = kerr.NotCoordinator.Code
		return resp
	}
	g := c.groups[req.Group]
	if g == nil {
		resp.ErrorCode = kerr.GroupIDNotFound.Code
		return resp
	}
	var subscribed map[string]bool
	switch {
	case g.consumer != nil:
		subscribed = g.consumer.subscribedTopics()
	case g.hasMembers():
		if g.classic.protocolType != "consumer" {
			resp.ErrorCode = kerr.NonEmptyGroup.Code
			return resp
		}
		subscribed = g.classic.subscribedTopics()
	}
	type drop struct {
		topic     string
		partition int32
	}
	var drops []drop
	var recs []Record
	for _, rt := range req.Topics {
		st := kmsg.NewOffsetDeleteResponseTopic()
		st.Topic = rt.Topic
		_, nparts, exists := c.topics.Lookup(rt.Topic)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetDeleteResponseTopicPartition()
			sp.Partition = rp.Partition
			switch {
			case !exists || rp.Partition < 0 || rp.Partition >= nparts:
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case subscribed[rt.Topic]:
				sp.ErrorCode = kerr.GroupSubscribedToTopic.Code
			default:
				// Kafka writes the tombstone for a pending transactional
				// offset too, which drops it.
				if _, ok := g.offset(rt.Topic, rp.Partition); ok || g.txnPending(rt.Topic, rp.Partition) {
					drops = append(drops, drop{rt.Topic, rp.Partition})
					recs = append(recs, offsetTombstone(g.name, rt.Topic, rp.Partition))
				}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if err := c.write(recs...); err != nil {
		c.log.Error("delete offsets", "group", g.name, "err", err)
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		resp.Topics = nil
		return resp
	}
	for _, d := range drops {
		g.dropOffset(d.topic, d.partition)
	}
	return resp
}

// armExpiry schedules the next offsets-expiry sweep while there is anything
// a sweep could remove.
func (c *Coordinator) armExpiry() {
	if c.expiry != nil || c.closed || len(c.groups) == 0 || c.cfg.OffsetsRetentionCheckInterval <= 0 {
		return
	}
	c.expiry = c.after(c.cfg.OffsetsRetentionCheckInterval, c.ExpireOffsets)
}

// ExpireOffsets removes offsets older than offsets.retention.minutes under
// Kafka's rules (KIP-211) and those of deleted topics, then groups left with
// neither members nor offsets. The coordinator runs it every offsets.retention.check.interval.ms;
// it is exported for tests.
func (c *Coordinator) ExpireOffsets() {
	c.expiry.stop()
	c.expiry = nil
	now := c.clock.Now()
	type expired struct {
		g         *group
		topic     string
		partition int32
	}
	var drops []expired
	var recs []Record
	var removed []*group
	for _, g := range c.groups {
		n := 0
		// A group's subscriptions are worked out once a sweep: for a
		// classic group that decodes every member's metadata.
		var subs map[string]bool
		var known bool
		subscribed := func() map[string]bool {
			if !known {
				subs, known = g.subscribedTopics(), true
			}
			return subs
		}
		for topic, ps := range g.offsets {
			for p, cm := range ps {
				// As in Kafka, an offset with a transactional one pending
				// for its partition waits for the transaction's end.
				if g.offsetExpired(topic, cm, now, subscribed) && !g.txnPending(topic, p) {
					drops = append(drops, expired{g, topic, p})
					recs = append(recs, offsetTombstone(g.name, topic, p))
					n++
				}
			}
		}
		if g.empty() && offsetCount(g.offsets) == n && len(g.txnOffsets) == 0 {
			removed = append(removed, g)
			recs = append(recs, g.metadataTombstones()...)
		}
	}
	if err := c.write(recs...); err != nil {
		c.log.Error("expire offsets", "err", err)
		c.armExpiry()
		return
	}
	for _, d := range drops {
		d.g.dropOffset(d.topic, d.partition)
	}
	for _, g := range removed {
		g.stop(kerr.GroupIDNotFound.Code)
		delete(c.groups, g.name)
	}
	if len(drops) > 0 || len(removed) > 0 {
		c.log.Info("expired group offsets", "offsets", len(drops), "groups", len(removed))
	}
	c.armExpiry()
}

func offsetCount(o map[string]map[int32]Commit) int {
	n := 0
	for _, ps := range o {
		n += len(ps)
	}
	return n
}

// offsetExpired applies KIP-211: an empty group's offsets expire a
// retention period after the later of the commit and the group becoming
// empty; a group-less (simple) group's after the commit; a live consumer
// group's only for topics it no longer subscribes to. subscribed returns
// the group's subscribedTopics, worked out once per sweep.
func (g *group) offsetExpired(topic string, cm Commit, now time.Time, subscribed func() map[string]bool) bool {
	if !g.c.current(topic, cm) {
		return true // the topic was deleted
	}
	retention := g.c.cfg.OffsetsRetention
	base := cm.CommitTime
	switch {
	case g.consumer != nil:
		if subscribed()[topic] {
			return false
		}
	case g.classic.protocolType == "":
	case g.classic.state == stateEmpty:
		if g.classic.stateTime.After(base) {
			base = g.classic.stateTime
		}
	case g.classic.state == stateStable && g.classic.protocolType == "consumer":
		if subscribed()[topic] {
			return false
		}
	default:
		return false
	}
	return now.Sub(base) >= retention
}

// subscribedTopics is what the group's members subscribe to, for either
// protocol.
func (g *group) subscribedTopics() map[string]bool {
	if g.consumer != nil {
		return g.consumer.subscribedTopics()
	}
	return g.classic.subscribedTopics()
}

// subscribedTopics decodes the consumer-protocol subscriptions of a classic
// group's members; for other protocol types it is empty.
func (cg *classicGroup) subscribedTopics() map[string]bool {
	subs := make(map[string]bool)
	if cg.protocolType != "consumer" {
		return subs
	}
	for _, m := range cg.members {
		for _, p := range m.protocols {
			var md kmsg.ConsumerMemberMetadata
			if md.ReadFrom(p.Metadata) == nil {
				for _, t := range md.Topics {
					subs[t] = true
				}
			}
		}
	}
	return subs
}

// equalFoldAny reports whether v matches one of vs, ignoring case.
func equalFoldAny(vs []string, v string) bool {
	return slices.ContainsFunc(vs, func(x string) bool { return strings.EqualFold(x, v) })
}

// utf16Length is the metadata's length as Kafka measures it against
// offset.metadata.max.bytes: Java's String.length(), in UTF-16 code units.
func utf16Length(s string) int {
	n := 0
	for _, r := range s {
		n += max(utf16.RuneLen(r), 1)
	}
	return n
}
