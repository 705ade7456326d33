package engine

import (
	"github.com/chronik-go/chronik/engine/config"
	"github.com/chronik-go/chronik/engine/meta"
)

// clusterView is the metadata snapshot the broker serves from, published only
// after every partition it names is open on its shard, so Metadata never
// advertises a partition that cannot take a write yet.
type clusterView struct {
	snap     *meta.Snapshot
	byID     map[meta.TopicID]string
	settings map[string]*topicSettings
	// cfg is the broker config in effect: the static one with the
	// snapshot's dynamic overrides (dynamic_configs.go) over it.
	cfg *config.Config
}

// newClusterView builds the view of snap; cfg is the config in effect
// (effectiveConfig), whose keys give topics their defaults.
func newClusterView(snap *meta.Snapshot, cfg *config.Config) *clusterView {
	v := &clusterView{
		snap:     snap,
		byID:     make(map[meta.TopicID]string, len(snap.Topics)),
		settings: make(map[string]*topicSettings, len(snap.Topics)),
		cfg:      cfg,
	}
	for name, t := range snap.Topics {
		v.byID[t.ID] = name
		v.settings[name] = resolveTopicSettings(cfg, t.Configs)
	}
	return v
}

func (v *clusterView) topic(name string) (*meta.Topic, bool) {
	t, ok := v.snap.Topics[name]
	return t, ok
}

func (v *clusterView) partition(topic string, p int32) (*meta.Topic, *meta.Partition, bool) {
	t, ok := v.snap.Topics[topic]
	if !ok || p < 0 || int(p) >= len(t.Partitions) {
		return nil, nil, false
	}
	return t, &t.Partitions[p], true
}

func (v *clusterView) topicByID(id meta.TopicID) (string, bool) {
	name, ok := v.byID[id]
	return name, ok
}

// broker is the registered broker id, known false when there is none (as
// for a partition's leader -1).
func (v *clusterView) broker(id int32) (br meta.Broker, known bool) {
	br, known = v.snap.Brokers[id]
	return br, known
}
