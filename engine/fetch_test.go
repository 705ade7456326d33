package engine

import (
	"context"
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// fetchClient pins Fetch to v12 so tests can address topics by name.
func fetchClient(tb *testBroker) *kgo.Client {
	v := kversion.Stable()
	v.SetMaxKeyVersion(1, 12)
	return tb.client(kgo.MaxVersions(v))
}

func fetchReq(topic string, part int32, offset int64, minBytes, maxWaitMs, partMax int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version = 12
	req.ReplicaID = -1
	req.MaxWaitMillis = maxWaitMs
	req.MinBytes = minBytes
	req.MaxBytes = 50 << 20
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = part
	rp.FetchOffset = offset
	rp.PartitionMaxBytes = partMax
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// A long-poll fetch is answered as soon as an append arrives, well before
// MaxWaitMs, and an idle one waits out MaxWaitMs.
func TestFetchLongPollWokenByAppend(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "lp", 1)
	cl := fetchClient(tb)

	type result struct {
		resp *kmsg.FetchResponse
		took time.Duration
		err  error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		resp, err := fetchReq("lp", 0, 0, 1, 20_000, 1<<20).RequestWith(ctx, cl)
		done <- result{resp, time.Since(start), err}
	}()
	select {
	case r := <-done:
		t.Fatalf("fetch answered before any append: %+v", r)
	case <-time.After(300 * time.Millisecond):
	}
	if p := produceRaw(t, cl, "lp", 0, 11, rawBatch(3, -1, -1, -1)); p.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(p.ErrorCode))
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.took > 15*time.Second {
		t.Fatalf("long poll took %v: it was not woken by the append", r.took)
	}
	rp := r.resp.Topics[0].Partitions[0]
	if rp.ErrorCode != 0 || rp.HighWatermark != 3 || len(rp.RecordBatches) == 0 {
		t.Fatalf("woken fetch: code %d hwm %d bytes %d", rp.ErrorCode, rp.HighWatermark, len(rp.RecordBatches))
	}

	// Idle: answered after MaxWaitMs with no records.
	start = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := fetchReq("lp", 0, 3, 1, 300, 1<<20).RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 250*time.Millisecond {
		t.Fatalf("idle long poll answered after %v, before MaxWaitMs", took)
	}
	if n := len(resp.Topics[0].Partitions[0].RecordBatches); n != 0 {
		t.Fatalf("idle fetch returned %d bytes", n)
	}
}

// KIP-74: a batch larger than the partition byte limit is still returned
// whole as the first batch, so a consumer never stalls on it.
func TestFetchFirstBatchWholeAndLimits(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "big", 1)
	cl := fetchClient(tb)
	big := rawBatch(200, -1, -1, -1)
	small := rawBatch(1, -1, -1, -1)
	for _, b := range [][]byte{big, small, small} {
		if p := produceRaw(t, cl, "big", 0, 11, b); p.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(p.ErrorCode))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := fetchReq("big", 0, 0, 1, 0, 10).RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(resp.Topics[0].Partitions[0].RecordBatches); got != len(big) {
		t.Fatalf("first batch: got %d bytes, want the whole %d-byte batch", got, len(big))
	}
	// Fetching from inside the big batch returns it from its start.
	resp, _ = fetchReq("big", 0, 150, 1, 0, 1<<20).RequestWith(ctx, cl)
	rb := resp.Topics[0].Partitions[0].RecordBatches
	if len(rb) != len(big)+2*len(small) || int64(binary.BigEndian.Uint64(rb)) != 0 {
		t.Fatalf("fetch at 150: %d bytes starting at offset %d", len(rb), binary.BigEndian.Uint64(rb))
	}
	// Out of range.
	resp, _ = fetchReq("big", 0, 500, 1, 0, 1<<20).RequestWith(ctx, cl)
	if c := resp.Topics[0].Partitions[0].ErrorCode; c != kerr.OffsetOutOfRange.Code {
		t.Fatalf("fetch past the end: %v", kerr.ErrorForCode(c))
	}
}

