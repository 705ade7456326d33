package engine

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/chronik-go/chronik/engine/meta"
)

// maxTopicNameLen is Kafka's limit: 255 minus room for partition and suffixes
// in the directory name.
const maxTopicNameLen = 249

var errInvalidTopicName = errors.New("invalid topic name")

// validTopicName applies Kafka's rule: 1-249 chars of [a-zA-Z0-9._-], not "." or "..".
func validTopicName(name string) error {
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("%w %q", errInvalidTopicName, name)
	}
	if len(name) > maxTopicNameLen {
		return fmt.Errorf("%w: longer than %d characters", errInvalidTopicName, maxTopicNameLen)
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("%w %q: character %q not in [a-zA-Z0-9._-]", errInvalidTopicName, name, c)
		}
	}
	return nil
}

// isInternalTopic reports names Kafka reserves: auto-creation never makes
// them, and Metadata and group topic lists treat them as internal whoever
// created them.
func isInternalTopic(name string) bool {
	return name == "__consumer_offsets" || name == "__transaction_state"
}

func newTopicID() meta.TopicID {
	var id meta.TopicID
	for id == (meta.TopicID{}) {
		rand.Read(id[:])
	}
	return id
}

func (b *Broker) newPartitions(n int32) []meta.Partition {
	ps := make([]meta.Partition, n)
	for i := range ps {
		ps[i] = meta.Partition{Leader: b.nodeID, Replicas: []int32{b.nodeID}, ISR: []int32{b.nodeID}}
	}
	return ps
}
