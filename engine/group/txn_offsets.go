package group

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Transactional offset commits (KIP-98, KIP-447), as Kafka's group
// coordinator keeps them (OffsetMetadataManager): TxnOffsetCommit writes
// the offsets to the log in a transactional batch of the producer and holds
// them pending, invisible to OffsetFetch; the transaction's marker in the
// same partition then commits them (CompleteTxn with commit) or drops them.
// An offset tombstone (OffsetDelete, DeleteGroups) drops the pending
// offsets of its partition too, and the expiry sweep leaves a partition
// with pending offsets, and a group with any, alone.
//
// Whether the producer may commit offsets for the group at all (its
// transaction is open, at this epoch, and holds the group) is the
// transaction coordinator's check, made before TxnOffsetCommit is called.

// TxnOffsetCommit stores the offsets of one TxnOffsetCommit request as
// pending for the request's producer, once Journal.AppendTxn wrote them to
// the log. The group checks are Kafka's for a transactional commit
// (validateTransactionalOffsetCommit): a commit that names no generation
// (-1) may create the group; from v3 a member id, instance id or
// generation given is checked against the group (UNKNOWN_MEMBER_ID,
// FENCED_INSTANCE_ID, ILLEGAL_GENERATION; a KIP-848 group's stale member
// epoch reads ILLEGAL_GENERATION before v6); a commit that names none is
// accepted whatever the group's members, and no rebalance refuses one.
// Unknown topics and partitions keep their own error (Kafka's broker sets
// it before the group coordinator sees the rest).
func (c *Coordinator) TxnOffsetCommit(req *kmsg.TxnOffsetCommitRequest, reply func(kmsg.Response)) {
	reply(c.txnOffsetCommit(req))
}

// txnPending is one partition of a TxnOffsetCommit on its way to the log.
type txnPending struct {
	topic     string
	partition int32
	commit    Commit
	out       *kmsg.TxnOffsetCommitResponseTopicPartition
}

