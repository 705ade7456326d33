// Package meta holds the cluster metadata the broker core reads: brokers,
// topics, partitions, leaders and topic configs. It is a deterministic state
// machine changed only by Ops, so the same state can be replicated by raftmeta.
package meta

import "context"

// TopicID is a Kafka topic UUID (KIP-516).
type TopicID [16]byte

// Broker is one registered broker and its advertised listeners.
type Broker struct {
	NodeID int32 `json:"node_id"`
	// Host and Port are the first listener's advertised endpoint, all that
	// registrations before Listeners held.
	Host string `json:"host"`
	Port int32  `json:"port"`
	Rack string `json:"rack,omitempty"`
	// Listeners are the advertised endpoints, one per listener, in the
	// broker's listeners order.
	Listeners []Endpoint `json:"listeners,omitempty"`
}

// Endpoint is where clients of one listener reach a broker.
type Endpoint struct {
	Listener         string `json:"listener"` // its name, upper case
	Host             string `json:"host"`
	Port             int32  `json:"port"`
	SecurityProtocol string `json:"security_protocol"`
}

// Endpoint returns where a client that came through listener reaches the
// broker, as Kafka answers each client with the brokers' endpoints of the
// listener it used; ok is false when the broker has no such listener. A
// broker registered without Listeners, or an unnamed listener (a
// connection made outside the broker's listeners, as tests make), gets
// Host and Port.
func (b Broker) Endpoint(listener string) (host string, port int32, ok bool) {
	if listener == "" || len(b.Listeners) == 0 {
		return b.Host, b.Port, true
	}
	for _, e := range b.Listeners {
		if e.Listener == listener {
			return e.Host, e.Port, true
		}
	}
	return "", 0, false
}

// RackPtr is Rack as the Kafka protocol carries it: null when unset.
func (b Broker) RackPtr() *string {
	if b.Rack == "" {
		return nil
	}
	rack := b.Rack
	return &rack
}

// Partition is one partition's placement.
type Partition struct {
	Leader      int32   `json:"leader"`
	LeaderEpoch int32   `json:"leader_epoch"`
	Replicas    []int32 `json:"replicas"`
	ISR         []int32 `json:"isr"`
}

// Topic is a topic with its partitions (index = partition number) and the
// configs set on it explicitly (defaults come from the broker config).
type Topic struct {
	Name       string            `json:"name"`
	ID         TopicID           `json:"id"`
	Partitions []Partition       `json:"partitions"`
	Configs    map[string]string `json:"configs,omitempty"`
	Internal   bool              `json:"internal,omitempty"`
}

// Snapshot is an immutable view of the metadata at one applied index. Readers
// never mutate it; every change produces a new Snapshot.
type Snapshot struct {
	ClusterID    string            `json:"cluster_id"`
	ControllerID int32             `json:"controller_id"`
	Brokers      map[int32]Broker  `json:"brokers"`
	Topics       map[string]*Topic `json:"topics"`
	// NextProducerID is the first producer id not yet handed out.
	NextProducerID int64 `json:"next_producer_id"`
	// BrokerConfigs are the dynamic broker config overrides by resource
	// name, as Kafka keeps them: "" holds the cluster-wide default, a node
	// id that broker's own. Nil when none were ever set.
	BrokerConfigs map[string]map[string]string `json:"broker_configs,omitempty"`
	// ScramCredentials are the SASL/SCRAM users: user -> mechanism
	// ("SCRAM-SHA-256", "SCRAM-SHA-512") -> credential. Nil when none.
	ScramCredentials map[string]map[string]ScramCredential `json:"scram_credentials,omitempty"`
	// AppliedIndex is the raft index this view reflects.
	AppliedIndex uint64 `json:"applied_index"`
}

