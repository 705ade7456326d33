package engine

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/meta"
)

// CreateTopics: v0-7
//
// Behaviour, checked per topic in Kafka's order:
// * A name given twice in one request: INVALID_REQUEST for every copy.
// * Name rules (1-249 of [a-zA-Z0-9._-], not "." or ".."):
//   INVALID_TOPIC_EXCEPTION; an existing name: TOPIC_ALREADY_EXISTS; a name
//   that differs from an existing one (or an earlier one in the request)
//   only by '.' versus '_': INVALID_TOPIC_EXCEPTION, as Kafka's metric
//   names cannot tell them apart.
// * A manual ReplicaAssignment needs NumPartitions and ReplicationFactor
//   -1 (else INVALID_REQUEST), partition ids 0..n-1, non-empty replica
//   lists of one size, registered brokers and no broker twice (else
//   INVALID_REPLICA_ASSIGNMENT). The first replica leads.
// * Otherwise NumPartitions -1 is num.partitions and any other value below
//   1 INVALID_PARTITIONS; ReplicationFactor -1 is
//   default.replication.factor, any other value below 1 or above the
//   registered brokers INVALID_REPLICATION_FACTOR.
// * At most maxPartitionsPerRequest new partitions per request
//   (POLICY_VIOLATION past it), so one request cannot make a node open an
//   unbounded number of logs.
// * Configs are checked with the topic config rules: INVALID_CONFIG with
//   the reason.
// * ValidateOnly (v1+) runs every check and creates nothing.
// * All valid topics of a request are created by one metadata proposal,
//   run off the event loop and bounded by TimeoutMillis and io.timeout.ms;
//   the answer comes once every partition is open on its shard. Should a
//   topic appear meanwhile (another client, auto-creation), it is answered
//   TOPIC_ALREADY_EXISTS and the rest are proposed again.
//
// Version notes:
// * v1: ValidateOnly, ErrorMessage
// * v2: ThrottleMillis
// * v4: -1 NumPartitions / ReplicationFactor take broker defaults (KIP-464)
// * v5: flexible; NumPartitions, ReplicationFactor and the topic's configs
//   with their sources in the response (KIP-525)
// * v6: no change (quota violation error)
// * v7: TopicID in the response (KIP-516)

func init() { registerAPI(19, 0, 7, (*Broker).handleCreateTopics) }

// maxPartitionsPerRequest caps the partitions one CreateTopics or
// CreatePartitions request may add, as Kafka's controller caps the records
// of one operation.
const maxPartitionsPerRequest = 10000

// topicCreate is one topic of a request on its way to the proposal.
type topicCreate struct {
	out  *kmsg.CreateTopicsResponseTopic
	spec meta.Topic
}

func (b *Broker) handleCreateTopics(r *request) {
	req := r.kreq.(*kmsg.CreateTopicsRequest)
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	snap := b.currentView().snap

	counts := make(map[string]int, len(req.Topics))
	for _, rt := range req.Topics {
		counts[rt.Topic]++
	}
	existing := make(map[string]string, len(snap.Topics))
	for name := range snap.Topics {
		existing[meta.CollisionName(name)] = name
	}
	budget := int32(maxPartitionsPerRequest)
	var creates []topicCreate
	resp.Topics = make([]kmsg.CreateTopicsResponseTopic, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := &resp.Topics[i]
		*st = kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		if counts[rt.Topic] > 1 {
			setCreateTopicError(st, newAPIError(kerr.InvalidRequest, "Duplicate topic name."))
			continue
		}
		spec, rf, aerr := b.checkCreateTopic(snap, rt, existing)
		if aerr == nil && int32(len(spec.Partitions)) > budget {
			aerr = newAPIError(kerr.PolicyViolation, "a request may create at most %d partitions", maxPartitionsPerRequest)
		}
		if aerr != nil {
			setCreateTopicError(st, aerr)
			continue
		}
		budget -= int32(len(spec.Partitions))
		existing[meta.CollisionName(rt.Topic)] = rt.Topic
		st.NumPartitions, st.ReplicationFactor = int32(len(spec.Partitions)), rf
		if req.ValidateOnly {
			st.Configs = createTopicsConfigs(describeTopicConfigs(b.configLevels(), spec.Configs, false, false))
			continue
		}
		creates = append(creates, topicCreate{out: st, spec: spec})
	}
	if len(creates) == 0 {
		r.respond(resp)
		return
	}
	// The proposal waits on the metadata log: off the event loop.
	go func() {
		ctx, cancel := b.adminContext(req.TimeoutMillis)
		defer cancel()
		b.createTopics(ctx, creates)
		r.respond(resp)
	}()
}

