package engine

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/meta"
)

// describedConfig returns one config of one described resource.
func describedConfig(t *testing.T, rcs kadm.ResourceConfigs, resource, key string) kadm.Config {
	t.Helper()
	for _, rc := range rcs {
		if rc.Name != resource {
			continue
		}
		if rc.Err != nil {
			t.Fatalf("describe %s: %v (%s)", resource, rc.Err, rc.ErrMessage)
		}
		for _, c := range rc.Configs {
			if c.Key == key {
				return c
			}
		}
		t.Fatalf("describe %s: no config %s", resource, key)
	}
	t.Fatalf("describe: no resource %s", resource)
	return kadm.Config{}
}

// wantConfig checks a topic config's value and source.
func wantConfig(t *testing.T, adm *kadm.Client, topic, key, value string, src kmsg.ConfigSource) {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(adminCtx(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	c := describedConfig(t, rcs, topic, key)
	if c.Value == nil || *c.Value != value || c.Source != src {
		t.Fatalf("%s %s = %v (source %v), want %q (source %v)", topic, key, c.MaybeValue(), c.Source, value, src)
	}
}

func TestAdminTopicConfigs(t *testing.T) {
	tb := startBroker(t, "auto.create.topics.enable=false")
	ctx := adminCtx(t)
	adm := tb.admin()
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": kadm.StringPtr("3600000")}, "cfg"); err != nil {
		t.Fatal(err)
	}

	rcs, err := adm.DescribeTopicConfigs(ctx, "cfg")
	if err != nil {
		t.Fatal(err)
	}
	ret := describedConfig(t, rcs, "cfg", "retention.ms")
	if ret.MaybeValue() != "3600000" || ret.Source != kmsg.ConfigSourceDynamicTopicConfig ||
		len(ret.Synonyms) != 2 || ret.Synonyms[0].Source != kmsg.ConfigSourceDynamicTopicConfig ||
		ret.Synonyms[1].Key != "log.retention.ms" || ret.Synonyms[1].Source != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("retention.ms described as %+v", ret)
	}
	wantConfig(t, adm, "cfg", "segment.bytes", "1073741824", kmsg.ConfigSourceDefaultConfig)
	wantConfig(t, adm, "cfg", "cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig)

	// Incremental changes touch only the keys named.
	alter := func(validate bool, configs ...kadm.AlterConfig) error {
		t.Helper()
		do := adm.AlterTopicConfigs
		if validate {
			do = adm.ValidateAlterTopicConfigs
		}
		res, err := do(ctx, configs, "cfg")
		if err != nil {
			t.Fatal(err)
		}
		r, _ := res.On("cfg", nil)
		if r.Err != nil && r.ErrMessage == "" {
			t.Fatalf("alter %+v: %v without a message", configs, r.Err)
		}
		return r.Err
	}
	wantErr(t, "incremental alter", alter(false,
		kadm.AlterConfig{Op: kadm.SetConfig, Name: "segment.bytes", Value: kadm.StringPtr("1048576")},
		kadm.AlterConfig{Op: kadm.DeleteConfig, Name: "retention.ms"},
		kadm.AlterConfig{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")},
	), nil)
	wantConfig(t, adm, "cfg", "segment.bytes", "1048576", kmsg.ConfigSourceDynamicTopicConfig)
	wantConfig(t, adm, "cfg", "retention.ms", "604800000", kmsg.ConfigSourceDefaultConfig)
	wantConfig(t, adm, "cfg", "cleanup.policy", "delete,compact", kmsg.ConfigSourceDynamicTopicConfig)
	wantErr(t, "subtract", alter(false, kadm.AlterConfig{Op: kadm.SubtractConfig, Name: "cleanup.policy", Value: kadm.StringPtr("delete")}), nil)
	wantConfig(t, adm, "cfg", "cleanup.policy", "compact", kmsg.ConfigSourceDynamicTopicConfig)

	wantErr(t, "bad value", alter(false, kadm.AlterConfig{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("abc")}), kerr.InvalidConfig)
	wantErr(t, "unknown key", alter(false, kadm.AlterConfig{Op: kadm.SetConfig, Name: "no.such.key", Value: kadm.StringPtr("1")}), kerr.InvalidConfig)
	// INT keys hold an int32, as in Kafka: 2^31 used to wrap to a negative
	// max.message.bytes that refused every produce.
	wantErr(t, "INT past int32", alter(false, kadm.AlterConfig{Op: kadm.SetConfig, Name: "max.message.bytes", Value: kadm.StringPtr("2147483648")}), kerr.InvalidConfig)
	wantErr(t, "INT past int32", alter(false, kadm.AlterConfig{Op: kadm.SetConfig, Name: "segment.bytes", Value: kadm.StringPtr("4294967296")}), kerr.InvalidConfig)
	wantErr(t, "INT at int32's maximum", alter(false, kadm.AlterConfig{Op: kadm.SetConfig, Name: "index.interval.bytes", Value: kadm.StringPtr("2147483647")}), nil)
	wantErr(t, "append to a scalar", alter(false, kadm.AlterConfig{Op: kadm.AppendConfig, Name: "retention.ms", Value: kadm.StringPtr("1")}), kerr.InvalidConfig)
	wantErr(t, "append a bad item", alter(false, kadm.AlterConfig{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kadm.StringPtr("shred")}), kerr.InvalidConfig)
	wantErr(t, "validate only", alter(true, kadm.AlterConfig{Op: kadm.SetConfig, Name: "max.message.bytes", Value: kadm.StringPtr("2048")}), nil)
	wantConfig(t, adm, "cfg", "max.message.bytes", "1048588", kmsg.ConfigSourceDefaultConfig)

	// Legacy AlterConfigs replaces the whole override set.
	res, err := adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "max.message.bytes", Value: kadm.StringPtr("2048")}}, "cfg")
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := res.On("cfg", nil); r.Err != nil {
		t.Fatalf("legacy alter: %v %s", r.Err, r.ErrMessage)
	}
	wantConfig(t, adm, "cfg", "max.message.bytes", "2048", kmsg.ConfigSourceDynamicTopicConfig)
	wantConfig(t, adm, "cfg", "segment.bytes", "1073741824", kmsg.ConfigSourceDefaultConfig)
	wantConfig(t, adm, "cfg", "cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig)
	res, err = adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "flush.ms", Value: kadm.StringPtr("-7")}}, "cfg")
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := res.On("cfg", nil); !errors.Is(r.Err, kerr.InvalidConfig) || !strings.Contains(r.ErrMessage, "flush.ms") {
		t.Fatalf("legacy alter with a bad value: %v %q, want INVALID_CONFIG naming flush.ms", r.Err, r.ErrMessage)
	}

	// The override takes effect: a batch over 2048 bytes is refused.
	cl := tb.client(kgo.DefaultProduceTopic("cfg"), kgo.ProducerBatchCompression(kgo.NoCompression()))
	err = cl.ProduceSync(ctx, &kgo.Record{Value: bytes.Repeat([]byte("x"), 4096)}).FirstErr()
	wantErr(t, "produce over max.message.bytes", err, kerr.MessageTooLarge)

	// Overrides are replicated metadata: they survive a restart.
	tb.restart()
	adm = tb.admin()
	wantConfig(t, adm, "cfg", "max.message.bytes", "2048", kmsg.ConfigSourceDynamicTopicConfig)

	rcs, err = adm.DescribeTopicConfigs(ctx, "missing")
	if err != nil {
		t.Fatal(err)
	}
	if len(rcs) != 1 || !errors.Is(rcs[0].Err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("describe missing topic: %+v", rcs)
	}
}

