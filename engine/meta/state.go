package meta

import (
	"fmt"
	"maps"
	"math"
	"strings"
)

// State is the metadata state machine. It applies batches of Ops in log order
// and publishes immutable Snapshots: changes since the last published Snapshot
// live in a draft whose maps are private copies, so many entries applied
// between two publishes cost one map copy, and a published Snapshot (its maps,
// topics and partition slices) is never written again.
//
// Apply is deterministic: the same Snapshot and the same Ops give the same
// results and the same next Snapshot on every replica. A State belongs to one
// goroutine (the raft apply loop); its Snapshots may be shared freely.
type State struct {
	published *Snapshot

	// The draft. A nil map means "unchanged since published".
	topics  map[string]*Topic
	brokers map[int32]Broker
	// brokerConfigs is the draft of Snapshot.BrokerConfigs; its inner maps
	// are replaced, never written.
	brokerConfigs map[string]map[string]string
	// scram is the draft of Snapshot.ScramCredentials; its inner maps are
	// replaced, never written.
	scram map[string]map[string]ScramCredential
	// owned names the draft topics allocated since the last publish; only
	// those may be changed in place.
	owned map[string]bool

	nextProducerID int64
	controllerID   int32
	applied        uint64
	dirty          bool
}

// NewState starts a state machine from base (nil: an empty cluster with no
// controller). base is treated as immutable.
func NewState(base *Snapshot) *State {
	s := Snapshot{ControllerID: -1}
	if base != nil {
		s = *base
	}
	if s.Brokers == nil {
		s.Brokers = map[int32]Broker{}
	}
	if s.Topics == nil {
		s.Topics = map[string]*Topic{}
	}
	return &State{
		published:      &s,
		nextProducerID: s.NextProducerID,
		controllerID:   s.ControllerID,
		applied:        s.AppliedIndex,
	}
}

// Apply applies one committed batch at raft index index and returns one
// result per op. Each op is all-or-nothing: it is checked completely before it
// changes anything, and a failed op leaves the state as it was without
// stopping the ops after it. The change becomes visible at the next Snapshot.
func (s *State) Apply(index uint64, ops []Op) []OpResult {
	results := make([]OpResult, len(ops))
	for i := range ops {
		results[i] = s.apply(&ops[i])
	}
	s.applied = index
	s.dirty = true
	return results
}

// SetController records the current controller (the raft leader; -1 when
// none). It is local knowledge, not a replicated change.
func (s *State) SetController(id int32) {
	if id != s.controllerID {
		s.controllerID = id
		s.dirty = true
	}
}

// Snapshot publishes the changes applied so far as a new immutable Snapshot,
// or returns the last one when nothing changed.
func (s *State) Snapshot() *Snapshot {
	if !s.dirty {
		return s.published
	}
	snap := &Snapshot{
		ClusterID:      s.published.ClusterID,
		ControllerID:   s.controllerID,
		Brokers:        s.published.Brokers,
		Topics:         s.published.Topics,
		NextProducerID: s.nextProducerID,
		AppliedIndex:   s.applied,
	}
	if s.topics != nil {
		snap.Topics = s.topics
	}
	if s.brokers != nil {
		snap.Brokers = s.brokers
	}
	snap.BrokerConfigs = s.published.BrokerConfigs
	if s.brokerConfigs != nil {
		snap.BrokerConfigs = s.brokerConfigs
	}
	snap.ScramCredentials = s.published.ScramCredentials
	if s.scram != nil {
		snap.ScramCredentials = s.scram
	}
	s.published = snap
	s.topics, s.brokers, s.owned, s.brokerConfigs, s.scram = nil, nil, nil, nil, nil
	s.dirty = false
	return snap
}

