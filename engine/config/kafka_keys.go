package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Kafka's own server.properties (its KRaft combined-mode file, as Kafka 3.x
// and 4.x ship it, or one a Kafka deployment grew) names keys that tune what
// Chronik does another way or does not have: network and I/O thread pools
// (Chronik has an event loop and a shard per core), socket buffer sizes,
// the controller quorum (Chronik's metadata quorum is in-process), the
// replication factors of internal topics (one broker). They are taken, so
// such a file starts Chronik unchanged, and each set one is named in a
// warning at start with why it has no effect. Keys whose value would change
// what clients see (min.insync.replicas, say) are not among them: set,
// they are refused as unknown.
var takenKafkaKeys = map[string]string{
	"process.roles":                                    "Chronik is always broker and controller of its own metadata",
	"controller.quorum.voters":                         "the metadata quorum is in-process",
	"controller.quorum.bootstrap.servers":              "the metadata quorum is in-process",
	"inter.broker.listener.name":                       "one broker: no inter-broker traffic",
	"security.inter.broker.protocol":                   "one broker: no inter-broker traffic",
	"sasl.mechanism.inter.broker.protocol":             "one broker: no inter-broker traffic",
	"sasl.mechanism.controller.protocol":               "the metadata quorum is in-process",
	"num.network.threads":                              "one event loop per usable CPU",
	"num.io.threads":                                   "one shard per usable CPU (num.shards)",
	"num.recovery.threads.per.data.dir":                "each shard recovers its own partitions",
	"socket.send.buffer.bytes":                         "the kernel's socket buffer sizes are used",
	"socket.receive.buffer.bytes":                      "the kernel's socket buffer sizes are used",
	"offsets.topic.replication.factor":                 "one broker: internal topics have one replica",
	"transaction.state.log.replication.factor":         "one broker: internal topics have one replica",
	"transaction.state.log.min.isr":                    "one broker: internal topics have one replica",
	"share.coordinator.state.topic.replication.factor": "share groups are not served",
	"share.coordinator.state.topic.min.isr":            "share groups are not served",
}

// takenKafkaKey is the registry row of a key of takenKafkaKeys (nil for any
// other): its value is kept in Config.KafkaKeys, for the warning.
func takenKafkaKey(name string) *key {
	why, ok := takenKafkaKeys[name]
	if !ok {
		return nil
	}
	return &key{name: name, typ: TypeString, doc: "taken from Kafka's config and not used: " + why,
		set: func(c *Config, v string) error {
			if name == "process.roles" {
				if err := checkProcessRoles(v); err != nil {
					return err
				}
			}
			c.KafkaKeys = withEntry(c.KafkaKeys, name, strings.TrimSpace(v))
			return nil
		},
		get: func(c *Config) string { return c.KafkaKeys[name] }}
}

// checkProcessRoles takes broker, or broker and controller: a node that is
// only a controller is not what Chronik is.
func checkProcessRoles(v string) error {
	roles, err := splitList(v)
	if err != nil {
		return err
	}
	for _, r := range roles {
		if r != "broker" && r != "controller" {
			return fmt.Errorf("role %q: want broker, controller", r)
		}
	}
	if !slices.Contains(roles, "broker") {
		return errors.New("Chronik is a broker: process.roles must include broker")
	}
	return nil
}

// TakenKafkaKeys lists the taken Kafka keys set, sorted, each with why it
// has no effect.
func (c *Config) TakenKafkaKeys() [][2]string {
	var out [][2]string
	for _, k := range slices.Sorted(maps.Keys(c.KafkaKeys)) {
		out = append(out, [2]string{k, takenKafkaKeys[k]})
	}
	return out
}
