package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Kafka scopes some keys to one listener with the prefix
// listener.name.<name>. (the name in lower case): the listener's TLS
// stores, its SASL mechanisms, and its SASL users' JAAS line
// (listener.name.<name>.plain.sasl.jaas.config). A scoped TLS or mechanism
// key wins over the plain one for its listener; the JAAS line exists only
// scoped. They are kept by full name in Config.ListenerKeys.

const listenerKeyPrefix = "listener.name."

// plainJAASSuffix is the scoped key holding a SASL listener's PLAIN users.
const plainJAASSuffix = "plain.sasl.jaas.config"

// listenerScoped are the keys that may be scoped to a listener, with how
// each is checked: the plain key's own row, or (the JAAS line) one of its
// own.
var listenerScoped = func() map[string]*key {
	m := map[string]*key{
		plainJAASSuffix: {name: plainJAASSuffix, typ: TypePassword,
			doc: `PLAIN users of a SASL listener, as Kafka's JAAS line: org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";`,
			set: func(c *Config, v string) error {
				if v = strings.TrimSpace(v); v != "" {
					_, err := plainUsers(v)
					return err
				}
				return nil
			}},
		// Taken, as Kafka requires them; SCRAM's users are in the metadata.
		"scram-sha-256.sasl.jaas.config": {name: "scram-sha-256.sasl.jaas.config", typ: TypePassword,
			doc: "a SCRAM-SHA-256 listener's JAAS line, as Kafka requires it: org.apache.kafka.common.security.scram.ScramLoginModule required;", set: scramJAASField},
		"scram-sha-512.sasl.jaas.config": {name: "scram-sha-512.sasl.jaas.config", typ: TypePassword,
			doc: "a SCRAM-SHA-512 listener's JAAS line, as Kafka requires it: org.apache.kafka.common.security.scram.ScramLoginModule required;", set: scramJAASField},
	}
	for _, name := range []string{"ssl.keystore.location", "ssl.keystore.type", "ssl.keystore.password",
		"ssl.key.password", "ssl.truststore.location", "ssl.truststore.type", "ssl.truststore.password",
		"ssl.client.auth", "sasl.enabled.mechanisms"} {
		m[name] = lookupTableKey(name)
	}
	return m
}()

// scopedKey is suffix's key scoped to listener name, as Kafka spells it:
// listener.name.<name in lower case>.<suffix>.
func scopedKey(name, suffix string) string {
	return listenerKeyPrefix + strings.ToLower(name) + "." + suffix
}

// withEntry is m with k set to v, in a new map: a Config's maps are
// replaced, never written, so its copies share none of their changes.
func withEntry(m map[string]string, k, v string) map[string]string {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	out[k] = v
	return out
}

// splitListenerKey splits listener.name.<name>.<suffix>; ok is false for
// any other key or a suffix that cannot be scoped.
func splitListenerKey(full string) (name, suffix string, ok bool) {
	rest, found := strings.CutPrefix(full, listenerKeyPrefix)
	if !found {
		return "", "", false
	}
	name, suffix, found = strings.Cut(rest, ".")
	if !found || !listenerName.MatchString(name) || listenerScoped[suffix] == nil {
		return "", "", false
	}
	return name, suffix, true
}

// listenerKey is the registry row of a scoped key (nil for any other): it
// checks a value as the plain key does and keeps it in ListenerKeys under
// the name with the listener in lower case.
func listenerKey(full string) *key {
	name, suffix, ok := splitListenerKey(full)
	if !ok {
		return nil
	}
	base := listenerScoped[suffix]
	norm := scopedKey(name, suffix)
	return &key{name: norm, typ: base.typ, doc: base.doc,
		set: func(c *Config, v string) error {
			// Checked and normalised on a copy of the plain key.
			scratch := *c
			if err := base.set(&scratch, v); err != nil {
				return err
			}
			if base.get != nil {
				v = base.get(&scratch)
			} else {
				v = strings.TrimSpace(v)
			}
			c.ListenerKeys = withEntry(c.ListenerKeys, norm, v)
			return nil
		},
		get: func(c *Config) string { return c.ListenerKeys[norm] }}
}

// listenerKeyEnv maps CHRONIK_LISTENER_NAME_<NAME>_<SUFFIX> back to its key:
// the suffix is matched first, since a listener name may hold '_'.
func listenerKeyEnv(upper string) (string, bool) {
	rest, ok := strings.CutPrefix(upper, EnvName(listenerKeyPrefix))
	if !ok {
		return "", false
	}
	for suffix := range listenerScoped {
		envSuffix := "_" + strings.ToUpper(strings.ReplaceAll(suffix, ".", "_"))
		if name, ok := strings.CutSuffix(rest, envSuffix); ok && listenerName.MatchString(name) {
			return scopedKey(name, suffix), true
		}
	}
	return "", false
}

// listenerKeyNames lists the scoped keys set, sorted.
func (c *Config) listenerKeyNames() []string {
	return slices.Sorted(maps.Keys(c.ListenerKeys))
}

// ListenerKeyInfos describes the scoped keys set, for DescribeConfigs.
func (c *Config) ListenerKeyInfos() []KeyInfo {
	var out []KeyInfo
	for _, name := range c.listenerKeyNames() {
		k := listenerKey(name)
		out = append(out, KeyInfo{Name: k.name, Type: k.typ, Doc: k.doc})
	}
	return out
}

// ForListener is the config as listener name sees it: its scoped TLS and
// SASL mechanism keys over the plain ones.
func (c *Config) ForListener(name string) (*Config, error) {
	lc := *c
	prefix := scopedKey(name, "")
	for _, full := range c.listenerKeyNames() {
		suffix, ok := strings.CutPrefix(full, prefix)
		if !ok || strings.HasSuffix(suffix, ".sasl.jaas.config") {
			continue
		}
		if err := listenerScoped[suffix].set(&lc, c.ListenerKeys[full]); err != nil {
			return nil, fmt.Errorf("config: %s=%s: %w", full, shown(full, c.ListenerKeys[full]), err)
		}
	}
	return &lc, nil
}
