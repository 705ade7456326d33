package engine

import (
	"context"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/config"
	"github.com/chronik-go/chronik/engine/meta"
)

// AlterConfigs: v0-2
//
// Behaviour:
// * TOPIC resources: the configs given replace the topic's whole override
//   set (keys not given go back to their defaults), as the legacy API
//   means. Every key and value is checked with the topic config rules
//   (INVALID_CONFIG with the reason); a key given twice is INVALID_REQUEST;
//   an unknown topic UNKNOWN_TOPIC_OR_PARTITION.
// * BROKER resources ("" for the cluster-wide default, or this broker's
//   id): the configs given replace that resource's dynamic overrides. Only
//   dynamic keys may be given (chronik --help-config lists them); any other
//   key, or a value that breaks the key's rules, is INVALID_REQUEST with
//   the reason, as Kafka answers. Overrides sit above the static config
//   (properties file, CHRONIK_*, --set), this broker's above the default,
//   and apply at once to every topic that takes its default from them.
// * A resource named twice in one request is INVALID_REQUEST for each.
// * ValidateOnly runs every check and changes nothing.
// * All valid changes of a request are one metadata proposal, run off the
//   event loop and bounded by io.timeout.ms; the answer comes once the
//   served view carries them. The overrides are part of the replicated
//   metadata, so they survive restarts.
//
// Version notes:
// * v1: ThrottleMillis
// * v2: flexible

func init() { registerAPI(33, 0, 2, (*Broker).handleAlterConfigs) }

// configChange is one resource's validated change on its way to the
// proposal, shared by AlterConfigs and IncrementalAlterConfigs.
type configChange struct {
	op   meta.Op
	fail func(*apiError) // records the op's error in its resource's answer
}

// configResourceOp is the per-resource dispatch AlterConfigs and
// IncrementalAlterConfigs share: duplicates and unsupported types are
// refused, a broker resource must name this broker or the cluster default
// (""), and each type builds its op.
func (b *Broker) configResourceOp(kind kmsg.ConfigResourceType, name string, seen map[configResourceKey]int, topicOp func() (meta.Op, *apiError), brokerOp func(resource string) (meta.Op, *apiError)) (meta.Op, *apiError) {
	switch {
	case seen[b.configResourceKey(kind, name)] > 1:
		return meta.Op{}, newAPIError(kerr.InvalidRequest, "Duplicate resource %s.", name)
	case kind == kmsg.ConfigResourceTypeTopic:
		return topicOp()
	case kind == kmsg.ConfigResourceTypeBroker:
		if name != "" {
			if aerr := b.checkBrokerResource(name); aerr != nil {
				return meta.Op{}, aerr
			}
			// Stored under the id's own spelling ("01" names broker 1),
			// where the broker looks its overrides up.
			name = strconv.Itoa(int(b.nodeID))
		}
		return brokerOp(name)
	}
	return meta.Op{}, newAPIError(kerr.InvalidRequest, "resource type %v is not supported", kind)
}

// configResourceKey names a config resource, to find duplicates.
type configResourceKey struct {
	kind kmsg.ConfigResourceType
	name string
}

// configResourceKey keys a resource by what it names: "1" and "01" are the
// same broker, so one request cannot change it twice unseen.
func (b *Broker) configResourceKey(kind kmsg.ConfigResourceType, name string) configResourceKey {
	if kind == kmsg.ConfigResourceTypeBroker && name != "" && b.checkBrokerResource(name) == nil {
		name = strconv.Itoa(int(b.nodeID))
	}
	return configResourceKey{kind, name}
}

