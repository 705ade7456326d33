package engine

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// listedOffset returns partition 0 of topic from a kadm listing.
func listedOffset(t *testing.T, what string, l kadm.ListedOffsets, err error, topic string) kadm.ListedOffset {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	o, ok := l.Lookup(topic, 0)
	if !ok || o.Err != nil {
		t.Fatalf("%s: listed %v, err %v", what, ok, o.Err)
	}
	return o
}

// produceTimestamps writes one record per timestamp, one batch each, to
// partition 0 of topic.
func produceTimestamps(t *testing.T, tb *testBroker, topic string, stamps []int64) {
	t.Helper()
	cl := tb.client(kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for i, ts := range stamps {
		r := &kgo.Record{Value: []byte{byte(i)}, Timestamp: time.UnixMilli(ts)}
		if err := cl.ProduceSync(adminCtx(t), r).FirstErr(); err != nil {
			t.Fatalf("produce record %d: %v", i, err)
		}
	}
}

func TestAdminListOffsets(t *testing.T) {
	tb := startBroker(t, "auto.create.topics.enable=false")
	ctx := adminCtx(t)
	adm := tb.admin()
	createTestTopic(t, tb, "lo", 1)
	createTestTopic(t, tb, "empty", 1)

	// Ten records a second apart, an hour ago; record 5 carries the
	// largest timestamp, out of order.
	base := time.Now().Add(-time.Hour).UnixMilli()
	stamps := make([]int64, 10)
	for i := range stamps {
		stamps[i] = base + int64(i)*1000
	}
	maxTS := base + 100_000
	stamps[5] = maxTS
	produceTimestamps(t, tb, "lo", stamps)

	l, err := adm.ListStartOffsets(ctx, "lo")
	if o := listedOffset(t, "start", l, err, "lo"); o.Offset != 0 {
		t.Fatalf("start offset %d, want 0", o.Offset)
	}
	l, err = adm.ListEndOffsets(ctx, "lo")
	if o := listedOffset(t, "end", l, err, "lo"); o.Offset != 10 || o.LeaderEpoch != 0 {
		t.Fatalf("end offset %d epoch %d, want 10 and 0", o.Offset, o.LeaderEpoch)
	}
	l, err = adm.ListOffsetsAfterMilli(ctx, base+2500, "lo")
	if o := listedOffset(t, "after base+2.5s", l, err, "lo"); o.Offset != 3 || o.Timestamp != base+3000 {
		t.Fatalf("after base+2.5s: offset %d timestamp %d, want 3 at %d", o.Offset, o.Timestamp, base+3000)
	}
	l, err = adm.ListOffsetsAfterMilli(ctx, base+50_000, "lo")
	if o := listedOffset(t, "after base+50s", l, err, "lo"); o.Offset != 5 || o.Timestamp != maxTS {
		t.Fatalf("after base+50s: offset %d timestamp %d, want 5 at %d", o.Offset, o.Timestamp, maxTS)
	}
	l, err = adm.ListMaxTimestampOffsets(ctx, "lo")
	if o := listedOffset(t, "max timestamp", l, err, "lo"); o.Offset != 5 || o.Timestamp != maxTS {
		t.Fatalf("max timestamp: offset %d timestamp %d, want 5 at %d", o.Offset, o.Timestamp, maxTS)
	}
	l, err = adm.ListMaxTimestampOffsets(ctx, "empty")
	if o := listedOffset(t, "max timestamp of an empty log", l, err, "empty"); o.Offset != -1 || o.Timestamp != -1 {
		t.Fatalf("max timestamp of an empty log: offset %d timestamp %d, want -1 -1", o.Offset, o.Timestamp)
	}

	// A timestamp after every record finds nothing: Kafka's -1/-1.
	cl := tb.client()
	lreq := func(timestamp int64, currentEpoch int32, partitions ...int32) *kmsg.ListOffsetsResponse {
		t.Helper()
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "lo"
		for _, p := range partitions {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = p, timestamp, currentEpoch
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		return askBroker[*kmsg.ListOffsetsResponse](t, cl, req)
	}
	resp := lreq(maxTS+1, -1, 0)
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.Offset != -1 || p.Timestamp != -1 {
		t.Fatalf("after every record: %+v, want offset -1 timestamp -1", p)
	}
	resp = lreq(-1, 0, 0, 7)
	wantCode(t, "current epoch", resp.Topics[0].Partitions[0].ErrorCode, nil)
	wantCode(t, "unknown partition", resp.Topics[0].Partitions[1].ErrorCode, kerr.UnknownTopicOrPartition)
	wantCode(t, "newer epoch", lreq(-1, 3, 0).Topics[0].Partitions[0].ErrorCode, kerr.UnknownLeaderEpoch)
	wantCode(t, "timestamp -5", lreq(-5, -1, 0).Topics[0].Partitions[0].ErrorCode, kerr.UnsupportedVersion)
	for i, p := range lreq(-2, -1, 0, 0).Topics[0].Partitions {
		wantCode(t, "partition listed twice, entry "+strconv.Itoa(i), p.ErrorCode, kerr.InvalidRequest)
	}

	// DeleteRecords moves the start; offsets below it are gone.
	dres, err := adm.DeleteRecords(ctx, kadm.Offsets{"lo": {0: {Topic: "lo", Partition: 0, At: 4}}})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := dres.Lookup("lo", 0); d.Err != nil || d.LowWatermark != 4 {
		t.Fatalf("delete records before 4: %+v", d)
	}
	l, err = adm.ListStartOffsets(ctx, "lo")
	if o := listedOffset(t, "start after delete", l, err, "lo"); o.Offset != 4 {
		t.Fatalf("start offset after delete %d, want 4", o.Offset)
	}
	l, err = adm.ListOffsetsAfterMilli(ctx, base, "lo")
	if o := listedOffset(t, "after base, records deleted", l, err, "lo"); o.Offset != 4 {
		t.Fatalf("first record at or after base once 0-3 are deleted: %d, want 4", o.Offset)
	}
	dres, err = adm.DeleteRecords(ctx, kadm.Offsets{"lo": {0: {Topic: "lo", Partition: 0, At: 2}}})
	if d, _ := dres.Lookup("lo", 0); err != nil || d.Err != nil || d.LowWatermark != 4 {
		t.Fatalf("delete below the start: %v %+v, want a no-op at 4", err, d)
	}
	dres, err = adm.DeleteRecords(ctx, kadm.Offsets{"lo": {0: {Topic: "lo", Partition: 0, At: 11}}})
	if d, _ := dres.Lookup("lo", 0); err != nil || !errors.Is(d.Err, kerr.OffsetOutOfRange) {
		t.Fatalf("delete past the high watermark: %v %+v, want OFFSET_OUT_OF_RANGE", err, d)
	}

	// ListOffsets v0 answers with old-style offset lists.
	v0 := pinnedClient(tb, 2, 0)
	for _, c := range []struct {
		timestamp int64
		want      []int64
	}{{-1, []int64{10, 4}}, {-2, []int64{4}}} {
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "lo"
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Timestamp, rp.MaxNumOffsets = c.timestamp, 5
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, v0)
		if err != nil {
			t.Fatal(err)
		}
		p := resp.Topics[0].Partitions[0]
		if resp.Version != 0 || p.ErrorCode != 0 || !slices.Equal(p.OldStyleOffsets, c.want) {
			t.Fatalf("v0 timestamp %d: version %d %+v, want %v", c.timestamp, resp.Version, p, c.want)
		}
	}

	// The log start survives a restart.
	tb.restart()
	l, err = tb.admin().ListStartOffsets(adminCtx(t), "lo")
	if o := listedOffset(t, "start after restart", l, err, "lo"); o.Offset != 4 {
		t.Fatalf("start offset after restart %d, want 4", o.Offset)
	}
}

func TestAdminDeleteRecordsToHighWatermark(t *testing.T) {
	tb := startBroker(t, "auto.create.topics.enable=false")
	ctx := adminCtx(t)
	createTestTopic(t, tb, "hw", 1)
	produceTimestamps(t, tb, "hw", []int64{1000, 2000, 3000})

	req := kmsg.NewPtrDeleteRecordsRequest()
	req.TimeoutMillis = 10000
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = "hw"
	for _, c := range []struct {
		partition int32
		offset    int64
	}{{0, -1}, {3, 1}} {
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Partition, rp.Offset = c.partition, c.offset
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp := askBroker[*kmsg.DeleteRecordsResponse](t, tb.client(), req)
	ps := resp.Topics[0].Partitions
	if ps[0].ErrorCode != 0 || ps[0].LowWatermark != 3 {
		t.Fatalf("delete to the high watermark: %+v, want low watermark 3", ps[0])
	}
	wantCode(t, "delete on an unknown partition", ps[1].ErrorCode, kerr.UnknownTopicOrPartition)

	// Everything is deleted; new records still get the next offsets.
	produceTimestamps(t, tb, "hw", []int64{4000})
	l, err := tb.admin().ListEndOffsets(ctx, "hw")
	if o := listedOffset(t, "end after delete", l, err, "hw"); o.Offset != 4 {
		t.Fatalf("end offset %d, want 4", o.Offset)
	}
}

func TestAdminOffsetForLeaderEpoch(t *testing.T) {
	tb := startBroker(t, "auto.create.topics.enable=false")
	ctx := adminCtx(t)
	adm := tb.admin()
	createTestTopic(t, tb, "ofle", 1)
	produceTimestamps(t, tb, "ofle", []int64{1000, 2000, 3000})

	var req kadm.OffsetForLeaderEpochRequest
	req.Add("ofle", 0, 0)
	res, err := adm.OffsetForLeaderEpoch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if o := res["ofle"][0]; o.Err != nil || o.LeaderEpoch != 0 || o.EndOffset != 3 {
		t.Fatalf("current epoch: %+v, want epoch 0 ending at 3", o)
	}

	req = nil
	req.Add("ofle", 0, 5)
	res, err = adm.OffsetForLeaderEpoch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if o := res["ofle"][0]; o.Err != nil || o.LeaderEpoch != -1 || o.EndOffset != -1 {
		t.Fatalf("future epoch: %+v, want -1/-1", o)
	}

	raw := kmsg.NewPtrOffsetForLeaderEpochRequest()
	rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
	rt.Topic = "ofle"
	for _, c := range []struct{ partition, current, epoch int32 }{{0, 4, 0}, {9, -1, 0}, {0, -1, -1}} {
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = c.partition, c.current, c.epoch
		rt.Partitions = append(rt.Partitions, rp)
	}
	raw.Topics = append(raw.Topics, rt)
	resp := askBroker[*kmsg.OffsetForLeaderEpochResponse](t, tb.client(), raw)
	ps := resp.Topics[0].Partitions
	wantCode(t, "newer current epoch", ps[0].ErrorCode, kerr.UnknownLeaderEpoch)
	wantCode(t, "unknown partition", ps[1].ErrorCode, kerr.UnknownTopicOrPartition)
	if ps[2].ErrorCode != 0 || ps[2].LeaderEpoch != -1 || ps[2].EndOffset != -1 {
		t.Fatalf("undefined epoch: %+v, want -1/-1", ps[2])
	}
}

// Kafka refuses client writes to its internal topics and DeleteRecords on
// them (INVALID_TOPIC_EXCEPTION; its admin client id may append), and
// DeleteRecords on topics whose cleanup.policy lacks delete
// (POLICY_VIOLATION): a forged or deleted __consumer_offsets record would
// change committed offsets at the next load.
func TestInternalAndCompactedTopicsRefuseClientDeletesAndWrites(t *testing.T) {
	tb := startBroker(t, "offsets.topic.num.partitions=1")
	ctx := adminCtx(t)
	adm := tb.admin()
	createTestTopic(t, tb, "plain", 1)
	for topic, policy := range map[string]string{"compacted": "compact", "both": "compact,delete"} {
		if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": &policy}, topic); err != nil {
			t.Fatal(err)
		}
	}
	// A commit creates __consumer_offsets.
	offs := make(kadm.Offsets)
	offs.AddOffset("plain", 0, 0, -1)
	if _, err := adm.CommitOffsets(ctx, "g", offs); err != nil {
		t.Fatal(err)
	}

	keyed := func() []byte {
		rb := kmsg.RecordBatch{Magic: 2, FirstTimestamp: 1, MaxTimestamp: 1, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: 1}
		r := kmsg.Record{Key: []byte("k"), Value: []byte("v")}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		rb.Records = r.AppendTo(nil)
		raw := rb.AppendTo(nil)
		binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
		binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
		return raw
	}
	p := produceRaw(t, tb.client(), offsetsTopic, 0, 9, keyed())
	wantCode(t, "client produce to __consumer_offsets", p.ErrorCode, kerr.InvalidTopicException)
	if p := produceRaw(t, tb.client(kgo.ClientID(adminClientID)), offsetsTopic, 0, 9, keyed()); p.ErrorCode != 0 {
		t.Fatalf("produce to __consumer_offsets as %s: %v", adminClientID, kerr.ErrorForCode(p.ErrorCode))
	}

	deleteAll := func(topic string) kmsg.DeleteRecordsResponseTopicPartition {
		req := kmsg.NewPtrDeleteRecordsRequest()
		req.TimeoutMillis = 10000
		rt := kmsg.NewDeleteRecordsRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Offset = -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return askBroker[*kmsg.DeleteRecordsResponse](t, tb.client(), req).Topics[0].Partitions[0]
	}
	wantCode(t, "DeleteRecords on __consumer_offsets", deleteAll(offsetsTopic).ErrorCode, kerr.InvalidTopicException)
	wantCode(t, "DeleteRecords on a compact-only topic", deleteAll("compacted").ErrorCode, kerr.PolicyViolation)
	for _, topic := range []string{"both", "plain"} {
		if p := deleteAll(topic); p.ErrorCode != 0 {
			t.Fatalf("DeleteRecords on %s: %v", topic, kerr.ErrorForCode(p.ErrorCode))
		}
	}

	// The committed offset is still there after a restart reloads the group.
	tb.restart()
	got, err := tb.admin().FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := got.Lookup("plain", 0); !ok || o.At != 0 {
		t.Fatalf("committed offset after restart: %+v %v", o, ok)
	}
}
