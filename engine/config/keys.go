package config

import (
	"fmt"
	"math"
	"time"
)

// Type is a key's value type, numbered as DescribeConfigs v3+ reports it
// (KIP-569), so the broker can copy it into the response unchanged.
type Type int8

// Kafka's ConfigType codes; Chronik uses the subset below.
const (
	TypeBoolean Type = 1
	TypeString  Type = 2
	TypeInt     Type = 3
	TypeShort   Type = 4
	TypeLong    Type = 5
	TypeDouble  Type = 6
	TypeList    Type = 7
	// TypePassword is a secret: DescribeConfigs reports it sensitive and
	// never its value.
	TypePassword Type = 9
)

func (t Type) String() string {
	switch t {
	case TypeBoolean:
		return "boolean"
	case TypeString:
		return "string"
	case TypeInt:
		return "int"
	case TypeShort:
		return "short"
	case TypeLong:
		return "long"
	case TypeDouble:
		return "double"
	case TypeList:
		return "list"
	case TypePassword:
		return "password"
	}
	return "unknown"
}

// KeyInfo describes one key for help output and DescribeConfigs.
type KeyInfo struct {
	Name    string
	Type    Type
	Default string // as written in a properties file
	Unit    string // "bytes", "ms", "hours", ...; empty for plain counts and names
	Doc     string // one line
	Dynamic bool   // may change at runtime through IncrementalAlterConfigs
	// SynonymOf names the key this one is another unit of (log.retention.hours
	// is a synonym of log.retention.ms); empty for a main key.
	SynonymOf string
}

// key is one row of the registry: what Keys reports plus how to read and
// write the typed field.
type key struct {
	name      string
	typ       Type
	def       string
	unit      string
	doc       string
	dynamic   bool
	synonymOf string
	// rank orders the synonyms of one setting from finest unit (0) to
	// coarsest; when several are set, the finest wins, as in Kafka.
	rank int
	set  func(c *Config, v string) error
	get  func(c *Config) string
}

const maxInt32 = math.MaxInt32

