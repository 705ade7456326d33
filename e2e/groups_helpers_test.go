package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/chronik-go/chronik/internal/syncbuf"
)

// groupSets keep the group e2e tests quick: no initial rebalance delay and
// session timeouts down to one second. __consumer_offsets keeps Kafka's 50
// partitions.
var groupSets = []string{
	"group.initial.rebalance.delay.ms=0",
	"group.min.session.timeout.ms=1000",
	"group.consumer.heartbeat.interval.ms=250",
	"group.consumer.session.timeout.ms=3000",
}

// waitFor polls cond every 20ms until it holds or wait passes.
func waitFor(t *testing.T, wait time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, wait, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// seenValues counts how often each produced value was consumed, across
// all members of a group.
type seenValues struct {
	mu   sync.Mutex
	seen map[int]int
}

func newSeenValues() *seenValues { return &seenValues{seen: make(map[int]int)} }

func (s *seenValues) add(v []byte) {
	i, err := strconv.Atoi(string(v))
	if err != nil {
		return
	}
	s.mu.Lock()
	s.seen[i]++
	s.mu.Unlock()
}

// missing counts values below n never consumed; dups counts redeliveries.
func (s *seenValues) check(n int) (missing, dups int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		switch c := s.seen[i]; {
		case c == 0:
			missing++
		case c > 1:
			dups += c - 1
		}
	}
	return missing, dups
}

func (s *seenValues) waitAll(t *testing.T, n int, wait time.Duration) {
	t.Helper()
	waitFor(t, wait, "every record consumed", func() error {
		if missing, _ := s.check(n); missing > 0 {
			return fmt.Errorf("%d of %d records not consumed", missing, n)
		}
		return nil
	})
}

// streamProducer writes values 0..total-1 in small batches with a pause
// between them, so members come and go while records arrive.
type streamProducer struct {
	produced atomic.Int64
	done     chan error
}

func startStream(t *testing.T, addr, topic string, total, batch int, pause time.Duration) *streamProducer {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	sp := &streamProducer{done: make(chan error, 1)}
	go func() {
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for i := 0; i < total; i += batch {
			var rs []*kgo.Record
			for j := i; j < min(i+batch, total); j++ {
				v := []byte(strconv.Itoa(j))
				rs = append(rs, &kgo.Record{Key: v, Value: v})
			}
			if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
				sp.done <- fmt.Errorf("produce at %d: %w", i, err)
				return
			}
			sp.produced.Store(int64(i + len(rs)))
			time.Sleep(pause)
		}
		sp.done <- nil
	}()
	return sp
}

func (sp *streamProducer) waitProduced(t *testing.T, n int64) {
	t.Helper()
	waitFor(t, time.Minute, fmt.Sprintf("%d records produced", n), func() error {
		if got := sp.produced.Load(); got < n {
			return fmt.Errorf("%d produced", got)
		}
		return nil
	})
}

// member is a franz-go group consumer in its own goroutine.
type member struct {
	name   string
	cl     *kgo.Client
	dialer *cuttableDialer
	done   chan struct{}

	mu       sync.Mutex
	owned    map[int32]bool
	revokes  int
	assigned int
}