// KIP-227: an incremental fetch returns only partitions with news, and a
// wrong epoch or unknown session id makes the client start over.
func TestFetchSessions(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "sess", 2)
	cl := fetchClient(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	produceRaw(t, cl, "sess", 0, 11, rawBatch(2, -1, -1, -1))

	full := fetchReq("sess", 0, 0, 0, 0, 1<<20)
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.PartitionMaxBytes = 1, 1<<20
	full.Topics[0].Partitions = append(full.Topics[0].Partitions, rp)
	full.SessionEpoch = 0
	resp, err := full.RequestWith(ctx, cl)
	if err != nil || resp.SessionID == 0 {
		t.Fatalf("session not created: %v id %d", err, resp.SessionID)
	}
	if n := len(resp.Topics[0].Partitions); n != 2 {
		t.Fatalf("full fetch returned %d partitions", n)
	}
	id := resp.SessionID

	// Incremental, nothing changed: partition 0 moves its offset to 2, nothing new anywhere.
	inc := fetchReq("sess", 0, 2, 0, 0, 1<<20)
	inc.SessionID, inc.SessionEpoch = id, 1
	resp, _ = inc.RequestWith(ctx, cl)
	if resp.ErrorCode != 0 {
		t.Fatalf("incremental: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	if len(resp.Topics) != 0 {
		t.Fatalf("incremental fetch with no news returned %+v", resp.Topics)
	}
	// New data on partition 1 (not named in the request) comes back.
	produceRaw(t, cl, "sess", 1, 11, rawBatch(1, -1, -1, -1))
	inc2 := kmsg.NewPtrFetchRequest()
	inc2.Version, inc2.ReplicaID, inc2.MaxBytes = 12, -1, 1<<20
	inc2.SessionID, inc2.SessionEpoch = id, 2
	resp, _ = inc2.RequestWith(ctx, cl)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].Partition != 1 {
		t.Fatalf("incremental fetch should carry only partition 1: %+v", resp.Topics)
	}
	// Stale epoch and unknown id.
	inc2.SessionEpoch = 2
	if resp, _ = inc2.RequestWith(ctx, cl); resp.ErrorCode != kerr.InvalidFetchSessionEpoch.Code {
		t.Fatalf("stale epoch: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	inc2.SessionID, inc2.SessionEpoch = id+1000, 1
	if resp, _ = inc2.RequestWith(ctx, cl); resp.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("unknown session: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
}

// Consumers keep up with a live producer through sessions and long polls.
func TestFetchConsumerFollowsProducer(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "follow", 3)
	prod := tb.client(kgo.DefaultProduceTopic("follow"))
	cons := tb.client(kgo.ConsumeTopics("follow"), kgo.FetchMaxWait(5*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 300
	go func() {
		for i := 0; i < n; i++ {
			prod.Produce(ctx, kgo.StringRecord("r"), nil)
			if i%50 == 0 {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()
	got := 0
	for got < n {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d: %v", got, n, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		got += fs.NumRecords()
	}
}

// rawExchange writes one framed request on a fresh connection and returns the
// response body, or io.EOF when the broker closed the connection.
func rawExchange(t *testing.T, addr string, frame []byte) ([]byte, error) {
	t.Helper()
	c := dialRaw(t, addr, 10*time.Second)
	defer c.Close()
	if _, err := c.Write(sizePrefixed(frame)); err != nil {
		return nil, err
	}
	return readFrame(c)
}

func TestBadRequestsOnTheWire(t *testing.T) {
	tb := startBroker(t)

	// KIP-511: ApiVersions above what we serve -> v0 response, UNSUPPORTED_VERSION, ranges filled in.
	body, err := rawExchange(t, tb.addr, []byte{0, 18, 0, 99, 0, 0, 0, 42, 0xff, 0xff, 1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if corr := binary.BigEndian.Uint32(body); corr != 42 {
		t.Fatalf("correlation id %d", corr)
	}
	av := kmsg.NewPtrApiVersionsResponse()
	av.Version = 0
	if err := av.ReadFrom(body[4:]); err != nil {
		t.Fatalf("v0 ApiVersions response does not parse: %v", err)
	}
	if av.ErrorCode != kerr.UnsupportedVersion.Code || len(av.ApiKeys) < 10 {
		t.Fatalf("ApiVersions v99: code %d, %d keys", av.ErrorCode, len(av.ApiKeys))
	}
	for _, k := range av.ApiKeys {
		if k.ApiKey == 0 && k.MinVersion != 0 {
			t.Fatalf("Produce must be advertised from v0 (librdkafka compression), got min %d", k.MinVersion)
		}
	}

	// Unknown API key, unsupported version of a known key, garbage body: the connection is closed.
	f := func(name string, frame []byte) {
		t.Helper()
		if _, err := rawExchange(t, tb.addr, frame); err == nil {
			t.Fatalf("%s: got a response, want the connection closed", name)
		}
	}
	f("unknown key", []byte{0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff})
	f("metadata v99", []byte{0, 3, 0, 99, 0, 0, 0, 1, 0xff, 0xff})
	f("truncated header", []byte{0, 3, 0})
	f("garbage metadata body", []byte{0, 3, 0, 4, 0, 0, 0, 1, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff})

	// The broker still serves a well-formed client afterwards.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := tb.admin().ListTopics(ctx); err != nil {
		t.Fatalf("broker unhealthy after bad input: %v", err)
	}
}

// A fetch holds at most about MaxBytes per shard in memory, however many
// partitions it names and however large their PartitionMaxBytes: Kafka
// fills the response in partition order and stops reading when it is
// full. Partitions past the room still report their offsets and errors.
func TestFetchMemoryBoundedByMaxBytes(t *testing.T) {
	const parts, perPart = 16, 3 << 19
	tb := startBroker(t)
	createTestTopic(t, tb, "wide", parts+1) // the last stays empty
	cl := fetchClient(tb)
	chunk := rawBatch(4000, -1, -1, -1) // ~40 KiB
	for p := int32(0); p < parts; p++ {
		for n := 0; n < perPart; n += len(chunk) {
			if r := produceRaw(t, cl, "wide", p, 11, chunk); r.ErrorCode != 0 {
				t.Fatal(kerr.ErrorForCode(r.ErrorCode))
			}
		}
	}
	req := kmsg.NewPtrFetchRequest()
	req.Version = 12
	req.ReplicaID = -1
	req.MaxBytes = 1 << 20
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "wide"
	for p := int32(0); p < parts; p++ {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.PartitionMaxBytes = p, 1<<30
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp, err := req.RequestWith(ctx, cl)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != parts {
		t.Fatalf("response: %+v", resp.Topics)
	}
	for _, p := range resp.Topics[0].Partitions {
		if p.ErrorCode != 0 || p.HighWatermark <= 0 {
			t.Fatalf("partition %d: %v, high watermark %d", p.Partition, kerr.ErrorForCode(p.ErrorCode), p.HighWatermark)
		}
		total += len(p.RecordBatches)
	}
	if total > 1<<20 || total < 1<<19 {
		t.Fatalf("response holds %d bytes of records, want at most MaxBytes (1 MiB) and most of it", total)
	}
	// The whole process (broker and client) allocated during the fetch: the
	// response and its decoding, and at most MaxBytes for each of the
	// broker's two shards (6.8 MiB under -race); reading each partition up
	// to MaxBytes, as before, allocated 34 MiB.
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d KiB during the fetch", alloc>>10)
	if alloc > 12<<20 {
		t.Fatalf("a 1 MiB fetch of %d partitions allocated %d MiB", parts, alloc>>20)
	}

	// A partition past the room still gets its offset checked.
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = parts, 5, 1<<30
	req.Topics[0].Partitions = append(req.Topics[0].Partitions, rp)
	resp, err = req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	ps := resp.Topics[0].Partitions
	if last := ps[len(ps)-1]; last.ErrorCode != kerr.OffsetOutOfRange.Code {
		t.Fatalf("out-of-range partition past the room: %v", kerr.ErrorForCode(last.ErrorCode))
	}
}

// KIP-110: a fetch older than v10 cannot take zstd batches; it gets
// UNSUPPORTED_COMPRESSION_TYPE for the partition, v10 gets the batch.
func TestFetchZstdNeedsV10(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "zs", 1)
	cl := fetchClient(tb)
	if p := produceRaw(t, cl, "zs", 0, 11, zstdRawBatch(t, 3)); p.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(p.ErrorCode))
	}
	for version, want := range map[int16]int16{9: kerr.UnsupportedCompressionType.Code, 10: 0} {
		req := fetchReq("zs", 0, 0, 1, 0, 1<<20)
		body, err := rawExchange(t, tb.addr, encodeRequest(req, version))
		if err != nil {
			t.Fatal(err)
		}
		resp := kmsg.NewPtrFetchResponse()
		resp.Version = version
		if err := resp.ReadFrom(body[4:]); err != nil {
			t.Fatal(err)
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != want || want == 0 && len(p.RecordBatches) == 0 {
			t.Fatalf("fetch v%d of a zstd batch: %v with %d bytes", version, kerr.ErrorForCode(p.ErrorCode), len(p.RecordBatches))
		}
	}
}

// KIP-74's first-batch exemption lasts only until a partition has returned
// records, as in Kafka: a later partition whose first batch exceeds its
// PartitionMaxBytes returns nothing, however much room the response has
// left, and a long poll counts only what would be returned.
func TestFetchPartitionMaxBytesAfterFirstData(t *testing.T) {
	tb := startBroker(t)
	// Partition 2 shares partition 0's shard, partition 1 is on the other:
	// both a shard's reads and the response's assembly keep the rule.
	createTestTopic(t, tb, "pmb", 3)
	cl := fetchClient(tb)
	small, big := rawBatch(1, -1, -1, -1), rawBatch(600, -1, -1, -1)
	const partMax = 200
	if len(small) > partMax || len(big) <= partMax {
		t.Fatalf("batches of %d and %d bytes around a %d-byte limit", len(small), len(big), partMax)
	}
	for p, b := range [][]byte{small, big, big} {
		if r := produceRaw(t, cl, "pmb", int32(p), 11, b); r.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(r.ErrorCode))
		}
	}
	// fetch reads the partitions in the order given, each from offset 0
	// unless from names another, and returns each one's record bytes.
	fetch := func(minBytes, maxWait int32, from map[int32]int64, order ...int32) map[int32]int {
		t.Helper()
		return fetchInOrder(t, cl, "pmb", orderedFetch{minBytes: minBytes, maxWait: maxWait, maxBytes: 50 << 20, partMax: partMax, from: from}, order...)
	}
	if got := fetch(1, 0, nil, 0, 1, 2); got[0] != len(small) || got[1] != 0 || got[2] != 0 {
		t.Fatalf("partitions 0, 1, 2: %v bytes, want %d, 0, 0", got, len(small))
	}
	// The first partition with records still gets its first batch whole.
	if got := fetch(1, 0, nil, 1, 0, 2); got[1] != len(big) || got[0] != len(small) || got[2] != 0 {
		t.Fatalf("partitions 1, 0, 2: %v bytes, want %d, %d, 0", got, len(big), len(small))
	}
	if got := fetch(1, 0, nil, 2, 0, 1); got[2] != len(big) || got[0] != len(small) || got[1] != 0 {
		t.Fatalf("partitions 2, 0, 1: %v bytes, want %d, %d, 0", got, len(big), len(small))
	}
	if got := fetch(1, 0, map[int32]int64{0: 1}, 0, 1, 2); got[0] != 0 || got[1] != len(big) || got[2] != 0 {
		t.Fatalf("partitions 0 (at its end), 1, 2: %v bytes, want 0, %d, 0", got, len(big))
	}
	// MinBytes past what is returned: the fetch waits out MaxWaitMs.
	start := time.Now()
	got := fetch(int32(len(small)+1), 500, nil, 0, 1, 2)
	if took := time.Since(start); took < 400*time.Millisecond {
		t.Fatalf("answered after %v with %v bytes, before MaxWaitMs: it counted bytes it did not return", took, got)
	}
	if got[0] != len(small) || got[1] != 0 || got[2] != 0 {
		t.Fatalf("long poll: %v bytes, want %d, 0, 0", got, len(small))
	}
}

// orderedFetch is the shape of a fetchInOrder request: each partition from
// offset 0 unless from names another.
type orderedFetch struct {
	minBytes, maxWait, maxBytes, partMax int32
	from                                 map[int32]int64
}

// fetchInOrder fetches partitions of topic in the order given and returns
// each one's record bytes; a partition error fails the test.
func fetchInOrder(t *testing.T, cl *kgo.Client, topic string, f orderedFetch, order ...int32) map[int32]int {
	t.Helper()
	req := fetchReq(topic, order[0], f.from[order[0]], f.minBytes, f.maxWait, f.partMax)
	req.MaxBytes = f.maxBytes
	for _, p := range order[1:] {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, f.from[p], f.partMax
		req.Topics[0].Partitions = append(req.Topics[0].Partitions, rp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[int32]int)
	for _, rp := range resp.Topics[0].Partitions {
		if rp.ErrorCode != 0 {
			t.Fatalf("partition %d: %v", rp.Partition, kerr.ErrorForCode(rp.ErrorCode))
		}
		got[rp.Partition] = len(rp.RecordBatches)
	}
	return got
}

// Shards read in parallel, each with the room its own earlier partitions
// left: a read that the response's assembly then drops (a later partition's
// batch past its PartitionMaxBytes, or past the room) must not cost a
// later partition on that shard its batches. Partitions 0 and 2 share a
// shard, 1 is on the other; asked in the order 1, 0, 2, Kafka returns 1's
// and 2's batches and none of 0's.
func TestFetchLaterPartitionKeepsRoomAnEarlierReadLeft(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "room", 3)
	cl := fetchClient(tb)
	small, mid, big := rawBatch(1, -1, -1, -1), rawBatch(13, -1, -1, -1), rawBatch(600, -1, -1, -1)
	for p, b := range [][]byte{big, small, mid} {
		if r := produceRaw(t, cl, "room", int32(p), 11, b); r.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(r.ErrorCode))
		}
	}
	fetch := func(maxBytes, partMax int32) map[int32]int {
		t.Helper()
		return fetchInOrder(t, cl, "room", orderedFetch{minBytes: 1, maxBytes: maxBytes, partMax: partMax}, 1, 0, 2)
	}
	// Partition 0's batch is past its PartitionMaxBytes: dropped, and 2's
	// batch fits the room it leaves.
	partMax := int32(len(mid) + 10)
	if got := fetch(int32(len(big)+len(small)/2), partMax); got[1] != len(small) || got[0] != 0 || got[2] != len(mid) {
		t.Fatalf("partitions 1, 0, 2 (0 past its limit): %v bytes, want %d, 0, %d", got, len(small), len(mid))
	}
	// Partition 0's batch is past the room left after 1's.
	if got := fetch(int32(len(small)+len(mid)+10), 1<<20); got[1] != len(small) || got[0] != 0 || got[2] != len(mid) {
		t.Fatalf("partitions 1, 0, 2 (0 past the room): %v bytes, want %d, 0, %d", got, len(small), len(mid))
	}
}

// A shard's second partition whose first batch is past its limits can never
// be the first to return records, so it is not read whole, and the room it
// would have taken stays for the shard's later partitions. Partitions 0, 2
// and 4 share a shard; asked 1, 0, 2, 4 with 0 and 2 holding large batches,
// Kafka returns 1's and 4's.
func TestFetchSecondLargeBatchOnAShardTakesNoRoom(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "room2", 5)
	cl := fetchClient(tb)
	small, mid, big := rawBatch(1, -1, -1, -1), rawBatch(13, -1, -1, -1), rawBatch(600, -1, -1, -1)
	for p, b := range map[int32][]byte{0: big, 1: small, 2: big, 4: mid} {
		if r := produceRaw(t, cl, "room2", p, 11, b); r.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(r.ErrorCode))
		}
	}
	// Each large batch is past the room.
	got := fetchInOrder(t, cl, "room2", orderedFetch{minBytes: 1, maxBytes: int32(len(big) - 1), partMax: 1 << 20}, 1, 0, 2, 4)
	if got[1] != len(small) || got[0] != 0 || got[2] != 0 || got[4] != len(mid) {
		t.Fatalf("partitions 1, 0, 2, 4: %v bytes, want %d, 0, 0, %d", got, len(small), len(mid))
	}
}

