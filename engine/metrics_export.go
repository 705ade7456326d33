package engine

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// requestSecondsBuckets run from 100 µs to about 15 s; fetch long polls
// longer than that (fetch.max.wait.cap.ms, 30 s by default) count in +Inf.
var requestSecondsBuckets = prometheus.ExponentialBuckets(0.0001, 2.5, 14)

// maxAPIKey bounds the per-key observer table; served keys are far below it.
const maxAPIKey = 127

// requestMetrics times every answered request from its decoding to the
// hand-off of its answer to the network layer, per API.
type requestMetrics struct {
	seconds *prometheus.HistogramVec
	byKey   [maxAPIKey + 1]prometheus.Observer // nil for keys not served
}

func newRequestMetrics() *requestMetrics {
	m := &requestMetrics{seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "chronik_request_seconds",
		Help:    "Time from a request's decoding to its answer being handed to the network layer, by API.",
		Buckets: requestSecondsBuckets,
	}, []string{"api"})}
	for key := range apis {
		if key >= 0 && key <= maxAPIKey {
			m.byKey[key] = m.seconds.WithLabelValues(kmsg.NameForKey(key))
		}
	}
	return m
}

func (m *requestMetrics) observe(key int16, received time.Time) {
	if key >= 0 && key <= maxAPIKey && m.byKey[key] != nil {
		m.byKey[key].Observe(time.Since(received).Seconds())
	}
}

// RegisterMetrics adds the engine's metrics to reg: request times, the
// storage counters of Metrics, and per shard its partitions, those offline
// after a storage fault, and how long its current turn, fdatasync group and
// seal have been running (a stall shows while it lasts).
func (b *Broker) RegisterMetrics(reg prometheus.Registerer) error {
	if err := reg.Register(b.requests.seconds); err != nil {
		return err
	}
	return reg.Register(brokerCollector{b})
}

type brokerCollector struct{ b *Broker }

type counterDesc struct {
	desc  *prometheus.Desc
	value func(Metrics) float64
}

func newCounter(name, help string, value func(Metrics) float64) counterDesc {
	return counterDesc{prometheus.NewDesc(name, help, nil, nil), value}
}

var brokerCounters = []counterDesc{
	newCounter("chronik_fdatasyncs_total", "Partition fdatasyncs run.", func(m Metrics) float64 { return float64(m.Syncs) }),
	newCounter("chronik_fdatasync_seconds_total", "Time spent in partition fdatasyncs.", func(m Metrics) float64 { return m.SyncTime.Seconds() }),
	newCounter("chronik_syncfs_total", "Groups of turns written back with one syncfs before their partitions' own fdatasyncs.", func(m Metrics) float64 { return float64(m.Syncfs) }),
	newCounter("chronik_sync_groups_total", "Groups of queued turns synced together.", func(m Metrics) float64 { return float64(m.SyncGroups) }),
	newCounter("chronik_sync_stalls_total", "Sync groups that outlived io.timeout.ms (their produces were answered KAFKA_STORAGE_ERROR).", func(m Metrics) float64 { return float64(m.SyncStalls) }),
	newCounter("chronik_storage_errors_total", "Produce partitions answered KAFKA_STORAGE_ERROR.", func(m Metrics) float64 { return float64(m.StorageErrors) }),
	newCounter("chronik_partition_reopens_total", "Partition logs reopened after a storage fault.", func(m Metrics) float64 { return float64(m.Reopens) }),
	newCounter("chronik_partition_reopen_failures_total", "Reopens of failed partition logs that failed in turn.", func(m Metrics) float64 { return float64(m.ReopenFailures) }),
	newCounter("chronik_turn_writes_total", "Shard turns whose appends went to the kernel as one batch.", func(m Metrics) float64 { return float64(m.TurnWrites) }),
	newCounter("chronik_turn_write_seconds_total", "Time shards spent in those batched writes.", func(m Metrics) float64 { return m.TurnWriteTime.Seconds() }),
	newCounter("chronik_wal_syncs_total", "Groups of turns made durable by one write-ahead log fdatasync.", func(m Metrics) float64 { return float64(m.WALSyncs) }),
	newCounter("chronik_wal_bytes_total", "Bytes appended to the shards' write-ahead logs.", func(m Metrics) float64 { return float64(m.WALBytes) }),
	newCounter("chronik_wal_checkpoints_total", "Write-ahead log checkpoints run.", func(m Metrics) float64 { return float64(m.WALCheckpoints) }),
	newCounter("chronik_wal_checkpoint_stalls_total", "Write-ahead log checkpoints whose syncfs outlived io.timeout.ms (appends went on; the files it covers stay until it finishes).", func(m Metrics) float64 { return float64(m.WALCheckpointStalls) }),
	newCounter("chronik_wal_batches_lost_total", "Acknowledged batches a write-ahead log held that could not be put back into their partition's log, which had lost what came before them (a start's replay or a reopen after a storage fault): acknowledged records are gone.", func(m Metrics) float64 { return float64(m.WALBatchesLost) }),
}