func TestAdminDescribeConfigsRawRequest(t *testing.T) {
	tb := startBroker(t, "auto.create.topics.enable=false")
	ctx := adminCtx(t)
	createTestTopic(t, tb, "raw", 1)

	req := kmsg.NewPtrDescribeConfigsRequest()
	req.IncludeDocumentation = true
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName, rr.ConfigNames = kmsg.ConfigResourceTypeTopic, "raw", []string{"cleanup.policy", "segment.ms"}
	req.Resources = append(req.Resources, rr)
	for _, name := range []string{"", "2", "one"} {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBroker, name
		req.Resources = append(req.Resources, rr)
	}
	// Sent to the broker itself: the client would route broker resources
	// to the brokers they name.
	kresp, err := tb.client().Broker(1).Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	resp := kresp.(*kmsg.DescribeConfigsResponse)
	if len(resp.Resources) != 4 {
		t.Fatalf("%d resources answered, want 4", len(resp.Resources))
	}
	topic := resp.Resources[0]
	if topic.ErrorCode != 0 || len(topic.Configs) != 2 {
		t.Fatalf("filtered topic describe: code %d, %d configs", topic.ErrorCode, len(topic.Configs))
	}
	for _, c := range topic.Configs {
		if c.Documentation == nil || *c.Documentation == "" || c.ConfigType == kmsg.ConfigTypeUnknown || c.ConfigSynonyms != nil {
			t.Fatalf("%s: documentation %v type %v synonyms %v", c.Name, c.Documentation, c.ConfigType, c.ConfigSynonyms)
		}
	}
	if topic.Configs[0].Name != "cleanup.policy" || topic.Configs[0].ConfigType != kmsg.ConfigTypeList {
		t.Fatalf("first config %s type %v, want cleanup.policy list", topic.Configs[0].Name, topic.Configs[0].ConfigType)
	}
	if all := resp.Resources[1]; all.ErrorCode != 0 || len(all.Configs) != 0 {
		t.Fatalf("cluster-wide dynamic broker configs: code %d, %d configs, want none", all.ErrorCode, len(all.Configs))
	}
	wantCode(t, "another broker", resp.Resources[2].ErrorCode, kerr.InvalidRequest)
	wantCode(t, "a broker name that is no id", resp.Resources[3].ErrorCode, kerr.InvalidRequest)
}

