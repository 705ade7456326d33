// Package config is Chronik's one key space of broker settings, in Kafka's
// dotted style, loaded from defaults, a properties file, CHRONIK_* environment
// variables and repeated --set key=value flags (later sources win).
//
// Every key lives in one table (keys.go) that holds its name, type, default,
// unit, meaning, whether it is dynamic, and the function that parses, checks
// and writes it into Config. Load, Set, Value, Validate, Keys and WriteHelp
// all read that table, so a key added there is settable, describable and
// documented at once.
package config

import (
	"fmt"
	"time"
)

// Config is the broker's typed configuration. Field comments name the key.
// Durations are whole milliseconds; a negative duration or size means "no
// limit" where the key's meaning says so.
type Config struct {
	Listeners           []string // listeners, e.g. PLAINTEXT://127.0.0.1:9092
	AdvertisedListeners []string // advertised.listeners (default: listeners)
	LogDirs             []string // log.dirs (first one holds data; default ./data)
	NodeID              int32    // node.id
	ClusterID           string   // cluster.id (generated and persisted when empty)

	NumPartitions            int32 // num.partitions
	DefaultReplicationFactor int16 // default.replication.factor
	AutoCreateTopics         bool  // auto.create.topics.enable
	DeleteTopicEnable        bool  // delete.topic.enable

	LogSegmentBytes           int64         // log.segment.bytes
	LogSegmentMs              time.Duration // log.roll.ms (also log.roll.hours)
	LogPreallocate            bool          // log.preallocate
	LogRetention              time.Duration // log.retention.ms (also .minutes, .hours; -1: forever)
	LogRetentionBytes         int64         // log.retention.bytes (-1: unlimited)
	LogRetentionCheckInterval time.Duration // log.retention.check.interval.ms
	// producer.id.expiration.ms and its check interval: idempotent producer
	// state older than this is dropped, so short-lived producers do not
	// pile up in every partition they wrote to.
	ProducerIDExpiration              time.Duration
	ProducerIDExpirationCheckInterval time.Duration
	LogIndexIntervalBytes             int32         // log.index.interval.bytes
	LogFlushIntervalMessages          int64         // log.flush.interval.messages
	LogFlushInterval                  time.Duration // log.flush.interval.ms (-1: never on time, rely on the OS)
	LogFlushPolicy                    string        // log.flush.policy = always|interval|never
	SyncfsMinPartitions               int           // log.flush.syncfs.min.partitions
	WALEnable                         bool          // log.flush.wal.enable
	WALMinPartitions                  int           // log.flush.wal.min.partitions
	WALLightBytesPerSecond            int64         // log.flush.wal.light.bytes.per.second
	WALCheckpointBytes                int64         // log.flush.wal.checkpoint.bytes
	MessageMaxBytes                   int32         // message.max.bytes
	LogMessageTimestampBeforeMaxMs    int64         // log.message.timestamp.before.max.ms
	LogMessageTimestampAfterMaxMs     int64         // log.message.timestamp.after.max.ms

	LogCleanerEnable              bool          // log.cleaner.enable
	LogCleanerIOMaxBytesPerSecond int64         // log.cleaner.io.max.bytes.per.second (per shard)
	LogCleanerDedupeBufferSize    int64         // log.cleaner.dedupe.buffer.size (all shards)
	LogCleanerBackoff             time.Duration // log.cleaner.backoff.ms
	LogCleanerDeleteRetention     time.Duration // log.cleaner.delete.retention.ms
	LogCleanerMinCleanableRatio   float64       // log.cleaner.min.cleanable.ratio
	LogCleanerMinCompactionLag    time.Duration // log.cleaner.min.compaction.lag.ms
	LogCleanerMaxCompactionLag    time.Duration // log.cleaner.max.compaction.lag.ms

	SocketRequestMaxBytes      int32         // socket.request.max.bytes
	FetchMaxBytes              int32         // fetch.max.bytes
	MaxInflightPerConnection   int           // socket.max.inflight.requests
	ConnectionsMaxIdle         time.Duration // connections.max.idle.ms (-1 or 0: never)
	GroupInitialRebalanceDelay time.Duration // group.initial.rebalance.delay.ms

	GroupMinSessionTimeout         time.Duration // group.min.session.timeout.ms
	GroupMaxSessionTimeout         time.Duration // group.max.session.timeout.ms
	GroupMaxSize                   int32         // group.max.size
	GroupConsumerSessionTimeout    time.Duration // group.consumer.session.timeout.ms
	GroupConsumerHeartbeatInterval time.Duration // group.consumer.heartbeat.interval.ms
	GroupConsumerAssignors         []string      // group.consumer.assignors
	OffsetsTopicNumPartitions      int32         // offsets.topic.num.partitions
	TransactionStateNumPartitions  int32         // transaction.state.log.num.partitions
	TransactionStateSegmentBytes   int64         // transaction.state.log.segment.bytes
	TransactionMaxTimeout          time.Duration // transaction.max.timeout.ms
	// transactional.id.expiration.ms and its check interval
	// (transaction.remove.expired.transaction.cleanup.interval.ms).
	TransactionalIDExpiration              time.Duration
	TransactionalIDExpirationCheckInterval time.Duration
	OffsetsTopicSegmentBytes               int64         // offsets.topic.segment.bytes
	OffsetsRetention                       time.Duration // offsets.retention.minutes
	OffsetsRetentionCheckInterval          time.Duration // offsets.retention.check.interval.ms
	OffsetMetadataMaxBytes                 int32         // offset.metadata.max.bytes

	NumShards    int    // num.shards (0 when set: usable CPUs, resolved on set)
	ShardMailbox int    // shard.mailbox.size
	WALIO        string // wal.io = auto|uring|pwrite
	NUMAPolicy   string // numa.policy = node|cpu|none
	Transport    string // net.transport = gnet|std
	// The TLS listeners': ssl.keystore.location and .type (JKS, PKCS12, PEM),
	// ssl.truststore.location and .type, ssl.client.auth =
	// none|requested|required (each may be scoped to one listener).
	SSLKeystoreLocation, SSLKeystoreType     string
	SSLTruststoreLocation, SSLTruststoreType string
	// ssl.keystore.password, ssl.key.password, ssl.truststore.password.
	SSLKeystorePassword, SSLKeyPassword, SSLTruststorePassword string
	SSLClientAuth                                              string
	SASLEnabledMechanisms                                      []string // sasl.enabled.mechanisms
	// ListenerSecurityProtocolMap is listener.security.protocol.map,
	// NAME:PROTOCOL entries.
	ListenerSecurityProtocolMap []string
	// ListenerKeys holds the listener-scoped keys set
	// (listener.name.<name>.<key>, listener_keys.go) by full name. A
	// Config's copies share the map: it is replaced, never changed.
	ListenerKeys map[string]string
	// ScramUsers are the --add-scram users, created at start where the
	// metadata has no credential for them (scram_users.go).
	ScramUsers []ScramUser
	// ControllerListenerNames is controller.listener.names: listeners
	// not bound. KafkaKeys holds the Kafka keys taken and not used
	// (kafka_keys.go), replaced, never changed.
	ControllerListenerNames []string
	KafkaKeys               map[string]string
	MetricsListener         string        // metrics.listener: host:port, empty for none
	IOTimeout               time.Duration // io.timeout.ms: deadline for any one disk or network operation
	FetchMaxWait            time.Duration // fetch.max.wait.cap.ms: cap on a client's MaxWaitMs
	ShutdownGrace           time.Duration // shutdown.timeout.ms
	GCMinHeap               int64         // gc.min.heap.bytes
}

