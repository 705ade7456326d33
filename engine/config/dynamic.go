package config

import (
	"fmt"
	"slices"
	"strings"
)

// Dynamic broker configs, as Kafka's kafka-configs --alter --entity-type
// brokers sets them: the keys marked dynamic may be overridden at runtime,
// cluster-wide (the default for every broker) and per broker, and those
// overrides sit above every static source. WithDynamic layers them over a
// loaded Config; the overrides themselves live in the cluster metadata.

// CheckDynamic reports whether key may be set at runtime to value: the key
// exists, is dynamic, and the value parses and passes its checks.
func CheckDynamic(key, value string) error {
	k := lookupKey(key)
	switch {
	case k == nil:
		return fmt.Errorf("config: unknown key %q%s", key, suggestion(key))
	case !k.dynamic:
		return fmt.Errorf("config: %s cannot change at runtime: set it in the properties file, a CHRONIK_* environment variable or --set, and restart", key)
	}
	scratch := Defaults()
	if err := k.set(scratch, value); err != nil {
		return fmt.Errorf("config: %s=%s: %w", key, shown(key, value), err)
	}
	return nil
}

// WithDynamic returns a copy of c with the layers of dynamic overrides
// applied in order, a later layer winning (Kafka's cluster-wide default,
// then this broker's own). Within a layer the finest unit of a setting wins,
// as when loading; a layer's setting in any unit replaces what an earlier
// layer or a static source gave in another unit. Keys that are unknown or
// not dynamic, and values that do not parse, are an error (the caller
// checked them before they were stored, so this means a stored override
// from another build).
func (c *Config) WithDynamic(layers ...map[string]string) (*Config, error) {
	out := *c
	for _, layer := range layers {
		names := make([]string, 0, len(layer))
		for name := range layer {
			names = append(names, name)
		}
		// Coarsest unit first, so the finest of a setting is set last.
		slices.SortFunc(names, func(a, b string) int {
			ka, kb := lookupKey(a), lookupKey(b)
			if ka == nil || kb == nil {
				return strings.Compare(a, b)
			}
			if ka.rank != kb.rank {
				return kb.rank - ka.rank
			}
			return strings.Compare(a, b)
		})
		for _, name := range names {
			k := lookupKey(name)
			if k == nil || !k.dynamic {
				return nil, fmt.Errorf("config: dynamic override of %q: not a dynamic key", name)
			}
			if err := k.set(&out, layer[name]); err != nil {
				return nil, fmt.Errorf("config: dynamic override %s=%s: %w", name, shown(name, layer[name]), err)
			}
		}
	}
	return &out, nil
}