func TestAdminBrokerConfigs(t *testing.T) {
	tb := startBroker(t, "log.retention.ms=7200000", "auto.create.topics.enable=false")
	ctx := adminCtx(t)
	adm := tb.admin()
	createTestTopic(t, tb, "inherit", 1)

	rcs, err := adm.DescribeBrokerConfigs(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	ret := describedConfig(t, rcs, "1", "log.retention.ms")
	if ret.MaybeValue() != "7200000" || ret.Source != kmsg.ConfigSourceStaticBrokerConfig {
		t.Fatalf("log.retention.ms = %q (source %v), want 7200000 from the static config", ret.MaybeValue(), ret.Source)
	}
	np := describedConfig(t, rcs, "1", "num.partitions")
	if np.MaybeValue() != "1" || np.Source != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("num.partitions = %q (source %v), want the default 1", np.MaybeValue(), np.Source)
	}

	// A topic without its own value inherits the operator's broker value.
	trcs, err := adm.DescribeTopicConfigs(ctx, "inherit")
	if err != nil {
		t.Fatal(err)
	}
	tret := describedConfig(t, trcs, "inherit", "retention.ms")
	if tret.MaybeValue() != "7200000" || tret.Source != kmsg.ConfigSourceStaticBrokerConfig ||
		len(tret.Synonyms) != 2 || tret.Synonyms[0].Key != "log.retention.ms" || tret.Synonyms[0].Source != kmsg.ConfigSourceStaticBrokerConfig {
		t.Fatalf("inherited retention.ms described as %+v", tret)
	}

	rcs, err = adm.DescribeBrokerConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rcs) != 1 || rcs[0].Err != nil || len(rcs[0].Configs) != 0 {
		t.Fatalf("cluster-wide dynamic broker configs: %+v, want none", rcs)
	}

	// Keys that are not dynamic, unknown keys and bad values are refused
	// with the reason, by both APIs.
	for name, do := range map[string]func([]kadm.AlterConfig) (kadm.AlterConfigsResponses, error){
		"incremental": func(c []kadm.AlterConfig) (kadm.AlterConfigsResponses, error) {
			return adm.AlterBrokerConfigs(ctx, c, 1)
		},
		"legacy": func(c []kadm.AlterConfig) (kadm.AlterConfigsResponses, error) {
			return adm.AlterBrokerConfigsState(ctx, c, 1)
		},
	} {
		for _, c := range []struct{ key, value, says string }{
			{"num.shards", "2", "cannot change at runtime"},
			{"no.such.key", "1", "unknown key"},
			{"log.retention.ms", "soon", "log.retention.ms"},
		} {
			res, err := do([]kadm.AlterConfig{{Name: c.key, Value: kadm.StringPtr(c.value)}})
			if err != nil {
				t.Fatal(err)
			}
			r, _ := res.On("1", nil)
			if !errors.Is(r.Err, kerr.InvalidRequest) || !strings.Contains(r.ErrMessage, c.says) {
				t.Fatalf("%s broker alter %s=%s: %v %q, want INVALID_REQUEST saying %q", name, c.key, c.value, r.Err, r.ErrMessage, c.says)
			}
		}
	}
}

