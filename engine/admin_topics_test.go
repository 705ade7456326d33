package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

func TestAdminCreateTopics(t *testing.T) {
	tb := startBroker(t, "num.partitions=3", "auto.create.topics.enable=false")
	ctx := adminCtx(t)
	adm := tb.admin()

	res, err := adm.CreateTopic(ctx, -1, -1, nil, "defaults")
	if err != nil {
		t.Fatal(err)
	}
	if res.NumPartitions != 3 || res.ReplicationFactor != 1 || res.ID == (kadm.TopicID{}) {
		t.Fatalf("defaults: %+v, want 3 partitions, replication 1 and an id", res)
	}
	if c := res.Configs["retention.ms"]; c.Value == nil || *c.Value != "604800000" || c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("defaults: retention.ms %+v, want the default", c)
	}

	res, err = adm.CreateTopic(ctx, 2, 1, map[string]*string{
		"retention.ms":   kadm.StringPtr("3600000"),
		"cleanup.policy": kadm.StringPtr("compact"),
	}, "configured")
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Configs["retention.ms"]; c.Value == nil || *c.Value != "3600000" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Fatalf("configured: retention.ms %+v, want the topic's own 3600000", c)
	}
	if res.ID != topicIDOf(t, adm, "configured") {
		t.Fatalf("configured: id %v differs from metadata", res.ID)
	}
	md, err := adm.Metadata(ctx, "defaults", "configured")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(md.Topics["defaults"].Partitions); n != 3 {
		t.Fatalf("defaults has %d partitions in metadata, want 3", n)
	}
	for _, p := range md.Topics["configured"].Partitions {
		if p.Leader != 1 || len(p.Replicas) != 1 {
			t.Fatalf("configured partition %+v, want leader 1 and one replica", p)
		}
	}

	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "a.b"); err != nil {
		t.Fatal(err)
	}
	f := func(topic string, partitions int32, rf int16, configs map[string]*string, want *kerr.Error) {
		t.Helper()
		res, err := adm.CreateTopics(ctx, partitions, rf, configs, topic)
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, "create "+topic, res[topic].Err, want)
		if res[topic].ErrMessage == "" {
			t.Fatalf("create %s: no error message", topic)
		}
	}
	f("bad/name", 1, 1, nil, kerr.InvalidTopicException)
	f("configured", 1, 1, nil, kerr.TopicAlreadyExists)
	f("a_b", 1, 1, nil, kerr.InvalidTopicException) // collides with a.b
	f("zero", 0, 1, nil, kerr.InvalidPartitions)
	f("rf0", 1, 0, nil, kerr.InvalidReplicationFactor)
	f("rf2", 1, 2, nil, kerr.InvalidReplicationFactor)
	f("badvalue", 1, 1, map[string]*string{"retention.ms": kadm.StringPtr("soon")}, kerr.InvalidConfig)
	f("badkey", 1, 1, map[string]*string{"no.such.key": kadm.StringPtr("1")}, kerr.InvalidConfig)
	f("toomany", 20000, 1, nil, kerr.PolicyViolation)

	vres, err := adm.ValidateCreateTopics(ctx, 4, 1, nil, "dry")
	if err != nil || vres["dry"].Err != nil || vres["dry"].NumPartitions != 4 {
		t.Fatalf("validate-only: %v %+v", err, vres["dry"])
	}
	vres, err = adm.ValidateCreateTopics(ctx, 4, 1, nil, "configured")
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "validate-only existing topic", vres["configured"].Err, kerr.TopicAlreadyExists)
	tds, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tds.Has("dry") || tds.Has("zero") || tds.Has("badvalue") {
		t.Fatalf("validate-only or failed topics were created: %v", tds.Names())
	}
}