func (s *State) apply(op *Op) OpResult {
	var err error
	switch op.Kind {
	case OpRegisterBroker:
		err = s.registerBroker(op.Broker)
	case OpCreateTopics:
		err = s.createTopics(op.Topics, op.RefuseCollisions)
	case OpDeleteTopics:
		err = s.deleteTopics(op.Names)
	case OpCreatePartitions:
		err = s.createPartitions(op)
	case OpAlterTopicConfig:
		err = s.alterTopicConfig(op)
	case OpAlterBrokerConfig:
		err = s.alterBrokerConfig(op)
	case OpAllocateProducerIDs:
		return s.allocateProducerIDs(op.Count)
	case OpAlterScramCredentials:
		err = s.alterScramCredentials(op)
	default:
		err = fmt.Errorf("op kind %q: %w", op.Kind, ErrInvalidOp)
	}
	return OpResult{Err: err}
}

func (s *State) registerBroker(b *Broker) error {
	if b == nil {
		return fmt.Errorf("register broker: no broker given: %w", ErrInvalidOp)
	}
	if b.NodeID < 0 {
		return fmt.Errorf("register broker: node id %d: %w", b.NodeID, ErrInvalidOp)
	}
	s.mutBrokers()[b.NodeID] = *b
	return nil
}

func (s *State) createTopics(topics []Topic, refuseCollisions bool) error {
	if len(topics) == 0 {
		return fmt.Errorf("create topics: no topics given: %w", ErrInvalidOp)
	}
	names := make(map[string]bool, len(topics))
	ids := make(map[TopicID]string, len(topics))
	// Collisions are checked here, where creates apply one at a time, so
	// that two requests racing with colliding names cannot both succeed.
	// Only a name with '.' or '_' can collide with another.
	var collide map[string]string
	for i := range topics {
		if refuseCollisions && strings.ContainsAny(topics[i].Name, "._") {
			collide = make(map[string]string, len(s.currentTopics())+len(topics))
			for name := range s.currentTopics() {
				collide[CollisionName(name)] = name
			}
			break
		}
	}
	for i := range topics {
		t := &topics[i]
		if t.Name == "" {
			return fmt.Errorf("create topic: empty name: %w", ErrInvalidOp)
		}
		if collide != nil {
			if other, ok := collide[CollisionName(t.Name)]; ok && other != t.Name {
				return fmt.Errorf("create topic %q: collides with %q: %w", t.Name, other, ErrTopicCollision)
			}
			collide[CollisionName(t.Name)] = t.Name
		}
		if t.ID == (TopicID{}) {
			return fmt.Errorf("create topic %q: zero topic id: %w", t.Name, ErrInvalidOp)
		}
		if _, ok := s.topic(t.Name); ok || names[t.Name] {
			return fmt.Errorf("create topic %q: %w", t.Name, ErrTopicExists)
		}
		if other, ok := ids[t.ID]; ok {
			return fmt.Errorf("create topic %q: id %x also given to %q: %w", t.Name, t.ID[:], other, ErrTopicExists)
		}
		if other, ok := s.topicNameWithID(t.ID); ok {
			return fmt.Errorf("create topic %q: id %x already used by %q: %w", t.Name, t.ID[:], other, ErrTopicExists)
		}
		if len(t.Partitions) == 0 {
			return fmt.Errorf("create topic %q: no partitions: %w", t.Name, ErrInvalidPartitions)
		}
		if err := s.checkPlacement(t.Name, 0, t.Partitions); err != nil {
			return fmt.Errorf("create topic %q: %w", t.Name, err)
		}
		names[t.Name] = true
		ids[t.ID] = t.Name
	}
	dst := s.mutTopics()
	for i := range topics {
		t := cloneTopic(&topics[i])
		dst[t.Name] = t
		s.owned[t.Name] = true
	}
	return nil
}

// CollisionName is a topic name with '.' taken as '_': two names with the
// same CollisionName collide in Kafka (metric names cannot tell them apart).
func CollisionName(name string) string { return strings.ReplaceAll(name, ".", "_") }

// currentTopics is the draft's topics, or the published ones when the
// draft has not touched them.
func (s *State) currentTopics() map[string]*Topic {
	if s.topics != nil {
		return s.topics
	}
	return s.published.Topics
}

