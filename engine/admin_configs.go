package engine

import (
	"slices"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/config"
)

// Config descriptions shared by DescribeConfigs and CreateTopics v5+.
//
// A topic config's value comes from the first level that sets it, as in
// Kafka: the topic's own override (DYNAMIC_TOPIC_CONFIG), then its broker
// synonym's dynamic override for this broker (DYNAMIC_BROKER_CONFIG) or
// for the cluster (DYNAMIC_DEFAULT_BROKER_CONFIG), then the synonym when the
// operator set it at start (STATIC_BROKER_CONFIG), then the default
// (DEFAULT_CONFIG). Synonyms list those levels in that order. A static
// broker key counts as set when its value differs from its default, since
// the config package keeps values, not where they came from.

// brokerDefaults is every broker key at its default.
var brokerDefaults = sync.OnceValue(config.Defaults)

// brokerKeyLevels returns a broker key's value and whether the operator set
// it; known is false for synonyms the config package does not have (their
// default is a constant, as Kafka's is).
func brokerKeyLevels(cfg *config.Config, key string) (value, def string, set, known bool) {
	value, known = cfg.Value(key)
	if !known {
		return "", "", false, false
	}
	def, _ = brokerDefaults().Value(key)
	return value, def, value != def, true
}

// configLevels are the broker config levels a description reads: the
// static config, the dynamic overrides (cluster default, then this
// broker's) and the config in effect with both.
type configLevels struct {
	static    *config.Config
	dynamic   [2]map[string]string
	effective *config.Config
}

// configLevels returns the levels of the served view (or, before the
// first, of the store's snapshot).
func (b *Broker) configLevels() configLevels {
	if v := b.view.Load(); v != nil {
		return configLevels{static: b.cfg, dynamic: b.dynamicLayers(v.snap), effective: v.cfg}
	}
	snap := b.store.Current()
	return configLevels{static: b.cfg, dynamic: b.dynamicLayers(snap), effective: b.effectiveConfig(snap)}
}

// unitSynonyms maps a main broker key to itself and its other units,
// finest first (log.retention.ms, .minutes, .hours).
var unitSynonyms = sync.OnceValue(func() map[string][]string {
	m := map[string][]string{}
	for _, k := range config.Keys() {
		main := k.Name
		if k.SynonymOf != "" {
			main = k.SynonymOf
		}
		m[main] = append(m[main], k.Name)
	}
	return m
})

// brokerKeyChain lists the levels that set broker key, highest precedence
// first, ending with its default: a dynamic layer counts when it sets the
// key in any unit. known is false for a key the config package lacks.
func (lv configLevels) brokerKeyChain(key string) (chain []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym, known bool) {
	v, def, set, known := brokerKeyLevels(lv.static, key)
	if !known {
		return nil, false
	}
	main := key
	for m, names := range unitSynonyms() {
		if slices.Contains(names, key) {
			main = m
		}
	}
	for i, src := range []kmsg.ConfigSource{kmsg.ConfigSourceDynamicBrokerConfig, kmsg.ConfigSourceDynamicDefaultBrokerConfig} {
		layer := lv.dynamic[1-i]
		for _, name := range unitSynonyms()[main] {
			if dv, ok := layer[name]; ok {
				chain = append(chain, configSynonym(name, dv, src))
			}
		}
	}
	if set {
		chain = append(chain, configSynonym(key, v, kmsg.ConfigSourceStaticBrokerConfig))
	}
	return append(chain, configSynonym(key, def, kmsg.ConfigSourceDefaultConfig)), true
}