// keyTable is the whole key space, in the order help lists it.
var keyTable = []key{
	// Network and identity.
	{name: "listeners", typ: TypeList, def: "PLAINTEXT://127.0.0.1:9092",
		doc: "addresses to listen on, comma-separated NAME://host:port, each with its own name and port (empty host: all interfaces; port 0: any free port)",
		set: listenersField(func(c *Config) *[]string { return &c.Listeners }, false),
		get: listField(func(c *Config) *[]string { return &c.Listeners })},
	{name: "advertised.listeners", typ: TypeList, def: "",
		doc: "addresses clients are told to use, NAME://host:port for some of the listeners (a listener not named: its own address, a wildcard host replaced by this machine's hostname)",
		set: listenersField(func(c *Config) *[]string { return &c.AdvertisedListeners }, true),
		get: listField(func(c *Config) *[]string { return &c.AdvertisedListeners })},
	{name: "controller.listener.names", typ: TypeList, def: "",
		doc: "listeners that are Kafka's KRaft controller listeners: not bound (Chronik's metadata quorum is in-process), so a Kafka server.properties starts unchanged",
		set: controllerListenersField, get: listField(func(c *Config) *[]string { return &c.ControllerListenerNames })},
	{name: "listener.security.protocol.map", typ: TypeList, def: "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
		doc: "listener name to security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL), comma-separated NAME:PROTOCOL",
		set: protocolMapField, get: listField(func(c *Config) *[]string { return &c.ListenerSecurityProtocolMap })},
	// The TLS listeners', as Kafka names them: the keystore holds the
	// broker's private key and certificate chain, the truststore the CA
	// certificates client certificates are checked against (keystore.go).
	{name: "ssl.keystore.location", typ: TypeString, def: "",
		doc: "the TLS listeners' key store: their private key and certificate chain (JKS, PKCS12 or PEM)",
		set: func(c *Config, v string) error { c.SSLKeystoreLocation = trimmed(v); return nil },
		get: func(c *Config) string { return c.SSLKeystoreLocation }},
	{name: "ssl.keystore.type", typ: TypeString, def: "",
		doc: "format of ssl.keystore.location: JKS, PKCS12 or PEM (empty: read off the file)",
		set: storeTypeField(func(c *Config) *string { return &c.SSLKeystoreType }), get: func(c *Config) string { return c.SSLKeystoreType }},
	{name: "ssl.keystore.password", typ: TypePassword, def: "",
		doc: "password of a JKS or PKCS12 ssl.keystore.location",
		set: func(c *Config, v string) error { c.SSLKeystorePassword = v; return nil },
		get: func(c *Config) string { return c.SSLKeystorePassword }},
	{name: "ssl.key.password", typ: TypePassword, def: "",
		doc: "password of the private key entry in a JKS ssl.keystore.location (empty: ssl.keystore.password)",
		set: func(c *Config, v string) error { c.SSLKeyPassword = v; return nil },
		get: func(c *Config) string { return c.SSLKeyPassword }},
	{name: "ssl.truststore.location", typ: TypeString, def: "",
		doc: "CA certificates that client certificates are verified against, a JKS, PKCS12 or PEM store (empty: the system's)",
		set: func(c *Config, v string) error { c.SSLTruststoreLocation = trimmed(v); return nil },
		get: func(c *Config) string { return c.SSLTruststoreLocation }},
	{name: "ssl.truststore.type", typ: TypeString, def: "",
		doc: "format of ssl.truststore.location: JKS, PKCS12 or PEM (empty: read off the file)",
		set: storeTypeField(func(c *Config) *string { return &c.SSLTruststoreType }), get: func(c *Config) string { return c.SSLTruststoreType }},
	{name: "ssl.truststore.password", typ: TypePassword, def: "",
		doc: "password of a JKS or PKCS12 ssl.truststore.location (a JKS one needs it)",
		set: func(c *Config, v string) error { c.SSLTruststorePassword = v; return nil },
		get: func(c *Config) string { return c.SSLTruststorePassword }},
	{name: "ssl.client.auth", typ: TypeString, def: "none",
		doc: "client certificates on the TLS listeners: none, requested (verified when given) or required",
		set: enumSetter(func(c *Config) *string { return &c.SSLClientAuth }, "none", "requested", "required"),
		get: func(c *Config) string { return c.SSLClientAuth }},
	// SASL on a SASL_PLAINTEXT or SASL_SSL listener: PLAIN, its users in
	// Kafka's JAAS line for the listener.
	{name: "sasl.enabled.mechanisms", typ: TypeList, def: "",
		doc: "SASL mechanisms a SASL listener offers: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (empty: PLAIN)",
		set: saslMechanismsField, get: listField(func(c *Config) *[]string { return &c.SASLEnabledMechanisms })},
	{name: "node.id", typ: TypeInt, def: "1",
		doc: "this broker's id in the cluster",
		set: intSetter(func(c *Config) *int32 { return &c.NodeID }, 0, maxInt32),
		get: intGetter(func(c *Config) *int32 { return &c.NodeID })},
	{name: "cluster.id", typ: TypeString, def: "",
		doc: "cluster id (empty: generated on first start and persisted in the data directory)",
		set: clusterIDField, get: func(c *Config) string { return c.ClusterID }},
	{name: "log.dirs", typ: TypeList, def: "./data",
		doc: "data directories, comma-separated; the first one holds the data",
		set: logDirsField, get: listField(func(c *Config) *[]string { return &c.LogDirs })},

	// Topics.
	{name: "num.partitions", typ: TypeInt, def: "1",
		doc: "partitions of an auto-created topic, and of CreateTopics asking for the default (-1)",
		set: intSetter(func(c *Config) *int32 { return &c.NumPartitions }, 1, maxInt32),
		get: intGetter(func(c *Config) *int32 { return &c.NumPartitions })},
	{name: "default.replication.factor", typ: TypeShort, def: "1",
		doc: "replicas of an auto-created topic, and of CreateTopics asking for the default (-1)",
		set: intSetter(func(c *Config) *int16 { return &c.DefaultReplicationFactor }, 1, math.MaxInt16),
		get: intGetter(func(c *Config) *int16 { return &c.DefaultReplicationFactor })},
	{name: "delete.topic.enable", typ: TypeBoolean, def: "true",
		doc: "let DeleteTopics delete topics (false: TOPIC_DELETION_DISABLED)",
		set: boolSetter(func(c *Config) *bool { return &c.DeleteTopicEnable }),
		get: boolGetter(func(c *Config) *bool { return &c.DeleteTopicEnable })},
	{name: "auto.create.topics.enable", typ: TypeBoolean, def: "true",
		doc: "create an unknown topic when a client's Metadata request allows it",
		set: boolSetter(func(c *Config) *bool { return &c.AutoCreateTopics }),
		get: boolGetter(func(c *Config) *bool { return &c.AutoCreateTopics })},

	// Log segments and retention; these are the broker-wide defaults of topic
	// configs, so they are dynamic as in Kafka.
	{name: "log.segment.bytes", typ: TypeInt, def: "1073741824", unit: "bytes", dynamic: true,
		doc: "roll a new segment when the active one reaches this size",
		set: intSetter(func(c *Config) *int64 { return &c.LogSegmentBytes }, 1024, maxInt32),
		get: intGetter(func(c *Config) *int64 { return &c.LogSegmentBytes })},
	{name: "log.roll.ms", typ: TypeLong, def: "604800000", unit: "ms", dynamic: true,
		doc: "roll a new segment when the active one is this old",
		set: durationSetter(func(c *Config) *time.Duration { return &c.LogSegmentMs }, time.Millisecond, 1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.LogSegmentMs }, time.Millisecond)},
	{name: "log.roll.hours", typ: TypeInt, def: "168", unit: "hours", dynamic: true, synonymOf: "log.roll.ms", rank: 1,
		doc: "log.roll.ms in hours (log.roll.ms wins when both are set)",
		set: durationSetter(func(c *Config) *time.Duration { return &c.LogSegmentMs }, time.Hour, 1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.LogSegmentMs }, time.Hour)},
	// On by default, unlike Kafka (whose preallocate sizes the whole segment
	// file at creation): reserving a busy segment's next blocks made 1 MiB
	// page-cache appends about 11 % faster at the median on ext4 on the
	// 2-core VM (BENCHMARKS.md, "Segment blocks reserved ahead").
	{name: "log.preallocate", typ: TypeBoolean, def: "true", dynamic: true,
		doc: "on ext4, reserve the blocks of a partition's active segment ahead of its writes once it holds 1 MiB (fallocate, at most min(its size, 8 MiB, segment.bytes/8) past its data, freed when the segment rolls or closes, or at the retention check after one with no append): page-cache appends then skip the filesystem's block allocation",
		set: boolSetter(func(c *Config) *bool { return &c.LogPreallocate }),
		get: boolGetter(func(c *Config) *bool { return &c.LogPreallocate })},
	{name: "log.retention.ms", typ: TypeLong, def: "604800000", unit: "ms", dynamic: true,
		doc: "delete segments whose newest record is older than this (-1: keep forever)",
		set: durationSetter(func(c *Config) *time.Duration { return &c.LogRetention }, time.Millisecond, -1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.LogRetention }, time.Millisecond)},
	{name: "log.retention.minutes", typ: TypeInt, def: "10080", unit: "minutes", dynamic: true, synonymOf: "log.retention.ms", rank: 1,
		doc: "log.retention.ms in minutes (log.retention.ms wins when both are set)",
		set: durationSetter(func(c *Config) *time.Duration { return &c.LogRetention }, time.Minute, -1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.LogRetention }, time.Minute)},
	{name: "log.retention.hours", typ: TypeInt, def: "168", unit: "hours", dynamic: true, synonymOf: "log.retention.ms", rank: 2,
		doc: "log.retention.ms in hours (log.retention.ms and .minutes win when set)",
		set: durationSetter(func(c *Config) *time.Duration { return &c.LogRetention }, time.Hour, -1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.LogRetention }, time.Hour)},
	{name: "log.retention.bytes", typ: TypeLong, def: "-1", unit: "bytes", dynamic: true,
		doc: "delete the oldest segments while a partition is larger than this (-1: no size limit)",
		set: intSetter(func(c *Config) *int64 { return &c.LogRetentionBytes }, -1, math.MaxInt64),
		get: intGetter(func(c *Config) *int64 { return &c.LogRetentionBytes })},
	{name: "log.retention.check.interval.ms", typ: TypeLong, def: "300000", unit: "ms",
		doc: "how often retention is enforced (and blocks a quiet partition reserved ahead are freed)",
		set: durationSetter(func(c *Config) *time.Duration { return &c.LogRetentionCheckInterval }, time.Millisecond, 1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.LogRetentionCheckInterval }, time.Millisecond)},
	{name: "log.index.interval.bytes", typ: TypeInt, def: "4096", unit: "bytes", dynamic: true,
		doc: "log bytes between two offset-index entries",
		set: intSetter(func(c *Config) *int32 { return &c.LogIndexIntervalBytes }, 0, maxInt32),
		get: intGetter(func(c *Config) *int32 { return &c.LogIndexIntervalBytes })},
	{name: "log.flush.interval.messages", typ: TypeLong, def: "9223372036854775807", unit: "messages", dynamic: true,
		doc: "fsync a partition after this many messages (default: never by count)",
		set: intSetter(func(c *Config) *int64 { return &c.LogFlushIntervalMessages }, 1, math.MaxInt64),
		get: intGetter(func(c *Config) *int64 { return &c.LogFlushIntervalMessages })},
	// Kafka's default leaves time-based flushing off and relies on the OS page
	// cache plus replication for durability; Chronik keeps that default.
	{name: "log.flush.interval.ms", typ: TypeLong, def: "-1", unit: "ms", dynamic: true,
		doc: "fsync a partition at least this often (-1: never by time; as Kafka, rely on the OS and replication)",
		set: durationSetter(func(c *Config) *time.Duration { return &c.LogFlushInterval }, time.Millisecond, -1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.LogFlushInterval }, time.Millisecond)},
	// "interval" is the default because it is Kafka's behaviour (flush.messages /
	// flush.ms decide, and by default the OS does); "always" makes every
	// acknowledged produce durable on disk at the cost of one fdatasync per
	// partition per shard turn; "never" syncs only on segment roll and shutdown.
	{name: "log.flush.policy", typ: TypeString, def: "interval",
		doc: "when partition logs are fsynced: always (before every produce is acknowledged), interval (log.flush.interval.* / flush.* decide, as Kafka) or never",
		set: enumSetter(func(c *Config) *string { return &c.LogFlushPolicy }, "always", "interval", "never"),
		get: func(c *Config) string { return c.LogFlushPolicy }},
	{name: "log.flush.syncfs.min.partitions", typ: TypeInt, def: "16", unit: "partitions",
		doc: "a shard turn that must sync at least this many partitions issues one syncfs of the data filesystem instead of one fdatasync each (0: never)",
		set: intSetter(func(c *Config) *int { return &c.SyncfsMinPartitions }, 0, maxInt32),
		get: intGetter(func(c *Config) *int { return &c.SyncfsMinPartitions })},
	// Under log.flush.policy=always each shard makes its turns durable with
	// one fdatasync of its write-ahead log, however many partitions they
	// touched, and writes partition files behind (docs/ARCHITECTURE.md).
	{name: "log.flush.wal.enable", typ: TypeBoolean, def: "true",
		doc: "with log.flush.policy=always, make each shard turn durable through the shard's write-ahead log (one fdatasync) and write partition files behind it (Linux only: its checkpoints use syncfs); false syncs every partition file instead",
		set: boolSetter(func(c *Config) *bool { return &c.WALEnable }),
		get: boolGetter(func(c *Config) *bool { return &c.WALEnable })},
	{name: "log.flush.wal.min.partitions", typ: TypeInt, def: "8", unit: "partitions",
		doc: "a shard uses its write-ahead log while its last 64 turns wrote at least this many partitions; below that it syncs partition files directly unless its load is light (log.flush.wal.light.bytes.per.second)",
		set: intSetter(func(c *Config) *int { return &c.WALMinPartitions }, 1, maxInt32),
		get: intGetter(func(c *Config) *int { return &c.WALMinPartitions })},
	{name: "log.flush.wal.light.bytes.per.second", typ: TypeLong, def: "33554432", unit: "bytes per second",
		doc: "a shard also uses its write-ahead log, however few partitions it writes, for the next 64 turns when its last 64 appended less than this many bytes a second; once chosen for this alone it is left only at twice the rate; 0: only log.flush.wal.min.partitions decides",
		set: intSetter(func(c *Config) *int64 { return &c.WALLightBytesPerSecond }, 0, math.MaxInt64),
		get: intGetter(func(c *Config) *int64 { return &c.WALLightBytesPerSecond })},
	{name: "log.flush.wal.checkpoint.bytes", typ: TypeLong, def: "67108864", unit: "bytes",
		doc: "a shard's write-ahead log is checkpointed once it holds this much: staged batches are written, the filesystem synced once, and a new WAL file started",
		set: intSetter(func(c *Config) *int64 { return &c.WALCheckpointBytes }, 1<<16, math.MaxInt64),
		get: intGetter(func(c *Config) *int64 { return &c.WALCheckpointBytes })},
	{name: "message.max.bytes", typ: TypeInt, def: "1048588", unit: "bytes", dynamic: true,
		doc: "largest record batch a partition accepts",
		set: intSetter(func(c *Config) *int32 { return &c.MessageMaxBytes }, 0, maxInt32),
		get: intGetter(func(c *Config) *int32 { return &c.MessageMaxBytes })},
	{name: "log.message.timestamp.before.max.ms", typ: TypeLong, def: "9223372036854775807", unit: "ms", dynamic: true,
		doc: "how far in the past a CreateTime record timestamp may be",
		set: intSetter(func(c *Config) *int64 { return &c.LogMessageTimestampBeforeMaxMs }, 0, math.MaxInt64),
		get: intGetter(func(c *Config) *int64 { return &c.LogMessageTimestampBeforeMaxMs })},
	{name: "log.message.timestamp.after.max.ms", typ: TypeLong, def: "3600000", unit: "ms", dynamic: true,
		doc: "how far in the future a CreateTime record timestamp may be (Kafka 4's default: an hour)",
		set: intSetter(func(c *Config) *int64 { return &c.LogMessageTimestampAfterMaxMs }, 0, math.MaxInt64),
		get: intGetter(func(c *Config) *int64 { return &c.LogMessageTimestampAfterMaxMs })},

	// Log compaction (cleanup.policy=compact). Each shard cleans its own
	// partitions in small steps between its requests; the rate cap keeps the
	// cleaner from raising produce latency.
	{name: "log.cleaner.enable", typ: TypeBoolean, def: "true",
		doc: "run the log cleaner for topics with cleanup.policy=compact",
		set: boolSetter(func(c *Config) *bool { return &c.LogCleanerEnable }),
		get: boolGetter(func(c *Config) *bool { return &c.LogCleanerEnable })},
	{name: "log.cleaner.io.max.bytes.per.second", typ: TypeLong, def: "33554432", unit: "bytes/s",
		doc: "bytes each shard's cleaner reads and writes per second at most",
		set: intSetter(func(c *Config) *int64 { return &c.LogCleanerIOMaxBytesPerSecond }, 1, math.MaxInt64),
		get: intGetter(func(c *Config) *int64 { return &c.LogCleanerIOMaxBytesPerSecond })},
	{name: "log.cleaner.dedupe.buffer.size", typ: TypeLong, def: "134217728", unit: "bytes",
		doc: "memory for the key maps of cleaning passes, shared by the shards",
		set: intSetter(func(c *Config) *int64 { return &c.LogCleanerDedupeBufferSize }, 1<<20, math.MaxInt64),
		get: intGetter(func(c *Config) *int64 { return &c.LogCleanerDedupeBufferSize })},
	{name: "log.cleaner.backoff.ms", typ: TypeLong, def: "15000", unit: "ms",
		doc: "how long a shard's cleaner waits before looking again when no partition needs cleaning",
		set: durationSetter(func(c *Config) *time.Duration { return &c.LogCleanerBackoff }, time.Millisecond, 1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.LogCleanerBackoff }, time.Millisecond)},
	{name: "log.cleaner.delete.retention.ms", typ: TypeLong, def: "86400000", unit: "ms", dynamic: true,
		doc: "how long a tombstone stays after its first cleaning, so that consumers see it",
		set: durationSetter(func(c *Config) *time.Duration { return &c.LogCleanerDeleteRetention }, time.Millisecond, 0),
		get: durationGetter(func(c *Config) *time.Duration { return &c.LogCleanerDeleteRetention }, time.Millisecond)},
	{name: "log.cleaner.min.cleanable.ratio", typ: TypeDouble, def: "0.5", dynamic: true,
		doc: "dirty share of a partition's cleanable bytes that starts a cleaning pass",
		set: ratioSetter(func(c *Config) *float64 { return &c.LogCleanerMinCleanableRatio }),
		get: floatGetter(func(c *Config) *float64 { return &c.LogCleanerMinCleanableRatio })},
	{name: "log.cleaner.min.compaction.lag.ms", typ: TypeLong, def: "0", unit: "ms", dynamic: true,
		doc: "records younger than this are not compacted",
		set: durationSetter(func(c *Config) *time.Duration { return &c.LogCleanerMinCompactionLag }, time.Millisecond, 0),
		get: durationGetter(func(c *Config) *time.Duration { return &c.LogCleanerMinCompactionLag }, time.Millisecond)},
	{name: "log.cleaner.max.compaction.lag.ms", typ: TypeLong, def: "9223372036854775807", unit: "ms", dynamic: true,
		doc: "records older than this are compacted whatever the dirty ratio (compacted topics also roll by it)",
		set: durationSetter(func(c *Config) *time.Duration { return &c.LogCleanerMaxCompactionLag }, time.Millisecond, 1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.LogCleanerMaxCompactionLag }, time.Millisecond)},

	// Requests and groups.
	{name: "socket.request.max.bytes", typ: TypeInt, def: "104857600", unit: "bytes",
		doc: "largest request a client may send; a bigger size prefix closes the connection",
		set: intSetter(func(c *Config) *int32 { return &c.SocketRequestMaxBytes }, 1, maxInt32),
		get: intGetter(func(c *Config) *int32 { return &c.SocketRequestMaxBytes })},
	{name: "fetch.max.bytes", typ: TypeInt, def: "57671680", unit: "bytes",
		doc: "most a fetch answers with, whatever MaxBytes the client asks for (the first batch may pass it, KIP-74)",
		set: intSetter(func(c *Config) *int32 { return &c.FetchMaxBytes }, 1024, maxInt32),
		get: intGetter(func(c *Config) *int32 { return &c.FetchMaxBytes })},
	{name: "socket.max.inflight.requests", typ: TypeInt, def: "64", unit: "requests",
		doc: "requests read from one connection but not yet answered; past it the connection stops being read",
		set: intSetter(func(c *Config) *int { return &c.MaxInflightPerConnection }, 1, 1<<16),
		get: intGetter(func(c *Config) *int { return &c.MaxInflightPerConnection })},
	{name: "connections.max.idle.ms", typ: TypeLong, def: "600000", unit: "ms",
		doc: "close a connection with no request in flight, no response unwritten and no byte received for this long (-1: never)",
		set: durationSetter(func(c *Config) *time.Duration { return &c.ConnectionsMaxIdle }, time.Millisecond, -1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.ConnectionsMaxIdle }, time.Millisecond)},
	{name: "group.initial.rebalance.delay.ms", typ: TypeInt, def: "3000", unit: "ms",
		doc: "how long an empty group waits for more members before its first rebalance",
		set: durationSetter(func(c *Config) *time.Duration { return &c.GroupInitialRebalanceDelay }, time.Millisecond, 0),
		get: durationGetter(func(c *Config) *time.Duration { return &c.GroupInitialRebalanceDelay }, time.Millisecond)},
	{name: "group.min.session.timeout.ms", typ: TypeInt, def: "6000", unit: "ms",
		doc: "shortest session timeout a classic group member may ask for",
		set: durationSetter(func(c *Config) *time.Duration { return &c.GroupMinSessionTimeout }, time.Millisecond, 1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.GroupMinSessionTimeout }, time.Millisecond)},
	{name: "group.max.session.timeout.ms", typ: TypeInt, def: "1800000", unit: "ms",
		doc: "longest session timeout a classic group member may ask for",
		set: durationSetter(func(c *Config) *time.Duration { return &c.GroupMaxSessionTimeout }, time.Millisecond, 1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.GroupMaxSessionTimeout }, time.Millisecond)},
	{name: "group.max.size", typ: TypeInt, def: "2147483647", unit: "members",
		doc: "most members one group may hold",
		set: intSetter(func(c *Config) *int32 { return &c.GroupMaxSize }, 1, maxInt32),
		get: intGetter(func(c *Config) *int32 { return &c.GroupMaxSize })},
	{name: "group.consumer.session.timeout.ms", typ: TypeInt, def: "45000", unit: "ms",
		doc: "session timeout of consumer-protocol (KIP-848) group members",
		set: durationSetter(func(c *Config) *time.Duration { return &c.GroupConsumerSessionTimeout }, time.Millisecond, 1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.GroupConsumerSessionTimeout }, time.Millisecond)},
	{name: "group.consumer.heartbeat.interval.ms", typ: TypeInt, def: "5000", unit: "ms",
		doc: "heartbeat interval the broker gives consumer-protocol (KIP-848) group members",
		set: durationSetter(func(c *Config) *time.Duration { return &c.GroupConsumerHeartbeatInterval }, time.Millisecond, 1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.GroupConsumerHeartbeatInterval }, time.Millisecond)},
	{name: "group.consumer.assignors", typ: TypeList, def: "uniform,range",
		doc: "server-side assignors of consumer-protocol (KIP-848) groups, comma-separated: uniform, range; the first is the default",
		set: assignorsField, get: listField(func(c *Config) *[]string { return &c.GroupConsumerAssignors })},
	{name: "offsets.topic.num.partitions", typ: TypeInt, def: "50", unit: "partitions",
		doc: "partitions of __consumer_offsets when it is created; a group lives on partition hash(group) mod this",
		set: intSetter(func(c *Config) *int32 { return &c.OffsetsTopicNumPartitions }, 1, 10000),
		get: intGetter(func(c *Config) *int32 { return &c.OffsetsTopicNumPartitions })},
	{name: "offsets.topic.segment.bytes", typ: TypeInt, def: "104857600", unit: "bytes",
		doc: "segment size of __consumer_offsets",
		set: intSetter(func(c *Config) *int64 { return &c.OffsetsTopicSegmentBytes }, 1024, maxInt32),
		get: intGetter(func(c *Config) *int64 { return &c.OffsetsTopicSegmentBytes })},
	{name: "offsets.retention.minutes", typ: TypeInt, def: "10080", unit: "minutes",
		doc: "how long committed offsets of a group without members (or of topics it left) are kept",
		set: durationSetter(func(c *Config) *time.Duration { return &c.OffsetsRetention }, time.Minute, 1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.OffsetsRetention }, time.Minute)},
	{name: "offsets.retention.check.interval.ms", typ: TypeLong, def: "600000", unit: "ms",
		doc: "how often expired offsets are removed",
		set: durationSetter(func(c *Config) *time.Duration { return &c.OffsetsRetentionCheckInterval }, time.Millisecond, 1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.OffsetsRetentionCheckInterval }, time.Millisecond)},
	{name: "offset.metadata.max.bytes", typ: TypeInt, def: "4096", unit: "bytes",
		doc: "largest metadata string an offset commit may carry",
		set: intSetter(func(c *Config) *int32 { return &c.OffsetMetadataMaxBytes }, 0, maxInt32),
		get: intGetter(func(c *Config) *int32 { return &c.OffsetMetadataMaxBytes })},

	{name: "transaction.state.log.num.partitions", typ: TypeInt, def: "50", unit: "partitions",
		doc: "partitions of __transaction_state when it is created; a transactional id lives on partition hash(id) mod this",
		set: intSetter(func(c *Config) *int32 { return &c.TransactionStateNumPartitions }, 1, 10000),
		get: intGetter(func(c *Config) *int32 { return &c.TransactionStateNumPartitions })},
	{name: "transaction.state.log.segment.bytes", typ: TypeInt, def: "104857600", unit: "bytes",
		doc: "segment size of __transaction_state",
		set: intSetter(func(c *Config) *int64 { return &c.TransactionStateSegmentBytes }, 1024, maxInt32),
		get: intGetter(func(c *Config) *int64 { return &c.TransactionStateSegmentBytes })},
	{name: "transactional.id.expiration.ms", typ: TypeInt, def: "604800000", unit: "ms",
		doc: "how long the coordinator keeps a transactional id with no transaction open and no request since (checked every transaction.remove.expired.transaction.cleanup.interval.ms)",
		set: durationSetter(func(c *Config) *time.Duration { return &c.TransactionalIDExpiration }, time.Millisecond, 1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.TransactionalIDExpiration }, time.Millisecond)},
	{name: "transaction.remove.expired.transaction.cleanup.interval.ms", typ: TypeInt, def: "3600000", unit: "ms",
		doc: "how often expired transactional ids are removed",
		set: durationSetter(func(c *Config) *time.Duration { return &c.TransactionalIDExpirationCheckInterval }, time.Millisecond, 1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.TransactionalIDExpirationCheckInterval }, time.Millisecond)},
	{name: "transaction.max.timeout.ms", typ: TypeInt, def: "900000", unit: "ms",
		doc: "longest transaction timeout a producer may ask for (INVALID_TRANSACTION_TIMEOUT above it); the coordinator aborts a transaction open longer than its timeout",
		set: durationSetter(func(c *Config) *time.Duration { return &c.TransactionMaxTimeout }, time.Millisecond, 1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.TransactionMaxTimeout }, time.Millisecond)},

	{name: "producer.id.expiration.ms", typ: TypeInt, def: "86400000", unit: "ms",
		doc: "how long a partition keeps an idempotent producer's state after its last batch's timestamp",
		set: durationSetter(func(c *Config) *time.Duration { return &c.ProducerIDExpiration }, time.Millisecond, 1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.ProducerIDExpiration }, time.Millisecond)},
	{name: "producer.id.expiration.check.interval.ms", typ: TypeInt, def: "600000", unit: "ms",
		doc: "how often expired producer state is removed",
		set: durationSetter(func(c *Config) *time.Duration { return &c.ProducerIDExpirationCheckInterval }, time.Millisecond, 1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.ProducerIDExpirationCheckInterval }, time.Millisecond)},

	// Chronik's engine.
	{name: "num.shards", typ: TypeInt, def: "0",
		doc: "shard goroutines that own partitions (0: usable CPUs, the smaller of the affinity mask and GOMAXPROCS)",
		set: numShardsField, get: intGetter(func(c *Config) *int { return &c.NumShards })},
	{name: "shard.mailbox.size", typ: TypeInt, def: "4096", unit: "entries",
		doc: "bounded mailbox of each shard; a full mailbox pushes back on connections",
		set: intSetter(func(c *Config) *int { return &c.ShardMailbox }, 1, 1<<24),
		get: intGetter(func(c *Config) *int { return &c.ShardMailbox })},
	{name: "wal.io", typ: TypeString, def: "auto",
		doc: "log write path: auto (io_uring where the kernel allows it, else pwrite), uring or pwrite",
		set: enumSetter(func(c *Config) *string { return &c.WALIO }, "auto", "uring", "pwrite"),
		get: func(c *Config) string { return c.WALIO }},
	{name: "numa.policy", typ: TypeString, def: "node",
		doc: "where shard threads run: node (each pinned to the CPUs of one NUMA node, shards taking the nodes in turn), cpu (each pinned to one CPU) or none",
		set: enumSetter(func(c *Config) *string { return &c.NUMAPolicy }, "node", "cpu", "none"),
		get: func(c *Config) string { return c.NUMAPolicy }},
	{name: "net.transport", typ: TypeString, def: "gnet",
		doc: "network transport: gnet event loops or the std net package",
		set: enumSetter(func(c *Config) *string { return &c.Transport }, "gnet", "std"),
		get: func(c *Config) string { return c.Transport }},
	{name: "metrics.listener", typ: TypeString, def: "",
		doc: "host:port of the HTTP endpoint serving Prometheus metrics at /metrics and health at /health (an empty host: every interface; empty: none)",
		set: metricsListenerField, get: func(c *Config) string { return c.MetricsListener }},
	// A broker's live heap is a few MiB while every produce request's
	// buffer turns to garbage once written: at the runtime's own 4 MiB
	// floor it collected several times a second, each time with pauses
	// that reached the acknowledgement p99 (BENCHMARKS.md, "The Go
	// collector and the fsync p99").
	{name: "gc.min.heap.bytes", typ: TypeLong, def: "134217728", unit: "bytes",
		doc: "Go heap size below which the garbage collector does not run (after each collection the GC percentage is set so that the next heap goal is the larger of this and twice the live heap), at most an eighth of the machine's or the container's memory; 0: the runtime's own 4 MiB. Left alone when GOGC or a memory limit is already set (environment or program)",
		set: intSetter(func(c *Config) *int64 { return &c.GCMinHeap }, 0, 1<<40),
		get: intGetter(func(c *Config) *int64 { return &c.GCMinHeap })},
	{name: "io.timeout.ms", typ: TypeLong, def: "30000", unit: "ms",
		doc: "deadline for any one disk or network operation; a stall past it is an error, not a hang",
		set: durationSetter(func(c *Config) *time.Duration { return &c.IOTimeout }, time.Millisecond, 1),
		get: durationGetter(func(c *Config) *time.Duration { return &c.IOTimeout }, time.Millisecond)},
	{name: "fetch.max.wait.cap.ms", typ: TypeLong, def: "30000", unit: "ms",
		doc: "longest a fetch long-polls, whatever MaxWaitMs the client asks for",
		set: durationSetter(func(c *Config) *time.Duration { return &c.FetchMaxWait }, time.Millisecond, 0),
		get: durationGetter(func(c *Config) *time.Duration { return &c.FetchMaxWait }, time.Millisecond)},
	{name: "shutdown.timeout.ms", typ: TypeLong, def: "10000", unit: "ms",
		doc: "how long a graceful shutdown drains before it closes what is left; with io.timeout.ms (the longer wins) it also bounds the shard stop and the final sync, past which no clean-shutdown marker is written",
		set: durationSetter(func(c *Config) *time.Duration { return &c.ShutdownGrace }, time.Millisecond, 0),
		get: durationGetter(func(c *Config) *time.Duration { return &c.ShutdownGrace }, time.Millisecond)},
}