func (s *State) deleteTopics(names []string) error {
	if len(names) == 0 {
		return fmt.Errorf("delete topics: no names given: %w", ErrInvalidOp)
	}
	for _, name := range names {
		if _, ok := s.topic(name); !ok {
			return fmt.Errorf("delete topic %q: %w", name, ErrUnknownTopic)
		}
	}
	dst := s.mutTopics()
	for _, name := range names {
		delete(dst, name)
		delete(s.owned, name)
	}
	return nil
}

func (s *State) createPartitions(op *Op) error {
	if len(op.Names) != 1 {
		return fmt.Errorf("create partitions: want one topic name, got %d: %w", len(op.Names), ErrInvalidOp)
	}
	name := op.Names[0]
	t, ok := s.topic(name)
	if !ok {
		return fmt.Errorf("create partitions for %q: %w", name, ErrUnknownTopic)
	}
	current := len(t.Partitions)
	if op.Before > 0 && current != op.Before || op.BeforeID != (TopicID{}) && t.ID != op.BeforeID {
		return fmt.Errorf("create partitions for %q: the topic changed since the request was checked (now %d partitions): %w",
			name, current, ErrInvalidPartitions)
	}
	if len(op.NewPartitions) == 0 {
		return fmt.Errorf("create partitions for %q: new count %d must exceed the current %d: %w",
			name, current, current, ErrInvalidPartitions)
	}
	if err := s.checkPlacement(name, current, op.NewPartitions); err != nil {
		return fmt.Errorf("create partitions for %q: %w", name, err)
	}
	mt := s.mutTopic(name)
	for i := range op.NewPartitions {
		mt.Partitions = append(mt.Partitions, clonePartition(op.NewPartitions[i]))
	}
	return nil
}

func (s *State) alterTopicConfig(op *Op) error {
	if len(op.Names) != 1 {
		return fmt.Errorf("alter topic config: want one topic name, got %d: %w", len(op.Names), ErrInvalidOp)
	}
	name := op.Names[0]
	t, ok := s.topic(name)
	if !ok {
		return fmt.Errorf("alter config of topic %q: %w", name, ErrUnknownTopic)
	}
	for k := range op.Set {
		if k == "" {
			return fmt.Errorf("alter config of topic %q: empty key: %w", name, ErrInvalidOp)
		}
	}
	configs := make(map[string]string, len(t.Configs)+len(op.Set))
	if !op.Replace {
		maps.Copy(configs, t.Configs)
	}
	maps.Copy(configs, op.Set)
	for _, k := range op.Delete {
		delete(configs, k)
	}
	if len(configs) == 0 {
		configs = nil
	}
	s.mutTopic(name).Configs = configs
	return nil
}

func (s *State) alterBrokerConfig(op *Op) error {
	if len(op.Names) != 1 {
		return fmt.Errorf("alter broker config: want one resource name, got %d: %w", len(op.Names), ErrInvalidOp)
	}
	name := op.Names[0]
	for k := range op.Set {
		if k == "" {
			return fmt.Errorf("alter config of broker resource %q: empty key: %w", name, ErrInvalidOp)
		}
	}
	if s.brokerConfigs == nil {
		s.brokerConfigs = maps.Clone(s.published.BrokerConfigs)
		if s.brokerConfigs == nil {
			s.brokerConfigs = map[string]map[string]string{}
		}
	}
	configs := make(map[string]string, len(s.brokerConfigs[name])+len(op.Set))
	if !op.Replace {
		maps.Copy(configs, s.brokerConfigs[name])
	}
	maps.Copy(configs, op.Set)
	for _, k := range op.Delete {
		delete(configs, k)
	}
	if len(configs) == 0 {
		delete(s.brokerConfigs, name)
	} else {
		s.brokerConfigs[name] = configs
	}
	return nil
}

