package group

import (
	"regexp"
	"time"
)

// memberState is where a consumer-protocol member is in reconciling its
// assignment with the group's target (Kafka's MemberState).
type memberState int8

const (
	// memberStable: the member owns its whole current assignment.
	memberStable memberState = iota
	// memberUnrevoked: the member was asked to give up partitions and has
	// not confirmed yet; it stays at its epoch meanwhile.
	memberUnrevoked
	// memberUnreleased: partitions of its target are still held by other
	// members; it gets them once they are released.
	memberUnreleased
)

// consumerMember is one member of a KIP-848 group.
type consumerMember struct {
	id               string
	instanceID       *string
	rackID           *string
	clientID         string
	clientHost       string
	rebalanceTimeout time.Duration

	epoch     int32
	prevEpoch int32
	state     memberState
	left      bool // a static member that left with epoch -2; keeps its partitions until its session ends

	topics      []string // subscribed topic names, sorted
	regex       *regexp.Regexp
	regexSource string
	assignor    string

	assigned   assignment // partitions the member owns
	revoking   assignment // partitions it was asked to give up
	target     assignment // what the assignor wants it to own
	assignedAt map[topicPartition]int32

	session   *timer
	rebalance *timer // runs while the member owes a revocation

	// dirty marks a change persist has not written; written is the
	// member's record as last written (consumer_persist.go).
	dirty   bool
	written []byte
}

// subscribes reports whether topic is in the member's subscription.
func (m *consumerMember) subscribes(topic string) bool {
	for _, t := range m.topics {
		if t == topic {
			return true
		}
	}
	return m.regex != nil && m.regex.MatchString(topic)
}

// noteAssigned records the epoch at which each owned partition was given
// to the member; an offset commit from an older epoch is still valid for
// partitions it owned then (KIP-1251).
func (m *consumerMember) noteAssigned() {
	at := make(map[topicPartition]int32, m.assigned.count())
	m.assigned.each(func(id [16]byte, p int32) {
		tp := topicPartition{id, p}
		if e, ok := m.assignedAt[tp]; ok {
			at[tp] = e
		} else {
			at[tp] = m.epoch
		}
	})
	m.assignedAt = at
}