func configSynonym(name, value string, src kmsg.ConfigSource) kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
	s.Name, s.Value, s.Source = name, nullIfEmpty(value), src
	return s
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// describeTopicConfig describes one topic key given the topic's overrides.
func describeTopicConfig(lv configLevels, k *topicConfigKey, overrides map[string]string, synonyms, docs bool) kmsg.DescribeConfigsResponseResourceConfig {
	var syns []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym
	if v, ok := overrides[k.name]; ok {
		syns = append(syns, configSynonym(k.name, v, kmsg.ConfigSourceDynamicTopicConfig))
	}
	if k.brokerKey != "" {
		if chain, known := lv.brokerKeyChain(k.brokerKey); known {
			syns = append(syns, chain...)
		} else {
			syns = append(syns, configSynonym(k.brokerKey, k.brokerDefault(lv.effective), kmsg.ConfigSourceDefaultConfig))
		}
	}
	c := kmsg.NewDescribeConfigsResponseResourceConfig()
	c.Name = k.name
	c.Source = kmsg.ConfigSourceDefaultConfig
	if v, ok := overrides[k.name]; ok {
		c.Value = nullIfEmpty(v)
	} else {
		// The topic-level form of the effective broker value (units
		// and "never" spellings differ from the broker key's).
		c.Value = nullIfEmpty(k.brokerDefault(lv.effective))
	}
	if len(syns) > 0 {
		c.Source = syns[0].Source
	}
	c.IsDefault = c.Source == kmsg.ConfigSourceDefaultConfig
	c.ConfigType = k.kind
	if synonyms {
		c.ConfigSynonyms = syns
	}
	if docs {
		doc := k.doc
		c.Documentation = &doc
	}
	return c
}

// describeTopicConfigs describes every topic key Chronik knows.
func describeTopicConfigs(lv configLevels, overrides map[string]string, synonyms, docs bool) []kmsg.DescribeConfigsResponseResourceConfig {
	out := make([]kmsg.DescribeConfigsResponseResourceConfig, 0, len(topicConfigKeys))
	for i := range topicConfigKeys {
		out = append(out, describeTopicConfig(lv, &topicConfigKeys[i], overrides, synonyms, docs))
	}
	return out
}

// describeBrokerConfigs describes every broker key of this broker, with the
// value in effect and the level it comes from. Keys that cannot change at
// runtime are read-only, as Kafka marks its static broker configs.
func describeBrokerConfigs(lv configLevels, synonyms, docs bool) []kmsg.DescribeConfigsResponseResourceConfig {
	keys := config.Keys()
	out := make([]kmsg.DescribeConfigsResponseResourceConfig, 0, len(keys))
	for _, info := range keys {
		chain, _ := lv.brokerKeyChain(info.Name)
		v, _ := lv.effective.Value(info.Name)
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name = info.Name
		c.Value = nullIfEmpty(v)
		c.Source = chain[0].Source
		c.IsDefault = c.Source == kmsg.ConfigSourceDefaultConfig
		c.ReadOnly = !info.Dynamic
		c.ConfigType = kmsg.ConfigType(info.Type)
		if info.Type == config.TypePassword {
			// As Kafka: a secret is reported sensitive, never its value.
			c.Value, c.IsSensitive = nil, true
			for i := range chain {
				chain[i].Value = nil
			}
		}
		if synonyms {
			c.ConfigSynonyms = chain
		}
		if docs {
			doc := info.Doc
			if info.Unit != "" {
				doc += " (" + info.Unit + ")"
			}
			c.Documentation = &doc
		}
		out = append(out, c)
	}
	// The listener-scoped keys set (listener.name.<name>.<key>), static.
	for _, info := range lv.static.ListenerKeyInfos() {
		v, _ := lv.static.Value(info.Name)
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.Value, c.Source, c.ReadOnly = info.Name, nullIfEmpty(v), kmsg.ConfigSourceStaticBrokerConfig, true
		c.ConfigType = kmsg.ConfigType(info.Type)
		if info.Type == config.TypePassword {
			c.Value, c.IsSensitive = nil, true
		}
		if synonyms {
			s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
			s.Name, s.Value, s.Source = c.Name, c.Value, c.Source
			c.ConfigSynonyms = []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{s}
		}
		if docs {
			doc := info.Doc
			c.Documentation = &doc
		}
		out = append(out, c)
	}
	return out
}