// checkCreateTopic validates one topic against snap and builds its spec;
// existing maps collision names to the names already taken.
func (b *Broker) checkCreateTopic(snap *meta.Snapshot, rt *kmsg.CreateTopicsRequestTopic, existing map[string]string) (meta.Topic, int16, *apiError) {
	if err := validTopicName(rt.Topic); err != nil {
		return meta.Topic{}, 0, newAPIError(kerr.InvalidTopicException, "%v", err)
	}
	if _, ok := snap.Topics[rt.Topic]; ok {
		return meta.Topic{}, 0, newAPIError(kerr.TopicAlreadyExists, "Topic '%s' already exists.", rt.Topic)
	}
	if other, ok := existing[meta.CollisionName(rt.Topic)]; ok {
		return meta.Topic{}, 0, newAPIError(kerr.InvalidTopicException, "Topic '%s' collides with existing topic: %s", rt.Topic, other)
	}
	var configs map[string]string
	for _, c := range rt.Configs {
		if _, dup := configs[c.Name]; dup {
			return meta.Topic{}, 0, newAPIError(kerr.InvalidConfig, "topic config %q given twice", c.Name)
		}
		v, aerr := checkTopicConfigValue(c.Name, c.Value)
		if aerr != nil {
			return meta.Topic{}, 0, aerr
		}
		if configs == nil {
			configs = make(map[string]string, len(rt.Configs))
		}
		configs[c.Name] = v
	}
	if aerr := checkTopicConfigCombination(b.liveConfig(), configs); aerr != nil {
		return meta.Topic{}, 0, aerr
	}
	spec := meta.Topic{Name: rt.Topic, ID: newTopicID(), Configs: configs}
	if len(rt.ReplicaAssignment) > 0 {
		parts, aerr := manualPlacement(snap, rt)
		if aerr != nil {
			return meta.Topic{}, 0, aerr
		}
		spec.Partitions = parts
		return spec, int16(len(parts[0].Replicas)), nil
	}
	n := rt.NumPartitions
	if n == -1 {
		n = b.cfg.NumPartitions
	}
	if n <= 0 {
		return meta.Topic{}, 0, newAPIError(kerr.InvalidPartitions, "Number of partitions was set to an invalid non-positive value.")
	}
	rf := rt.ReplicationFactor
	if rf == -1 {
		rf = b.cfg.DefaultReplicationFactor
	}
	if rf <= 0 {
		return meta.Topic{}, 0, newAPIError(kerr.InvalidReplicationFactor, "Replication factor must be larger than 0, or -1 to use the default value.")
	}
	if int(rf) > len(snap.Brokers) {
		return meta.Topic{}, 0, newAPIError(kerr.InvalidReplicationFactor,
			"Unable to replicate the partition %d time(s): The target replication factor of %d cannot be reached because only %d broker(s) are registered.",
			rf, rf, len(snap.Brokers))
	}
	if n > maxPartitionsPerRequest {
		// Checked before placing so a huge count allocates nothing.
		return meta.Topic{}, 0, newAPIError(kerr.PolicyViolation, "a request may create at most %d partitions", maxPartitionsPerRequest)
	}
	spec.Partitions = b.placePartitions(snap, n, rf)
	return spec, rf, nil
}

// manualPlacement checks a CreateTopics ReplicaAssignment and turns it into
// partitions, the first replica of each leading.
func manualPlacement(snap *meta.Snapshot, rt *kmsg.CreateTopicsRequestTopic) ([]meta.Partition, *apiError) {
	if rt.NumPartitions != -1 {
		return nil, newAPIError(kerr.InvalidRequest, "A manual partition assignment was specified, but numPartitions was not set to -1.")
	}
	if rt.ReplicationFactor != -1 {
		return nil, newAPIError(kerr.InvalidRequest, "A manual partition assignment was specified, but replicationFactor was not set to -1.")
	}
	if len(rt.ReplicaAssignment) > maxPartitionsPerRequest {
		return nil, newAPIError(kerr.PolicyViolation, "a request may create at most %d partitions", maxPartitionsPerRequest)
	}
	parts := make([]meta.Partition, len(rt.ReplicaAssignment))
	placed := make([]bool, len(parts))
	for _, a := range rt.ReplicaAssignment {
		if a.Partition < 0 || int(a.Partition) >= len(parts) || placed[a.Partition] {
			return nil, newAPIError(kerr.InvalidReplicaAssignment, "Partitions should be a consecutive 0-based integer sequence; got partition %d.", a.Partition)
		}
		if aerr := checkReplicas(snap, a.Replicas); aerr != nil {
			return nil, aerr
		}
		if len(a.Replicas) != len(rt.ReplicaAssignment[0].Replicas) {
			return nil, newAPIError(kerr.InvalidReplicaAssignment, "All partitions in the manual partition assignment must have the same number of replicas.")
		}
		placed[a.Partition] = true
		parts[a.Partition] = meta.Partition{
			Leader:   a.Replicas[0],
			Replicas: slices.Clone(a.Replicas),
			ISR:      slices.Clone(a.Replicas),
		}
	}
	return parts, nil
}

