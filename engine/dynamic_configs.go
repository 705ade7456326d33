package engine

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/chronik-go/chronik/engine/config"
	"github.com/chronik-go/chronik/engine/meta"
)

// Dynamic broker configs: overrides of the dynamic broker keys set at
// runtime through (Incremental)AlterConfigs on BROKER resources, kept in the
// replicated metadata (meta.Snapshot.BrokerConfigs) so they survive
// restarts, and layered over the static config as Kafka layers them: this
// broker's own ("<node id>") over the cluster-wide default ("") over the
// properties file, environment and --set.

// dynamicLayers returns snap's cluster-default and per-broker overrides for
// this broker, in that order, without the ones that no longer apply (a key
// a later build made static, or a value it no longer takes): those are
// skipped one by one, as Kafka drops them when it loads its persisted
// overrides, and logged once each time the set of them changes.
func (b *Broker) dynamicLayers(snap *meta.Snapshot) [2]map[string]string {
	var layers [2]map[string]string
	if snap == nil {
		return layers
	}
	var stale []string
	for i, name := range []string{"", strconv.Itoa(int(b.nodeID))} {
		for k, v := range snap.BrokerConfigs[name] {
			if err := config.CheckDynamic(k, v); err != nil {
				stale = append(stale, fmt.Sprintf("%q: %v", name, err))
				continue
			}
			if layers[i] == nil {
				layers[i] = make(map[string]string)
			}
			layers[i][k] = v
		}
	}
	slices.Sort(stale)
	key := strings.Join(stale, "; ")
	if prev := b.staleOverrides.Swap(&key); key != "" && (prev == nil || *prev != key) {
		b.log.Warn("dynamic broker config overrides skipped; delete them with IncrementalAlterConfigs", "overrides", key)
	}
	return layers
}

// effectiveConfig is the static config with snap's dynamic overrides over
// it.
func (b *Broker) effectiveConfig(snap *meta.Snapshot) *config.Config {
	layers := b.dynamicLayers(snap)
	if layers[0] == nil && layers[1] == nil {
		return b.cfg
	}
	cfg, err := b.cfg.WithDynamic(layers[0], layers[1])
	if err != nil { // dynamicLayers checked every entry
		b.log.Error("dynamic broker configs not applied", "err", err)
		return b.cfg
	}
	return cfg
}

// liveConfig is the config in effect now: the served view's, or before the
// first view the store's current snapshot's.
func (b *Broker) liveConfig() *config.Config {
	if v := b.view.Load(); v != nil {
		return v.cfg
	}
	return b.effectiveConfig(b.store.Current())
}