func TestAdminCreateTopicsRawRequest(t *testing.T) {
	tb := startBroker(t, "auto.create.topics.enable=false")
	ctx := adminCtx(t)
	cl := tb.client()

	topic := func(name string, assignment ...[]int32) kmsg.CreateTopicsRequestTopic {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, 1, 1
		if len(assignment) > 0 {
			rt.NumPartitions, rt.ReplicationFactor = -1, -1
		}
		for i, replicas := range assignment {
			ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
			ra.Partition, ra.Replicas = int32(i), replicas
			rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
		}
		return rt
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 10000
	req.Topics = []kmsg.CreateTopicsRequestTopic{
		topic("twice"), topic("manual", []int32{1}, []int32{1}), topic("twice"),
		topic("unknownbroker", []int32{7}), topic("emptyreplicas", []int32{}),
		topic("uneven", []int32{1}, []int32{}), topic("plain"),
	}
	withCounts := topic("counts", []int32{1})
	withCounts.NumPartitions = 2
	req.Topics = append(req.Topics, withCounts)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	want := []*kerr.Error{
		kerr.InvalidRequest, nil, kerr.InvalidRequest,
		kerr.InvalidReplicaAssignment, kerr.InvalidReplicaAssignment,
		kerr.InvalidReplicaAssignment, nil, kerr.InvalidRequest,
	}
	if len(resp.Topics) != len(want) {
		t.Fatalf("%d answers for %d topics", len(resp.Topics), len(want))
	}
	for i, st := range resp.Topics {
		if st.Topic != req.Topics[i].Topic {
			t.Fatalf("answer %d is for %s, want %s", i, st.Topic, req.Topics[i].Topic)
		}
		wantCode(t, "create "+st.Topic, st.ErrorCode, want[i])
	}
	manual := resp.Topics[1]
	if manual.NumPartitions != 2 || manual.ReplicationFactor != 1 || manual.TopicID == [16]byte{} {
		t.Fatalf("manual: %d partitions, replication %d, id %x", manual.NumPartitions, manual.ReplicationFactor, manual.TopicID)
	}
	tds, err := tb.admin().ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !tds.Has("manual") || !tds.Has("plain") || tds.Has("twice") || len(tds["manual"].Partitions) != 2 {
		t.Fatalf("topics after the request: %v", tds.Names())
	}
}

func TestAdminDeleteTopics(t *testing.T) {
	tb := startBroker(t, "auto.create.topics.enable=false")
	ctx := adminCtx(t)
	adm := tb.admin()
	for _, name := range []string{"del-a", "del-b", "keep"} {
		createTestTopic(t, tb, name, 2)
	}
	cl := tb.client(kgo.DefaultProduceTopic("del-a"))
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("gone soon")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	res, err := adm.DeleteTopics(ctx, "del-a", "missing")
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "delete del-a", res["del-a"].Err, nil)
	wantErr(t, "delete missing", res["missing"].Err, kerr.UnknownTopicOrPartition)

	// v6 names topics by id.
	idB := topicIDOf(t, adm, "del-b")
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TimeoutMillis = 10000
	for _, id := range [][16]byte{idB, {1, 2, 3}} {
		rt := kmsg.NewDeleteTopicsRequestTopic()
		rt.TopicID = id
		req.Topics = append(req.Topics, rt)
	}
	both := kmsg.NewDeleteTopicsRequestTopic()
	both.Topic, both.TopicID = kmsg.StringPtr("keep"), topicIDOf(t, adm, "keep")
	req.Topics = append(req.Topics, both)
	resp, err := req.RequestWith(ctx, tb.client())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Version < 6 || len(resp.Topics) != 3 {
		t.Fatalf("delete by id: version %d, %d answers", resp.Version, len(resp.Topics))
	}
	wantCode(t, "delete by id", resp.Topics[0].ErrorCode, nil)
	if resp.Topics[0].Topic == nil || *resp.Topics[0].Topic != "del-b" {
		t.Fatalf("delete by id answered topic %v, want del-b", resp.Topics[0].Topic)
	}
	wantCode(t, "delete unknown id", resp.Topics[1].ErrorCode, kerr.UnknownTopicID)
	wantCode(t, "delete by name and id", resp.Topics[2].ErrorCode, kerr.InvalidRequest)

	tds, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tds.Has("del-a") || tds.Has("del-b") || !tds.Has("keep") {
		t.Fatalf("topics after delete: %v", tds.Names())
	}

	// A topic made again under the same name starts empty.
	createTestTopic(t, tb, "del-a", 2)
	ends, err := adm.ListEndOffsets(ctx, "del-a")
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Offset != 0 {
			t.Fatalf("recreated del-a partition %d: end %d err %v, want 0", o.Partition, o.Offset, o.Err)
		}
	})
}

