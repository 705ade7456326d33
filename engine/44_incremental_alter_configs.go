package engine

import (
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/config"
	"github.com/chronik-go/chronik/engine/meta"
)

// IncrementalAlterConfigs: v0-1
//
// Behaviour:
// * TOPIC resources, per config: SET replaces the topic's override,
//   DELETE removes it (back to the default), APPEND and SUBTRACT add or
//   remove items of a list config (cleanup.policy) starting from the
//   topic's override, else its default, keeping items unique, as Kafka's
//   KIP-339 does. Other keys are untouched.
// * An unknown key, a value that breaks the key's rules (also after an
//   APPEND/SUBTRACT) or a list op on a non-list key is INVALID_CONFIG with
//   the reason; a key given twice in one resource, an unknown op or a
//   resource named twice is INVALID_REQUEST; an unknown topic
//   UNKNOWN_TOPIC_OR_PARTITION.
// * BROKER resources ("" for the cluster-wide default, or this broker's
//   id): SET and DELETE change that resource's dynamic overrides of the
//   dynamic keys (see AlterConfigs); SET of another key or a bad value, and
//   APPEND or SUBTRACT (no dynamic key is a list), are INVALID_REQUEST;
//   DELETE takes any name, so an override a later build no longer takes
//   can be removed.
// * ValidateOnly runs every check and changes nothing.
// * All valid changes of a request are one metadata proposal, run off the
//   event loop and bounded by io.timeout.ms (see AlterConfigs).
//
// Version notes:
// * v1: flexible

func init() { registerAPI(44, 0, 1, (*Broker).handleIncrementalAlterConfigs) }