// Defaults returns a Config holding every key's default, built by parsing the
// default strings of the key table so that help output and code agree.
func Defaults() *Config {
	c := new(Config)
	for i := range keyTable {
		k := &keyTable[i]
		if k.synonymOf != "" {
			continue // the main key's default covers it
		}
		if err := k.set(c, k.def); err != nil {
			panic(fmt.Sprintf("config: default of %s=%q is invalid: %v", k.name, k.def, err))
		}
	}
	return c
}

// Set parses and checks value for key and writes it into c. It does not
// consult Dynamic: deciding whether a key may change at runtime is the
// caller's business (IncrementalAlterConfigs). The error names the key.
func (c *Config) Set(key, value string) error {
	k := lookupKey(key)
	if k == nil {
		return fmt.Errorf("config: unknown key %q%s", key, suggestion(key))
	}
	if err := k.set(c, value); err != nil {
		return fmt.Errorf("config: %s=%s: %w", key, shown(key, value), err)
	}
	return nil
}

// Value returns key's current value in the form Set and the properties file
// accept (lists comma-joined, durations in the key's unit, -1 for "none").
// The bool is false for an unknown key.
func (c *Config) Value(key string) (string, bool) {
	k := lookupKey(key)
	if k == nil {
		return "", false
	}
	return k.get(c), true
}

// Validate checks every field of a Config built or changed in code against
// the same rules Load applies, and reports the first key that breaks them.
func (c *Config) Validate() error {
	for i := range keyTable {
		k := &keyTable[i]
		if k.synonymOf != "" {
			continue
		}
		scratch := *c
		v := k.get(c)
		if err := k.set(&scratch, v); err != nil {
			return fmt.Errorf("config: %s=%s: %w", k.name, shown(k.name, v), err)
		}
	}
	for _, name := range c.listenerKeyNames() {
		k := listenerKey(name)
		if k == nil || k.name != name {
			return fmt.Errorf("config: %s is not a listener-scoped key as Set writes one (listener.name.<name in lower case>.<key>)", name)
		}
		scratch := *c
		if err := k.set(&scratch, c.ListenerKeys[name]); err != nil {
			return fmt.Errorf("config: %s=%s: %w", name, shown(name, c.ListenerKeys[name]), err)
		}
	}
	// The listener keys name each other.
	_, err := c.ListenerSpecs()
	return err
}
