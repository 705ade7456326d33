package group

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// A KIP-848 group's members are kept in a record of Chronik's own, written
// whole after each heartbeat or fence that changed them, so that a
// restarted coordinator takes its members back where they were instead of
// fencing every one (each would lose its partitions and join again). Kafka
// splits the same state over per-member records (key versions 5-8); one
// record per group keeps the replay's order trivial, as the classic
// protocol's GroupMetadata record does, and a heartbeat that changed
// nothing writes nothing.

// keyConsumerGroupMembers is the snapshot's key version: far above Kafka's
// record types, which older Chronik builds skip as unknown.
const keyConsumerGroupMembers = 0x4348

const consumerMembersValueVersion = 0

func consumerMembersRecord(group string, value []byte) Record {
	k := kmsg.GroupMetadataKey{Version: keyConsumerGroupMembers, Group: group}
	return Record{Key: k.AppendTo(nil), Value: value}
}

func consumerMembersTombstone(group string) Record {
	k := kmsg.GroupMetadataKey{Version: keyConsumerGroupMembers, Group: group}
	return Record{Key: k.AppendTo(nil)}
}

// verifyCleanSnapshots makes persist check that a group with no change
// marked (membersDirty) would indeed write the same snapshot; this
// package's tests set it, so a change that forgot its mark panics there.
var verifyCleanSnapshots = false

// persist writes what a heartbeat or fence changed: the group epoch first,
// then the members' snapshot if a change was marked and it differs from the
// last one written. Encoding a 10,000-partition group takes about 0.5 ms,
// too much for every heartbeat of a stable member (BenchmarkEncodeMembers).
func (cg *consumerGroup) persist() {
	cg.flushEpoch()
	if !cg.membersDirty {
		if verifyCleanSnapshots && !bytes.Equal(cg.encodeMembers(), cg.membersWritten) {
			panic(fmt.Sprintf("consumer group %s changed with no mark for its snapshot", cg.g.name))
		}
		return
	}
	snap := cg.encodeMembers()
	if bytes.Equal(snap, cg.membersWritten) {
		cg.membersDirty = false
		return
	}
	if err := cg.g.c.write(consumerMembersRecord(cg.g.name, snap)); err != nil {
		cg.g.c.log.Error("store consumer group members", "group", cg.g.name, "err", err)
		return // still dirty: the next heartbeat tries again
	}
	cg.membersWritten, cg.membersDirty = snap, false
}