func TestAdminCreatePartitions(t *testing.T) {
	tb := startBroker(t, "auto.create.topics.enable=false")
	ctx := adminCtx(t)
	adm := tb.admin()
	createTestTopic(t, tb, "grow", 1)

	res, err := adm.CreatePartitions(ctx, 2, "grow", "missing")
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "grow by 2", res["grow"].Err, nil)
	wantErr(t, "grow missing", res["missing"].Err, kerr.UnknownTopicOrPartition)

	// The new partition takes writes at once.
	cl := tb.client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "grow", Partition: 2, Value: []byte("new")}).FirstErr(); err != nil {
		t.Fatalf("produce to new partition: %v", err)
	}

	f := func(what string, do func() (kadm.CreatePartitionsResponses, error), want *kerr.Error) {
		t.Helper()
		res, err := do()
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, what, res["grow"].Err, want)
		if want != nil && res["grow"].ErrMessage == "" {
			t.Fatalf("%s: no error message", what)
		}
	}
	f("shrink", func() (kadm.CreatePartitionsResponses, error) { return adm.UpdatePartitions(ctx, 2, "grow") }, kerr.InvalidPartitions)
	f("same count", func() (kadm.CreatePartitionsResponses, error) { return adm.UpdatePartitions(ctx, 3, "grow") }, kerr.InvalidPartitions)
	f("validate only", func() (kadm.CreatePartitionsResponses, error) { return adm.ValidateCreatePartitions(ctx, 5, "grow") }, nil)

	req := kmsg.NewPtrCreatePartitionsRequest()
	req.TimeoutMillis = 10000
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = "grow", 4
	a := kmsg.NewCreatePartitionsRequestTopicAssignment()
	a.Replicas = []int32{9}
	rt.Assignment = append(rt.Assignment, a)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, tb.client())
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "assignment to an unknown broker", resp.Topics[0].ErrorCode, kerr.InvalidReplicaAssignment)

	md, err := adm.Metadata(ctx, "grow")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(md.Topics["grow"].Partitions); n != 3 {
		t.Fatalf("grow has %d partitions, want 3 (failed and validate-only requests change nothing)", n)
	}
}

// Concurrent CreatePartitions for the same count: one grows the topic, the
// others get INVALID_PARTITIONS, as Kafka's controller answers them one at
// a time; the count decides where keyed records go, so none may overshoot.
func TestAdminConcurrentCreatePartitions(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "grow", 3)
	ctx := adminCtx(t)
	codes := make(chan int16, 8)
	for range 8 {
		go func() {
			req := kmsg.NewPtrCreatePartitionsRequest()
			req.TimeoutMillis = 10000
			rt := kmsg.NewCreatePartitionsRequestTopic()
			rt.Topic, rt.Count = "grow", 4
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(ctx, tb.client())
			if err != nil {
				codes <- -1
				return
			}
			codes <- resp.Topics[0].ErrorCode
		}()
	}
	ok := 0
	for range 8 {
		switch code := <-codes; code {
		case 0:
			ok++
		case kerr.InvalidPartitions.Code:
		default:
			t.Fatalf("CreatePartitions: %v", kerr.ErrorForCode(code))
		}
	}
	md, err := tb.admin().ListTopics(ctx, "grow")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(md["grow"].Partitions); ok != 1 || n != 4 {
		t.Fatalf("%d of 8 concurrent requests for 4 partitions succeeded; the topic has %d", ok, n)
	}
}

// Auto-creation through Metadata creates a name given twice once (the whole
// creation used to fail, creating nothing), and skips a name that collides
// with an existing topic or an earlier name once '.' and '_' are taken
// alike, as CreateTopics refuses it.
func TestAutoCreateDuplicatesAndCollisions(t *testing.T) {
	tb := startBroker(t)
	ctx := adminCtx(t)
	createTestTopic(t, tb, "made_before", 1)
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = true
	for _, name := range []string{"twice", "twice", "made.before", "new.one", "new_one"} {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, rt)
	}
	if _, err := req.RequestWith(ctx, tb.client()); err != nil {
		t.Fatal(err)
	}
	topics, err := tb.admin().ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"twice": true, "new.one": true, "made.before": false, "new_one": false, "made_before": true} {
		if got := topics.Has(name); got != want {
			t.Errorf("topic %s exists: %v, want %v (topics %v)", name, got, want, topics.Names())
		}
	}
}