// Op kinds.
const (
	OpRegisterBroker   = "register_broker"
	OpCreateTopics     = "create_topics"
	OpDeleteTopics     = "delete_topics"
	OpCreatePartitions = "create_partitions"
	OpAlterTopicConfig = "alter_topic_config"
	// OpAlterBrokerConfig changes the dynamic broker config overrides of
	// resource Names[0] ("" for the cluster default) with Set, Delete and
	// Replace as OpAlterTopicConfig. The proposer checked the keys.
	OpAlterBrokerConfig = "alter_broker_config"
	// OpAllocateProducerIDs reserves Count producer ids; the result's
	// FirstProducerID is the first of the block. Ids never repeat across restarts.
	OpAllocateProducerIDs = "allocate_producer_ids"
	// OpAlterScramCredentials changes the SCRAM credentials of one user,
	// Names[0]: each of Scram sets (Credential) or deletes (nil) the
	// user's credential of one mechanism. Deleting one the user does not
	// have fails the op (ErrNotFound).
	OpAlterScramCredentials = "alter_scram_credentials"
)

// ScramCredential is what a broker keeps of a SCRAM password (RFC 5802):
// never the password, only the salt, the iteration count and the two
// keys derived from the salted password, from which the exchange checks a
// client's proof and proves itself in turn.
type ScramCredential struct {
	Salt       []byte `json:"salt"`
	StoredKey  []byte `json:"stored_key"`
	ServerKey  []byte `json:"server_key"`
	Iterations int32  `json:"iterations"`
}

// ScramChange sets or (Credential nil) deletes one mechanism's credential.
type ScramChange struct {
	Mechanism  string           `json:"mechanism"`
	Credential *ScramCredential `json:"credential,omitempty"`
}

// Op is one metadata change. A batch of Ops is one log entry, applied in order
// and made visible at once; each Op is all-or-nothing on its own, and a failed
// Op does not stop the ones after it (see State.Apply).
type Op struct {
	Kind string `json:"kind"`

	Broker *Broker `json:"broker,omitempty"` // OpRegisterBroker

	// OpCreateTopics: whole topics, IDs and placements chosen by the proposer.
	Topics []Topic `json:"topics,omitempty"`
	// RefuseCollisions makes OpCreateTopics fail (ErrTopicCollision) for a
	// name equal to another's once '.' and '_' are taken alike. A field
	// rather than a rule, so that entries of older builds, which did not
	// ask for it, replay as they applied then.
	RefuseCollisions bool `json:"refuse_collisions,omitempty"`

	// OpDeleteTopics, OpCreatePartitions, OpAlterTopicConfig,
	// OpAlterBrokerConfig.
	Names []string `json:"names,omitempty"`

	// OpCreatePartitions: the new partitions appended to Names[0], and the
	// topic id and partition count the proposer saw; the op fails
	// (ErrInvalidPartitions) if the topic changed in between, so two
	// concurrent requests for the same count cannot both append. Zero
	// values (ops of older builds) skip the check.
	NewPartitions []Partition `json:"new_partitions,omitempty"`
	Before        int         `json:"before,omitempty"`
	BeforeID      TopicID     `json:"before_id,omitzero"`

	// OpAlterTopicConfig: Set replaces the values of these keys; Delete
	// removes keys (back to the default); Replace=true drops all other keys first
	// (AlterConfigs semantics) for topic Names[0].
	Set     map[string]string `json:"set,omitempty"`
	Delete  []string          `json:"delete,omitempty"`
	Replace bool              `json:"replace,omitempty"`

	Count int64 `json:"count,omitempty"` // OpAllocateProducerIDs

	Scram []ScramChange `json:"scram,omitempty"` // OpAlterScramCredentials
}

// OpResult is the outcome of one Op of a batch: nil or an error a Kafka handler
// maps to a code (ErrTopicExists, ErrUnknownTopic, ErrInvalidPartitions,
// ErrUnknownBroker, ErrInvalidOp; test with errors.Is).
type OpResult struct {
	Err             error
	FirstProducerID int64 // OpAllocateProducerIDs
}

// Store is the replicated metadata the engine reads and changes. raftmeta
// implements it over an etcd-raft group.
type Store interface {
	// Propose applies the ops atomically once committed and returns one result
	// per op. It returns an error only when the batch could not be committed.
	Propose(ctx context.Context, ops []Op) ([]OpResult, error)
	// Current returns the latest applied snapshot without blocking.
	Current() *Snapshot
	// Watch returns a channel that receives every new snapshot after it is
	// applied (the latest one wins if the receiver is slow) and a cancel func.
	Watch() (<-chan *Snapshot, func())
	Close() error
}
