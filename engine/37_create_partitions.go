package engine

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/meta"
)

// CreatePartitions: v0-3
//
// Behaviour:
// * Count is the new total; it must exceed the current count
//   (INVALID_PARTITIONS, with Kafka's messages), and a request may add at
//   most maxPartitionsPerRequest partitions (POLICY_VIOLATION).
// * Assignment, when given, names the replicas of each new partition, the
//   first leading: one entry per new partition, non-empty, registered
//   brokers, no broker twice and as many replicas as the topic's existing
//   partitions (INVALID_REPLICA_ASSIGNMENT). Without it the new partitions
//   get the topic's replication factor, placed as CreateTopics places them
//   (INVALID_REPLICATION_FACTOR when too few brokers remain).
// * A topic named twice is INVALID_REQUEST for each; an unknown topic
//   UNKNOWN_TOPIC_OR_PARTITION.
// * ValidateOnly runs every check and changes nothing.
// * All valid topics are one metadata proposal (an op per topic, each
//   succeeding on its own), run off the event loop and bounded by
//   TimeoutMillis and io.timeout.ms; the answer comes once the new
//   partitions are open on their shards.
//
// Version notes:
// * v1: ThrottleMillis
// * v2: flexible
// * v3: no change (quota violation error)

func init() { registerAPI(37, 0, 3, (*Broker).handleCreatePartitions) }

// partitionsCreate is one topic's validated increase.
type partitionsCreate struct {
	out *kmsg.CreatePartitionsResponseTopic
	op  meta.Op
}

func (b *Broker) handleCreatePartitions(r *request) {
	req := r.kreq.(*kmsg.CreatePartitionsRequest)
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	snap := b.currentView().snap

	counts := make(map[string]int, len(req.Topics))
	for _, rt := range req.Topics {
		counts[rt.Topic]++
	}
	budget := int32(maxPartitionsPerRequest)
	var creates []partitionsCreate
	resp.Topics = make([]kmsg.CreatePartitionsResponseTopic, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		st := &resp.Topics[i]
		*st = kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		var aerr *apiError
		var parts []meta.Partition
		if counts[rt.Topic] > 1 {
			aerr = newAPIError(kerr.InvalidRequest, "Duplicate topic name.")
		} else {
			parts, aerr = b.checkCreatePartitions(snap, rt, budget)
		}
		if aerr != nil {
			st.ErrorCode, st.ErrorMessage = aerr.errCode(), aerr.message()
			continue
		}
		budget -= int32(len(parts))
		if !req.ValidateOnly {
			t := snap.Topics[rt.Topic]
			creates = append(creates, partitionsCreate{out: st, op: meta.Op{
				Kind: meta.OpCreatePartitions, Names: []string{rt.Topic}, NewPartitions: parts,
				Before: len(t.Partitions), BeforeID: t.ID,
			}})
		}
	}
	if len(creates) == 0 {
		r.respond(resp)
		return
	}
	go func() {
		ctx, cancel := b.adminContext(req.TimeoutMillis)
		defer cancel()
		b.createPartitions(ctx, creates)
		r.respond(resp)
	}()
}

// checkCreatePartitions validates one topic's increase and places the new
// partitions; budget is how many more partitions the request may add.
func (b *Broker) checkCreatePartitions(snap *meta.Snapshot, rt *kmsg.CreatePartitionsRequestTopic, budget int32) ([]meta.Partition, *apiError) {
	t, ok := snap.Topics[rt.Topic]
	if !ok {
		return nil, newAPIError(kerr.UnknownTopicOrPartition, "Topic %s does not exist.", rt.Topic)
	}
	current := int32(len(t.Partitions))
	switch {
	case rt.Count == current:
		return nil, newAPIError(kerr.InvalidPartitions, "Topic already has %d partition(s).", current)
	case rt.Count < current:
		return nil, newAPIError(kerr.InvalidPartitions, "The topic %s currently has %d partition(s); %d would not be an increase.", rt.Topic, current, rt.Count)
	case rt.Count-current > budget:
		return nil, newAPIError(kerr.PolicyViolation, "a request may create at most %d partitions", maxPartitionsPerRequest)
	}
	add := rt.Count - current
	rf := 1
	if current > 0 {
		rf = len(t.Partitions[0].Replicas)
	}
	if len(rt.Assignment) == 0 {
		if rf > len(snap.Brokers) {
			return nil, newAPIError(kerr.InvalidReplicationFactor,
				"Unable to replicate the partition %d time(s): The target replication factor of %d cannot be reached because only %d broker(s) are registered.",
				rf, rf, len(snap.Brokers))
		}
		return b.placePartitions(snap, add, int16(rf)), nil
	}
	if int32(len(rt.Assignment)) != add {
		return nil, newAPIError(kerr.InvalidReplicaAssignment, "Attempted to add %d additional partition(s), but only %d assignment(s) were specified.", add, len(rt.Assignment))
	}
	parts := make([]meta.Partition, add)
	for i, a := range rt.Assignment {
		if aerr := checkReplicas(snap, a.Replicas); aerr != nil {
			return nil, aerr
		}
		if len(a.Replicas) != rf {
			return nil, newAPIError(kerr.InvalidReplicaAssignment,
				"The manual partition assignment includes a partition with %d replica(s), but this is not consistent with previous partitions, which have %d replica(s).",
				len(a.Replicas), rf)
		}
		replicas := append([]int32(nil), a.Replicas...)
		parts[i] = meta.Partition{Leader: replicas[0], Replicas: replicas, ISR: append([]int32(nil), replicas...)}
	}
	return parts, nil
}

// createPartitions proposes every topic's op in one batch; each op
// succeeds or fails on its own.
func (b *Broker) createPartitions(ctx context.Context, creates []partitionsCreate) {
	ops := make([]meta.Op, len(creates))
	for i := range creates {
		ops[i] = creates[i].op
	}
	res, err := b.propose(ctx, ops)
	for i, c := range creates {
		aerr := metaOpError(err)
		if err == nil {
			aerr = metaOpError(res[i].Err)
		}
		if aerr != nil {
			c.out.ErrorCode, c.out.ErrorMessage = aerr.errCode(), aerr.message()
		}
	}
}
