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

// A KIP-848 group's state is kept in records of Chronik's own, so that a
// restarted coordinator takes its members back where they were instead of
// fencing every one (each would lose its partitions and join again), as
// Kafka's does. As in Kafka (key versions 5-8) a member has a record of its
// own, rewritten only when that member changed, and the group one for its
// epochs, assignor and metadata hash: a heartbeat writes what it changed,
// not the group (a whole-group record rewritten at each reconciliation step
// wrote 34 MB to __consumer_offsets for one member joining 100 members over
// 10,000 partitions). A heartbeat's records go in one append, with the
// epoch record, so a replay never sees half of them.

// Key versions of the records: far above Kafka's record types, which older
// Chronik builds skip as unknown.
const (
	keyConsumerGroupState  = 0x4348 // GroupMetadataKey layout
	keyConsumerGroupMember = 0x4349 // version, group, member id
)

const consumerRecordValueVersion = 0

func consumerStateRecord(group string, value []byte) Record {
	k := kmsg.GroupMetadataKey{Version: keyConsumerGroupState, Group: group}
	return Record{Key: k.AppendTo(nil), Value: value}
}

func consumerStateTombstone(group string) Record {
	return consumerStateRecord(group, nil)
}

func consumerMemberKey(group, member string) []byte {
	b := binary.BigEndian.AppendUint16(nil, keyConsumerGroupMember)
	b = appendInt16String(b, group)
	return appendInt16String(b, member)
}

