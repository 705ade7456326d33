package config

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeConfigFile writes text as a properties file and returns its path.
func writeConfigFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// withConfigFile prepends --config PATH to args when fileText is not empty,
// and returns the path ("" when no file).
func withConfigFile(t *testing.T, fileText string, args []string) ([]string, string) {
	t.Helper()
	if fileText == "" {
		return args, ""
	}
	path := writeConfigFile(t, fileText)
	return append([]string{"--config", path}, args...), path
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Defaults()) {
		t.Fatalf("Load with nothing set = %+v, want Defaults() %+v", c, Defaults())
	}
	want := Config{
		Listeners:                              []string{"PLAINTEXT://127.0.0.1:9092"},
		LogDirs:                                []string{"./data"},
		NodeID:                                 1,
		NumPartitions:                          1,
		DefaultReplicationFactor:               1,
		AutoCreateTopics:                       true,
		DeleteTopicEnable:                      true,
		LogSegmentBytes:                        1 << 30,
		LogSegmentMs:                           7 * 24 * time.Hour,
		LogPreallocate:                         true,
		LogRetention:                           7 * 24 * time.Hour,
		LogRetentionBytes:                      -1,
		LogRetentionCheckInterval:              5 * time.Minute,
		ProducerIDExpiration:                   24 * time.Hour,
		ProducerIDExpirationCheckInterval:      10 * time.Minute,
		LogIndexIntervalBytes:                  4096,
		LogFlushIntervalMessages:               9223372036854775807,
		LogFlushInterval:                       -time.Millisecond,
		LogFlushPolicy:                         "interval",
		SyncfsMinPartitions:                    16,
		WALEnable:                              true,
		WALMinPartitions:                       8,
		WALLightBytesPerSecond:                 32 << 20,
		WALCheckpointBytes:                     64 << 20,
		MessageMaxBytes:                        1048588,
		LogMessageTimestampBeforeMaxMs:         math.MaxInt64,
		LogMessageTimestampAfterMaxMs:          3600000,
		LogCleanerEnable:                       true,
		LogCleanerIOMaxBytesPerSecond:          32 << 20,
		LogCleanerDedupeBufferSize:             128 << 20,
		LogCleanerBackoff:                      15 * time.Second,
		LogCleanerDeleteRetention:              24 * time.Hour,
		LogCleanerMinCleanableRatio:            0.5,
		LogCleanerMinCompactionLag:             0,
		LogCleanerMaxCompactionLag:             math.MaxInt64,
		SocketRequestMaxBytes:                  104857600,
		FetchMaxBytes:                          57671680,
		MaxInflightPerConnection:               64,
		ConnectionsMaxIdle:                     10 * time.Minute,
		GroupInitialRebalanceDelay:             3 * time.Second,
		GroupMinSessionTimeout:                 6 * time.Second,
		GroupMaxSessionTimeout:                 30 * time.Minute,
		GroupMaxSize:                           2147483647,
		GroupConsumerSessionTimeout:            45 * time.Second,
		GroupConsumerHeartbeatInterval:         5 * time.Second,
		GroupConsumerAssignors:                 []string{"uniform", "range"},
		OffsetsTopicNumPartitions:              50,
		TransactionStateNumPartitions:          50,
		TransactionStateSegmentBytes:           104857600,
		TransactionMaxTimeout:                  15 * time.Minute,
		TransactionalIDExpiration:              7 * 24 * time.Hour,
		TransactionalIDExpirationCheckInterval: time.Hour,
		OffsetsTopicSegmentBytes:               104857600,
		OffsetsRetention:                       7 * 24 * time.Hour,
		OffsetsRetentionCheckInterval:          10 * time.Minute,
		OffsetMetadataMaxBytes:                 4096,
		NumShards:                              UsableCPUs(),
		ShardMailbox:                           4096,
		WALIO:                                  "auto",
		NUMAPolicy:                             "node",
		Transport:                              "gnet",
		SSLClientAuth:                          "none",
		ListenerSecurityProtocolMap:            []string{"PLAINTEXT:PLAINTEXT", "SSL:SSL", "SASL_PLAINTEXT:SASL_PLAINTEXT", "SASL_SSL:SASL_SSL"},
		IOTimeout:                              30 * time.Second,
		FetchMaxWait:                           30 * time.Second,
		ShutdownGrace:                          10 * time.Second,
		GCMinHeap:                              128 << 20,
	}
	if !reflect.DeepEqual(*c, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", *c, want)
	}
}

