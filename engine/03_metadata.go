package engine

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/meta"
)

// Metadata: v0-12
//
// Behaviour:
// * Names every broker with its advertised listener and the real leader of
//   every partition.
// * Null topics (v1+) or an empty list (v0) means all topics.
// * Unknown topics are created with num.partitions when
//   auto.create.topics.enable is on and the request allows it (v4+
//   AllowAutoTopicCreation); the response then already carries the topic.
//   Each is created on its own, once however often it is named; one whose
//   name collides with another once '.' and '_' are taken alike is not
//   (UNKNOWN_TOPIC_OR_PARTITION), as CreateTopics refuses it.
// * A partition whose log cannot serve (a storage fault, until its reopen
//   succeeds) has no leader: LEADER_NOT_AVAILABLE, leader -1, this broker
//   among OfflineReplicas (v5+), as Kafka answers once the partition's
//   only replica is on a failed log directory.
//
// Version notes:
// * v1: ControllerID, IsInternal, Rack; null topics = all
// * v2: ClusterID
// * v4: AllowAutoTopicCreation
// * v5: OfflineReplicas
// * v7: LeaderEpoch (KIP-320)
// * v8-10: authorized operations (KIP-430): with no authorizer, every
//   operation the resource supports, as Kafka answers without ACLs (topics
//   from v8, the cluster in v8-10)
// * A topic is internal by its name (__consumer_offsets), as in Kafka,
//   whoever created it; a topic named twice is answered once.
// * v9: flexible
// * v10: TopicID (KIP-516); v12: topics may be named by ID alone

func init() { registerAPI(3, 0, 12, (*Broker).handleMetadata) }

// topicOperations is the bit set of Kafka's TOPIC operations: READ, WRITE,
// CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS.
const topicOperations int32 = 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<10 | 1<<11

func (b *Broker) handleMetadata(r *request) {
	req := r.kreq.(*kmsg.MetadataRequest)
	v := b.currentView()
	var missing []string
	allowAuto := b.cfg.AutoCreateTopics && (req.Version < 4 || req.AllowAutoTopicCreation)
	if allowAuto && int(b.cfg.DefaultReplicationFactor) > len(v.snap.Brokers) {
		// Nothing can be created: answered as unknown, without a goroutine
		// per refreshing producer, and logged at most once a minute.
		allowAuto = false
		b.warnAutoCreateRefused()
	}
	if allowAuto {
		for _, t := range req.Topics {
			if t.Topic == nil {
				continue
			}
			if _, ok := v.topic(*t.Topic); !ok && validTopicName(*t.Topic) == nil && !isInternalTopic(*t.Topic) {
				missing = append(missing, *t.Topic)
			}
		}
	}
	if len(missing) == 0 {
		r.respond(b.metadataResponse(req, v, r.conn.Listener))
		return
	}
	// Creating topics waits on the metadata log: off the event loop.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), b.cfg.IOTimeout)
		defer cancel()
		if err := b.autoCreate(ctx, missing); err != nil {
			b.log.Warn("auto-create topics", "topics", missing, "err", err)
		}
		r.respond(b.metadataResponse(req, b.currentView(), r.conn.Listener))
	}()
}

// autoCreate creates topics with the broker defaults, each in its own op
// so that one created meanwhile by someone else (ErrTopicExists, not an
// error here) does not stop the others. A name given twice is created once;
// a name that collides with an existing topic, or an earlier name, once
// '.' and '_' are taken alike (as CreateTopics refuses it, since metric
// names cannot tell them apart) is not created; the metadata state machine
// refuses such a create too (meta.ErrTopicCollision), so requests racing
// with colliding names cannot both succeed.
func (b *Broker) autoCreate(ctx context.Context, names []string) error {
	snap := b.currentView().snap
	// default.replication.factor applies, as in Kafka; handleMetadata, the
	// only caller, asks only when the brokers can hold that many replicas.
	rf := b.cfg.DefaultReplicationFactor
	existing := make(map[string]string)
	for name := range snap.Topics {
		existing[meta.CollisionName(name)] = name
	}
	var ops []meta.Op
	for _, n := range names {
		if other, ok := existing[meta.CollisionName(n)]; ok {
			if other != n {
				b.log.Warn("auto-create: topic name collides with another", "topic", n, "other", other)
			}
			continue
		}
		existing[meta.CollisionName(n)] = n
		spec := meta.Topic{Name: n, ID: newTopicID(), Partitions: b.placePartitions(snap, b.cfg.NumPartitions, rf)}
		ops = append(ops, meta.Op{Kind: meta.OpCreateTopics, Topics: []meta.Topic{spec}, RefuseCollisions: true})
	}
	if len(ops) == 0 {
		return nil
	}
	res, err := b.propose(ctx, ops)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range res {
		switch {
		case r.Err == nil || errors.Is(r.Err, meta.ErrTopicExists):
		case errors.Is(r.Err, meta.ErrTopicCollision):
			// A colliding name created by a request racing this one.
			b.log.Warn("auto-create: topic name collides with another", "err", r.Err)
		default:
			errs = append(errs, r.Err)
		}
	}
	return errors.Join(errs...)
}

