package engine

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeConfigs: v0-4
//
// Behaviour:
// * TOPIC resources: every topic config Chronik knows with its effective
//   value. Source, highest first: DYNAMIC_TOPIC_CONFIG for the topic's own
//   override, then its broker synonym's DYNAMIC_BROKER_CONFIG (this
//   broker's dynamic override), DYNAMIC_DEFAULT_BROKER_CONFIG (the
//   cluster-wide one), STATIC_BROKER_CONFIG (set by the operator at
//   start), else DEFAULT_CONFIG (see admin_configs.go). An invalid name is
//   INVALID_TOPIC_EXCEPTION, an unknown topic UNKNOWN_TOPIC_OR_PARTITION.
// * BROKER resources: the name is this node's id and the answer is every
//   broker key with its value in effect and the level it comes from, as
//   above; keys that cannot change at runtime are read-only. An empty name
//   lists the cluster-wide dynamic overrides (DYNAMIC_DEFAULT_BROKER_CONFIG).
//   Another node's id or a non-number is INVALID_REQUEST, as Kafka answers.
// * Other resource types are INVALID_REQUEST.
// * ConfigNames, when not null, keeps only the named configs.
// * Synonyms (v1+) when IncludeSynonyms, highest precedence first.
//
// Version notes:
// * v1: IncludeSynonyms, Source, ConfigSynonyms
// * v2: ThrottleMillis
// * v3: IncludeDocumentation, ConfigType, Documentation (KIP-569)
// * v4: flexible

func init() { registerAPI(32, 0, 4, (*Broker).handleDescribeConfigs) }

func (b *Broker) handleDescribeConfigs(r *request) {
	req := r.kreq.(*kmsg.DescribeConfigsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	v := b.currentView()
	synonyms := req.Version >= 1 && req.IncludeSynonyms
	docs := req.Version >= 3 && req.IncludeDocumentation

	for _, rr := range req.Resources {
		res := kmsg.NewDescribeConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		var aerr *apiError
		switch rr.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			if err := validTopicName(rr.ResourceName); err != nil {
				aerr = newAPIError(kerr.InvalidTopicException, "%v", err)
				break
			}
			t, ok := v.topic(rr.ResourceName)
			if !ok {
				aerr = newAPIError(kerr.UnknownTopicOrPartition, "Topic %s does not exist.", rr.ResourceName)
				break
			}
			res.Configs = filterConfigs(describeTopicConfigs(b.configLevels(), t.Configs, synonyms, docs), rr.ConfigNames)
		case kmsg.ConfigResourceTypeBroker:
			if rr.ResourceName == "" {
				res.Configs = filterConfigs(describeBrokerDefaults(b.configLevels(), synonyms, docs), rr.ConfigNames)
				break
			}
			if aerr = b.checkBrokerResource(rr.ResourceName); aerr != nil {
				break
			}
			res.Configs = filterConfigs(describeBrokerConfigs(b.configLevels(), synonyms, docs), rr.ConfigNames)
		default:
			aerr = newAPIError(kerr.InvalidRequest, "resource type %v is not supported", rr.ResourceType)
		}
		if aerr != nil {
			res.ErrorCode, res.ErrorMessage = aerr.errCode(), aerr.message()
		}
		resp.Resources = append(resp.Resources, res)
	}
	r.respond(resp)
}

// checkBrokerResource accepts only this node's id as a BROKER resource
// name, with Kafka's messages for anything else.
func (b *Broker) checkBrokerResource(name string) *apiError {
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil {
		return newAPIError(kerr.InvalidRequest, "Broker id must be an integer, but it is: %s", name)
	}
	if int32(id) != b.nodeID {
		return newAPIError(kerr.InvalidRequest, "Unexpected broker id, expected %d or empty string, but received %s", b.nodeID, name)
	}
	return nil
}