// checkReplicas validates one partition's manual replica list.
func checkReplicas(snap *meta.Snapshot, replicas []int32) *apiError {
	if len(replicas) == 0 {
		return newAPIError(kerr.InvalidReplicaAssignment, "The manual partition assignment includes an empty replica list.")
	}
	for i, id := range replicas {
		if slices.Contains(replicas[:i], id) {
			return newAPIError(kerr.InvalidReplicaAssignment, "The manual partition assignment includes the broker %d more than once.", id)
		}
		if _, ok := snap.Brokers[id]; !ok {
			return newAPIError(kerr.InvalidReplicaAssignment, "The manual partition assignment includes broker %d, but no such broker is registered.", id)
		}
	}
	return nil
}

// placePartitions places n new partitions of rf replicas. One replica is
// the broker's own placement (newPartitions). Wider ones keep the leader on
// this broker and take followers from the other registered brokers in id
// order, rotating per partition so followers spread evenly.
func (b *Broker) placePartitions(snap *meta.Snapshot, n int32, rf int16) []meta.Partition {
	if rf <= 1 {
		return b.newPartitions(n)
	}
	others := slices.Sorted(maps.Keys(snap.Brokers))
	others = slices.DeleteFunc(others, func(id int32) bool { return id == b.nodeID })
	ps := make([]meta.Partition, n)
	for i := range ps {
		replicas := []int32{b.nodeID}
		for j := 0; j < int(rf)-1; j++ {
			replicas = append(replicas, others[(i+j)%len(others)])
		}
		ps[i] = meta.Partition{Leader: b.nodeID, Replicas: replicas, ISR: slices.Clone(replicas)}
	}
	return ps
}

func setCreateTopicError(st *kmsg.CreateTopicsResponseTopic, aerr *apiError) {
	st.ErrorCode = aerr.errCode()
	st.ErrorMessage = aerr.message()
	st.NumPartitions, st.ReplicationFactor, st.Configs = -1, -1, nil
}

// createTopics proposes every topic in one op and fills each answer. A
// topic created meanwhile by someone else, or one colliding with it once
// '.' and '_' are taken alike, fails the whole op, so those are answered
// TOPIC_ALREADY_EXISTS or INVALID_TOPIC_EXCEPTION and the others proposed
// again; each retry drops at least one topic, so the loop ends.
func (b *Broker) createTopics(ctx context.Context, creates []topicCreate) {
	for len(creates) > 0 {
		specs := make([]meta.Topic, len(creates))
		for i := range creates {
			specs[i] = creates[i].spec
		}
		res, err := b.propose(ctx, []meta.Op{{Kind: meta.OpCreateTopics, Topics: specs, RefuseCollisions: true}})
		if err == nil {
			err = res[0].Err
		}
		if err == nil {
			v := b.currentView()
			for _, c := range creates {
				c.out.TopicID = c.spec.ID
				overrides := c.spec.Configs
				if t, ok := v.topic(c.spec.Name); ok {
					overrides = t.Configs
				}
				c.out.Configs = createTopicsConfigs(describeTopicConfigs(b.configLevels(), overrides, false, false))
			}
			return
		}
		if errors.Is(err, meta.ErrTopicExists) || errors.Is(err, meta.ErrTopicCollision) {
			// Another request created one of the names, or one colliding
			// with it, since validation: that one fails, the rest retry.
			now := b.store.Current()
			colliding := make(map[string]string, len(now.Topics))
			for name := range now.Topics {
				colliding[meta.CollisionName(name)] = name
			}
			remaining := creates[:0:0]
			for _, c := range creates {
				if _, ok := now.Topics[c.spec.Name]; ok {
					setCreateTopicError(c.out, newAPIError(kerr.TopicAlreadyExists, "Topic '%s' already exists.", c.spec.Name))
					continue
				}
				if other, ok := colliding[meta.CollisionName(c.spec.Name)]; ok {
					setCreateTopicError(c.out, newAPIError(kerr.InvalidTopicException, "Topic '%s' collides with existing topic: %s", c.spec.Name, other))
					continue
				}
				remaining = append(remaining, c)
			}
			if len(remaining) < len(creates) {
				creates = remaining
				continue
			}
		}
		aerr := metaOpError(err)
		for _, c := range creates {
			setCreateTopicError(c.out, aerr)
		}
		return
	}
}
