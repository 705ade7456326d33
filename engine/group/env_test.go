package group

import (
	"errors"
	"io"
	"log/slog"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// fakeClock runs timers only when the test advances it, in deadline order,
// on the test goroutine (the coordinator's one goroutine).
type fakeClock struct {
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	fn      func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.UnixMilli(1_700_000_000_000)} }

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) AfterFunc(d time.Duration, fn func()) func() {
	t := &fakeTimer{at: c.now.Add(d), fn: fn}
	c.timers = append(c.timers, t)
	return func() { t.stopped = true }
}

// advance moves time forward by d, firing every timer that comes due.
func (c *fakeClock) advance(d time.Duration) {
	end := c.now.Add(d)
	for i := 0; i < 100000; i++ {
		sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
		if len(c.timers) == 0 || c.timers[0].at.After(end) {
			break
		}
		t := c.timers[0]
		c.timers = c.timers[1:]
		if t.stopped {
			continue
		}
		if t.at.After(c.now) {
			c.now = t.at
		}
		t.fn()
	}
	c.now = end
}

// fakeJournal keeps appended records, or fails while failing is set. recs
// holds the records of plain batches; log holds everything in log order,
// transactional batches and markers included (txn_offsets_test.go).
type fakeJournal struct {
	recs    []Record
	log     []journalEntry
	failing bool
}

// journalEntry is one record of the fake log: of a plain batch (producer
// -1), of a producer's transactional batch, or a transaction marker.
type journalEntry struct {
	producer int64
	epoch    int16
	rec      Record
	marker   bool
	commit   bool
}

var errJournal = errors.New("journal unavailable")

func (j *fakeJournal) Append(recs []Record) error {
	if j.failing {
		return errJournal
	}
	j.recs = append(j.recs, recs...)
	for _, r := range recs {
		j.log = append(j.log, journalEntry{producer: -1, rec: r})
	}
	return nil
}

func (j *fakeJournal) AppendTxn(producerID int64, producerEpoch int16, recs []Record) error {
	if j.failing {
		return errJournal
	}
	for _, r := range recs {
		j.log = append(j.log, journalEntry{producer: producerID, epoch: producerEpoch, rec: r})
	}
	return nil
}

// fakeTopics is a fixed topic set.
type fakeTopics struct {
	version uint64
	topics  map[string]fakeTopic
}

type fakeTopic struct {
	id         [16]byte
	partitions int32
}

func newFakeTopics() *fakeTopics { return &fakeTopics{version: 1, topics: make(map[string]fakeTopic)} }

func (f *fakeTopics) add(name string, partitions int32) [16]byte {
	id := [16]byte{byte(len(f.topics) + 1), 0xaa}
	f.topics[name] = fakeTopic{id, partitions}
	f.version++
	return id
}

func (f *fakeTopics) Version() uint64 { return f.version }

func (f *fakeTopics) Lookup(name string) ([16]byte, int32, bool) {
	t, ok := f.topics[name]
	return t.id, t.partitions, ok
}

func (f *fakeTopics) Name(id [16]byte) (string, bool) {
	for n, t := range f.topics {
		if t.id == id {
			return n, true
		}
	}
	return "", false
}

func (f *fakeTopics) Names() []string {
	var out []string
	for n := range f.topics {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// env is one coordinator under test.
type env struct {
	t       *testing.T
	clock   *fakeClock
	journal *fakeJournal
	topics  *fakeTopics
	cfg     Config
	c       *Coordinator
}

func testConfig() Config {
	return Config{
		MinSessionTimeout:             time.Second,
		MaxSessionTimeout:             time.Minute,
		InitialRebalanceDelay:         0,
		MaxSize:                       100,
		OffsetsRetention:              time.Hour,
		OffsetsRetentionCheckInterval: time.Minute,
		OffsetMetadataMaxBytes:        100,
		ConsumerSessionTimeout:        10 * time.Second,
		ConsumerHeartbeatInterval:     time.Second,
		ConsumerAssignors:             []string{"uniform", "range"},
		Logger:                        slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, clock: newFakeClock(), journal: &fakeJournal{}, topics: newFakeTopics(), cfg: testConfig()}
	e.c = New(e.cfg, e.clock, e.journal, e.topics)
	e.c.Loaded()
	return e
}

// reload builds a fresh coordinator from the journal, as a restart does.
func (e *env) reload() {
	e.t.Helper()
	e.c.Close()
	e.c = New(e.cfg, e.clock, e.journal, e.topics)
	for _, r := range e.journal.recs {
		if err := e.c.Replay(r.Key, r.Value); err != nil {
			e.t.Fatalf("replay: %v", err)
		}
	}
	e.c.Loaded()
}

// reply captures the answer to a request that may be parked.
type reply struct {
	resp kmsg.Response
	n    int
}

func (r *reply) fn() func(kmsg.Response) {
	return func(resp kmsg.Response) {
		r.resp = resp
		r.n++
	}
}

func (r *reply) join(t *testing.T) *kmsg.JoinGroupResponse {
	t.Helper()
	if r.n != 1 {
		t.Fatalf("join answered %d times, want once", r.n)
	}
	return r.resp.(*kmsg.JoinGroupResponse)
}

func (r *reply) sync(t *testing.T) *kmsg.SyncGroupResponse {
	t.Helper()
	if r.n != 1 {
		t.Fatalf("sync answered %d times, want once", r.n)
	}
	return r.resp.(*kmsg.SyncGroupResponse)
}
