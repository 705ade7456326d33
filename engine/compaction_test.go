package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// consumeAll reads partition 0 of topic from its start to its end offset
// with a fresh consumer and returns the records, checking that offsets
// strictly increase.
func consumeAll(t *testing.T, tb *testBroker, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ends, err := tb.admin().ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup(topic, 0)
	cl := tb.client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	defer cl.Close()
	var recs []*kgo.Record
	next := int64(0)
	for i := 0; next < end.Offset && i < 10000; i++ {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed up to %d of %d: %v", next, end.Offset, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset < next {
				t.Fatalf("offset %d after %d", r.Offset, next-1)
			}
			next = r.Offset + 1
			recs = append(recs, r)
		})
		// A fetch may end on a batch whose last records were compacted away;
		// the client moves past it without records.
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			if p.HighWatermark > 0 && len(p.Records) == 0 {
				next = max(next, end.Offset)
			}
		})
	}
	return recs
}

// latestByKey is each key's last value in recs (nil for a tombstone).
func latestByKey(recs []*kgo.Record) map[string][]byte {
	m := map[string][]byte{}
	for _, r := range recs {
		m[string(r.Key)] = r.Value
	}
	return m
}

// TestCompactedTopicKeepsLatestValuePerKey produces many updates per key to
// a compacted topic with small segments, waits for the shard's cleaner, and
// consumes: every key's latest value is there at its original offset, older
// values are gone, deleted keys disappear after delete.retention.ms, and all
// of it survives a restart.
func TestCompactedTopicKeepsLatestValuePerKey(t *testing.T) {
	tb := startBroker(t, "log.cleaner.backoff.ms=20", "log.cleaner.io.max.bytes.per.second=104857600")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const topic = "compacted"
	if _, err := tb.admin().CreateTopic(ctx, 1, 1, map[string]*string{
		"cleanup.policy":            kadm.StringPtr("compact"),
		"segment.bytes":             kadm.StringPtr("4096"),
		"min.cleanable.dirty.ratio": kadm.StringPtr("0.1"),
		"delete.retention.ms":       kadm.StringPtr("0"),
	}, topic); err != nil {
		t.Fatal(err)
	}
	// A round's batch (uncompressed) outgrows a segment, so the active
	// segment holds one round and every key's older values lie in sealed
	// segments.
	cl := tb.client(kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()))
	const keys, rounds = 40, 60
	pad := strings.Repeat("p", 100)
	offsetOf := map[string]int64{} // where each key's latest value went
	produced := 0
	produceRound := func(r int, skip func(k int) bool, deleted func(k int) bool) {
		t.Helper()
		var recs []*kgo.Record
		for k := 0; k < keys; k++ {
			if skip(k) {
				continue
			}
			rec := &kgo.Record{Key: []byte(fmt.Sprintf("key-%02d", k)), Value: []byte(fmt.Sprintf("value-%02d@%d%s", k, r, pad))}
			if deleted(k) {
				rec.Value = nil
			}
			recs = append(recs, rec)
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			offsetOf[string(rec.Key)] = rec.Offset
		}
		produced += len(recs)
	}
	none := func(int) bool { return false }
	for r := 0; r < rounds; r++ {
		produceRound(r, none, none)
	}
	// Delete keys 0-4, then keep updating the others so that the tombstones
	// leave the active segment.
	produceRound(rounds, func(k int) bool { return k >= 5 }, func(int) bool { return true })
	for r := rounds + 1; r < rounds+20; r++ {
		produceRound(r, func(k int) bool { return k < 5 }, none)
	}

	// Wait until compaction (and a second pass removing the expired
	// tombstones) leaves each key once, or twice when the active segment
	// holds its latest value too.
	checkFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		recs := consumeAll(t, tb, topic)
		perKey := map[string]int{}
		for _, r := range recs {
			perKey[string(r.Key)]++
		}
		for k := 0; k < keys; k++ {
			key := fmt.Sprintf("key-%02d", k)
			if k < 5 && perKey[key] > 0 {
				return fmt.Errorf("deleted %s still has %d records", key, perKey[key])
			}
			if perKey[key] > 2 {
				return fmt.Errorf("%s has %d records (%d consumed of %d produced, %d passes)", key, perKey[key], len(recs), produced, tb.b.cleanerPasses())
			}
		}
		return nil
	})
	check := func() {
		t.Helper()
		recs := consumeAll(t, tb, topic)
		latest := latestByKey(recs)
		for k := 5; k < keys; k++ {
			key := fmt.Sprintf("key-%02d", k)
			want := fmt.Sprintf("value-%02d@%d%s", k, rounds+19, pad)
			if string(latest[key]) != want {
				t.Fatalf("%s = %q, want %q", key, latest[key], want)
			}
		}
		for _, r := range recs {
			if r.Offset == offsetOf[string(r.Key)] {
				continue
			}
			if r.Offset > offsetOf[string(r.Key)] {
				t.Fatalf("%s at offset %d, after its latest %d", r.Key, r.Offset, offsetOf[string(r.Key)])
			}
		}
		if len(recs) >= produced/10 {
			t.Fatalf("%d of %d records left after compaction", len(recs), produced)
		}
	}
	check()

	// A restart keeps the compacted log, and the idempotent producer's
	// state: producing on is accepted and lands after the old end.
	ends, err := tb.admin().ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup(topic, 0)
	tb.restart()
	check()
	cl = tb.client(kgo.DefaultProduceTopic(topic))
	res := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("key-07"), Value: []byte("after restart")})
	if err := res.FirstErr(); err != nil {
		t.Fatal(err)
	}
	if r, _ := res.First(); r.Offset != end.Offset {
		t.Fatalf("produced at %d after restart, want the old end offset %d", r.Offset, end.Offset)
	}
}

