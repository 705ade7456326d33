// Package config is Chronik's one key space of broker settings, in Kafka's
// dotted style, loaded from defaults, a properties file, CHRONIK_* environment
// variables and repeated --set key=value flags (later sources win).
package config

import "time"

// Config is the broker's typed configuration. Field comments name the key.
type Config struct {
	Listeners           []string // listeners, e.g. PLAINTEXT://127.0.0.1:9092
	AdvertisedListeners []string // advertised.listeners (default: listeners)
	LogDirs             []string // log.dirs (first one holds data; default ./data)
	NodeID              int32    // node.id
	ClusterID           string   // cluster.id (generated and persisted when empty)

	NumPartitions            int32 // num.partitions
	DefaultReplicationFactor int16 // default.replication.factor
	AutoCreateTopics         bool  // auto.create.topics.enable

	LogSegmentBytes            int64         // log.segment.bytes
	LogSegmentMs               time.Duration // log.roll.ms
	LogRetention               time.Duration // log.retention.ms (-1: forever)
	LogRetentionBytes          int64         // log.retention.bytes (-1: unlimited)
	LogRetentionCheckInterval  time.Duration // log.retention.check.interval.ms
	LogIndexIntervalBytes      int32         // log.index.interval.bytes
	LogFlushIntervalMessages   int64         // log.flush.interval.messages
	LogFlushInterval           time.Duration // log.flush.interval.ms
	MessageMaxBytes            int32         // message.max.bytes
	SocketRequestMaxBytes      int32         // socket.request.max.bytes
	MaxInflightPerConnection   int           // socket.max.inflight.requests
	GroupInitialRebalanceDelay time.Duration // group.initial.rebalance.delay.ms

	NumShards     int           // num.shards (default: usable CPUs)
	ShardMailbox  int           // shard.mailbox.size
	WALIO         string        // wal.io = auto|uring|pwrite
	Transport     string        // net.transport = gnet|std
	IOTimeout     time.Duration // io.timeout.ms: deadline for any one disk or network operation
	FetchMaxWait  time.Duration // fetch.max.wait.cap.ms: cap on a client's MaxWaitMs
	ShutdownGrace time.Duration // shutdown.timeout.ms
}
