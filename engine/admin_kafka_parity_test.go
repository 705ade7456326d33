package engine

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka's ConfigurationControlManager.incrementalAlterConfigResource turns
// DELETE of a key the topic does not set into no record and validates the
// remaining configs, so deleting a key it does not know (a Kafka 3.x key
// such as message.format.version, removed in 4.0) succeeds.
func TestIncrementalDeleteOfAnUnknownTopicKeyIsANoOp(t *testing.T) {
	tb := startBroker(t)
	ctx := adminCtx(t)
	createTestTopic(t, tb, "t", 1)
	resps, err := tb.admin().AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "message.format.version"}}, "t")
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "DELETE of a key the topic does not set", resps[0].Err, nil)
}

// Kafka's cleanup.policy validator is ValidList.in("compact","delete"),
// which takes an empty list (ConfigDef.ValidList: isEmptyAllowed true), so
// SUBTRACT of the only item, or SET "", succeeds.
func TestCleanupPolicyMayBeEmptied(t *testing.T) {
	tb := startBroker(t)
	ctx := adminCtx(t)
	createTestTopic(t, tb, "t", 1)
	v := "delete"
	resps, err := tb.admin().AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SubtractConfig, Name: "cleanup.policy", Value: &v}}, "t")
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "SUBTRACT delete from cleanup.policy=delete", resps[0].Err, nil)
	// Neither deleted by time or size nor compacted, as in Kafka.
	st := tb.b.settingsFor("t")
	if st.retentionMs != -1 || st.retentionBytes != -1 || st.compact || st.deletable {
		t.Fatalf("settings under an empty cleanup.policy: %+v", st)
	}
}

// Kafka's ConfigDef.parseType trims every value and takes booleans in any
// case ("TRUE"), numbers with surrounding spaces.
func TestTopicConfigValuesAreParsedAsKafkaParsesThem(t *testing.T) {
	tb := startBroker(t)
	ctx := adminCtx(t)
	for i, kv := range [][2]string{{"preallocate", "TRUE"}, {"unclean.leader.election.enable", "False"}, {"retention.ms", " 3600000"}} {
		v := kv[1]
		res, err := tb.admin().CreateTopics(ctx, 1, 1, map[string]*string{kv[0]: &v}, "t"+string(rune('a'+i)))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Errorf("%s=%q: %v (%s)", kv[0], kv[1], r.Err, r.ErrMessage)
			}
		}
	}
	// Stored as parsed: the retention is the hour asked for, not 0.
	if st := tb.b.settingsFor("tc"); st.retentionMs != 3600000 {
		t.Fatalf("retention.ms \" 3600000\" applied as %d", st.retentionMs)
	}
	if st := tb.b.settingsFor("ta"); !st.preallocate {
		t.Fatal("preallocate=TRUE applied as false")
	}
}

// A topic with min.insync.replicas above its in-sync replicas refuses
// acks=all writes with NOT_ENOUGH_REPLICAS in Kafka (Partition.appendRecordsToLeader).
func TestMinInsyncReplicasRefusesAcksAllWrites(t *testing.T) {
	tb := startBroker(t)
	ctx := adminCtx(t)
	two := "2"
	if res, err := tb.admin().CreateTopic(ctx, 1, 1, map[string]*string{"min.insync.replicas": &two}, "t"); err != nil || res.Err != nil {
		t.Fatal(err, res.Err)
	}
	cl := tb.client(kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordRetries(1), kgo.DisableIdempotentWrite(), kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }), kgo.MetadataMinAge(10*time.Millisecond))
	err := cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("v")}).FirstErr()
	wantErr(t, "acks=all produce with 1 in-sync replica and min.insync.replicas=2", err, kerr.NotEnoughReplicas)
	// acks=1 does not wait for the in-sync replicas: accepted, as in Kafka.
	one := tb.client(kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	if err := one.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("acks=1 produce under min.insync.replicas=2: %v", err)
	}
}

// A lowered flush.ms applies to the next flush in Kafka (LogManager's
// flush check reads log.config.flushMs each time it runs); here a timer
// armed under the old value keeps the data unsynced for the old interval.
func TestLoweredFlushMsApplies(t *testing.T) {
	tb := startBroker(t, "log.flush.policy=interval")
	ctx := adminCtx(t)
	hour, many := "3600000", "1000000000"
	if res, err := tb.admin().CreateTopic(ctx, 1, 1, map[string]*string{"flush.ms": &hour, "flush.messages": &many}, "t"); err != nil || res.Err != nil {
		t.Fatal(err, res.Err)
	}
	cl := tb.client()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("a")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	short := "50"
	resps, err := tb.admin().AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "flush.ms", Value: &short}}, "t")
	if err != nil || resps[0].Err != nil {
		t.Fatal(err, resps[0].Err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("b")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	k := partKey{"t", 0}
	var unflushed int64
	onShard(t, tb.b.shardFor(k), func(s *shard) { unflushed = s.parts[k].unflushed })
	if unflushed != 0 {
		t.Fatalf("%d records still unsynced 2s after flush.ms was lowered to 50 ms", unflushed)
	}
}

// Kafka's ConfigHelper.describeConfigs describes every config when
// ConfigNames is null or empty ("if (resource.configurationKeys == null ||
// resource.configurationKeys.isEmpty) configs.toBuffer").
func TestDescribeConfigsWithEmptyNamesDescribesAll(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "t", 1)
	req := kmsg.NewPtrDescribeConfigsRequest()
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName, rr.ConfigNames = kmsg.ConfigResourceTypeTopic, "t", []string{}
	req.Resources = append(req.Resources, rr)
	resp := askBroker[*kmsg.DescribeConfigsResponse](t, tb.client(), req)
	wantCode(t, "describe", resp.Resources[0].ErrorCode, nil)
	if n := len(resp.Resources[0].Configs); n == 0 {
		t.Fatalf("empty ConfigNames: %d configs described, want all of them", n)
	}
}