// TestCompactDeleteTopicAlsoAppliesRetention checks cleanup.policy=compact,delete:
// retention.bytes still deletes old segments, while compact alone keeps them.
func TestCompactDeleteTopicAlsoAppliesRetention(t *testing.T) {
	tb := startBroker(t, "log.retention.check.interval.ms=50", "log.cleaner.backoff.ms=20")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := tb.admin()
	for topic, policy := range map[string]string{"cd": "compact,delete", "c": "compact"} {
		if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{
			"cleanup.policy":  kadm.StringPtr(policy),
			"segment.bytes":   kadm.StringPtr("1024"),
			"retention.bytes": kadm.StringPtr("2048"),
		}, topic); err != nil {
			t.Fatal(err)
		}
	}
	cl := tb.client(kgo.ProducerLinger(0))
	for i := 0; i < 100; i++ {
		// Distinct keys: compaction removes nothing, only retention can.
		for _, topic := range []string{"cd", "c"} {
			rec := &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("k%d", i)), Value: make([]byte, 100)}
			if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		start, err := startOffset(ctx, adm, "cd")
		if err != nil || start == 0 {
			return fmt.Errorf("compact,delete start offset %d (%v)", start, err)
		}
		return nil
	})
	if start, err := startOffset(ctx, adm, "c"); err != nil || start != 0 {
		t.Fatalf("compact-only topic start offset %d (%v), want 0: retention does not apply", start, err)
	}
}

// TestCompactedTopicRejectsRecordsWithoutKey: Kafka answers INVALID_RECORD
// to a record without a key for a compacted topic, and takes it elsewhere.
func TestCompactedTopicRejectsRecordsWithoutKey(t *testing.T) {
	tb := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	adm := tb.admin()
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, "keyed"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "plain"); err != nil {
		t.Fatal(err)
	}
	cl := tb.client(kgo.ProducerLinger(0), kgo.RecordRetries(1))
	for _, codec := range []kgo.CompressionCodec{kgo.NoCompression(), kgo.ZstdCompression()} {
		ccl := tb.client(kgo.ProducerLinger(0), kgo.ProducerBatchCompression(codec))
		err := ccl.ProduceSync(ctx, &kgo.Record{Topic: "keyed", Key: []byte("k"), Value: []byte("v")}, &kgo.Record{Topic: "keyed", Value: []byte("no key")}).FirstErr()
		if !errors.Is(err, kerr.InvalidRecord) {
			t.Fatalf("keyless record in a compacted topic: %v, want INVALID_RECORD", err)
		}
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "keyed", Key: []byte("k"), Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatalf("keyed record: %v", err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "plain", Value: []byte("no key")}).FirstErr(); err != nil {
		t.Fatalf("keyless record in a delete topic: %v", err)
	}
	wantConfig(t, adm, "keyed", "min.cleanable.dirty.ratio", "0.5", kmsg.ConfigSourceDefaultConfig)
	wantConfig(t, adm, "keyed", "delete.retention.ms", "86400000", kmsg.ConfigSourceDefaultConfig)
}