// encodeMembers is the snapshot's value: the group's epochs, assignor and
// metadata hash, then each member (in id order) with its reconciliation
// state and its assigned, revoking and target partitions.
func (cg *consumerGroup) encodeMembers() []byte {
	b := binary.BigEndian.AppendUint16(nil, consumerMembersValueVersion)
	b = binary.AppendVarint(b, int64(cg.epoch))
	b = binary.AppendVarint(b, int64(cg.assignmentEpoch))
	b = appendString(b, cg.assignor)
	b = binary.BigEndian.AppendUint64(b, cg.metaHash)
	b = binary.AppendUvarint(b, uint64(len(cg.members)))
	for _, id := range slices.Sorted(maps.Keys(cg.members)) {
		m := cg.members[id]
		b = appendString(b, m.id)
		b = appendNullableString(b, m.instanceID)
		b = appendNullableString(b, m.rackID)
		b = appendString(b, m.clientID)
		b = appendString(b, m.clientHost)
		b = binary.AppendVarint(b, m.rebalanceTimeout.Milliseconds())
		b = binary.AppendVarint(b, int64(m.epoch))
		b = binary.AppendVarint(b, int64(m.prevEpoch))
		b = append(b, byte(m.state))
		if m.left {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = binary.AppendUvarint(b, uint64(len(m.topics)))
		for _, t := range m.topics {
			b = appendString(b, t)
		}
		b = appendString(b, m.regexSource)
		b = appendString(b, m.assignor)
		b = appendAssignment(b, m.assigned, func(tp topicPartition) int64 { return int64(m.assignedAt[tp]) })
		b = appendAssignment(b, m.revoking, nil)
		b = appendAssignment(b, m.target, nil)
	}
	return b
}

// restoreMembers replaces cg's state with a snapshot's. Timers are armed by
// loaded, once the whole log is read.
func (cg *consumerGroup) restoreMembers(value []byte) error {
	r := snapshotReader{b: value}
	if v := r.uint16(); r.err == nil && v != consumerMembersValueVersion {
		return fmt.Errorf("consumer group members value version %d not known", v)
	}
	epoch, assignmentEpoch := int32(r.varint()), int32(r.varint())
	assignor := r.string()
	metaHash := r.uint64()
	n := r.count()
	members := make(map[string]*consumerMember, n)
	for range n {
		m := &consumerMember{}
		m.id = r.string()
		m.instanceID, m.rackID = r.nullableString(), r.nullableString()
		m.clientID, m.clientHost = r.string(), r.string()
		m.rebalanceTimeout = time.Duration(r.varint()) * time.Millisecond
		m.epoch, m.prevEpoch = int32(r.varint()), int32(r.varint())
		m.state, m.left = memberState(r.byte()), r.byte() == 1
		for range r.count() {
			m.topics = append(m.topics, r.string())
		}
		if src := r.string(); src != "" {
			re, err := compileSubscription(src)
			if err != nil {
				return fmt.Errorf("member %s: %w", m.id, err)
			}
			m.regex, m.regexSource = re, src
		}
		m.assignor = r.string()
		m.assignedAt = make(map[topicPartition]int32)
		m.assigned = r.assignment(func(tp topicPartition, at int64) { m.assignedAt[tp] = int32(at) })
		m.revoking, m.target = r.assignment(nil), r.assignment(nil)
		members[m.id] = m
	}
	if r.err != nil {
		return fmt.Errorf("consumer group members value: %w", r.err)
	}
	cg.stop()
	cg.epoch, cg.assignmentEpoch, cg.assignor, cg.metaHash = epoch, assignmentEpoch, assignor, metaHash
	cg.metaVersion = 0 // the hash is checked against the topics at the next heartbeat
	cg.members = members
	cg.static = make(map[string]string)
	cg.owners = make(map[topicPartition]string)
	for _, m := range members {
		if m.instanceID != nil {
			cg.static[*m.instanceID] = m.id
		}
		cg.claim(m)
	}
	cg.membersWritten, cg.membersDirty = slices.Clone(value), false
	return nil
}

// loaded gives restored members their session timers (and those owing a
// revocation their rebalance timers) from the load, as Kafka does.
func (cg *consumerGroup) loaded() {
	for _, m := range cg.members {
		cg.heartbeat(m)
		if m.state == memberUnrevoked && !m.left {
			cg.armRebalance(m)
		}
	}
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendNullableString(b []byte, s *string) []byte {
	if s == nil {
		return binary.AppendVarint(b, -1)
	}
	b = binary.AppendVarint(b, int64(len(*s)))
	return append(b, *s...)
}

// appendAssignment writes a's topics in id order, each partition as a
// delta from the one before (contiguous ranges take a byte a partition),
// with at's value for each when at is set.
func appendAssignment(b []byte, a assignment, at func(topicPartition) int64) []byte {
	b = binary.AppendUvarint(b, uint64(len(a)))
	for _, id := range sortedIDs(a) {
		b = append(b, id[:]...)
		ps := a[id]
		b = binary.AppendUvarint(b, uint64(len(ps)))
		prev := int64(-1)
		for _, p := range ps {
			b = binary.AppendUvarint(b, uint64(int64(p)-prev))
			prev = int64(p)
			if at != nil {
				b = binary.AppendVarint(b, at(topicPartition{id, p}))
			}
		}
	}
	return b
}

var errSnapshotShort = errors.New("value ends early")

// snapshotReader reads a members snapshot; the first problem sticks in err
// and every later read returns zero values.
type snapshotReader struct {
	b   []byte
	err error
}

func (r *snapshotReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

func (r *snapshotReader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.fail(errSnapshotShort)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *snapshotReader) byte() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *snapshotReader) uint16() uint16 {
	if b := r.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *snapshotReader) uint64() uint64 {
	if b := r.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *snapshotReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(errSnapshotShort)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *snapshotReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail(errSnapshotShort)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length, refusing one the rest of the value cannot hold
// (each element takes at least a byte), so a damaged value cannot make a
// huge allocation.
func (r *snapshotReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail(errSnapshotShort)
		return 0
	}
	return int(n)
}

func (r *snapshotReader) string() string {
	return string(r.take(r.count()))
}

func (r *snapshotReader) nullableString() *string {
	n := r.varint()
	if n < 0 || r.err != nil {
		return nil
	}
	s := string(r.take(int(min(n, int64(len(r.b)+1)))))
	return &s
}

func (r *snapshotReader) assignment(at func(topicPartition, int64)) assignment {
	topics := r.count()
	a := make(assignment, topics)
	for range topics {
		var id [16]byte
		copy(id[:], r.take(16))
		n := r.count()
		ps := make([]int32, 0, n)
		prev := int64(-1)
		for range n {
			p := prev + int64(r.uvarint())
			ps = append(ps, int32(p))
			prev = p
			if at != nil {
				at(topicPartition{id, int32(p)}, r.varint())
			}
		}
		if r.err != nil {
			return a
		}
		a[id] = ps
	}
	return a
}