// Two requests auto-creating colliding names at the same moment cannot both
// succeed: the metadata state machine checks collisions where creates apply
// one at a time (a review had 20 of 20 racing pairs both created).
func TestAutoCreateCollisionRace(t *testing.T) {
	tb := startBroker(t)
	cls := []*kgo.Client{tb.client(), tb.client()}
	raceCollidingPairs(t, tb, "race", func(ctx context.Context, i, j int, name string) {
		req := kmsg.NewPtrMetadataRequest()
		req.AllowAutoTopicCreation = true
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, rt)
		req.RequestWith(ctx, cls[j])
	})
}

// raceCollidingPairs runs create for 20 pairs of names differing only in
// '.' against '_' (prefix, pair index, separator, "x"), the two of a pair
// from two goroutines (j 0 and 1) at once, checks that exactly one of each
// pair exists afterwards, and returns the topics.
func raceCollidingPairs(t *testing.T, tb *testBroker, prefix string, create func(ctx context.Context, i, j int, name string)) kadm.TopicDetails {
	t.Helper()
	ctx := adminCtx(t)
	var wg sync.WaitGroup
	for i := range 20 {
		for j, sep := range []string{".", "_"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				create(ctx, i, j, fmt.Sprintf("%s%d%sx", prefix, i, sep))
			}()
		}
	}
	wg.Wait()
	topics, err := tb.admin().ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		dot, under := topics.Has(fmt.Sprintf("%s%d.x", prefix, i)), topics.Has(fmt.Sprintf("%s%d_x", prefix, i))
		if dot == under {
			t.Fatalf("pair %d: %s%d.x %v, %s%d_x %v; want exactly one", i, prefix, i, dot, prefix, i, under)
		}
	}
	return topics
}

// Metadata answers as Kafka without an authorizer: asked for authorized
// operations, every operation a topic (v8+) and the cluster (v8-10)
// support; a topic named twice is answered once; __consumer_offsets is
// internal by its name even when a client created it. DescribeGroups
// answers a group's operations the same way.
func TestMetadataAuthorizedOperationsAndInternalByName(t *testing.T) {
	tb := startBroker(t)
	ctx := adminCtx(t)
	createTestTopic(t, tb, "ops", 1)
	createTestTopic(t, tb, "__consumer_offsets", 1) // before any group made it
	cl := tb.client()
	for _, v := range []int16{8, 10, 12} {
		pinned := kversion.Stable()
		pinned.SetMaxKeyVersion(3, v) // the client sends the highest version it may
		vcl := tb.client(kgo.MaxVersions(pinned))
		req := kmsg.NewPtrMetadataRequest()
		req.Version = v
		req.IncludeTopicAuthorizedOperations, req.IncludeClusterAuthorizedOperations = true, true
		for _, name := range []string{"ops", "ops", "__consumer_offsets"} {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(name)
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(ctx, vcl)
		vcl.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Topics) != 2 {
			t.Fatalf("v%d: %d topics answered for ops, ops, __consumer_offsets", v, len(resp.Topics))
		}
		for _, rt := range resp.Topics {
			if rt.AuthorizedOperations != topicOperations {
				t.Fatalf("v%d: topic %s operations %b, want %b", v, *rt.Topic, rt.AuthorizedOperations, topicOperations)
			}
			if internal := *rt.Topic == "__consumer_offsets"; rt.IsInternal != internal {
				t.Fatalf("v%d: topic %s internal %v", v, *rt.Topic, rt.IsInternal)
			}
		}
		wantCluster := int32(clusterOperations)
		if v > 10 {
			wantCluster = -2147483648 // not in the response past v10
		}
		if resp.AuthorizedOperations != wantCluster {
			t.Fatalf("v%d: cluster operations %b, want %b", v, resp.AuthorizedOperations, wantCluster)
		}
	}
	// An unknown name and an unknown topic id each answered once, the
	// name with operations (as Kafka), the id without.
	req := kmsg.NewPtrMetadataRequest()
	req.IncludeTopicAuthorizedOperations = true
	for range 2 {
		byName := kmsg.NewMetadataRequestTopic()
		byName.Topic = kmsg.StringPtr("nope")
		byID := kmsg.NewMetadataRequestTopic()
		byID.TopicID = [16]byte{9}
		req.Topics = append(req.Topics, byName, byID)
	}
	mresp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(mresp.Topics) != 2 {
		t.Fatalf("%d answers for an unknown name and id named twice each", len(mresp.Topics))
	}
	for _, rt := range mresp.Topics {
		if want := map[bool]int32{true: topicOperations, false: -2147483648}[rt.Topic != nil]; rt.AuthorizedOperations != want {
			t.Fatalf("unknown topic %v: operations %d, want %d", rt.Topic, rt.AuthorizedOperations, want)
		}
	}

	// DescribeGroups: a group that exists gets its operations, an unknown
	// one (an error) none, as in Kafka.
	offs := make(kadm.Offsets)
	offs.Add(kadm.Offset{Topic: "ops", Partition: 0, At: 0, LeaderEpoch: -1})
	if err := tb.admin().CommitAllOffsets(ctx, "described", offs); err != nil {
		t.Fatal(err)
	}
	describe := kmsg.NewPtrDescribeGroupsRequest()
	describe.Groups, describe.IncludeAuthorizedOperations = []string{"described", "nobody"}, true
	resp, err := describe.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range resp.Groups {
		want := groupOperations
		if g.ErrorCode != 0 {
			want = -2147483648
		}
		if g.Group == "described" && g.ErrorCode != 0 {
			t.Fatalf("group described: %v", kerr.ErrorForCode(g.ErrorCode))
		}
		if g.AuthorizedOperations != want {
			t.Fatalf("group %s (error %d): operations %b, want %b", g.Group, g.ErrorCode, g.AuthorizedOperations, want)
		}
	}
}