func TestLoadPrecedence(t *testing.T) {
	f := func(fileText string, env, args []string, key, want string) {
		t.Helper()
		args, _ = withConfigFile(t, fileText, args)
		c, err := Load(args, env)
		if err != nil {
			t.Fatalf("Load(%q): %v", args, err)
		}
		got, ok := c.Value(key)
		if !ok || got != want {
			t.Fatalf("Load(%q, %q): %s = %q, want %q", args, env, key, got, want)
		}
	}
	// Defaults alone.
	f("", nil, nil, "num.partitions", "1")
	// The file beats defaults; env beats the file; --set beats env.
	f("num.partitions=3\n", nil, nil, "num.partitions", "3")
	f("num.partitions=3\n", []string{"CHRONIK_NUM_PARTITIONS=4"}, nil, "num.partitions", "4")
	f("num.partitions=3\n", []string{"CHRONIK_NUM_PARTITIONS=4"}, []string{"--set", "num.partitions=5"}, "num.partitions", "5")
	// Precedence holds whatever the argument order: --config after --set.
	f("num.partitions=3\n", nil, []string{"--set", "num.partitions=5"}, "num.partitions", "5")
	// Later --set wins, in both spellings.
	f("", nil, []string{"--set", "num.partitions=5", "--set=num.partitions=6"}, "num.partitions", "6")
	f("", nil, []string{"-set", "num.partitions=7"}, "num.partitions", "7")
	// Within the file and the environment, the later line wins.
	f("num.partitions=3\nnum.partitions=8\n", nil, nil, "num.partitions", "8")
	f("", []string{"CHRONIK_NUM_PARTITIONS=4", "CHRONIK_NUM_PARTITIONS=9"}, nil, "num.partitions", "9")
	// A key the file does not name keeps its default; others are untouched.
	f("num.partitions=3\n", nil, nil, "log.segment.bytes", "1073741824")
	// Values are trimmed; a value may contain '=' after the first one.
	f("", nil, []string{"--set", "cluster.id= abc=def "}, "cluster.id", "abc=def")
	f("", []string{"CHRONIK_LOG_DIRS= /a , /b "}, nil, "log.dirs", "/a,/b")
	// Environment names are matched whatever their case; unrelated variables are ignored.
	f("", []string{"PATH=/bin", "HOME=/root", "chronik_num_shards=3"}, nil, "num.shards", "3")
	// --config=FILE spelling.
	path := writeConfigFile(t, "node.id=42\n")
	f("", nil, []string{"--config=" + path}, "node.id", "42")
	f("", nil, []string{"-config", path}, "node.id", "42")
	// Enums and booleans ignore case, as Kafka's booleans do.
	f("", nil, []string{"--set", "wal.io=URING"}, "wal.io", "uring")
	f("", nil, []string{"--set", "auto.create.topics.enable=FALSE"}, "auto.create.topics.enable", "false")
	// Listener names are normalised to upper case; IPv6 stays bracketed.
	f("", nil, []string{"--set", "listeners=plaintext://[::1]:0"}, "listeners", "PLAINTEXT://[::1]:0")
	// num.shards 0 means the usable CPUs; an explicit count is kept.
	f("", nil, []string{"--set", "num.shards=0"}, "num.shards", Defaults().getOrEmpty("num.shards"))
	f("", nil, []string{"--set", "num.shards=3"}, "num.shards", "3")
}

// getOrEmpty is Value without the bool, for test tables.
func (c *Config) getOrEmpty(key string) string {
	v, _ := c.Value(key)
	return v
}