// metadataResponse answers with the brokers' endpoints of listener, the
// one the client came through, as Kafka does: a client on an internal
// listener is sent on to internal addresses, one outside to outside ones.
// A broker without that listener is left out.
func (b *Broker) metadataResponse(req *kmsg.MetadataRequest, v *clusterView, listener string) *kmsg.MetadataResponse {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	snap := v.snap
	for _, br := range snap.Brokers {
		host, port, ok := br.Endpoint(listener)
		if !ok {
			continue
		}
		sb := kmsg.NewMetadataResponseBroker()
		sb.NodeID, sb.Host, sb.Port, sb.Rack = br.NodeID, host, port, br.RackPtr()
		resp.Brokers = append(resp.Brokers, sb)
	}
	clusterID := snap.ClusterID
	resp.ClusterID = &clusterID
	resp.ControllerID = b.nodeID
	if req.IncludeClusterAuthorizedOperations && req.Version >= 8 && req.Version <= 10 {
		resp.AuthorizedOperations = clusterOperations
	}

	answered := make(map[string]bool)
	addTopic := func(name string, t *meta.Topic) {
		if answered[name] {
			return
		}
		answered[name] = true
		st := kmsg.NewMetadataResponseTopic()
		n := name
		st.Topic = &n
		st.TopicID = t.ID
		st.IsInternal = t.Internal || isInternalTopic(name)
		if req.IncludeTopicAuthorizedOperations && req.Version >= 8 {
			st.AuthorizedOperations = topicOperations
		}
		for i, p := range t.Partitions {
			sp := kmsg.NewMetadataResponseTopicPartition()
			sp.Partition = int32(i)
			sp.Leader = p.Leader
			sp.LeaderEpoch = p.LeaderEpoch
			sp.Replicas = append([]int32(nil), p.Replicas...)
			sp.ISR = append([]int32(nil), p.ISR...)
			sp.OfflineReplicas = []int32{}
			if b.offline.has(partKey{name, int32(i)}) {
				// As Kafka answers for a partition whose only replica's
				// log directory failed: no leader, that replica offline.
				sp.ErrorCode = kerr.LeaderNotAvailable.Code
				sp.Leader = -1
				sp.OfflineReplicas = []int32{b.nodeID}
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	unknownIDs := make(map[[16]byte]bool)
	addError := func(name *string, id [16]byte, code int16) {
		if name != nil {
			if answered[*name] {
				return
			}
			answered[*name] = true
		} else {
			if unknownIDs[id] {
				return
			}
			unknownIDs[id] = true
		}
		st := kmsg.NewMetadataResponseTopic()
		st.Topic = name
		st.TopicID = id
		st.ErrorCode = code
		// Kafka sets operations on named error entries too (not on
		// unknown topic ids, which it adds afterwards).
		if name != nil && req.IncludeTopicAuthorizedOperations && req.Version >= 8 {
			st.AuthorizedOperations = topicOperations
		}
		resp.Topics = append(resp.Topics, st)
	}

	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all {
		for name, t := range snap.Topics {
			addTopic(name, t)
		}
		return resp
	}
	for _, rt := range req.Topics {
		if rt.Topic == nil {
			name, ok := v.topicByID(rt.TopicID)
			if !ok {
				addError(nil, rt.TopicID, kerr.UnknownTopicID.Code)
				continue
			}
			addTopic(name, snap.Topics[name])
			continue
		}
		name := *rt.Topic
		if err := validTopicName(name); err != nil {
			addError(rt.Topic, [16]byte{}, kerr.InvalidTopicException.Code)
			continue
		}
		t, ok := snap.Topics[name]
		if !ok {
			addError(rt.Topic, [16]byte{}, kerr.UnknownTopicOrPartition.Code)
			continue
		}
		addTopic(name, t)
	}
	return resp
}

// warnAutoCreateRefused logs, at most once a minute, that auto-creation
// cannot place default.replication.factor replicas.
func (b *Broker) warnAutoCreateRefused() {
	if b.autoCreateWarn.allow() {
		b.log.Warn("auto-create topics refused: default.replication.factor exceeds the registered brokers",
			"default.replication.factor", b.cfg.DefaultReplicationFactor)
	}
}
