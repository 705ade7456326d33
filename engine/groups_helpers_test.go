package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// groupTestSets are broker settings that keep group tests quick: no
// initial rebalance delay, short session timeouts allowed, few offsets
// partitions.
var groupTestSets = []string{
	"group.initial.rebalance.delay.ms=0",
	"group.min.session.timeout.ms=500",
	"offsets.topic.num.partitions=4",
	"group.consumer.heartbeat.interval.ms=200",
	"group.consumer.session.timeout.ms=3000",
}

func startGroupBroker(t *testing.T, extra ...string) *testBroker {
	t.Helper()
	return startBroker(t, append(append([]string(nil), groupTestSets...), extra...)...)
}

// produceValues writes values "0".."n-1" to topic, spread over its
// partitions, and waits for every acknowledgement.
func produceValues(t *testing.T, tb *testBroker, topic string, from, n int) {
	t.Helper()
	cl := tb.client(kgo.DefaultProduceTopic(topic))
	rs := make([]*kgo.Record, 0, n)
	for i := from; i < from+n; i++ {
		rs = append(rs, &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// consumedLedger counts how often each value was consumed across members.
type consumedLedger struct {
	mu   sync.Mutex
	seen map[string]int
}

func newConsumedLedger() *consumedLedger { return &consumedLedger{seen: make(map[string]int)} }

func (l *consumedLedger) add(v string) {
	l.mu.Lock()
	l.seen[v]++
	l.mu.Unlock()
}

// missing lists values 0..n-1 never consumed; dups counts extra deliveries.
func (l *consumedLedger) check(n int) (missing []int, dups int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; i < n; i++ {
		c := l.seen[strconv.Itoa(i)]
		if c == 0 {
			missing = append(missing, i)
		}
		if c > 1 {
			dups += c - 1
		}
	}
	return missing, dups
}

func (l *consumedLedger) distinct() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}

// groupMember is one group consumer polling in its own goroutine.
type groupMember struct {
	t      *testing.T
	name   string
	cl     *kgo.Client
	dialer *killableDialer
	done   chan struct{}

	mu       sync.Mutex
	assigned map[string]map[int32]bool
	revokes  int
	assigns  int
}

// startMember starts a group consumer of topic that records every value
// it polls in led.
func startMember(t *testing.T, tb *testBroker, name, groupID, topic string, led *consumedLedger, opts ...kgo.Opt) *groupMember {
	t.Helper()
	m := &groupMember{t: t, name: name, dialer: &killableDialer{}, done: make(chan struct{}), assigned: make(map[string]map[int32]bool)}
	base := []kgo.Opt{
		kgo.SeedBrokers(tb.addr),
		kgo.ClientID(name),
		kgo.ConsumerGroup(groupID),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.Dialer(m.dialer.dial),
		kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.AutoCommitInterval(100 * time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.assigns++
			for topic, ps := range a {
				if m.assigned[topic] == nil {
					m.assigned[topic] = make(map[int32]bool)
				}
				for _, p := range ps {
					m.assigned[topic][p] = true
				}
			}
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, r map[string][]int32) {
			if err := cl.CommitMarkedOffsets(ctx); err != nil && !m.dialer.isKilled() {
				t.Logf("%s: commit on revoke: %v", name, err)
			}
			m.forget(r, true)
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, l map[string][]int32) {
			m.forget(l, false)
		}),
		kgo.AutoCommitMarks(),
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("%s: client: %v", name, err)
	}
	m.cl = cl
	go func() {
		defer close(m.done)
		for {
			fs := cl.PollFetches(context.Background())
			if fs.IsClientClosed() {
				return
			}
			fs.EachRecord(func(r *kgo.Record) {
				led.add(string(r.Value))
				cl.MarkCommitRecords(r)
			})
		}
	}()
	t.Cleanup(m.kill)
	return m
}

func (m *groupMember) forget(r map[string][]int32, revoked bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if revoked {
		m.revokes++
	}
	for topic, ps := range r {
		for _, p := range ps {
			delete(m.assigned[topic], p)
		}
	}
}

// owned returns how many partitions of topic the member holds now.
func (m *groupMember) owned(topic string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.assigned[topic])
}

// partitions lists the partitions of topic the member holds, sorted.
func (m *groupMember) partitions(topic string) []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.assigned[topic]))
}

func (m *groupMember) counts() (assigns, revokes int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.assigns, m.revokes
}

// leave closes the member the polite way: commit and LeaveGroup.
func (m *groupMember) leave() {
	m.cl.Close()
	<-m.done
}

// kill cuts the member's connections first, so it can neither commit nor
// leave: the broker only learns of it through the session timeout.
func (m *groupMember) kill() {
	m.dialer.kill()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m.cl.LeaveGroupContext(ctx)
	m.cl.Close()
	<-m.done
}

// killableDialer dials normally until kill, which closes every connection
// it made and fails every later dial.
type killableDialer struct {
	mu     sync.Mutex
	killed bool
	conns  []net.Conn
}

var errKilled = errors.New("member killed")

func (d *killableDialer) dial(ctx context.Context, network, host string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.killed {
		return nil, errKilled
	}
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, host)
	if err != nil {
		return nil, err
	}
	d.conns = append(d.conns, c)
	return c, nil
}

func (d *killableDialer) isKilled() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.killed
}

func (d *killableDialer) kill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.killed = true
	for _, c := range d.conns {
		c.Close()
	}
}

// waitOwned waits until the members own want[i] partitions of topic each.
func waitOwned(t *testing.T, topic string, wait time.Duration, ms []*groupMember, want []int) {
	t.Helper()
	checkFor(t, wait, 20*time.Millisecond, func() error {
		for i, m := range ms {
			if got := m.owned(topic); got != want[i] {
				return fmt.Errorf("%s owns %d partitions, want %d", m.name, got, want[i])
			}
		}
		return nil
	})
}