func TestLoadTypedFields(t *testing.T) {
	path := writeConfigFile(t, `# a Kafka-style file
listeners=PLAINTEXT://0.0.0.0:19092
advertised.listeners: PLAINTEXT://broker1.example:19092
log.dirs = /var/lib/chronik/a, /var/lib/chronik/b
log.segment.bytes 1048576
log.flush.interval.ms=250
message.max.bytes=2000000
num.shards=2
net.transport=std
`)
	c, err := Load([]string{"--config", path}, []string{"CHRONIK_IO_TIMEOUT_MS=1500"})
	if err != nil {
		t.Fatal(err)
	}
	f := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s = %v, want %v", name, got, want)
		}
	}
	f("Listeners", c.Listeners, []string{"PLAINTEXT://0.0.0.0:19092"})
	f("AdvertisedListeners", c.AdvertisedListeners, []string{"PLAINTEXT://broker1.example:19092"})
	f("LogDirs", c.LogDirs, []string{"/var/lib/chronik/a", "/var/lib/chronik/b"})
	f("LogSegmentBytes", c.LogSegmentBytes, int64(1<<20))
	f("LogFlushInterval", c.LogFlushInterval, 250*time.Millisecond)
	f("MessageMaxBytes", c.MessageMaxBytes, int32(2000000))
	f("NumShards", c.NumShards, 2)
	f("Transport", c.Transport, "std")
	f("IOTimeout", c.IOTimeout, 1500*time.Millisecond)
}