// startGroupMember consumes topic in group, recording values in seen and
// committing what it processed (marks), also when partitions are revoked.
// Its client's log is printed if the test fails.
func startGroupMember(t *testing.T, addr, name, group, topic string, seen *seenValues, opts ...kgo.Opt) *member {
	t.Helper()
	m := &member{name: name, dialer: &cuttableDialer{}, done: make(chan struct{}), owned: make(map[int32]bool)}
	clientLog := new(syncbuf.Buffer)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("member %s's client log:\n%s", name, clientLog)
		}
	})
	base := []kgo.Opt{
		kgo.SeedBrokers(addr),
		kgo.WithLogger(kgo.BasicLogger(clientLog, kgo.LogLevelInfo, nil)),
		kgo.ClientID(name),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.Dialer(m.dialer.dial),
		kgo.FetchMaxWait(250 * time.Millisecond),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(200 * time.Millisecond),
		// A revoke waits for the records of the last poll to be marked:
		// otherwise its commit can miss records still being processed,
		// which a member leaving right after never reads again.
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.assigned++
			for _, p := range a[topic] {
				m.owned[p] = true
			}
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, r map[string][]int32) {
			if err := cl.CommitMarkedOffsets(ctx); err != nil {
				fmt.Fprintf(clientLog, "test: commit on revoke of %v: %v\n", r[topic], err)
			}
			m.drop(r[topic], true)
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, l map[string][]int32) {
			m.drop(l[topic], false)
		}),
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	m.cl = cl
	go func() {
		defer close(m.done)
		for {
			fs := cl.PollFetches(context.Background())
			if fs.IsClientClosed() {
				cl.AllowRebalance() // a later LeaveGroupContext (cut) must not wait on this poll
				return
			}
			fs.EachRecord(func(r *kgo.Record) {
				seen.add(r.Value)
				cl.MarkCommitRecords(r)
			})
			cl.AllowRebalance()
		}
	}()
	t.Cleanup(m.cut)
	return m
}

func (m *member) drop(ps []int32, revoked bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if revoked {
		m.revokes++
	}
	for _, p := range ps {
		delete(m.owned, p)
	}
}

func (m *member) partitions() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.owned))
}

func (m *member) counts() (assigned, revokes int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.assigned, m.revokes
}

// leave commits and leaves the group (LeaveGroup, or epoch -1/-2).
func (m *member) leave() {
	m.cl.Close()
	<-m.done
}

// cut kills the member as kill -9 would: its connections close and it
// never commits or leaves again; the broker only has its session timeout.
func (m *member) cut() {
	m.dialer.cut()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m.cl.LeaveGroupContext(ctx)
	m.cl.Close()
	<-m.done
}

// cuttableDialer dials until cut, then closes its connections and refuses.
type cuttableDialer struct {
	mu    sync.Mutex
	dead  bool
	conns []net.Conn
}

func (d *cuttableDialer) dial(ctx context.Context, network, host string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dead {
		return nil, errors.New("member is dead")
	}
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, host)
	if err == nil {
		d.conns = append(d.conns, c)
	}
	return c, err
}

func (d *cuttableDialer) cut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dead = true
	for _, c := range d.conns {
		c.Close()
	}
}

// waitSpread waits until the members own want[i] partitions each.
func waitSpread(t *testing.T, wait time.Duration, ms []*member, want []int) {
	t.Helper()
	waitFor(t, wait, "assignment", func() error {
		for i, m := range ms {
			if got := len(m.partitions()); got != want[i] {
				return fmt.Errorf("%s owns %d partitions, want %d", m.name, got, want[i])
			}
		}
		return nil
	})
}

// groupLag is kadm's total lag of group.
func groupLag(t *testing.T, addr, group string) (int64, string) {
	t.Helper()
	l := describeGroupLag(t, addr, group)
	return l.Lag.Total(), l.State
}

// lagByPartition lists each lagging partition's committed and end offsets.
func lagByPartition(t *testing.T, addr, group string) string {
	t.Helper()
	var b strings.Builder
	for _, pl := range describeGroupLag(t, addr, group).Lag.Sorted() {
		if pl.Lag != 0 {
			fmt.Fprintf(&b, " %s/%d committed %d end %d;", pl.Topic, pl.Partition, pl.Commit.At, pl.End.Offset)
		}
	}
	return b.String()
}

func describeGroupLag(t *testing.T, addr, group string) kadm.DescribedGroupLag {
	t.Helper()
	cl, ctx, done := briefClient(t, addr, 20*time.Second)
	defer done()
	lags, err := kadm.NewClient(cl).Lag(ctx, group)
	if err != nil {
		t.Fatalf("lag of %s: %v", group, err)
	}
	l := lags[group]
	if l.Error() != nil {
		t.Fatalf("lag of %s: %v", group, l.Error())
	}
	return l
}

func errorSplit(a, b int) error { return fmt.Errorf("members own %d and %d partitions", a, b) }

func errorLag(lag int64) error { return fmt.Errorf("group lags %d records", lag) }