// describeBrokerDefaults describes the cluster-wide dynamic defaults (the
// BROKER resource named ""): only the keys set there, with only the
// cluster-default level among the synonyms, as Kafka's ConfigHelper lists
// them.
func describeBrokerDefaults(lv configLevels, synonyms, docs bool) []kmsg.DescribeConfigsResponseResourceConfig {
	out := []kmsg.DescribeConfigsResponseResourceConfig{}
	for _, info := range config.Keys() {
		v, ok := lv.dynamic[0][info.Name]
		if !ok {
			continue
		}
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.Value, c.Source = info.Name, nullIfEmpty(v), kmsg.ConfigSourceDynamicDefaultBrokerConfig
		c.ReadOnly = !info.Dynamic
		c.ConfigType = kmsg.ConfigType(info.Type)
		if synonyms {
			chain, _ := lv.brokerKeyChain(info.Name)
			c.ConfigSynonyms = slices.DeleteFunc(chain, func(s kmsg.DescribeConfigsResponseResourceConfigConfigSynonym) bool {
				return s.Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig
			})
		}
		if docs {
			doc := info.Doc
			c.Documentation = &doc
		}
		out = append(out, c)
	}
	return out
}

// filterConfigs keeps the configs named in names; no names (null, or an
// empty list, as Kafka's ConfigHelper takes both) keeps all.
func filterConfigs(cs []kmsg.DescribeConfigsResponseResourceConfig, names []string) []kmsg.DescribeConfigsResponseResourceConfig {
	if len(names) == 0 {
		return cs
	}
	return slices.DeleteFunc(cs, func(c kmsg.DescribeConfigsResponseResourceConfig) bool {
		return !slices.Contains(names, c.Name)
	})
}

// createTopicsConfigs turns a topic description into CreateTopics v5+'s
// config list (KIP-525).
func createTopicsConfigs(cs []kmsg.DescribeConfigsResponseResourceConfig) []kmsg.CreateTopicsResponseTopicConfig {
	out := make([]kmsg.CreateTopicsResponseTopicConfig, 0, len(cs))
	for _, c := range cs {
		rc := kmsg.NewCreateTopicsResponseTopicConfig()
		rc.Name, rc.Value, rc.ReadOnly, rc.Source, rc.IsSensitive = c.Name, c.Value, c.ReadOnly, int8(c.Source), c.IsSensitive
		out = append(out, rc)
	}
	return out
}

// splitConfigList splits a list-typed config value ("delete,compact") into
// its trimmed, non-empty items.
func splitConfigList(v string) []string {
	var items []string
	for _, it := range strings.Split(v, ",") {
		if it = strings.TrimSpace(it); it != "" {
			items = append(items, it)
		}
	}
	return items
}

// checkTopicConfigValue validates one topic key=value as INVALID_CONFIG
// with the reason, as CreateTopics and both AlterConfigs answer it, and
// returns the value to store (validateTopicConfig).
func checkTopicConfigValue(name string, value *string) (string, *apiError) {
	v, err := validateTopicConfig(name, value)
	if err != nil {
		return "", newAPIError(kerr.InvalidConfig, "%v", err)
	}
	return v, nil
}

// checkTopicConfigCombination checks what single values cannot show, on a
// topic's overrides as they would be after a change (broker defaults fill
// the rest): Kafka refuses a min.compaction.lag.ms above
// max.compaction.lag.ms, which would keep the segments max asks to clean
// out of every pass.
func checkTopicConfigCombination(cfg *config.Config, overrides map[string]string) *apiError {
	st := resolveTopicSettings(cfg, overrides)
	if st.minCompactionLagMs > st.maxCompactionLagMs {
		return newAPIError(kerr.InvalidConfig, "conflict topic config setting min.compaction.lag.ms (%d) > max.compaction.lag.ms (%d)",
			st.minCompactionLagMs, st.maxCompactionLagMs)
	}
	return nil
}
