package group

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record is one key/value of __consumer_offsets; a nil Value is a tombstone.
type Record struct {
	Key, Value []byte
}

// Key versions name the record type, as in Kafka.
const (
	keyOffsetCommitV0         = 0
	keyOffsetCommit           = 1
	keyGroupMetadata          = 2
	keyConsumerGroupMetadata  = 3
	offsetCommitValueVersion  = 4
	groupMetadataValueVersion = 3
)

// Commit is one committed offset. TopicID is the id the topic had when the
// offset was committed, so a deleted and re-created topic does not inherit
// it; zero for records from before Kafka 4.1's value v4.
type Commit struct {
	Offset      int64
	LeaderEpoch int32
	Metadata    string
	CommitTime  time.Time
	TopicID     [16]byte

	// seq orders the commit's record among the offset records of its
	// coordinator's partition, as Kafka's record offset does: counted up
	// for every offset record written or replayed, so it follows the
	// log's order. When a transaction commits, its offsets replace only
	// commits whose records came before theirs.
	seq uint64
}

func offsetCommitRecord(group, topic string, partition int32, c Commit) Record {
	k := kmsg.OffsetCommitKey{Version: keyOffsetCommit, Group: group, Topic: topic, Partition: partition}
	v := kmsg.OffsetCommitValue{
		Version:         offsetCommitValueVersion,
		Offset:          c.Offset,
		LeaderEpoch:     c.LeaderEpoch,
		Metadata:        c.Metadata,
		CommitTimestamp: c.CommitTime.UnixMilli(),
		TopicID:         c.TopicID,
	}
	return Record{Key: k.AppendTo(nil), Value: v.AppendTo(nil)}
}

func offsetTombstone(group, topic string, partition int32) Record {
	k := kmsg.OffsetCommitKey{Version: keyOffsetCommit, Group: group, Topic: topic, Partition: partition}
	return Record{Key: k.AppendTo(nil)}
}

func groupMetadataRecord(group string, v *kmsg.GroupMetadataValue) Record {
	k := kmsg.GroupMetadataKey{Version: keyGroupMetadata, Group: group}
	v.Version = groupMetadataValueVersion
	return Record{Key: k.AppendTo(nil), Value: v.AppendTo(nil)}
}

func groupTombstone(group string) Record {
	k := kmsg.GroupMetadataKey{Version: keyGroupMetadata, Group: group}
	return Record{Key: k.AppendTo(nil)}
}

// consumerGroupRecord is Kafka's ConsumerGroupMetadata record: the group
// epoch of a KIP-848 group. Its key has the GroupMetadataKey layout; its
// value is flexible: version, epoch, empty tagged fields.
func consumerGroupRecord(group string, epoch int32) Record {
	k := kmsg.GroupMetadataKey{Version: keyConsumerGroupMetadata, Group: group}
	v := binary.BigEndian.AppendUint16(nil, 0)
	v = binary.BigEndian.AppendUint32(v, uint32(epoch))
	v = binary.AppendUvarint(v, 0)
	return Record{Key: k.AppendTo(nil), Value: v}
}

func consumerGroupTombstone(group string) Record {
	k := kmsg.GroupMetadataKey{Version: keyConsumerGroupMetadata, Group: group}
	return Record{Key: k.AppendTo(nil)}
}

// recordKind is what a decoded record describes.
type recordKind int8

const (
	recordIgnored recordKind = iota // a Kafka record type Chronik does not keep
	recordOffset
	recordGroup
	recordConsumerGroup
	recordConsumerState  // consumer_persist.go
	recordConsumerMember // consumer_persist.go
)

// decodedRecord is one replayed record.
type decodedRecord struct {
	kind      recordKind
	group     string
	topic     string
	partition int32
	tombstone bool
	commit    Commit
	meta      *kmsg.GroupMetadataValue
	epoch     int32
	member    string // a consumer group member record's member id
	value     []byte // a consumer group state or member record's value
}

var errShortRecord = errors.New("record shorter than its version")

func decodeRecord(key, value []byte) (decodedRecord, error) {
	var d decodedRecord
	if len(key) < 2 {
		return d, fmt.Errorf("key: %w", errShortRecord)
	}
	d.tombstone = value == nil
	switch version := int16(binary.BigEndian.Uint16(key)); version {
	case keyOffsetCommitV0, keyOffsetCommit:
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(key); err != nil {
			return d, fmt.Errorf("offset commit key: %w", err)
		}
		d.kind, d.group, d.topic, d.partition = recordOffset, k.Group, k.Topic, k.Partition
		if d.tombstone {
			return d, nil
		}
		var v kmsg.OffsetCommitValue
		if err := v.ReadFrom(value); err != nil {
			return d, fmt.Errorf("offset commit value of %s/%s/%d: %w", k.Group, k.Topic, k.Partition, err)
		}
		d.commit = Commit{Offset: v.Offset, LeaderEpoch: v.LeaderEpoch, Metadata: v.Metadata, CommitTime: time.UnixMilli(v.CommitTimestamp), TopicID: v.TopicID}
		if v.Version < 3 {
			d.commit.LeaderEpoch = -1
		}
	case keyGroupMetadata:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(key); err != nil {
			return d, fmt.Errorf("group metadata key: %w", err)
		}
		d.kind, d.group = recordGroup, k.Group
		if d.tombstone {
			return d, nil
		}
		v := new(kmsg.GroupMetadataValue)
		if err := v.ReadFrom(value); err != nil {
			return d, fmt.Errorf("group metadata value of %s: %w", k.Group, err)
		}
		d.meta = v
	case keyConsumerGroupMetadata:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(key); err != nil {
			return d, fmt.Errorf("consumer group metadata key: %w", err)
		}
		d.kind, d.group = recordConsumerGroup, k.Group
		if d.tombstone {
			return d, nil
		}
		if len(value) < 6 {
			return d, fmt.Errorf("consumer group metadata value of %s: %w", k.Group, errShortRecord)
		}
		d.epoch = int32(binary.BigEndian.Uint32(value[2:]))
	case keyConsumerGroupState:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(key); err != nil {
			return d, fmt.Errorf("consumer group state key: %w", err)
		}
		d.kind, d.group, d.value = recordConsumerState, k.Group, value
	case keyConsumerGroupMember:
		group, member, err := decodeConsumerMemberKey(key)
		if err != nil {
			return d, fmt.Errorf("consumer group member key: %w", err)
		}
		d.kind, d.group, d.member, d.value = recordConsumerMember, group, member, value
	}
	return d, nil
}