// Dynamic broker configs, as kafka-configs --entity-type brokers sets them:
// the cluster-wide default ("") and this broker's own override sit above
// the static config, change every topic that takes its default from them at
// once (describe and behaviour), and survive a restart. Before, every
// broker alter was refused although the keys were described as dynamic.
func TestDynamicBrokerConfigs(t *testing.T) {
	tb := startBroker(t, "log.retention.ms=7200000", "log.retention.check.interval.ms=20", "auto.create.topics.enable=false")
	ctx := adminCtx(t)
	adm := tb.admin()
	createTestTopic(t, tb, "dyn", 1)
	alter := func(configs []kadm.AlterConfig, brokers ...int32) {
		t.Helper()
		res, err := adm.AlterBrokerConfigs(ctx, configs, brokers...)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("alter %+v on %v: %v %s", configs, brokers, r.Err, r.ErrMessage)
			}
		}
	}
	topicRetention := func(want string, src kmsg.ConfigSource) {
		t.Helper()
		rcs, err := adm.DescribeTopicConfigs(ctx, "dyn")
		if err != nil {
			t.Fatal(err)
		}
		c := describedConfig(t, rcs, "dyn", "retention.ms")
		if c.MaybeValue() != want || c.Source != src {
			t.Fatalf("topic retention.ms = %q from %v, want %q from %v (synonyms %+v)", c.MaybeValue(), c.Source, want, src, c.Synonyms)
		}
	}
	topicRetention("7200000", kmsg.ConfigSourceStaticBrokerConfig)

	// Cluster default in another unit: it beats the static ms value.
	alter([]kadm.AlterConfig{{Op: kadm.SetConfig, Name: "log.retention.hours", Value: kadm.StringPtr("3")}})
	topicRetention("10800000", kmsg.ConfigSourceDynamicDefaultBrokerConfig)
	// This broker's own beats the default.
	alter([]kadm.AlterConfig{{Op: kadm.SetConfig, Name: "log.retention.ms", Value: kadm.StringPtr("60000")}}, 1)
	topicRetention("60000", kmsg.ConfigSourceDynamicBrokerConfig)

	rcs, err := adm.DescribeBrokerConfigs(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	c := describedConfig(t, rcs, "1", "log.retention.ms")
	if c.MaybeValue() != "60000" || c.Source != kmsg.ConfigSourceDynamicBrokerConfig {
		t.Fatalf("broker log.retention.ms described as %+v", c)
	}
	if len(c.Synonyms) < 3 || c.Synonyms[1].Key != "log.retention.hours" || c.Synonyms[1].Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig {
		t.Fatalf("broker log.retention.ms synonyms %+v, want this broker's, then the default's hours, then static and default", c.Synonyms)
	}
	defaults, err := adm.DescribeBrokerConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(defaults) != 1 || len(defaults[0].Configs) != 1 || defaults[0].Configs[0].Key != "log.retention.hours" {
		t.Fatalf("cluster-wide defaults described as %+v", defaults)
	}

	// They take effect: a default segment size and retention size trim
	// the topic's log while it is being written.
	alter([]kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "log.segment.bytes", Value: kadm.StringPtr("1024")},
		{Op: kadm.SetConfig, Name: "log.retention.bytes", Value: kadm.StringPtr("2048")},
	})
	cl := fetchClient(tb)
	for range 40 {
		if p := produceRaw(t, cl, "dyn", 0, 11, rawBatchAt(5, -1, -1, -1, time.Now().UnixMilli())); p.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(p.ErrorCode))
		}
	}
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		start, err := startOffset(ctx, adm, "dyn")
		if err != nil {
			return err
		}
		if start == 0 {
			return fmt.Errorf("start offset still 0 under a dynamic 2 KiB retention.bytes")
		}
		return nil
	})

	// They survive a restart; deleting this broker's own falls back to the
	// cluster default.
	tb.restart()
	adm = tb.admin()
	topicRetention("60000", kmsg.ConfigSourceDynamicBrokerConfig)
	alter([]kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "log.retention.ms"}}, 1)
	topicRetention("10800000", kmsg.ConfigSourceDynamicDefaultBrokerConfig)
	alter([]kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "log.retention.hours"}})
	topicRetention("7200000", kmsg.ConfigSourceStaticBrokerConfig)
}

