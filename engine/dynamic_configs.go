package engine

import (
	"strconv"

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
// this broker, in that order.
func (b *Broker) dynamicLayers(snap *meta.Snapshot) [2]map[string]string {
	if snap == nil {
		return [2]map[string]string{}
	}
	return [2]map[string]string{snap.BrokerConfigs[""], snap.BrokerConfigs[strconv.Itoa(int(b.nodeID))]}
}

// effectiveConfig is the static config with snap's dynamic overrides over
// it. An override that no longer applies (written by a build with other
// keys) is logged and the static config kept, rather than refusing to serve.
func (b *Broker) effectiveConfig(snap *meta.Snapshot) *config.Config {
	layers := b.dynamicLayers(snap)
	if layers[0] == nil && layers[1] == nil {
		return b.cfg
	}
	cfg, err := b.cfg.WithDynamic(layers[0], layers[1])
	if err != nil {
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