// A fetch naming no partitions is answered at once, as in Kafka, rather
// than after MaxWaitMs; so is an incremental fetch whose forgotten topics
// empty its session, which closes the session and answers without one.
func TestFetchNamingNoPartitions(t *testing.T) {
	tb := startBroker(t)
	createTestTopic(t, tb, "none", 1)
	cl := fetchClient(tb)
	const maxWait, tooLong = 25_000, 12 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	empty := kmsg.NewPtrFetchRequest()
	empty.Version, empty.ReplicaID, empty.MaxBytes = 12, -1, 1<<20
	empty.MinBytes, empty.MaxWaitMillis, empty.SessionEpoch = 1, maxWait, -1
	start := time.Now()
	resp, err := empty.RequestWith(ctx, cl)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("sessionless fetch of nothing: %v %v", err, kerr.ErrorForCode(resp.ErrorCode))
	}
	if took := time.Since(start); took > tooLong {
		t.Fatalf("sessionless fetch of nothing took %v: it waited out MaxWaitMs", took)
	}

	full := fetchReq("none", 0, 0, 0, 0, 1<<20)
	full.SessionEpoch = 0
	resp, err = full.RequestWith(ctx, cl)
	if err != nil || resp.SessionID == 0 {
		t.Fatalf("session not created: %v id %d", err, resp.SessionID)
	}
	id := resp.SessionID
	forget := kmsg.NewPtrFetchRequest()
	forget.Version, forget.ReplicaID, forget.MaxBytes = 12, -1, 1<<20
	forget.MinBytes, forget.MaxWaitMillis = 1, maxWait
	forget.SessionID, forget.SessionEpoch = id, 1
	ft := kmsg.NewFetchRequestForgottenTopic()
	ft.Topic, ft.Partitions = "none", []int32{0}
	forget.ForgottenTopics = append(forget.ForgottenTopics, ft)
	start = time.Now()
	resp, err = forget.RequestWith(ctx, cl)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("fetch forgetting the last partition: %v %v", err, kerr.ErrorForCode(resp.ErrorCode))
	}
	if took := time.Since(start); took > tooLong {
		t.Fatalf("fetch forgetting the last partition took %v: it waited out MaxWaitMs", took)
	}
	if resp.SessionID != 0 {
		t.Fatalf("fetch emptying its session answered with session %d, want none (0)", resp.SessionID)
	}
	forget.SessionEpoch, forget.ForgottenTopics = 2, nil
	if resp, err = forget.RequestWith(ctx, cl); err != nil || resp.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("the emptied session: %v %v, want it closed", err, kerr.ErrorForCode(resp.ErrorCode))
	}
}

// fetch.max.bytes bounds what a fetch answers, whatever MaxBytes the client
// asks for, as in Kafka: before, a client asking for 1 GiB got the whole
// backlog, and a connection pipelining such fetches made the broker hold
// gigabytes.
func TestFetchMaxBytesBoundsTheAnswer(t *testing.T) {
	tb := startBroker(t, "fetch.max.bytes=65536")
	createTestTopic(t, tb, "fmb", 1)
	cl := fetchClient(tb)
	batch := rawBatch(600, -1, -1, -1) // ~6 KB
	for range 40 {
		if r := produceRaw(t, cl, "fmb", 0, 11, batch); r.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(r.ErrorCode))
		}
	}
	req := fetchReq("fmb", 0, 0, 1, 0, 1<<30)
	req.MaxBytes = 1 << 30
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	got := len(resp.Topics[0].Partitions[0].RecordBatches)
	if got > 65536 || got < 65536-len(batch) {
		t.Fatalf("a fetch asking for 1 GiB got %d bytes, want whole batches within fetch.max.bytes 65536", got)
	}
}
