package e2e

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// sentRecord is what a producer was told was written where.
type sentRecord struct {
	key, value []byte
	headerVal  string
	ts         time.Time
}

// ledger records every acknowledged record by partition and offset, so a
// consumer can be checked for exactly those records, in order.
type ledger struct {
	mu    sync.Mutex
	parts map[int32]map[int64]sentRecord
}

func newLedger() *ledger { return &ledger{parts: make(map[int32]map[int64]sentRecord)} }

func (l *ledger) add(p int32, off int64, r sentRecord) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.parts[p]
	if m == nil {
		m = make(map[int64]sentRecord)
		l.parts[p] = m
	}
	if _, dup := m[off]; dup {
		return fmt.Errorf("partition %d offset %d acknowledged twice", p, off)
	}
	m[off] = r
	return nil
}

func (l *ledger) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.parts {
		n += len(m)
	}
	return n
}

// checkContiguous requires each partition's offsets to run 0..n-1.
func (l *ledger) checkContiguous(t *testing.T) {
	t.Helper()
	for p, m := range l.parts {
		offs := make([]int64, 0, len(m))
		for o := range m {
			offs = append(offs, o)
		}
		sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
		for i, o := range offs {
			if o != int64(i) {
				t.Fatalf("partition %d: acknowledged offsets not contiguous at index %d: offset %d", p, i, o)
			}
		}
	}
}

func makeRecord(i int, base time.Time) sentRecord {
	return sentRecord{
		key:       []byte("key-" + strconv.Itoa(i)),
		value:     bytes.Repeat([]byte{byte('a' + i%26)}, 50+i%200),
		headerVal: "h" + strconv.Itoa(i),
		ts:        base.Add(time.Duration(i) * time.Millisecond),
	}
}

// briefClient is a franz-go client of the broker at addr for a quick admin
// call, with a context bounded at limit; done closes both.
func briefClient(t testing.TB, addr string, limit time.Duration) (*kgo.Client, context.Context, func()) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	return cl, ctx, func() { cancel(); cl.Close() }
}

func createTopic(t *testing.T, addr, topic string, partitions int32) {
	createTopicB(t, addr, topic, partitions)
}

func createTopicB(t testing.TB, addr, topic string, partitions int32) {
	t.Helper()
	createTopicWith(t, addr, topic, partitions, nil)
}

// createTopicWith creates topic with the given topic configs.
func createTopicWith(t testing.TB, addr, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	cl, ctx, done := briefClient(t, addr, 15*time.Second)
	defer done()
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, 1, configs, topic)
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	if r := resp[topic]; r.Err != nil {
		t.Fatalf("create topic %s: %v", topic, r.Err)
	}
}