// keyIndex maps a key name to its row in keyTable.
var keyIndex = func() map[string]int {
	m := make(map[string]int, len(keyTable))
	for i := range keyTable {
		m[keyTable[i].name] = i
	}
	return m
}()

// shown is value as an error may print it: a password key's is hidden.
func shown(key, value string) string {
	if k := lookupKey(key); k != nil && k.typ == TypePassword {
		return "[hidden]"
	}
	return fmt.Sprintf("%q", value)
}

// lookupKey finds a key's row: the table's, or a listener-scoped key's
// (listener_keys.go).
func lookupKey(name string) *key {
	if k := lookupTableKey(name); k != nil {
		return k
	}
	if k := takenKafkaKey(name); k != nil {
		return k
	}
	return listenerKey(name)
}

func lookupTableKey(name string) *key {
	i, ok := keyIndex[name]
	if !ok {
		return nil
	}
	return &keyTable[i]
}

// Keys lists every key in help order.
func Keys() []KeyInfo {
	out := make([]KeyInfo, len(keyTable))
	for i := range keyTable {
		k := &keyTable[i]
		out[i] = KeyInfo{Name: k.name, Type: k.typ, Default: k.def, Unit: k.unit, Doc: k.doc,
			Dynamic: k.dynamic, SynonymOf: k.synonymOf}
	}
	return out
}

// suggestion returns `; did you mean "x"?` for the key closest to a mistyped
// name, or "" when none is close enough to be a likely typo.
func suggestion(name string) string {
	best, bestDist := "", 4 // more than 3 edits is not a typo
	for i := range keyTable {
		if d := editDistance(name, keyTable[i].name); d < bestDist {
			best, bestDist = keyTable[i].name, d
		}
	}
	if best == "" {
		return ""
	}
	return `; did you mean "` + best + `"?`
}

// editDistance is the Levenshtein distance between a and b in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