func (b *Broker) handleIncrementalAlterConfigs(r *request) {
	req := r.kreq.(*kmsg.IncrementalAlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	v := b.currentView()

	seen := make(map[configResourceKey]int)
	for _, rr := range req.Resources {
		seen[b.configResourceKey(rr.ResourceType, rr.ResourceName)]++
	}
	var changes []configChange
	resp.Resources = make([]kmsg.IncrementalAlterConfigsResponseResource, len(req.Resources))
	for i, rr := range req.Resources {
		res := &resp.Resources[i]
		*res = kmsg.NewIncrementalAlterConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		op, aerr := b.configResourceOp(rr.ResourceType, rr.ResourceName, seen, func() (meta.Op, *apiError) {
			return alterTopicConfigs(v.cfg, v, rr)
		}, func(resource string) (meta.Op, *apiError) {
			return alterBrokerConfigs(resource, rr)
		})
		if aerr != nil {
			res.ErrorCode, res.ErrorMessage = aerr.errCode(), aerr.message()
			continue
		}
		if !req.ValidateOnly && (len(op.Set) > 0 || len(op.Delete) > 0) {
			changes = append(changes, configChange{op: op, fail: func(e *apiError) {
				res.ErrorCode, res.ErrorMessage = e.errCode(), e.message()
			}})
		}
	}
	b.proposeConfigChanges(r, resp, changes)
}

// alterTopicConfigs validates one topic resource's ops against the topic's
// current overrides and builds the op that sets and deletes exactly the keys
// they touch, so concurrent changes to other keys are kept.
func alterTopicConfigs(cfg *config.Config, v *clusterView, rr kmsg.IncrementalAlterConfigsRequestResource) (meta.Op, *apiError) {
	if err := validTopicName(rr.ResourceName); err != nil {
		return meta.Op{}, newAPIError(kerr.InvalidTopicException, "%v", err)
	}
	t, ok := v.topic(rr.ResourceName)
	if !ok {
		return meta.Op{}, newAPIError(kerr.UnknownTopicOrPartition, "Topic %s does not exist.", rr.ResourceName)
	}
	touched := make(map[string]bool, len(rr.Configs))
	op := meta.Op{Kind: meta.OpAlterTopicConfig, Names: []string{rr.ResourceName}, Set: map[string]string{}}
	for _, c := range rr.Configs {
		if touched[c.Name] {
			return meta.Op{}, newAPIError(kerr.InvalidRequest, "Error due to duplicate config keys: %s", c.Name)
		}
		touched[c.Name] = true
		k, ok := lookupTopicConfigKey(c.Name)
		if !ok && c.Op == kmsg.IncrementalAlterConfigOpDelete {
			continue // nothing to delete, as Kafka takes it (a tool resetting a key of another Kafka version)
		}
		if !ok {
			return meta.Op{}, newAPIError(kerr.InvalidConfig, "Unknown topic config name: %s", c.Name)
		}
		switch c.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			v, aerr := checkTopicConfigValue(c.Name, c.Value)
			if aerr != nil {
				return meta.Op{}, aerr
			}
			op.Set[c.Name] = v
		case kmsg.IncrementalAlterConfigOpDelete:
			op.Delete = append(op.Delete, c.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			if k.kind != kmsg.ConfigTypeList {
				return meta.Op{}, newAPIError(kerr.InvalidConfig, "Config value %s is not allowed for config key: %s", listOpName(c.Op), c.Name)
			}
			if c.Value == nil {
				return meta.Op{}, newAPIError(kerr.InvalidConfig, "topic config %s: null value", c.Name)
			}
			cur, ok := t.Configs[c.Name]
			if !ok {
				cur = k.brokerDefault(cfg)
			}
			next := strings.Join(applyListOp(splitConfigList(cur), splitConfigList(*c.Value), c.Op), ",")
			v, aerr := checkTopicConfigValue(c.Name, &next)
			if aerr != nil {
				return meta.Op{}, aerr
			}
			op.Set[c.Name] = v
		default:
			return meta.Op{}, newAPIError(kerr.InvalidRequest, "unknown alter config operation %d for config key %s", c.Op, c.Name)
		}
	}
	after := maps.Clone(t.Configs)
	if after == nil {
		after = map[string]string{}
	}
	maps.Copy(after, op.Set)
	for _, name := range op.Delete {
		delete(after, name)
	}
	if aerr := checkTopicConfigCombination(cfg, after); aerr != nil {
		return meta.Op{}, aerr
	}
	return op, nil
}

// alterBrokerConfigs validates one broker resource's ops and builds the op
// that sets and deletes exactly the dynamic overrides they name.
func alterBrokerConfigs(resource string, rr kmsg.IncrementalAlterConfigsRequestResource) (meta.Op, *apiError) {
	op := meta.Op{Kind: meta.OpAlterBrokerConfig, Names: []string{resource}, Set: map[string]string{}}
	touched := make(map[string]bool, len(rr.Configs))
	for _, c := range rr.Configs {
		if touched[c.Name] {
			return meta.Op{}, newAPIError(kerr.InvalidRequest, "Error due to duplicate config keys: %s", c.Name)
		}
		touched[c.Name] = true
		switch c.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			if aerr := checkBrokerConfigValue(resource, c.Name, c.Value); aerr != nil {
				return meta.Op{}, aerr
			}
			op.Set[c.Name] = *c.Value
		case kmsg.IncrementalAlterConfigOpDelete:
			// Any name: a stored override a later build no longer takes
			// must be removable.
			op.Delete = append(op.Delete, c.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			return meta.Op{}, newAPIError(kerr.InvalidRequest, "Invalid config value for resource ConfigResource(type=BROKER, name='%s'): %s of %s: no dynamic broker config is a list", rr.ResourceName, listOpName(c.Op), c.Name)
		default:
			return meta.Op{}, newAPIError(kerr.InvalidRequest, "unknown alter config operation %d for config key %s", c.Op, c.Name)
		}
	}
	return op, nil
}

// applyListOp appends items not yet present, or removes every copy of the
// given items.
func applyListOp(cur, items []string, op kmsg.IncrementalAlterConfigOp) []string {
	if op == kmsg.IncrementalAlterConfigOpSubtract {
		return slices.DeleteFunc(cur, func(it string) bool { return slices.Contains(items, it) })
	}
	for _, it := range items {
		if !slices.Contains(cur, it) {
			cur = append(cur, it)
		}
	}
	return cur
}

func listOpName(op kmsg.IncrementalAlterConfigOp) string {
	if op == kmsg.IncrementalAlterConfigOpSubtract {
		return "subtract"
	}
	return "append"
}
