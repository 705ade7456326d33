package config

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// nonDefault is a valid value other than the default for every main key, so
// a key added to the table without a test case fails TestEveryKeySetsAndReads.
var nonDefault = map[string]string{
	"listeners":                                                  "PLAINTEXT://[::1]:19092",
	"advertised.listeners":                                       "PLAINTEXT://broker-1.example:19092",
	"node.id":                                                    "7",
	"cluster.id":                                                 "MkU3OEVBNTcwNTJENDM2Qk",
	"log.dirs":                                                   "/d1,/d2",
	"num.partitions":                                             "12",
	"default.replication.factor":                                 "3",
	"auto.create.topics.enable":                                  "false",
	"log.segment.bytes":                                          "1024",
	"log.roll.ms":                                                "3600000",
	"log.roll.hours":                                             "2",
	"log.retention.ms":                                           "-1",
	"log.retention.minutes":                                      "90",
	"log.retention.hours":                                        "24",
	"log.retention.bytes":                                        "1000000",
	"log.retention.check.interval.ms":                            "1000",
	"log.index.interval.bytes":                                   "0",
	"log.flush.interval.messages":                                "1",
	"log.flush.interval.ms":                                      "0",
	"message.max.bytes":                                          "2097152",
	"log.message.timestamp.before.max.ms":                        "86400000",
	"log.message.timestamp.after.max.ms":                         "0",
	"log.cleaner.enable":                                         "false",
	"log.cleaner.io.max.bytes.per.second":                        "1048576",
	"log.cleaner.dedupe.buffer.size":                             "1048576",
	"log.cleaner.backoff.ms":                                     "100",
	"log.cleaner.delete.retention.ms":                            "0",
	"log.cleaner.min.cleanable.ratio":                            "0.25",
	"log.cleaner.min.compaction.lag.ms":                          "60000",
	"log.cleaner.max.compaction.lag.ms":                          "3600000",
	"socket.request.max.bytes":                                   "1",
	"socket.max.inflight.requests":                               "5",
	"fetch.max.bytes":                                            "1048576",
	"connections.max.idle.ms":                                    "-1",
	"group.initial.rebalance.delay.ms":                           "0",
	"group.min.session.timeout.ms":                               "1000",
	"group.max.session.timeout.ms":                               "60000",
	"group.max.size":                                             "100",
	"group.consumer.session.timeout.ms":                          "10000",
	"group.consumer.heartbeat.interval.ms":                       "500",
	"group.consumer.assignors":                                   "range,uniform",
	"offsets.topic.num.partitions":                               "3",
	"offsets.topic.segment.bytes":                                "1048576",
	"offsets.retention.minutes":                                  "60",
	"offsets.retention.check.interval.ms":                        "1000",
	"offset.metadata.max.bytes":                                  "100",
	"transaction.state.log.num.partitions":                       "3",
	"transaction.state.log.segment.bytes":                        "1048576",
	"transaction.max.timeout.ms":                                 "60000",
	"transactional.id.expiration.ms":                             "60000",
	"transaction.remove.expired.transaction.cleanup.interval.ms": "1000",
	"producer.id.expiration.ms":                                  "60000",
	"producer.id.expiration.check.interval.ms":                   "1000",
	"num.shards":                                                 "3",
	"shard.mailbox.size":                                         "1",
	"wal.io":                                                     "pwrite",
	"numa.policy":                                                "cpu",
	"log.flush.policy":                                           "always",
	"log.flush.syncfs.min.partitions":                            "4",
	"log.flush.wal.enable":                                       "false",
	"log.preallocate":                                            "false",
	"log.flush.wal.min.partitions":                               "2",
	"log.flush.wal.light.bytes.per.second":                       "1048576",
	"log.flush.wal.checkpoint.bytes":                             "1048576",
	"net.transport":                                              "std",
	"ssl.keystore.location":                                      "/etc/chronik/broker.pem",
	"ssl.keystore.type":                                          "PEM",
	"ssl.truststore.location":                                    "/etc/chronik/ca.pem",
	"ssl.truststore.type":                                        "PEM",
	"ssl.keystore.password":                                      "store-secret",
	"ssl.key.password":                                           "key-secret",
	"ssl.truststore.password":                                    "trust-secret",
	"ssl.client.auth":                                            "required",
	"sasl.enabled.mechanisms":                                    "PLAIN",
	"controller.listener.names":                                  "CONTROLLER",
	"delete.topic.enable":                                        "false",
	"listener.security.protocol.map":                             "PLAINTEXT:PLAINTEXT,EXTERNAL:SASL_SSL",
	"metrics.listener":                                           "127.0.0.1:9644",
	"io.timeout.ms":                                              "1",
	"fetch.max.wait.cap.ms":                                      "500",
	"shutdown.timeout.ms":                                        "0",
	"gc.min.heap.bytes":                                          "0",
}