// max.compaction.lag.ms bounds how long an overwritten value stays on a
// compacted topic (KIP-354): the active segment, which the cleaner never
// touches, rolls once its records are that old, and a pass starts then even
// when min.cleanable.dirty.ratio says the log is clean enough. Before, a
// quiet topic kept every update in its 1 GiB active segment for segment.ms
// (7 days), and the key was not accepted.
func TestMaxCompactionLagCompactsAQuietTopic(t *testing.T) {
	tb := startBroker(t, "log.cleaner.backoff.ms=20", "log.cleaner.io.max.bytes.per.second=104857600")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const topic, keys = "lagged", 5
	if _, err := tb.admin().CreateTopic(ctx, 1, 1, map[string]*string{
		"cleanup.policy":            kadm.StringPtr("compact"),
		"min.cleanable.dirty.ratio": kadm.StringPtr("1"), // never due by ratio once a pass has run
		"max.compaction.lag.ms":     kadm.StringPtr("500"),
	}, topic); err != nil {
		t.Fatal(err)
	}
	cl := tb.client(kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0))
	round := 0
	produceRounds := func(n int) {
		t.Helper()
		for ; n > 0; n-- {
			var recs []*kgo.Record
			for k := 0; k < keys; k++ {
				recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprintf("key-%d", k)), Value: []byte(fmt.Sprintf("v%d", round))})
			}
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			round++
		}
	}
	compacted := func() error {
		recs := consumeAll(t, tb, topic)
		perKey := map[string]int{}
		for _, r := range recs {
			perKey[string(r.Key)]++
		}
		latest := latestByKey(recs)
		for k := 0; k < keys; k++ {
			key := fmt.Sprintf("key-%d", k)
			if perKey[key] > 2 {
				return fmt.Errorf("%s has %d records of %d rounds (%d passes)", key, perKey[key], round, tb.b.cleanerPasses())
			}
			if want := fmt.Sprintf("v%d", round-1); string(latest[key]) != want {
				return fmt.Errorf("%s = %q, want %q", key, latest[key], want)
			}
		}
		return nil
	}
	for phase := 0; phase < 2; phase++ {
		produceRounds(10)
		time.Sleep(600 * time.Millisecond) // past the lag: the next produce rolls
		produceRounds(1)
		checkFor(t, 20*time.Second, 50*time.Millisecond, compacted)
	}
	if passes := tb.b.cleanerPasses(); passes < 2 {
		t.Fatalf("%d compaction passes, want one per phase", passes)
	}
}

// min.compaction.lag.ms above max.compaction.lag.ms is INVALID_CONFIG on
// create and on either alter, as Kafka refuses it: the segments max asks to
// clean would stay out of every pass.
func TestCompactionLagsMustNotConflict(t *testing.T) {
	tb := startBroker(t)
	ctx := adminCtx(t)
	adm := tb.admin()
	res, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{
		"cleanup.policy":        kadm.StringPtr("compact"),
		"min.compaction.lag.ms": kadm.StringPtr("7200000"),
		"max.compaction.lag.ms": kadm.StringPtr("3600000"),
	}, "lags")
	if err == nil {
		err = res.Err
	}
	if !errors.Is(err, kerr.InvalidConfig) {
		t.Fatalf("create with min > max lag: %v, want INVALID_CONFIG", err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"max.compaction.lag.ms": kadm.StringPtr("3600000")}, "lags"); err != nil {
		t.Fatal(err)
	}
	alterErr := func(rs kadm.AlterConfigsResponses, err error) error {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		r, _ := rs.On("lags", nil)
		return r.Err
	}
	if err := alterErr(adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "min.compaction.lag.ms", Value: kadm.StringPtr("3600001")}}, "lags")); !errors.Is(err, kerr.InvalidConfig) {
		t.Fatalf("incremental alter to min > max lag: %v, want INVALID_CONFIG", err)
	}
	if err := alterErr(adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "min.compaction.lag.ms", Value: kadm.StringPtr("3600001")}, {Name: "max.compaction.lag.ms", Value: kadm.StringPtr("60000")}}, "lags")); !errors.Is(err, kerr.InvalidConfig) {
		t.Fatalf("legacy alter to min > max lag: %v, want INVALID_CONFIG", err)
	}
	if err := alterErr(adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "min.compaction.lag.ms", Value: kadm.StringPtr("3600000")}}, "lags")); err != nil {
		t.Fatalf("min equal to max lag: %v", err)
	}
	// Deleting max (back to no bound) is fine; setting it below min is not.
	if err := alterErr(adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "max.compaction.lag.ms"}}, "lags")); err != nil {
		t.Fatalf("delete max lag: %v", err)
	}
	if err := alterErr(adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "max.compaction.lag.ms", Value: kadm.StringPtr("1000")}}, "lags")); !errors.Is(err, kerr.InvalidConfig) {
		t.Fatalf("max lag set below min: %v, want INVALID_CONFIG", err)
	}
}

// pauseCleaner stops (or restarts) every shard's cleaner between steps, so
// a test or benchmark decides when compaction runs.
func (tb *testBroker) pauseCleaner(paused bool) {
	for _, sh := range tb.b.shards {
		done := make(chan struct{})
		sh.submit(func(s *shard) {
			s.cleaner.paused = paused
			if !paused && !s.cleaner.swapping {
				s.cleaner.timer.Reset(0)
			}
			close(done)
		})
		<-done
	}
}