func (c *Coordinator) txnOffsetCommit(req *kmsg.TxnOffsetCommitRequest) *kmsg.TxnOffsetCommitResponse {
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	resp.Topics = make([]kmsg.TxnOffsetCommitResponseTopic, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := &resp.Topics[i]
		*st = kmsg.NewTxnOffsetCommitResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		st.Partitions = make([]kmsg.TxnOffsetCommitResponseTopicPartition, len(rt.Partitions))
		for j := range rt.Partitions {
			st.Partitions[j] = kmsg.NewTxnOffsetCommitResponseTopicPartition()
			st.Partitions[j].Partition = rt.Partitions[j].Partition
		}
	}
	setAll := func(code int16) *kmsg.TxnOffsetCommitResponse {
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				resp.Topics[i].Partitions[j].ErrorCode = code
			}
		}
		return resp
	}
	switch {
	case c.closed:
		return setAll(kerr.NotCoordinator.Code)
	case req.Group == "":
		return setAll(kerr.InvalidGroupID.Code)
	}

	// The request's own topic checks come first: their errors stand
	// whatever the group says of the rest.
	targets := make([]commitTarget, len(req.Topics))
	valid := 0
	for i := range req.Topics {
		rt := &req.Topics[i]
		targets[i] = c.commitTopic(req.Version >= 6, rt.Topic, rt.TopicID)
		for j := range rt.Partitions {
			out := &resp.Topics[i].Partitions[j]
			if out.ErrorCode = targets[i].code(rt.Partitions[j].Partition); out.ErrorCode == 0 {
				valid++
			}
		}
	}
	if valid == 0 {
		return resp
	}

	// The KIP-447 fields exist from v3; older requests name no member.
	generation, memberID, instanceID := req.Generation, req.MemberID, req.InstanceID
	if req.Version < 3 {
		generation, memberID, instanceID = -1, "", nil
	}
	g := c.groups[req.Group]
	var v commitValidation
	switch {
	case g == nil:
		// Only a commit without a generation creates the group (a simple
		// consumer's, or one of a producer given no group metadata).
		if generation >= 0 {
			v.code = kerr.IllegalGeneration.Code
			if req.Version >= 6 {
				v.code = kerr.GroupIDNotFound.Code // KIP-1319
			}
		}
	case g.consumer != nil:
		v = g.consumer.checkCommit(req.Version, generation, memberID, instanceID, true)
	default:
		v = g.classic.checkCommit(generation, memberID, instanceID, true)
	}
	// Before v6 the API has no STALE_MEMBER_EPOCH: Kafka answers
	// ILLEGAL_GENERATION, which the producer treats as abortable.
	staleCode := func(code int16) int16 {
		if code == kerr.StaleMemberEpoch.Code && req.Version < 6 {
			return kerr.IllegalGeneration.Code
		}
		return code
	}
	if v.code != 0 {
		code := staleCode(v.code)
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				if out := &resp.Topics[i].Partitions[j]; out.ErrorCode == 0 {
					out.ErrorCode = code
				}
			}
		}
		return resp
	}

	now := c.clock.Now()
	var pending []txnPending
	for i := range req.Topics {
		rt := &req.Topics[i]
		t := targets[i]
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			out := &resp.Topics[i].Partitions[j]
			if out.ErrorCode != 0 {
				continue
			}
			if out.ErrorCode = c.checkMetadata(rp.Metadata); out.ErrorCode != 0 {
				continue
			}
			if v.partition != nil {
				if out.ErrorCode = staleCode(v.partition(t.name, rp.Partition)); out.ErrorCode != 0 {
					continue
				}
			}
			leaderEpoch := rp.LeaderEpoch
			if req.Version < 2 {
				leaderEpoch = -1
			}
			pending = append(pending, txnPending{
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
	if err := c.journal.AppendTxn(req.ProducerID, req.ProducerEpoch, recs); err != nil {
		c.log.Error("commit transactional offsets", "group", req.Group, "producer", req.ProducerID, "err", err)
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
		g.setTxnOffset(req.ProducerID, p.topic, p.partition, p.commit)
	}
	c.armExpiry()
	return resp
}

// ReplayTxn applies one record of a transactional batch of producerID read
// back from the log: an offset commit is held pending for the producer,
// as TxnOffsetCommit holds it, until CompleteTxn; any other record
// (Kafka's coordinator writes none in a transaction) applies at once, as
// Kafka's replay does.
func (c *Coordinator) ReplayTxn(producerID int64, key, value []byte) error {
	d, err := decodeRecord(key, value)
	if err != nil {
		return err
	}
	if d.kind != recordOffset || d.tombstone {
		return c.Replay(key, value)
	}
	g := c.groups[d.group]
	if g == nil {
		g = c.newClassicGroup(d.group)
	}
	d.commit.seq = c.nextSeq()
	g.setTxnOffset(producerID, d.topic, d.partition, d.commit)
	return nil
}

// CompleteTxn ends producerID's transaction in this coordinator's
// partition, once its marker is in the log (and for each marker the replay
// reads): on commit the producer's pending offsets become the groups'
// committed offsets, except where a commit whose record came later in the
// log is already there (Kafka's completePendingTxnOffsetCommit keeps the
// latest record); on abort they are dropped. A producer with nothing
// pending here is fine.
func (c *Coordinator) CompleteTxn(producerID int64, commit bool) {
	names := c.txnGroups[producerID]
	delete(c.txnGroups, producerID)
	for name := range names {
		g := c.groups[name]
		if g == nil {
			continue
		}
		pending := g.txnOffsets[producerID]
		delete(g.txnOffsets, producerID)
		if !commit {
			continue
		}
		for topic, ps := range pending {
			for p, cm := range ps {
				if cur, ok := g.offset(topic, p); !ok || cm.seq > cur.seq {
					g.setOffset(topic, p, cm)
				}
			}
		}
	}
	c.armExpiry()
}

// PendingTxnOffsets reports whether producerID has offsets pending in this
// coordinator, for the transaction coordinator and tests.
func (c *Coordinator) PendingTxnOffsets(producerID int64) bool {
	return len(c.txnGroups[producerID]) > 0
}

func (c *Coordinator) nextSeq() uint64 {
	c.seq++
	return c.seq
}

func (g *group) setTxnOffset(producerID int64, topic string, partition int32, cm Commit) {
	if g.txnOffsets == nil {
		g.txnOffsets = make(map[int64]map[string]map[int32]Commit)
	}
	byTopic := g.txnOffsets[producerID]
	if byTopic == nil {
		byTopic = make(map[string]map[int32]Commit)
		g.txnOffsets[producerID] = byTopic
	}
	ps := byTopic[topic]
	if ps == nil {
		ps = make(map[int32]Commit)
		byTopic[topic] = ps
	}
	ps[partition] = cm
	c := g.c
	if c.txnGroups == nil {
		c.txnGroups = make(map[int64]map[string]struct{})
	}
	names := c.txnGroups[producerID]
	if names == nil {
		names = make(map[string]struct{})
		c.txnGroups[producerID] = names
	}
	names[g.name] = struct{}{}
}

// txnPending reports a pending transactional offset for the partition,
// of any producer (Kafka's hasPendingTransactionalOffsets).
func (g *group) txnPending(topic string, partition int32) bool {
	for _, byTopic := range g.txnOffsets {
		if _, ok := byTopic[topic][partition]; ok {
			return true
		}
	}
	return false
}

// dropTxnOffset drops every producer's pending offset for the partition,
// as an offset tombstone does in Kafka.
func (g *group) dropTxnOffset(topic string, partition int32) {
	for pid, byTopic := range g.txnOffsets {
		ps := byTopic[topic]
		if _, ok := ps[partition]; !ok {
			continue
		}
		delete(ps, partition)
		if len(ps) == 0 {
			delete(byTopic, topic)
		}
		if len(byTopic) == 0 {
			delete(g.txnOffsets, pid)
			g.c.untrackTxn(pid, g.name)
		}
	}
}

// dropTxnOffsets forgets the group's pending offsets, for a group being
// removed.
func (g *group) dropTxnOffsets() {
	for pid := range g.txnOffsets {
		g.c.untrackTxn(pid, g.name)
	}
	g.txnOffsets = nil
}

func (c *Coordinator) untrackTxn(producerID int64, name string) {
	names := c.txnGroups[producerID]
	delete(names, name)
	if len(names) == 0 {
		delete(c.txnGroups, producerID)
	}
}

// txnOnlyPartitions calls fn for each partition with a pending
// transactional offset but no committed one.
func (g *group) txnOnlyPartitions(fn func(topic string, partition int32)) {
	seen := make(map[string]map[int32]bool)
	for _, byTopic := range g.txnOffsets {
		for topic, ps := range byTopic {
			for p := range ps {
				if _, ok := g.offset(topic, p); ok || seen[topic][p] {
					continue
				}
				if seen[topic] == nil {
					seen[topic] = make(map[int32]bool)
				}
				seen[topic][p] = true
				fn(topic, p)
			}
		}
	}
}
