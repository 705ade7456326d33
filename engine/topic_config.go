package engine

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/batch"
	"github.com/chronik-go/chronik/engine/config"
)

// topicConfigKey is one topic-level config: its default comes from a broker
// key (Kafka's "synonym"), so changing the broker default changes every topic
// that does not override it.
type topicConfigKey struct {
	name      string
	brokerKey string // synonym in the broker config; "" when Kafka has none
	kind      kmsg.ConfigType
	doc       string
	// brokerDefault reads the current broker-level default.
	brokerDefault func(c *config.Config) string
	validate      func(v string) error
}

func intValidator(min int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		if n < min {
			return fmt.Errorf("%d is below the minimum %d", n, min)
		}
		return nil
	}
}

func oneOf(vals ...string) func(string) error {
	return func(v string) error {
		for _, ok := range vals {
			if v == ok {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", v, strings.Join(vals, ", "))
	}
}

// cleanupPolicyValidator is Kafka's ValidList.in("compact", "delete"): an
// empty list is allowed (neither compaction nor deletion), an empty item
// is not.
func cleanupPolicyValidator(v string) error {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	for _, p := range strings.Split(v, ",") {
		if err := oneOf("delete", "compact")(strings.TrimSpace(p)); err != nil {
			return err
		}
	}
	return nil
}

func ratioValidator(v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 {
		return fmt.Errorf("%q is not a ratio between 0 and 1", v)
	}
	return nil
}

func ms(d interface{ Milliseconds() int64 }) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// topicConfigKeys are the topic configs Chronik understands; others are
// rejected with INVALID_CONFIG rather than silently stored.
var topicConfigKeys = []topicConfigKey{
	{"cleanup.policy", "log.cleanup.policy", kmsg.ConfigTypeList, "delete and/or compact",
		func(*config.Config) string { return "delete" }, cleanupPolicyValidator},
	{"compression.type", "compression.type", kmsg.ConfigTypeString, "codec batches are stored with; producer keeps the producer's",
		func(*config.Config) string { return "producer" }, oneOf("producer", "uncompressed", "gzip", "snappy", "lz4", "zstd")},
	{"delete.retention.ms", "log.cleaner.delete.retention.ms", kmsg.ConfigTypeLong, "how long tombstones stay in compacted topics",
		func(c *config.Config) string { return ms(c.LogCleanerDeleteRetention) }, intValidator(0)},
	{"flush.messages", "log.flush.interval.messages", kmsg.ConfigTypeLong, "fsync after this many messages",
		func(c *config.Config) string { return strconv.FormatInt(c.LogFlushIntervalMessages, 10) }, intValidator(1)},
	{"flush.ms", "log.flush.interval.ms", kmsg.ConfigTypeLong, "fsync data older than this (-1: never by time)",
		func(c *config.Config) string { return msOrNever(c.LogFlushInterval) }, intValidator(-1)},
	{"index.interval.bytes", "log.index.interval.bytes", kmsg.ConfigTypeInt, "bytes between offset index entries",
		func(c *config.Config) string { return strconv.Itoa(int(c.LogIndexIntervalBytes)) }, intValidator(0)},
	{"max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", kmsg.ConfigTypeLong, "records older than this are compacted whatever the dirty ratio",
		brokerValue("log.cleaner.max.compaction.lag.ms"), intValidator(1)},
	{"max.message.bytes", "message.max.bytes", kmsg.ConfigTypeInt, "largest record batch accepted",
		func(c *config.Config) string { return strconv.Itoa(int(c.MessageMaxBytes)) }, intValidator(0)},
	{"message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms", kmsg.ConfigTypeLong, "how far in the future a CreateTime record timestamp may be",
		brokerValue("log.message.timestamp.after.max.ms"), intValidator(0)},
	{"message.timestamp.before.max.ms", "log.message.timestamp.before.max.ms", kmsg.ConfigTypeLong, "how far in the past a CreateTime record timestamp may be",
		brokerValue("log.message.timestamp.before.max.ms"), intValidator(0)},
	{"message.timestamp.type", "log.message.timestamp.type", kmsg.ConfigTypeString, "CreateTime or LogAppendTime",
		func(*config.Config) string { return "CreateTime" }, oneOf("CreateTime", "LogAppendTime")},
	{"min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", kmsg.ConfigTypeDouble, "dirty share of the log that starts a compaction pass",
		func(c *config.Config) string { return strconv.FormatFloat(c.LogCleanerMinCleanableRatio, 'g', -1, 64) }, ratioValidator},
	{"min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", kmsg.ConfigTypeLong, "records younger than this are not compacted",
		func(c *config.Config) string { return ms(c.LogCleanerMinCompactionLag) }, intValidator(0)},
	{"min.insync.replicas", "min.insync.replicas", kmsg.ConfigTypeInt, "replicas that must ack an acks=all write",
		func(*config.Config) string { return "1" }, intValidator(1)},
	{"preallocate", "log.preallocate", kmsg.ConfigTypeBoolean, "reserve the active segment's blocks ahead of its writes",
		brokerValue("log.preallocate"), oneOf("true", "false")},
	{"retention.bytes", "log.retention.bytes", kmsg.ConfigTypeLong, "size a partition is trimmed to (-1: unlimited)",
		func(c *config.Config) string { return strconv.FormatInt(c.LogRetentionBytes, 10) }, intValidator(-1)},
	{"retention.ms", "log.retention.ms", kmsg.ConfigTypeLong, "age after which segments are deleted (-1: forever)",
		func(c *config.Config) string { return msOrNever(c.LogRetention) }, intValidator(-1)},
	{"segment.bytes", "log.segment.bytes", kmsg.ConfigTypeInt, "segment file size before a roll",
		func(c *config.Config) string { return strconv.FormatInt(c.LogSegmentBytes, 10) }, intValidator(1024)},
	{"segment.ms", "log.roll.ms", kmsg.ConfigTypeLong, "segment age before a roll",
		func(c *config.Config) string { return rollMs(c) }, intValidator(1)},
	{"unclean.leader.election.enable", "unclean.leader.election.enable", kmsg.ConfigTypeBoolean, "allow out-of-sync leaders",
		func(*config.Config) string { return "false" }, oneOf("true", "false")},

	// Kafka's other topic configs are accepted with Kafka's validation and
	// kept, so that tools setting them (kafka-topics, MirrorMaker's config
	// sync, operators reconciling topics) work, but Chronik does not apply
	// them; their documentation says so.
	{"compression.gzip.level", "compression.gzip.level", kmsg.ConfigTypeInt, "gzip level for compression.type=gzip (kept, not applied: Chronik compresses at the codec's default)",
		constDefault("-1"), oneOfRange(-1, -1, 1, 9)},
	{"compression.lz4.level", "compression.lz4.level", kmsg.ConfigTypeInt, "lz4 level for compression.type=lz4 (kept, not applied)",
		constDefault("9"), oneOfRange(1, 17)},
	{"compression.zstd.level", "compression.zstd.level", kmsg.ConfigTypeInt, "zstd level for compression.type=zstd (kept, not applied)",
		constDefault("3"), oneOfRange(-131072, 22)},
	{"file.delete.delay.ms", "log.segment.delete.delay.ms", kmsg.ConfigTypeLong, "delay before a deleted segment's file is removed (kept, not applied: files are removed at once)",
		constDefault("60000"), intValidator(0)},
	{"follower.replication.throttled.replicas", "", kmsg.ConfigTypeList, "replicas throttled as followers (kept, not applied: no replication throttling)",
		constDefault(""), throttledReplicasValidator},
	{"leader.replication.throttled.replicas", "", kmsg.ConfigTypeList, "replicas throttled as leaders (kept, not applied: no replication throttling)",
		constDefault(""), throttledReplicasValidator},
	{"local.retention.bytes", "log.local.retention.bytes", kmsg.ConfigTypeLong, "local size kept under tiered storage (kept, not applied: no tiered storage)",
		constDefault("-2"), intValidator(-2)},
	{"local.retention.ms", "log.local.retention.ms", kmsg.ConfigTypeLong, "local age kept under tiered storage (kept, not applied: no tiered storage)",
		constDefault("-2"), intValidator(-2)},
	{"message.downconversion.enable", "log.message.downconversion.enable", kmsg.ConfigTypeBoolean, "down-convert for old fetch versions (kept, not applied: fetch v4+ needs none)",
		constDefault("true"), oneOf("true", "false")},
	{"message.timestamp.difference.max.ms", "log.message.timestamp.difference.max.ms", kmsg.ConfigTypeLong, "deprecated in Kafka 3.6: bounds record timestamps on each side message.timestamp.before/after.max.ms leave at Kafka 3's default",
		constDefault(strconv.FormatInt(math.MaxInt64, 10)), intValidator(0)},
	{"remote.storage.enable", "", kmsg.ConfigTypeBoolean, "tiered storage for the topic: Chronik has none, so only false is taken",
		constDefault("false"), remoteStorageValidator},
	{"segment.index.bytes", "log.index.size.max.bytes", kmsg.ConfigTypeInt, "offset index file size (kept, not applied: indexes grow as needed)",
		constDefault("10485760"), intValidator(4)},
	{"segment.jitter.ms", "log.roll.jitter.ms", kmsg.ConfigTypeLong, "random jitter subtracted from segment.ms (kept, not applied)",
		constDefault("0"), intValidator(0)},
}

// constDefault is the default of a topic key the broker config does not set.
func constDefault(v string) func(*config.Config) string {
	return func(*config.Config) string { return v }
}

// oneOfRange takes an integer within one of the inclusive ranges given as
// pairs of bounds.
func oneOfRange(bounds ...int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		for i := 0; i+1 < len(bounds); i += 2 {
			if n >= bounds[i] && n <= bounds[i+1] {
				return nil
			}
		}
		return fmt.Errorf("%d is outside %v", n, bounds)
	}
}

// throttledReplicasValidator takes Kafka's throttled replica lists: empty,
// "*", or partition:broker pairs.
func throttledReplicasValidator(v string) error {
	if v = strings.TrimSpace(v); v == "" || v == "*" {
		return nil
	}
	for _, e := range strings.Split(v, ",") {
		p, b, ok := strings.Cut(strings.TrimSpace(e), ":")
		_, perr := strconv.ParseUint(p, 10, 31)
		_, berr := strconv.ParseUint(b, 10, 31)
		if !ok || perr != nil || berr != nil {
			return fmt.Errorf("%q must be empty, * or a list of partition:broker", v)
		}
	}
	return nil
}

// remoteStorageValidator refuses turning tiered storage on, as a Kafka
// broker without it does.
func remoteStorageValidator(v string) error {
	switch v {
	case "false":
		return nil
	case "true":
		return errors.New("tiered storage is not available on this broker")
	}
	return fmt.Errorf("%q is not a boolean", v)
}

func msOrNever(d interface{ Milliseconds() int64 }) string {
	if d.Milliseconds() < 0 {
		return "-1"
	}
	return ms(d)
}

// brokerValue is a topic key's default where the broker key's own value,
// as the config package writes it, is already the topic form (the same
// unit, Long.MAX_VALUE for "no bound").
func brokerValue(key string) func(*config.Config) string {
	return func(c *config.Config) string {
		v, _ := c.Value(key)
		return v
	}
}

func rollMs(c *config.Config) string {
	if c.LogSegmentMs <= 0 {
		return "604800000"
	}
	return ms(c.LogSegmentMs)
}

func lookupTopicConfigKey(name string) (*topicConfigKey, bool) {
	for i := range topicConfigKeys {
		if topicConfigKeys[i].name == name {
			return &topicConfigKeys[i], true
		}
	}
	return nil, false
}

// validateTopicConfig checks one key=value for CreateTopics and AlterConfigs
// and returns the value as it is stored: parsed as Kafka's ConfigDef parses
// it (trimmed, booleans in any case, list items trimmed), so that what is
// read back needs no such leniency.
func validateTopicConfig(name string, value *string) (string, error) {
	k, ok := lookupTopicConfigKey(name)
	if !ok {
		return "", fmt.Errorf("unknown topic config %q", name)
	}
	if value == nil {
		return "", fmt.Errorf("topic config %q: null value", name)
	}
	v := strings.TrimSpace(*value)
	switch k.kind {
	case kmsg.ConfigTypeBoolean:
		if lower := strings.ToLower(v); lower == "true" || lower == "false" {
			v = lower
		}
	case kmsg.ConfigTypeList:
		if v != "" {
			items := strings.Split(v, ",")
			for i := range items {
				items[i] = strings.TrimSpace(items[i])
			}
			v = strings.Join(items, ",")
		}
	case kmsg.ConfigTypeInt:
		// An INT key holds an int32, as Kafka's ConfigDef parses it: a
		// larger value would wrap where the broker reads it.
		if _, err := strconv.ParseInt(v, 10, 32); err != nil {
			return "", fmt.Errorf("invalid value %s for configuration %s: not a number of type INT", *value, name)
		}
	}
	if err := k.validate(v); err != nil {
		return "", fmt.Errorf("topic config %s: %w", name, err)
	}
	return v, nil
}

// topicSettings is a topic's effective configuration, resolved once per
// metadata view so the produce path reads plain fields.
type topicSettings struct {
	retentionMs     int64
	retentionBytes  int64
	maxMessageBytes int32
	logAppendTime   bool
	// codec is compression.type's codec (0 none ... 4 zstd), or
	// keepProducerCodec for "producer".
	codec int8
	// CreateTime timestamps must lie within [now-before, now+after].
	timestampBeforeMaxMs int64
	timestampAfterMaxMs  int64
	flushMessages        int64
	flushMs              int64
	segmentBytes         int64
	segmentMs            int64
	indexIntervalBytes   int32
	preallocate          bool
	minInsyncReplicas    int64

	// Compaction (compaction.go); compact-only topics keep no time or size
	// retention, as in Kafka.
	compact            bool
	deletable          bool // the policy has delete: DeleteRecords may move the start
	deleteRetentionMs  int64
	minCleanableRatio  float64
	minCompactionLagMs int64
	maxCompactionLagMs int64
}

// rollAfter is the active segment's age limit: segment.ms, and on compacted
// topics at most max.compaction.lag.ms, so that records past it leave the
// active segment the cleaner never touches (Kafka's LogConfig.maxSegmentMs).
func (st *topicSettings) rollAfter() time.Duration {
	if st.compact && st.maxCompactionLagMs > 0 {
		return msDuration(min(st.segmentMs, st.maxCompactionLagMs))
	}
	return msDuration(st.segmentMs)
}

func resolveTopicSettings(c *config.Config, overrides map[string]string) *topicSettings {
	get := func(name string) string {
		if v, ok := overrides[name]; ok {
			return v
		}
		k, _ := lookupTopicConfigKey(name)
		return k.brokerDefault(c)
	}
	num := func(name string) int64 {
		n, _ := strconv.ParseInt(get(name), 10, 64)
		return n
	}
	policy := strings.Split(get("cleanup.policy"), ",")
	for i := range policy {
		policy[i] = strings.TrimSpace(policy[i])
	}
	ratio, _ := strconv.ParseFloat(get("min.cleanable.dirty.ratio"), 64)
	st := &topicSettings{
		retentionMs:     num("retention.ms"),
		retentionBytes:  num("retention.bytes"),
		maxMessageBytes: int32(min(num("max.message.bytes"), math.MaxInt32)), // a value stored before INT keys were bounded
		logAppendTime:   get("message.timestamp.type") == "LogAppendTime",
		codec:           compressionCodec(get("compression.type")),

		timestampBeforeMaxMs: num("message.timestamp.before.max.ms"),
		timestampAfterMaxMs:  num("message.timestamp.after.max.ms"),
		flushMessages:        num("flush.messages"),
		flushMs:              num("flush.ms"),
		segmentBytes:         num("segment.bytes"),
		segmentMs:            num("segment.ms"),
		// 0 indexes every batch, as in Kafka (partlog takes 0 as its default).
		indexIntervalBytes: int32(min(max(num("index.interval.bytes"), 1), math.MaxInt32)),
		preallocate:        get("preallocate") == "true",
		minInsyncReplicas:  num("min.insync.replicas"),

		compact:            slices.Contains(policy, "compact"),
		deletable:          slices.Contains(policy, "delete"),
		deleteRetentionMs:  num("delete.retention.ms"),
		minCleanableRatio:  ratio,
		minCompactionLagMs: num("min.compaction.lag.ms"),
		maxCompactionLagMs: num("max.compaction.lag.ms"),
	}
	if !st.deletable {
		// Compact-only, or an empty policy: no time or size retention, as
		// Kafka deletes by them only under delete.
		st.retentionMs, st.retentionBytes = -1, -1
	}
	// The deprecated message.timestamp.difference.max.ms bounds each side
	// its successor leaves at Kafka 3.x's default (no bound), as in Kafka
	// 3.6-3.9. The future side's default here is Kafka 4's hour, so a
	// topic setting difference but not after.max.ms gets difference there
	// too, as it would on 3.x.
	if _, set := overrides["message.timestamp.difference.max.ms"]; set {
		diff := num("message.timestamp.difference.max.ms")
		if st.timestampBeforeMaxMs == math.MaxInt64 {
			st.timestampBeforeMaxMs = diff
		}
		if _, own := overrides["message.timestamp.after.max.ms"]; !own || st.timestampAfterMaxMs == math.MaxInt64 {
			st.timestampAfterMaxMs = diff
		}
	}
	return st
}

// keepProducerCodec is compression.type=producer: batches are stored as sent.
const keepProducerCodec = -1

// recompresses reports whether a batch with header h is stored in another
// codec than it came in: compression.type names one, and the batch is not a
// control batch (Kafka leaves those as written).
func (st *topicSettings) recompresses(h *batch.Header) bool {
	return st.codec != keepProducerCodec && h.Codec() != st.codec && !h.Control()
}

// maxRecompressBytes bounds the decompressed records of a batch the owning
// shard recompresses: the work holds every partition of the shard, and a
// small batch of zeros can claim 256 MiB. Sixteen times max.message.bytes
// leaves room for any real data's ratio.
func (st *topicSettings) maxRecompressBytes() int64 { return 16 * int64(st.maxMessageBytes) }

// compressionCodec maps a compression.type value to a batch codec id.
func compressionCodec(v string) int8 {
	switch v {
	case "uncompressed":
		return 0
	case "gzip":
		return 1
	case "snappy":
		return 2
	case "lz4":
		return 3
	case "zstd":
		return 4
	}
	return keepProducerCodec
}

// noTimestamp is a record or batch timestamp that was not set (-1).
const noTimestamp = -1

// msDuration converts a topic setting in milliseconds to a Duration,
// saturating where nanoseconds overflow (past 292 years): Kafka takes
// Long.MAX_VALUE or any long for "forever", and a wrapped product would
// turn it into a short or negative time.
func msDuration(ms int64) time.Duration {
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64
	}
	if ms < math.MinInt64/int64(time.Millisecond) {
		return math.MinInt64
	}
	return time.Duration(ms) * time.Millisecond
}