// Auto-creation takes default.replication.factor, as Kafka's does: more
// replicas than brokers creates nothing (the topic stays unknown) instead
// of a topic with one replica.
func TestAutoCreateHonoursDefaultReplicationFactor(t *testing.T) {
	tb := startBroker(t, "default.replication.factor=3")
	ctx := adminCtx(t)
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = true
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("three-replicas")
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, tb.client())
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].ErrorCode; code != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("auto-create with 3 replicas on one broker: %v, want UNKNOWN_TOPIC_OR_PARTITION", kerr.ErrorForCode(code))
	}
	topics, err := tb.admin().ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if topics.Has("three-replicas") {
		t.Fatal("a topic was created with fewer replicas than default.replication.factor")
	}
}

// Two CreateTopics racing with colliding names ('.' against '_') fail only
// the colliding topic: the others of the losing request are created, as
// when a name itself was created meanwhile.
func TestCreateTopicsCollisionRaceFailsOnlyThatTopic(t *testing.T) {
	tb := startBroker(t)
	adms := []*kadm.Client{tb.admin(), tb.admin()}
	topics := raceCollidingPairs(t, tb, "clash", func(ctx context.Context, i, j int, name string) {
		adms[j].CreateTopics(ctx, 1, 1, nil, fmt.Sprintf("plain%d-%d", i, j), name)
	})
	for i := range 20 {
		for j := range 2 {
			if name := fmt.Sprintf("plain%d-%d", i, j); !topics.Has(name) {
				t.Fatalf("%s was not created: its request raced a colliding name", name)
			}
		}
	}
}

// delete.topic.enable=false refuses every deletion, as Kafka: the topic
// stays, TOPIC_DELETION_DISABLED from v3 and INVALID_REQUEST before.
func TestDeleteTopicsDisabled(t *testing.T) {
	tb := startBroker(t, "delete.topic.enable=false")
	ctx := adminCtx(t)
	createTestTopic(t, tb, "kept", 1)
	res, err := tb.admin().DeleteTopics(ctx, "kept", "missing")
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "delete kept", res["kept"].Err, kerr.TopicDeletionDisabled)
	wantErr(t, "delete missing", res["missing"].Err, kerr.TopicDeletionDisabled)
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TopicNames = []string{"kept"}
	resp := kmsg.NewPtrDeleteTopicsResponse()
	if err := roundTrip(dialRaw(t, tb.addr, 10*time.Second), req, 2, resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("v2: %+v, want INVALID_REQUEST", resp.Topics)
	}
	topics, err := tb.admin().ListTopics(ctx, "kept")
	if err != nil || topics["kept"].Err != nil {
		t.Fatalf("the topic went: %v %+v", err, topics)
	}
}