// A stored override a later build no longer takes (here one written as if
// num.shards had been dynamic) is skipped alone: the others still apply,
// describe shows what applies, and DELETE removes it. A broker resource
// named by another spelling of this broker's id ("01") is stored under the
// id, where it applies. ValidateOnly changes nothing.
func TestDynamicBrokerConfigsStaleAndSpelling(t *testing.T) {
	tb := startBroker(t, "log.retention.ms=7200000", "auto.create.topics.enable=false")
	ctx := adminCtx(t)
	adm := tb.admin()
	createTestTopic(t, tb, "dyn", 1)
	if res, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "log.retention.ms", Value: kadm.StringPtr("60000")}}); err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	if _, err := tb.b.propose(ctx, []meta.Op{{Kind: meta.OpAlterBrokerConfig, Names: []string{""}, Set: map[string]string{"num.shards": "2"}}}); err != nil {
		t.Fatal(err)
	}
	if got := tb.b.settingsFor("dyn").retentionMs; got != 60000 {
		t.Fatalf("retention %d ms: the valid override was dropped with the stale one", got)
	}
	defaults, err := adm.DescribeBrokerConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(defaults[0].Configs) != 1 || defaults[0].Configs[0].Key != "log.retention.ms" {
		t.Fatalf("cluster defaults described as %+v, want only what applies", defaults[0].Configs)
	}
	res, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "num.shards"}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("DELETE of the stale override: %v %v", err, res)
	}
	if got := tb.b.store.Current().BrokerConfigs[""]; len(got) != 1 {
		t.Fatalf("stored defaults after the DELETE: %v", got)
	}

	send := func(validate bool) int16 {
		t.Helper()
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		req.ValidateOnly = validate
		r := kmsg.NewIncrementalAlterConfigsRequestResource()
		r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeBroker, "01"
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Value = "log.retention.ms", kmsg.StringPtr("30000")
		r.Configs = append(r.Configs, c)
		req.Resources = append(req.Resources, r)
		resp, err := req.RequestWith(ctx, tb.client())
		if err != nil {
			t.Fatal(err)
		}
		return resp.Resources[0].ErrorCode
	}
	if code := send(true); code != 0 || tb.b.liveConfig().LogRetention.Milliseconds() != 60000 {
		t.Fatalf("ValidateOnly: code %d, retention %v", code, tb.b.liveConfig().LogRetention)
	}
	if code := send(false); code != 0 || tb.b.liveConfig().LogRetention.Milliseconds() != 30000 {
		t.Fatalf("broker \"01\": code %d, retention %v, stored %v", code, tb.b.liveConfig().LogRetention, tb.b.store.Current().BrokerConfigs)
	}
}

