package group

import (
	"log/slog"
	"time"
)

// Clock tells time and schedules work on the coordinator's own goroutine.
type Clock interface {
	Now() time.Time
	// AfterFunc runs fn on the coordinator's goroutine once d has passed.
	// The returned stop may be called on that goroutine; fn can still run
	// after it (a fired timer cannot be recalled), so the coordinator
	// guards every callback itself.
	AfterFunc(d time.Duration, fn func()) (stop func())
}

// Journal makes group records durable in the coordinator's
// __consumer_offsets partition. Append returns once the records are in the
// log; replies that depend on them leave only after that.
type Journal interface {
	Append(recs []Record) error
	// AppendTxn writes recs as one transactional batch of the producer
	// (attribute transactional, its id and epoch, base sequence -1),
	// which the transaction's marker in the same partition later commits
	// or aborts (Coordinator.CompleteTxn). It returns as Append does.
	AppendTxn(producerID int64, producerEpoch int16, recs []Record) error
}

// Topics is the cluster's topic metadata as the coordinator needs it.
type Topics interface {
	// Version changes whenever any topic changes, so a caller can cache
	// what it derived from the previous version.
	Version() uint64
	Lookup(name string) (id [16]byte, partitions int32, ok bool)
	Name(id [16]byte) (string, bool)
	// Names lists every topic, for regex subscriptions.
	Names() []string
}

// Client is who sent a request.
type Client struct {
	ID   string // client.id from the request header
	Host string // remote address
}

// Config is the coordinator's share of the broker configuration.
type Config struct {
	MinSessionTimeout     time.Duration // group.min.session.timeout.ms
	MaxSessionTimeout     time.Duration // group.max.session.timeout.ms
	InitialRebalanceDelay time.Duration // group.initial.rebalance.delay.ms
	MaxSize               int           // group.max.size
	OffsetsRetention      time.Duration // offsets.retention.minutes
	// OffsetsRetentionCheckInterval is offsets.retention.check.interval.ms.
	OffsetsRetentionCheckInterval time.Duration
	OffsetMetadataMaxBytes        int // offset.metadata.max.bytes

	ConsumerSessionTimeout    time.Duration // group.consumer.session.timeout.ms
	ConsumerHeartbeatInterval time.Duration // group.consumer.heartbeat.interval.ms
	ConsumerAssignors         []string      // group.consumer.assignors; the first is the default

	Logger *slog.Logger
}

// timer is a Clock timer whose callback is dropped once stop was called,
// so a callback queued before stop cannot act on newer state.
type timer struct {
	stopped bool
	stopFn  func()
}

func (c *Coordinator) after(d time.Duration, fn func()) *timer {
	t := &timer{}
	t.stopFn = c.clock.AfterFunc(d, func() {
		if t.stopped {
			return
		}
		t.stopped = true
		fn()
	})
	return t
}

// stop cancels t; a nil t is fine.
func (t *timer) stop() {
	if t == nil || t.stopped {
		return
	}
	t.stopped = true
	t.stopFn()
}