func TestEveryKeySetsAndReads(t *testing.T) {
	for _, k := range Keys() {
		v, ok := nonDefault[k.Name]
		if !ok {
			t.Fatalf("key %s has no nonDefault test value", k.Name)
		}
		c := Defaults()
		if err := c.Set(k.Name, v); err != nil {
			t.Fatalf("Set(%s, %q): %v", k.Name, v, err)
		}
		if got, _ := c.Value(k.Name); got != v {
			t.Fatalf("after Set(%s, %q), Value = %q", k.Name, v, got)
		}
		if reflect.DeepEqual(c, Defaults()) {
			t.Fatalf("Set(%s, %q) left the Config at its defaults", k.Name, v)
		}
		// The same value through each source gives the same Config.
		fromFlag, err := Load([]string{"--set", k.Name + "=" + v}, nil)
		if err != nil {
			t.Fatal(err)
		}
		fromEnv, err := Load(nil, []string{EnvName(k.Name) + "=" + v})
		if err != nil {
			t.Fatal(err)
		}
		fromFile, err := Load([]string{"--config", writeConfigFile(t, k.Name+"="+v+"\n")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fromFlag, c) || !reflect.DeepEqual(fromEnv, c) || !reflect.DeepEqual(fromFile, c) {
			t.Fatalf("%s=%s: flag, environment and file disagree with Set:\n%+v\n%+v\n%+v\n%+v", k.Name, v, fromFlag, fromEnv, fromFile, c)
		}
	}
}

func TestKeysDefaultsMatchDefaults(t *testing.T) {
	d := Defaults()
	for _, k := range Keys() {
		got, ok := d.Value(k.Name)
		if !ok {
			t.Fatalf("Value(%s) unknown", k.Name)
		}
		if k.Name == "num.shards" {
			// The documented default 0 resolves to the usable CPUs.
			if k.Default != "0" || got != strconv.Itoa(UsableCPUs()) {
				t.Fatalf("num.shards default %q resolved to %s, want usable CPUs %d", k.Default, got, UsableCPUs())
			}
			continue
		}
		if got != k.Default {
			t.Fatalf("Keys() says %s defaults to %q but Defaults().Value = %q", k.Name, k.Default, got)
		}
		// Setting a key to its documented default changes nothing.
		c := Defaults()
		if err := c.Set(k.Name, k.Default); err != nil {
			t.Fatalf("Set(%s, default %q): %v", k.Name, k.Default, err)
		}
		if !reflect.DeepEqual(c, d) {
			t.Fatalf("Set(%s, default %q) changed the Config", k.Name, k.Default)
		}
	}
}

func TestKeysTable(t *testing.T) {
	keys := Keys()
	envs := make(map[string]string)
	for _, k := range keys {
		if k.Doc == "" || strings.Contains(k.Doc, "\n") {
			t.Fatalf("%s: doc must be one non-empty line, got %q", k.Name, k.Doc)
		}
		if k.Type.String() == "unknown" {
			t.Fatalf("%s: type %d has no name", k.Name, k.Type)
		}
		if k.SynonymOf != "" && lookupKey(k.SynonymOf) == nil {
			t.Fatalf("%s: synonym of unknown key %s", k.Name, k.SynonymOf)
		}
		env := EnvName(k.Name)
		if other, dup := envs[env]; dup {
			t.Fatalf("%s and %s share the environment variable %s", k.Name, other, env)
		}
		envs[env] = k.Name
	}
	f := func(name string, typ Type, unit string, dynamic bool) {
		t.Helper()
		for _, k := range keys {
			if k.Name == name {
				if k.Type != typ || k.Unit != unit || k.Dynamic != dynamic {
					t.Fatalf("%s: type %v unit %q dynamic %v; want %v %q %v", name, k.Type, k.Unit, k.Dynamic, typ, unit, dynamic)
				}
				return
			}
		}
		t.Fatalf("no key %s", name)
	}
	f("listeners", TypeList, "", false)
	f("log.segment.bytes", TypeInt, "bytes", true)
	f("log.retention.ms", TypeLong, "ms", true)
	f("log.retention.hours", TypeInt, "hours", true)
	f("auto.create.topics.enable", TypeBoolean, "", false)
	f("default.replication.factor", TypeShort, "", false)
	f("wal.io", TypeString, "", false)
	f("num.shards", TypeInt, "", false)
	f("connections.max.idle.ms", TypeLong, "ms", false)
	if EnvName("log.dirs") != "CHRONIK_LOG_DIRS" || EnvName("num.shards") != "CHRONIK_NUM_SHARDS" {
		t.Fatalf("EnvName: %s %s", EnvName("log.dirs"), EnvName("num.shards"))
	}
}

func TestValueOfSynonyms(t *testing.T) {
	f := func(key, value string, want map[string]string) {
		t.Helper()
		c := Defaults()
		if err := c.Set(key, value); err != nil {
			t.Fatal(err)
		}
		for k, w := range want {
			if got := c.getOrEmpty(k); got != w {
				t.Fatalf("after %s=%s: %s = %q, want %q", key, value, k, got, w)
			}
		}
	}
	f("log.retention.hours", "2", map[string]string{"log.retention.ms": "7200000", "log.retention.minutes": "120", "log.retention.hours": "2"})
	f("log.retention.ms", "90000", map[string]string{"log.retention.minutes": "1", "log.retention.hours": "0"})
	f("log.retention.minutes", "-1", map[string]string{"log.retention.ms": "-1", "log.retention.hours": "-1"})
	f("log.roll.hours", "1", map[string]string{"log.roll.ms": "3600000"})
	// Long.MAX_VALUE ms (no bound) reads back as itself in ms, and as the
	// quotient in the int hour and minute synonyms.
	f("log.retention.ms", "9223372036854775807", map[string]string{"log.retention.ms": "9223372036854775807",
		"log.retention.minutes": "153722867", "log.retention.hours": "2562047"})
}

func TestSetAndValueErrors(t *testing.T) {
	c := Defaults()
	if err := c.Set("log.segmnt.bytes", "1"); err == nil ||
		err.Error() != `config: unknown key "log.segmnt.bytes"; did you mean "log.segment.bytes"?` {
		t.Fatalf("Set unknown key: %v", err)
	}
	if err := c.Set("log.segment.bytes", "1"); err == nil ||
		err.Error() != `config: log.segment.bytes="1": must be at least 1024` {
		t.Fatalf("Set bad value: %v", err)
	}
	if !reflect.DeepEqual(c, Defaults()) {
		t.Fatal("a failed Set changed the Config")
	}
	if v, ok := c.Value("nope"); ok || v != "" {
		t.Fatalf("Value(nope) = %q, %v", v, ok)
	}
}

func TestValidate(t *testing.T) {
	f := func(change func(c *Config), want string) {
		t.Helper()
		c := Defaults()
		change(c)
		err := c.Validate()
		if want == "" {
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			return
		}
		if err == nil || err.Error() != want {
			t.Fatalf("Validate error = %v, want %s", err, want)
		}
	}
	f(func(c *Config) {}, "")
	f(func(c *Config) { c.NumShards = 0; c.Listeners = []string{"PLAINTEXT://:0"} }, "")
	f(func(c *Config) { c.LogSegmentBytes = 10 }, `config: log.segment.bytes="10": must be at least 1024`)
	f(func(c *Config) { c.Listeners = nil }, `config: listeners="": must name at least one listener`)
	f(func(c *Config) { c.WALIO = "" }, `config: wal.io="": want one of auto, uring, pwrite`)
	f(func(c *Config) { c.IOTimeout = 0 }, `config: io.timeout.ms="0": must be at least 1`)
	f(func(c *Config) { c.LogRetention = -1 }, "")

	// Validate checks but does not change.
	c := Defaults()
	c.NumShards = 0
	if err := c.Validate(); err != nil || c.NumShards != 0 {
		t.Fatalf("Validate changed NumShards to %d (err %v)", c.NumShards, err)
	}
}