func appendInt16String(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// decodeConsumerMemberKey reads a member record's group and member id.
func decodeConsumerMemberKey(key []byte) (group, member string, err error) {
	r := recordReader{b: key}
	r.take(2) // the version
	group, member = r.int16String(), r.int16String()
	if r.err == nil && len(r.b) > 0 {
		r.fail(errors.New("bytes after the member id"))
	}
	return group, member, r.err
}

// verifyMemberMarks makes persist check that a member no change marked
// would indeed write the same bytes; this package's tests set it, so a
// change that forgot its mark panics there.
var verifyMemberMarks = false

// persist writes what a heartbeat or fence changed, in one append: the
// group epoch, the group's state if it changed, tombstones for members
// gone, and the records of members whose state changed. A member's mark
// (dirty) says it may have changed, since encoding every member of a large
// group at each heartbeat costs too much; a marked member whose encoding is
// unchanged writes nothing. On a failed write everything stays marked for
// the next heartbeat, and the error is returned for this one's answer.
func (cg *consumerGroup) persist() error {
	var recs []Record
	if cg.epochUnwritten {
		recs = append(recs, consumerGroupRecord(cg.g.name, cg.epoch))
	}
	state := cg.encodeState() // a few bytes: compared every time
	if !bytes.Equal(state, cg.stateWritten) {
		recs = append(recs, consumerStateRecord(cg.g.name, state))
	}
	var gone []string
	for id := range cg.removed {
		if cg.members[id] == nil {
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	for _, id := range gone {
		recs = append(recs, Record{Key: consumerMemberKey(cg.g.name, id)})
	}
	type encoded struct {
		m   *consumerMember
		enc []byte
	}
	// Only marked members are encoded (every one under the tests' check),
	// in id order; a heartbeat of a stable member of a large group looks
	// at no other member.
	var ids []string
	for id, m := range cg.members {
		if m.dirty || verifyMemberMarks {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var changed []encoded
	for _, id := range ids {
		m := cg.members[id]
		enc := encodeMember(m)
		if bytes.Equal(enc, m.written) {
			m.dirty = false
			continue
		}
		if !m.dirty {
			panic(fmt.Sprintf("consumer group %s: member %s changed with no mark", cg.g.name, id))
		}
		changed = append(changed, encoded{m, enc})
		recs = append(recs, Record{Key: consumerMemberKey(cg.g.name, id), Value: enc})
	}
	if len(recs) == 0 {
		clear(cg.removed)
		return nil
	}
	if err := cg.g.c.write(recs...); err != nil {
		cg.g.c.log.Error("store consumer group state", "group", cg.g.name, "err", err)
		return err // still marked: the next heartbeat tries again
	}
	cg.epochUnwritten = false
	cg.stateWritten = state
	clear(cg.removed)
	for _, e := range changed {
		e.m.written, e.m.dirty = e.enc, false
	}
	return nil
}

// encodeState is the group record's value: epochs, assignor, metadata hash.
func (cg *consumerGroup) encodeState() []byte {
	b := binary.BigEndian.AppendUint16(nil, consumerRecordValueVersion)
	b = binary.AppendVarint(b, int64(cg.epoch))
	b = binary.AppendVarint(b, int64(cg.assignmentEpoch))
	b = appendString(b, cg.assignor)
	return binary.BigEndian.AppendUint64(b, cg.metaHash)
}

// encodeMember is a member record's value: its identity, subscription,
// epochs and reconciliation state, and its assigned (with the epoch each
// was given at), revoking and target partitions.
func encodeMember(m *consumerMember) []byte {
	b := binary.BigEndian.AppendUint16(nil, consumerRecordValueVersion)
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
	return appendAssignment(b, m.target, nil)
}

// consumerState is a decoded group record.
type consumerState struct {
	epoch, assignmentEpoch int32
	assignor               string
	metaHash               uint64
}

func decodeConsumerState(value []byte) (consumerState, error) {
	r := recordReader{b: value}
	r.version()
	var st consumerState
	st.epoch, st.assignmentEpoch = int32(r.varint()), int32(r.varint())
	st.assignor = r.string()
	st.metaHash = r.uint64()
	r.end()
	if r.err != nil {
		return st, fmt.Errorf("consumer group state value: %w", r.err)
	}
	return st, nil
}

// decodeMember reads a member record's value for member id.
func decodeMember(id string, value []byte) (*consumerMember, error) {
	r := recordReader{b: value}
	r.version()
	m := &consumerMember{id: id}
	m.instanceID, m.rackID = r.nullableString(), r.nullableString()
	m.clientID, m.clientHost = r.string(), r.string()
	m.rebalanceTimeout = time.Duration(r.varint()) * time.Millisecond
	m.epoch, m.prevEpoch = int32(r.varint()), int32(r.varint())
	state, left := r.byte(), r.byte()
	if r.err == nil && (state > byte(memberUnreleased) || left > 1) {
		r.fail(fmt.Errorf("member state %d, left %d", state, left))
	}
	m.state, m.left = memberState(state), left == 1
	for range r.count() {
		m.topics = append(m.topics, r.string())
	}
	src := r.string()
	m.assignor = r.string()
	m.assignedAt = make(map[topicPartition]int32)
	m.assigned = r.assignment(func(tp topicPartition, at int64) { m.assignedAt[tp] = int32(at) })
	m.revoking, m.target = r.assignment(nil), r.assignment(nil)
	r.end()
	if r.err != nil {
		return nil, fmt.Errorf("consumer group member %s value: %w", id, r.err)
	}
	if src != "" {
		re, err := compileSubscription(src)
		if err != nil {
			return nil, fmt.Errorf("consumer group member %s: %w", id, err)
		}
		m.regex, m.regexSource = re, src
	}
	m.written = slices.Clone(value)
	return m, nil
}

// loaded finishes a replayed group: its members' claims and static ids,
// and their session timers (and rebalance timers for those owing a
// revocation) from the load, as Kafka's coordinator does. Members restored
// under another epoch than the last epoch record's were written by an
// older build that kept only epochs: they are dropped, as that build
// dropped every member at a restart.
func (cg *consumerGroup) loaded() {
	if len(cg.members) > 0 && cg.epoch != cg.stateEpoch {
		cg.g.c.log.Warn("consumer group members predate the group's epoch; they join again",
			"group", cg.g.name, "members", len(cg.members), "epoch", cg.epoch, "members_epoch", cg.stateEpoch)
		for id := range cg.members {
			cg.removed[id] = true
		}
		cg.members = make(map[string]*consumerMember)
		cg.assignmentEpoch = cg.epoch
	}
	cg.static = make(map[string]string)
	cg.owners = make(map[topicPartition]string)
	for _, id := range slices.Sorted(maps.Keys(cg.members)) {
		m := cg.members[id]
		if m.instanceID != nil {
			cg.static[*m.instanceID] = m.id
		}
		cg.claim(m)
		cg.heartbeat(m)
		if m.state == memberUnrevoked && !m.left {
			cg.armRebalance(m)
		}
	}
	cg.metaVersion = 0 // the hash is checked against the topics at the next heartbeat
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

var errRecordShort = errors.New("value ends early")

// recordReader reads a record written here; the first problem sticks in
// err and every later read returns zero values.
type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.b = nil
}

// version checks the value's version.
func (r *recordReader) version() {
	if v := r.uint16(); r.err == nil && v != consumerRecordValueVersion {
		r.fail(fmt.Errorf("value version %d not known", v))
	}
}

// end checks that nothing follows the last field.
func (r *recordReader) end() {
	if r.err == nil && len(r.b) > 0 {
		r.fail(fmt.Errorf("%d bytes after the last field", len(r.b)))
	}
}

func (r *recordReader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.fail(errRecordShort)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *recordReader) byte() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *recordReader) uint16() uint16 {
	if b := r.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *recordReader) uint64() uint64 {
	if b := r.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *recordReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(errRecordShort)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail(errRecordShort)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length, refusing one the rest of the value cannot hold
// (each element takes at least a byte), so a damaged value cannot make a
// huge allocation.
func (r *recordReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail(errRecordShort)
		return 0
	}
	return int(n)
}

func (r *recordReader) string() string {
	return string(r.take(r.count()))
}

func (r *recordReader) int16String() string {
	return string(r.take(int(r.uint16())))
}

func (r *recordReader) nullableString() *string {
	n := r.varint()
	if n < 0 || r.err != nil {
		return nil
	}
	s := string(r.take(int(min(n, int64(len(r.b)+1)))))
	return &s
}

func (r *recordReader) assignment(at func(topicPartition, int64)) assignment {
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
			if r.err == nil && p > 1<<31-1 {
				r.fail(fmt.Errorf("partition %d", p))
			}
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