func (s *State) alterScramCredentials(op *Op) error {
	if len(op.Names) != 1 || op.Names[0] == "" || len(op.Scram) == 0 {
		return fmt.Errorf("alter SCRAM credentials: want one user and at least one change: %w", ErrInvalidOp)
	}
	user := op.Names[0]
	if s.scram == nil {
		s.scram = maps.Clone(s.published.ScramCredentials)
		if s.scram == nil {
			s.scram = map[string]map[string]ScramCredential{}
		}
	}
	creds := maps.Clone(s.scram[user])
	if creds == nil {
		creds = map[string]ScramCredential{}
	}
	for _, c := range op.Scram {
		if c.Credential == nil {
			if _, ok := creds[c.Mechanism]; !ok {
				return fmt.Errorf("delete %s credential of user %q: %w", c.Mechanism, user, ErrNotFound)
			}
			delete(creds, c.Mechanism)
			continue
		}
		creds[c.Mechanism] = *c.Credential
	}
	if len(creds) == 0 {
		delete(s.scram, user)
	} else {
		s.scram[user] = creds
	}
	return nil
}

func (s *State) allocateProducerIDs(count int64) OpResult {
	if count <= 0 {
		return OpResult{Err: fmt.Errorf("allocate producer ids: count %d: %w", count, ErrInvalidOp)}
	}
	first := s.nextProducerID
	if first > math.MaxInt64-count {
		return OpResult{Err: fmt.Errorf("allocate %d producer ids from %d: id space exhausted: %w", count, first, ErrInvalidOp)}
	}
	s.nextProducerID = first + count
	return OpResult{FirstProducerID: first}
}

// checkPlacement checks that every broker the partitions name is registered;
// first is the number of the first partition, for the error message.
func (s *State) checkPlacement(topic string, first int, parts []Partition) error {
	for i := range parts {
		p := &parts[i]
		if p.Leader >= 0 && !s.hasBroker(p.Leader) {
			return fmt.Errorf("partition %d: leader %d: %w", first+i, p.Leader, ErrUnknownBroker)
		}
		for _, id := range p.Replicas {
			if !s.hasBroker(id) {
				return fmt.Errorf("partition %d: replica %d: %w", first+i, id, ErrUnknownBroker)
			}
		}
		for _, id := range p.ISR {
			if !s.hasBroker(id) {
				return fmt.Errorf("partition %d: in-sync replica %d: %w", first+i, id, ErrUnknownBroker)
			}
		}
	}
	return nil
}

func (s *State) topic(name string) (*Topic, bool) {
	m := s.topics
	if m == nil {
		m = s.published.Topics
	}
	t, ok := m[name]
	return t, ok
}

func (s *State) topicNameWithID(id TopicID) (string, bool) {
	m := s.topics
	if m == nil {
		m = s.published.Topics
	}
	for name, t := range m {
		if t.ID == id {
			return name, true
		}
	}
	return "", false
}

func (s *State) hasBroker(id int32) bool {
	m := s.brokers
	if m == nil {
		m = s.published.Brokers
	}
	_, ok := m[id]
	return ok
}

func (s *State) mutTopics() map[string]*Topic {
	if s.topics == nil {
		s.topics = maps.Clone(s.published.Topics)
		s.owned = map[string]bool{}
	}
	return s.topics
}

func (s *State) mutBrokers() map[int32]Broker {
	if s.brokers == nil {
		s.brokers = maps.Clone(s.published.Brokers)
	}
	return s.brokers
}

// mutTopic returns the draft's own copy of an existing topic, copying it on
// first change so the published one stays untouched.
func (s *State) mutTopic(name string) *Topic {
	dst := s.mutTopics()
	if s.owned[name] {
		return dst[name]
	}
	t := cloneTopic(dst[name])
	dst[name] = t
	s.owned[name] = true
	return t
}

// cloneTopic copies t deeply enough that appending partitions to or replacing
// configs of the copy never touches t.
func cloneTopic(t *Topic) *Topic {
	c := *t
	c.Partitions = make([]Partition, len(t.Partitions))
	for i := range t.Partitions {
		c.Partitions[i] = clonePartition(t.Partitions[i])
	}
	c.Configs = maps.Clone(t.Configs)
	return &c
}

func clonePartition(p Partition) Partition {
	p.Replicas = append([]int32(nil), p.Replicas...)
	p.ISR = append([]int32(nil), p.ISR...)
	return p
}