func TestLoadRetentionUnits(t *testing.T) {
	f := func(fileText string, env, args []string, want time.Duration) {
		t.Helper()
		args, _ = withConfigFile(t, fileText, args)
		c, err := Load(args, env)
		if err != nil {
			t.Fatalf("Load(%q, %q): %v", args, env, err)
		}
		if c.LogRetention != want {
			t.Fatalf("Load(%q, %q): LogRetention = %v, want %v", args, env, c.LogRetention, want)
		}
	}
	f("", nil, nil, 7*24*time.Hour)
	f("log.retention.hours=1\n", nil, nil, time.Hour)
	f("log.retention.minutes=30\n", nil, nil, 30*time.Minute)
	// Within one source the finest unit wins whatever the line order.
	f("log.retention.minutes=30\nlog.retention.hours=1\n", nil, nil, 30*time.Minute)
	f("log.retention.hours=1\nlog.retention.ms=5000\n", nil, nil, 5*time.Second)
	f("log.retention.ms=5000\nlog.retention.minutes=30\nlog.retention.hours=1\n", nil, nil, 5*time.Second)
	// Across sources too: a coarser unit set later does not undo a finer one.
	f("log.retention.ms=5000\n", nil, []string{"--set", "log.retention.hours=2"}, 5*time.Second)
	f("log.retention.hours=168\n", []string{"CHRONIK_LOG_RETENTION_MINUTES=10"}, nil, 10*time.Minute)
	f("log.retention.hours=168\n", nil, []string{"--set", "log.retention.ms=60000"}, time.Minute)
	// A later value in the same unit still wins.
	f("log.retention.ms=5000\n", nil, []string{"--set", "log.retention.ms=6000"}, 6*time.Second)
	// -1 in any unit keeps data forever.
	f("log.retention.hours=-1\n", nil, nil, -time.Hour)
	f("", nil, []string{"--set", "log.retention.ms=-1"}, -time.Millisecond)
	// Kafka configs often use Long.MAX_VALUE for forever; it saturates.
	f("", nil, []string{"--set", "log.retention.ms=9223372036854775807"}, time.Duration(1<<63-1))

	// log.roll.hours is a synonym of log.roll.ms in the same way.
	c, err := Load([]string{"--set", "log.roll.ms=1000", "--set", "log.roll.hours=1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.LogSegmentMs != time.Second {
		t.Fatalf("log.roll.ms=1000 then log.roll.hours=1: LogSegmentMs = %v, want 1s", c.LogSegmentMs)
	}
}

func TestLoadErrors(t *testing.T) {
	// want may contain $FILE, replaced by the config file's path.
	f := func(fileText string, env, args []string, want string) {
		t.Helper()
		args, path := withConfigFile(t, fileText, args)
		c, err := Load(args, env)
		if err == nil {
			t.Fatalf("Load(%q, %q) = %+v, want error %q", args, env, c, want)
		}
		if c != nil {
			t.Fatalf("Load(%q, %q) returned a Config with error %v", args, env, err)
		}
		want = strings.ReplaceAll(want, "$FILE", path)
		if err.Error() != want {
			t.Fatalf("Load(%q, %q) error\n got %s\nwant %s", args, env, err, want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("error is not one line: %q", err)
		}
	}
	set := func(kv string) []string { return []string{"--set", kv} }

	// Value errors from each source.
	f("", nil, set("log.segment.bytes=abc"), `config: --set log.segment.bytes="abc": not an integer`)
	f("node.id=1\n\nlog.segment.bytes=abc\n", nil, nil, `config: log.segment.bytes="abc" (from $FILE line 3): not an integer`)
	f("", []string{"CHRONIK_NUM_SHARDS=-2"}, nil, `config: num.shards="-2" (from environment CHRONIK_NUM_SHARDS): must be at least 0`)

	// Unknown keys from each source, with a suggestion when one is close.
	f("# comment\nnode.id=1\nlog.segmnt.bytes=1024\n", nil, nil,
		`config: unknown key "log.segmnt.bytes" (from $FILE line 3); did you mean "log.segment.bytes"?`)
	f("", nil, set("num.shard=2"), `config: unknown key "num.shard" (from --set); did you mean "num.shards"?`)
	f("", nil, set("zookeeper.connect=x:2181"), `config: unknown key "zookeeper.connect" (from --set)`)
	f("", []string{"CHRONIK_LOG_SEGMNT_BYTES=1"}, nil,
		`config: unknown key "log.segmnt.bytes" (from environment CHRONIK_LOG_SEGMNT_BYTES); did you mean "log.segment.bytes"?`)

	// Ranges and forms.
	f("", nil, set("log.segment.bytes=1023"), `config: --set log.segment.bytes="1023": must be at least 1024`)
	f("", nil, set("log.segment.bytes=2147483648"), `config: --set log.segment.bytes="2147483648": must be at most 2147483647`)
	f("", nil, set("log.retention.bytes=99999999999999999999"), `config: --set log.retention.bytes="99999999999999999999": must be at most 9223372036854775807`)
	f("", nil, set("log.retention.ms=-2"), `config: --set log.retention.ms="-2": must be at least -1`)
	f("", nil, set("log.roll.ms=0"), `config: --set log.roll.ms="0": must be at least 1`)
	f("", nil, set("node.id=-1"), `config: --set node.id="-1": must be at least 0`)
	f("", nil, set("num.partitions=0"), `config: --set num.partitions="0": must be at least 1`)
	f("", nil, set("default.replication.factor=40000"), `config: --set default.replication.factor="40000": must be at most 32767`)
	f("", nil, set("num.shards=100000"), `config: --set num.shards="100000": must be at most 4096`)
	f("", nil, set("shard.mailbox.size=0"), `config: --set shard.mailbox.size="0": must be at least 1`)
	f("", nil, set("socket.max.inflight.requests=0"), `config: --set socket.max.inflight.requests="0": must be at least 1`)
	f("", nil, set("io.timeout.ms=0"), `config: --set io.timeout.ms="0": must be at least 1`)
	f("", nil, set("log.flush.interval.messages=0"), `config: --set log.flush.interval.messages="0": must be at least 1`)
	f("", nil, set("num.partitions=1.5"), `config: --set num.partitions="1.5": not an integer`)
	f("", nil, set("auto.create.topics.enable=yes"), `config: --set auto.create.topics.enable="yes": not a boolean (want true or false)`)
	f("", nil, set("wal.io=mmap"), `config: --set wal.io="mmap": want one of auto, uring, pwrite`)
	f("", nil, set("net.transport=epoll"), `config: --set net.transport="epoll": want one of gnet, std`)
	f("", nil, set("metrics.listener=9644"), `config: --set metrics.listener="9644": want host:port or empty: address 9644: missing port in address`)
	f("", nil, set("metrics.listener=127.0.0.1:http"), `config: --set metrics.listener="127.0.0.1:http": port "http" is not a number in 0-65535`)
	f("", nil, set("metrics.listener=127.0.0.1:70000"), `config: --set metrics.listener="127.0.0.1:70000": port "70000" is not a number in 0-65535`)
	f("", nil, set("log.dirs="), `config: --set log.dirs="": must name at least one directory`)
	f("", nil, set("log.dirs=/a,,/b"), `config: --set log.dirs="/a,,/b": empty entry in comma-separated list`)
	f("", nil, set("cluster.id=a b"), `config: --set cluster.id="a b": must not contain spaces or control characters`)

	// Listeners.
	f("", nil, set("listeners="), `config: --set listeners="": must name at least one listener`)
	f("", nil, set("listeners=127.0.0.1:9092"), `config: --set listeners="127.0.0.1:9092": listener "127.0.0.1:9092": want NAME://host:port (NAME: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL or a name in listener.security.protocol.map)`)
	f("", nil, set("listeners=PLAINTEXT://127.0.0.1"), `config: --set listeners="PLAINTEXT://127.0.0.1": listener "PLAINTEXT://127.0.0.1": want NAME://host:port (NAME: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL or a name in listener.security.protocol.map)`)
	f("", nil, set("listeners=PLAINTEXT://h:x"), `config: --set listeners="PLAINTEXT://h:x": listener "PLAINTEXT://h:x": want NAME://host:port (NAME: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL or a name in listener.security.protocol.map)`)
	f("", nil, set("listeners=PLAINTEXT://h:70000"), `config: --set listeners="PLAINTEXT://h:70000": listener "PLAINTEXT://h:70000": port 70000 is outside 0-65535`)
	f("", nil, set("listeners=SASL_OAUTH://h:9093"), `config: listener SASL_OAUTH://h:9093 has no security protocol: listener.security.protocol.map (PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL) does not map SASL_OAUTH`)
	f("", nil, set("listeners=PLAINTEXT://a:1,SSL://b:1"), `config: --set listeners="PLAINTEXT://a:1,SSL://b:1": listener "SSL://b:1": port 1 is also PLAINTEXT's; each listener needs its own port`)
	f("", nil, set("listeners=PLAINTEXT://a:1,PLAINTEXT://b:2"),
		`config: --set listeners="PLAINTEXT://a:1,PLAINTEXT://b:2": listener "PLAINTEXT://b:2": listener name PLAINTEXT is used twice`)
	f("", nil, set("advertised.listeners=PLAINTEXT://0.0.0.0:9092"),
		`config: --set advertised.listeners="PLAINTEXT://0.0.0.0:9092": listener "PLAINTEXT://0.0.0.0:9092": an advertised host must be an address clients can reach, not empty or a wildcard`)
	f("", nil, set("advertised.listeners=PLAINTEXT://:9092"),
		`config: --set advertised.listeners="PLAINTEXT://:9092": listener "PLAINTEXT://:9092": an advertised host must be an address clients can reach, not empty or a wildcard`)
	f("", nil, set("advertised.listeners=PLAINTEXT://h:0"),
		`config: --set advertised.listeners="PLAINTEXT://h:0": listener "PLAINTEXT://h:0": an advertised port must not be 0`)

	// A coarser retention unit that loses to a finer one is still checked.
	f("log.retention.ms=5000\n", nil, set("log.retention.hours=x"), `config: --set log.retention.hours="x": not an integer`)

	// Command line and file problems.
	f("", nil, []string{"--set"}, `config: --set needs key=value`)
	f("", nil, set("num.shards"), `config: --set "num.shards": want key=value`)
	f("", nil, set("=3"), `config: --set "=3": want key=value`)
	f("", nil, []string{"--config"}, `config: --config needs a file name`)
	f("", nil, []string{"--config", "/a", "--config", "/b"}, `config: --config given twice (/a and /b)`)
	f("", nil, []string{"--verbose"}, `config: unknown argument "--verbose" (usage: `+Usage+`)`)
	f("", nil, []string{"serve"}, `config: unknown argument "serve" (usage: `+Usage+`)`)
	missing := filepath.Join(t.TempDir(), "absent.properties")
	f("", nil, []string{"--config", missing}, `config: read config file: open `+missing+`: no such file or directory`)
	f("node.id=1\ncluster.id=\\u12\n", nil, nil, `config: $FILE line 2: malformed \uxxxx escape in "\\u12"`)
}

func TestLoadHelp(t *testing.T) {
	f := func(args ...string) {
		t.Helper()
		c, err := Load(args, []string{"CHRONIK_NOT_A_KEY=1"})
		if !errors.Is(err, ErrHelpRequested) || c != nil {
			t.Fatalf("Load(%q) = %v, %v; want nil, ErrHelpRequested", args, c, err)
		}
	}
	f("--help-config")
	f("-help-config")
	f("--help")
	f("-h")
	f("--set", "num.shards=2", "--help-config")
	// Help wins over a broken argument, so it always works.
	f("--bogus", "--help-config")
	f("--set", "nonsense", "--help-config")
}