func (b *Broker) handleAlterConfigs(r *request) {
	req := r.kreq.(*kmsg.AlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	v := b.currentView()

	seen := make(map[configResourceKey]int)
	for _, rr := range req.Resources {
		seen[b.configResourceKey(rr.ResourceType, rr.ResourceName)]++
	}
	var changes []configChange
	resp.Resources = make([]kmsg.AlterConfigsResponseResource, len(req.Resources))
	for i, rr := range req.Resources {
		res := &resp.Resources[i]
		*res = kmsg.NewAlterConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		op, aerr := b.configResourceOp(rr.ResourceType, rr.ResourceName, seen, func() (meta.Op, *apiError) {
			return replaceTopicConfigs(v.cfg, v, rr)
		}, func(resource string) (meta.Op, *apiError) {
			return replaceBrokerConfigs(resource, rr)
		})
		if aerr != nil {
			res.ErrorCode, res.ErrorMessage = aerr.errCode(), aerr.message()
			continue
		}
		if !req.ValidateOnly {
			changes = append(changes, configChange{op: op, fail: func(e *apiError) {
				res.ErrorCode, res.ErrorMessage = e.errCode(), e.message()
			}})
		}
	}
	b.proposeConfigChanges(r, resp, changes)
}

// replaceTopicConfigs validates a legacy AlterConfigs topic resource and
// builds its replace-all op.
func replaceTopicConfigs(cfg *config.Config, v *clusterView, rr kmsg.AlterConfigsRequestResource) (meta.Op, *apiError) {
	if err := validTopicName(rr.ResourceName); err != nil {
		return meta.Op{}, newAPIError(kerr.InvalidTopicException, "%v", err)
	}
	if _, ok := v.topic(rr.ResourceName); !ok {
		return meta.Op{}, newAPIError(kerr.UnknownTopicOrPartition, "Topic %s does not exist.", rr.ResourceName)
	}
	set := make(map[string]string, len(rr.Configs))
	for _, c := range rr.Configs {
		if _, dup := set[c.Name]; dup {
			return meta.Op{}, newAPIError(kerr.InvalidRequest, "Error due to duplicate config keys: %s", c.Name)
		}
		v, aerr := checkTopicConfigValue(c.Name, c.Value)
		if aerr != nil {
			return meta.Op{}, aerr
		}
		set[c.Name] = v
	}
	if aerr := checkTopicConfigCombination(cfg, set); aerr != nil {
		return meta.Op{}, aerr
	}
	return meta.Op{Kind: meta.OpAlterTopicConfig, Names: []string{rr.ResourceName}, Set: set, Replace: true}, nil
}

// replaceBrokerConfigs validates a legacy AlterConfigs broker resource and
// builds its replace-all op: the dynamic overrides of that resource become
// exactly the configs given.
func replaceBrokerConfigs(resource string, rr kmsg.AlterConfigsRequestResource) (meta.Op, *apiError) {
	op := meta.Op{Kind: meta.OpAlterBrokerConfig, Names: []string{resource}, Set: map[string]string{}, Replace: true}
	for _, c := range rr.Configs {
		if _, dup := op.Set[c.Name]; dup {
			return meta.Op{}, newAPIError(kerr.InvalidRequest, "Error due to duplicate config keys: %s", c.Name)
		}
		if aerr := checkBrokerConfigValue(resource, c.Name, c.Value); aerr != nil {
			return meta.Op{}, aerr
		}
		op.Set[c.Name] = *c.Value
	}
	return op, nil
}

// checkBrokerConfigValue checks one dynamic broker key=value; anything
// wrong is INVALID_REQUEST with the reason, as Kafka answers it.
func checkBrokerConfigValue(resource, name string, value *string) *apiError {
	if value == nil {
		return newAPIError(kerr.InvalidRequest, "Invalid config value for resource ConfigResource(type=BROKER, name='%s'): %s: null value", resource, name)
	}
	if err := config.CheckDynamic(name, *value); err != nil {
		return newAPIError(kerr.InvalidRequest, "Invalid config value for resource ConfigResource(type=BROKER, name='%s'): %v", resource, err)
	}
	return nil
}

// proposeConfigChanges commits all changes of one request as one proposal,
// off the event loop, fills each resource's answer and responds. Each op
// succeeds or fails on its own.
func (b *Broker) proposeConfigChanges(r *request, resp kmsg.Response, changes []configChange) {
	if len(changes) == 0 {
		r.respond(resp)
		return
	}
	go func() {
		ctx, cancel := b.adminContext(0)
		defer cancel()
		b.applyConfigChanges(ctx, changes)
		r.respond(resp)
	}()
}

func (b *Broker) applyConfigChanges(ctx context.Context, changes []configChange) {
	ops := make([]meta.Op, len(changes))
	for i := range changes {
		ops[i] = changes[i].op
	}
	res, err := b.propose(ctx, ops)
	for i, c := range changes {
		aerr := metaOpError(err)
		if err == nil {
			aerr = metaOpError(res[i].Err)
		}
		if aerr != nil {
			c.fail(aerr)
		}
	}
}