// produceFranz produces n records idempotently (franz-go's default) and
// records where each landed.
func produceFranz(t *testing.T, addr, topic string, n int, opts ...kgo.Opt) *ledger {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	led := newLedger()
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var errMu sync.Mutex
	var firstErr error
	for i := 0; i < n; i++ {
		sr := makeRecord(i, base)
		rec := &kgo.Record{Key: sr.key, Value: sr.value, Timestamp: sr.ts, Headers: []kgo.RecordHeader{{Key: "idx", Value: []byte(sr.headerVal)}}}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cl.Produce(ctx, rec, func(r *kgo.Record, err error) {
			cancel()
			if err == nil {
				err = led.add(r.Partition, r.Offset, sr)
			}
			if err != nil {
				errMu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				errMu.Unlock()
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if firstErr != nil {
		t.Fatalf("produce: %v", firstErr)
	}
	if got := led.total(); got != n {
		t.Fatalf("acknowledged %d records, want %d", got, n)
	}
	led.checkContiguous(t)
	return led
}

// consumedRecord is a record as a consumer returned it, in any client.
type consumedRecord struct {
	partition  int32
	offset     int64
	key, value []byte
	headers    []consumedHeader
	ts         time.Time
}

type consumedHeader struct {
	key   string
	value []byte
}

// expectNext checks a consumed record against the ledger: it must be the
// next offset of its partition (next is advanced) and carry the key, value,
// single idx header and timestamp acknowledged there.
func (l *ledger) expectNext(t *testing.T, next map[int32]int64, r consumedRecord) {
	t.Helper()
	if r.offset != next[r.partition] {
		t.Fatalf("partition %d: got offset %d, want %d", r.partition, r.offset, next[r.partition])
	}
	next[r.partition]++
	exp, ok := l.parts[r.partition][r.offset]
	if !ok {
		t.Fatalf("partition %d offset %d was never acknowledged", r.partition, r.offset)
	}
	if !bytes.Equal(r.key, exp.key) || !bytes.Equal(r.value, exp.value) {
		t.Fatalf("partition %d offset %d: key/value differ (got key %q)", r.partition, r.offset, r.key)
	}
	if len(r.headers) != 1 || r.headers[0].key != "idx" || string(r.headers[0].value) != exp.headerVal {
		t.Fatalf("partition %d offset %d: headers %v, want idx=%s", r.partition, r.offset, r.headers, exp.headerVal)
	}
	if !r.ts.Equal(exp.ts) {
		t.Fatalf("partition %d offset %d: timestamp %v, want %v", r.partition, r.offset, r.ts, exp.ts)
	}
}

// consumeFranzAndVerify reads every partition from the start and requires
// exactly the ledger's records in offset order.
func consumeFranzAndVerify(t *testing.T, addr, topic string, partitions int32, led *ledger) {
	t.Helper()
	offsets := map[int32]kgo.Offset{}
	for p := int32(0); p < partitions; p++ {
		offsets[p] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	want := led.total()
	next := map[int32]int64{}
	got := 0
	deadline := time.Now().Add(120 * time.Second)
	for got < want {
		if time.Now().After(deadline) {
			t.Fatalf("consumed %d of %d records before the deadline", got, want)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		for _, e := range fs.Errors() {
			if e.Err != context.DeadlineExceeded {
				t.Fatalf("fetch %s/%d: %v", e.Topic, e.Partition, e.Err)
			}
		}
		fs.EachRecord(func(r *kgo.Record) {
			var hdrs []consumedHeader
			for _, h := range r.Headers {
				hdrs = append(hdrs, consumedHeader{h.Key, h.Value})
			}
			led.expectNext(t, next, consumedRecord{r.Partition, r.Offset, r.Key, r.Value, hdrs, r.Timestamp})
			got++
		})
	}
	for p, m := range led.parts {
		if next[p] != int64(len(m)) {
			t.Fatalf("partition %d: consumed up to %d, want %d", p, next[p], len(m))
		}
	}
}

// endOffsets lists each partition's log end offset.
func endOffsets(t *testing.T, addr, topic string, partitions int32) map[int32]int64 {
	t.Helper()
	return listOffsets(t, addr, topic, partitions, "end", (*kadm.Client).ListEndOffsets)
}

// startOffsets lists each partition's log start offset.
func startOffsets(t *testing.T, addr, topic string, partitions int32) map[int32]int64 {
	t.Helper()
	return listOffsets(t, addr, topic, partitions, "start", (*kadm.Client).ListStartOffsets)
}

// listOffsets lists one offset (which: start or end) of each partition.
func listOffsets(t *testing.T, addr, topic string, partitions int32, which string,
	list func(*kadm.Client, context.Context, ...string) (kadm.ListedOffsets, error)) map[int32]int64 {
	t.Helper()
	cl, ctx, done := briefClient(t, addr, 15*time.Second)
	defer done()
	listed, err := list(kadm.NewClient(cl), ctx, topic)
	if err != nil {
		t.Fatalf("list %s offsets: %v", which, err)
	}
	offsets := map[int32]int64{}
	for p := int32(0); p < partitions; p++ {
		o, ok := listed.Lookup(topic, p)
		if !ok || o.Err != nil {
			t.Fatalf("%s offset %s/%d: %v", which, topic, p, o.Err)
		}
		offsets[p] = o.Offset
	}
	return offsets
}