// One request naming this broker twice, by two spellings of its id, is
// refused for both (INVALID_REQUEST, as any resource named twice), instead
// of one change silently undoing the other.
func TestBrokerResourceNamedTwiceBySpelling(t *testing.T) {
	tb := startBroker(t, "auto.create.topics.enable=false")
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	for _, name := range []string{"1", "01"} {
		r := kmsg.NewIncrementalAlterConfigsRequestResource()
		r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeBroker, name
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Value = "log.retention.ms", kmsg.StringPtr("1000")
		if name == "01" {
			c.Op, c.Value = kmsg.IncrementalAlterConfigOpDelete, nil
		}
		r.Configs = append(r.Configs, c)
		req.Resources = append(req.Resources, r)
	}
	resp, err := req.RequestWith(adminCtx(t), tb.client())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp.Resources {
		wantCode(t, "broker "+r.ResourceName+" named twice", r.ErrorCode, kerr.InvalidRequest)
	}
	if got := tb.b.store.Current().BrokerConfigs; len(got) != 0 {
		t.Fatalf("stored %v", got)
	}
}

// Kafka's topic configs that Chronik does not apply are still taken with
// Kafka's validation, kept and described, so that tools setting them work
// (before, every one was INVALID_CONFIG); turning tiered storage on is
// refused, as a Kafka broker without it refuses it.
func TestAdminTopicConfigsKeptForCompatibility(t *testing.T) {
	tb := startBroker(t)
	ctx := adminCtx(t)
	adm := tb.admin()
	set := map[string]string{
		"segment.jitter.ms": "1000", "segment.index.bytes": "1048576",
		"file.delete.delay.ms": "0", "message.downconversion.enable": "false", "compression.gzip.level": "6",
		"compression.zstd.level": "-5", "local.retention.ms": "-2", "remote.storage.enable": "false",
		"follower.replication.throttled.replicas": "0:1,1:1", "leader.replication.throttled.replicas": "*",
		"message.timestamp.difference.max.ms": "60000",
	}
	configs := make(map[string]*string)
	for k, v := range set {
		configs[k] = kadm.StringPtr(v)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, configs, "compat"); err != nil {
		t.Fatalf("create with Kafka's other topic configs: %v", err)
	}
	for k, v := range set {
		wantConfig(t, adm, "compat", k, v, kmsg.ConfigSourceDynamicTopicConfig)
	}
	wantConfig(t, adm, "compat", "compression.lz4.level", "9", kmsg.ConfigSourceDefaultConfig)
	for k, v := range map[string]string{
		"remote.storage.enable": "true", "compression.gzip.level": "10", "compression.lz4.level": "18",
		"segment.index.bytes": "3", "follower.replication.throttled.replicas": "x", "local.retention.ms": "-3",
	} {
		res, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{k: kadm.StringPtr(v)}, "refused")
		if err == nil {
			err = res.Err
		}
		if !errors.Is(err, kerr.InvalidConfig) {
			t.Fatalf("create with %s=%s: %v, want INVALID_CONFIG", k, v, err)
		}
	}
}