var (
	partitionsDesc = prometheus.NewDesc("chronik_partitions",
		"Partitions a shard holds.", []string{"shard"}, nil)
	partitionsOfflineDesc = prometheus.NewDesc("chronik_partitions_offline",
		"Partitions without a usable log after a storage fault (answered KAFKA_STORAGE_ERROR until a reopen succeeds).", []string{"shard"}, nil)
	activityRunningDesc = prometheus.NewDesc("chronik_shard_activity_running_seconds",
		"How long a shard's current turn, fdatasync group or segment seal has been running (0 when idle).", []string{"shard", "activity"}, nil)
)

func (c brokerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range brokerCounters {
		ch <- d.desc
	}
	ch <- partitionsDesc
	ch <- partitionsOfflineDesc
	ch <- activityRunningDesc
}

// shardCountWait bounds how long a scrape waits for the shards to count
// their partitions (and half of io.timeout.ms, within the scrape's own
// deadline); a shard busy past it is left out of that scrape (its activity
// clocks still show why).
const shardCountWait = 500 * time.Millisecond

func (c brokerCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.b.Metrics()
	for _, d := range brokerCounters {
		ch <- prometheus.MustNewConstMetric(d.desc, prometheus.CounterValue, d.value(m))
	}
	now := time.Now()
	for _, s := range c.b.shards {
		id := strconv.Itoa(s.id)
		for _, a := range s.activities() {
			ch <- prometheus.MustNewConstMetric(activityRunningDesc, prometheus.GaugeValue, a.clock.running(now).Seconds(), id, a.name)
		}
	}
	for _, n := range c.b.countPartitions(min(shardCountWait, c.b.cfg.IOTimeout/2)) {
		id := strconv.Itoa(n.shard)
		ch <- prometheus.MustNewConstMetric(partitionsDesc, prometheus.GaugeValue, float64(n.partitions), id)
		ch <- prometheus.MustNewConstMetric(partitionsOfflineDesc, prometheus.GaugeValue, float64(n.offline), id)
	}
}

// partitionCount is one shard's answer to countPartitions.
type partitionCount struct {
	shard, partitions, offline int
}

// countPartitions asks every shard to count its partitions and those
// without a usable log, and returns the answers that came within wait. A
// shard still owing the previous scrape its count is not asked again, so
// scrapes of a stalled shard do not pile work into its mailbox; nothing is
// asked once the broker is stopping.
func (b *Broker) countPartitions(wait time.Duration) []partitionCount {
	select {
	case <-b.closed:
		return nil
	default:
	}
	answers := make(chan partitionCount, len(b.shards))
	asked := 0
	for _, s := range b.shards {
		if !s.countPending.CompareAndSwap(false, true) {
			continue
		}
		asked++
		s.submit(func(s *shard) {
			n := partitionCount{shard: s.id}
			for _, p := range s.parts {
				n.partitions++
				if p.log == nil || p.log.Failed() != nil {
					n.offline++
				}
			}
			s.countPending.Store(false)
			answers <- n
		})
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	var out []partitionCount
	for range asked {
		select {
		case n := <-answers:
			out = append(out, n)
		case <-t.C:
			return out
		}
	}
	return out
}

// Health lists what keeps the broker from serving: not started yet,
// stopping, or a shard turn, fdatasync group or seal running past
// io.timeout.ms (a stalled disk: the produces waiting on it were answered
// KAFKA_STORAGE_ERROR at the deadline, but the call has not returned).
// Empty when healthy.
func (b *Broker) Health() []string {
	select {
	case <-b.closed:
		return []string{"stopping"}
	default:
	}
	if !b.ready.Load() {
		return []string{"starting: not serving yet"}
	}
	var problems []string
	now := time.Now()
	for _, s := range b.shards {
		for _, a := range s.activities() {
			if d := a.clock.running(now); d > b.cfg.IOTimeout {
				problems = append(problems, fmt.Sprintf("shard %d: %s running for %v, past io.timeout.ms (%v)",
					s.id, a.name, d.Round(time.Millisecond), b.cfg.IOTimeout))
			}
		}
	}
	return problems
}
