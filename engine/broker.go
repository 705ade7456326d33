// Package engine is the broker core: request handlers (one file per API key),
// shards that own partitions, and the metadata view clients are served from.
package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/config"
	"github.com/chronik-go/chronik/engine/meta"
	"github.com/chronik-go/chronik/netpoll"
	"github.com/chronik-go/chronik/uring"
)

// Options wires a Broker.
type Options struct {
	Config  *config.Config
	Store   meta.Store
	Opener  uring.Opener
	Logger  *slog.Logger
	DataDir string
	// SysfsRoot is where the NUMA topology is read from ("/sys" when
	// empty); tests point it at a made-up tree.
	SysfsRoot string
	// syncfs stands in for syncFilesystem in tests that fail or stall the
	// filesystem's sync.
	syncfs func(*os.File) error
	// kernelRelease stands in for the running kernel's in tests
	// (syncfsReportsErrors).
	kernelRelease string
}

// Broker is one Chronik node's engine. It implements netpoll.Handler.
type Broker struct {
	cfg     *config.Config
	store   meta.Store
	opener  uring.Opener
	log     *slog.Logger
	dataDir string
	nodeID  int32
	// segmentReserve says the data directory's file system is one where
	// preallocate reserves segment blocks (segment_reserve_linux.go).
	segmentReserve bool
	// releaseGCFloor ends the broker's hold on the collector's heap floor
	// (gc_floor.go).
	releaseGCFloor func()
	// syncfsTrusted says a syncfs here reports writeback errors, so turns
	// may be made durable through one (WAL checkpoints, syncfs groups).
	syncfsTrusted bool
	// syncfs is every filesystem sync of the data directory (checkpoints,
	// direct syncs of many partitions, the replay's and the shutdown's):
	// syncFilesystem, or a test's stand-in (Options.syncfs).
	syncfs func(*os.File) error
	// staleOverrides are the stored dynamic broker configs last skipped
	// (dynamic_configs.go), so each set is logged once.
	staleOverrides atomic.Pointer[string]

	shards []*shard
	view   atomic.Pointer[clusterView]
	// ready is set by Start once the listener is registered and the
	// requests that came earlier (early) are served.
	ready atomic.Bool
	early earlyRequests

	// viewMu guards viewChanged, a channel closed and replaced whenever a
	// new view is published, so waiters block on an event rather than poll.
	viewMu      sync.Mutex
	viewChanged chan struct{}
	reconcileCh chan struct{}
	stopWatch   func()
	wg          sync.WaitGroup
	closed      chan struct{}

	// open tracks which partitions shards hold; owned by the reconciler goroutine.
	open map[partKey]meta.TopicID

	sessions *fetchSessions
	offline  offlinePartitions // partitions whose log cannot serve, for Metadata
	lanes    produceLanes      // connections' produces checked off the event loop
	pids     producerIDs
	groups   *groupCoordinators
	txns     *txnCoordinators
	metrics  brokerMetrics
	requests *requestMetrics // per-API request times (metrics_export.go)
	// A warning clients can repeat at will: auto-creation that cannot
	// place its replicas (03_metadata.go).
	autoCreateWarn warnLimiter
	flushPolicy    flushPolicy
	// dataDirFile is held open for the replay's and the shutdown's syncfs of
	// the data directory's filesystem; each shard has its own (syncfs_dirs.go).
	dataDirFile *os.File

	// The shards' write-ahead logs (wal.go): the generation counter that
	// names their files, and whether every file must stay for the next
	// start (a failed syncfs, or a partition that could not write its
	// staged batches at shutdown).
	walGen     atomic.Uint64
	walKeepAll atomic.Bool
	// syncfsFailure says a syncfs failed in this run (syncfsFailed).
	syncfsFailure atomic.Bool
	// spareFills are the goroutines filling WAL spares ahead
	// (wal_spare_fill.go); fillTurn lets one write at a time; stopFills
	// ends them.
	spareFills    sync.WaitGroup
	fillTurn      chan struct{}
	stopFills     chan struct{}
	stopFillsOnce sync.Once

	// startState is how the last run ended, while New opens the partitions.
	startState *startState

	// descriptorWarnedAt is the partition count checkDescriptorLimit last
	// warned about.
	descriptorWarnedAt atomic.Int64
	// cleanStatePastLogEnd says a crash start found a log ending below
	// the state kept from the last clean stop (consumeMarker).
	cleanStatePastLogEnd atomic.Bool
	// startSettled is set once the start's clean-shutdown marker is
	// consumed: the cleaner removes no transaction marker before, as the
	// state kept from the last clean stop may still be adopted or kept.
	startSettled atomic.Bool
	// lastCleanStateMu serializes retireLastCleanState.
	lastCleanStateMu sync.Mutex
	// listeners names the broker's listeners; sasl authenticates the
	// connections of each SASL listener, by name (others have none).
	listeners []string
	sasl      map[string]*saslAuth
}

// New opens every partition the metadata names and starts the shards.
func New(opts Options) (*Broker, error) {
	cfg := opts.Config
	b := &Broker{
		cfg:         cfg,
		store:       opts.Store,
		opener:      opts.Opener,
		log:         opts.Logger,
		dataDir:     opts.DataDir,
		nodeID:      cfg.NodeID,
		syncfs:      opts.syncfs,
		viewChanged: make(chan struct{}),
		reconcileCh: make(chan struct{}, 1),
		closed:      make(chan struct{}),
		fillTurn:    make(chan struct{}, 1),
		stopFills:   make(chan struct{}),
		open:        make(map[partKey]meta.TopicID),
		sessions:    newFetchSessions(1000),
		requests:    newRequestMetrics(),
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	if b.opener == nil {
		b.opener = uring.PwriteOpener{}
	}
	b.pids.b = b
	specs, err := cfg.ListenerSpecs()
	if err != nil {
		return nil, err
	}
	for _, l := range specs {
		b.listeners = append(b.listeners, l.Name)
	}
	for _, kv := range cfg.TakenKafkaKeys() {
		b.log.Warn("Kafka config key taken and not used", "key", kv[0], "why", kv[1])
	}
	for _, k := range cfg.UnusedListenerKeys(specs) {
		b.log.Warn("config key names a listener this broker does not have; ignored", "key", k, "listeners", b.listeners)
	}
	if b.sasl, err = saslListeners(cfg, specs); err != nil {
		return nil, err
	}
	b.lanes.checks = make(chan struct{}, config.UsableCPUs())
	b.flushPolicy = parseFlushPolicy(cfg.LogFlushPolicy)
	if b.syncfs == nil {
		b.syncfs = syncFilesystem
	}
	if syncfsAvailable {
		release := cmp.Or(opts.kernelRelease, uring.KernelRelease())
		if b.syncfsTrusted = syncfsReportsErrors(release); !b.syncfsTrusted && b.flushPolicy == flushAlways {
			b.log.Warn("this kernel's syncfs does not report writeback errors (Linux 5.8 and later do): every partition is synced with its own fdatasync, without the shard write-ahead log or syncfs groups", "kernel", release)
		}
	}
	if err = os.MkdirAll(b.dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", b.dataDir, err)
	}
	if b.dataDirFile, err = os.Open(b.dataDir); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", b.dataDir, err)
	}
	var why string
	if b.segmentReserve, why = segmentReserveUsable(b.dataDir); !b.segmentReserve && cfg.LogPreallocate {
		b.log.Info("segment blocks are not reserved ahead of their writes (log.preallocate, preallocate)", "reason", why)
	}
	n := cfg.NumShards
	if n <= 0 {
		n = 1
	}
	syncfsDirs, err := openSyncfsDirs(b.dataDir, 2*n)
	if err != nil {
		b.dataDirFile.Close()
		return nil, err
	}
	raiseGOMAXPROCS(n, b.log)
	b.releaseGCFloor = holdGCFloor(gcFloorFor(cfg.GCMinHeap, memoryLimit()), b.log)
	places := placeShards(opts.SysfsRoot, n, cfg.NUMAPolicy, b.log)
	b.tidyWALSpares(n) // before a shard starts a fill of its own
	for i := 0; i < n; i++ {
		s := newShard(b, i, max(cfg.ShardMailbox, 16))
		s.place = places[i]
		s.wal.syncerDir, s.wal.checkpointDir = syncfsDirs[2*i], syncfsDirs[2*i+1]
		b.shards = append(b.shards, s)
		go s.run()
	}
	b.groups = newGroupCoordinators(b)
	b.txns = newTxnCoordinators(b)

	ss := b.readStartState()
	clean := ss.clean
	start := time.Now()
	b.startState = &ss // read by the shards opening partitions, until reconcile returns
	err = b.reconcile(b.store.Current(), clean)
	b.startState = nil
	if err != nil {
		b.stopAfterFailedStart()
		return nil, err
	}
	if err := b.consumeMarker(ss); err != nil {
		b.stopAfterFailedStart()
		return nil, err
	}
	b.startSettled.Store(true)
	b.log.Info("partitions opened", "partitions", len(b.open), "clean", clean, "took", time.Since(start))
	b.checkDescriptorLimit(len(b.open))
	if err := b.replayWAL(clean); err != nil {
		b.stopAfterFailedStart()
		return nil, err
	}
	// Shards whose turns use the WAL from the first fill its first files
	// now, after the replay (whose filesystem sync would otherwise write
	// back their zeros too).
	for _, s := range b.shards {
		s.submit(func(s *shard) {
			if s.walWide && s.b.writeBehindOn() {
				s.requestWALFile()
			}
		})
	}
	b.groups.loadAll()
	b.txns.loadAll()

	watch, stop := b.store.Watch()
	b.stopWatch = stop
	b.wg.Add(1)
	go b.reconcileLoop(watch)
	return b, nil
}

// Start records the broker's advertised endpoints, one per listener
// (known once the listeners are bound), and begins serving requests.
func (b *Broker) Start(listeners []meta.Endpoint) error {
	if len(listeners) == 0 {
		return errors.New("start: no listener to advertise")
	}
	if err := b.registerSelf(listeners); err != nil {
		return err
	}
	if err := b.addScramUsers(); err != nil {
		return err
	}
	// Serve only once the view names this broker's new address, so a restart
	// on another port never advertises the old one.
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.IOTimeout)
	defer cancel()
	if err := b.waitApplied(ctx, b.store.Current().AppliedIndex); err != nil {
		return fmt.Errorf("publish broker registration: %w", err)
	}
	b.serveEarly()
	return nil
}

// ListenerEndpoint is the endpoint Metadata names to clients of listener
// l, bound at bound: its advertised address, with the bound port where it
// names port 0.
func ListenerEndpoint(l config.Listener, bound net.Addr) meta.Endpoint {
	port := l.AdvertisedPort
	if tcp, ok := bound.(*net.TCPAddr); ok && port == 0 {
		port = int32(tcp.Port)
	}
	return meta.Endpoint{Listener: l.Name, Host: l.AdvertisedHost, Port: port, SecurityProtocol: l.Protocol}
}

func (b *Broker) registerSelf(listeners []meta.Endpoint) error {
	self := meta.Broker{NodeID: b.nodeID, Host: listeners[0].Host, Port: listeners[0].Port, Listeners: listeners}
	if br, ok := b.store.Current().Brokers[b.nodeID]; ok && br.Host == self.Host && br.Port == self.Port && slices.Equal(br.Listeners, self.Listeners) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.IOTimeout)
	defer cancel()
	res, err := b.store.Propose(ctx, []meta.Op{{Kind: meta.OpRegisterBroker, Broker: &self}})
	if err != nil {
		return fmt.Errorf("register broker %d: %w", b.nodeID, err)
	}
	if res[0].Err != nil {
		return fmt.Errorf("register broker %d: %w", b.nodeID, res[0].Err)
	}
	return nil
}

func (b *Broker) shardFor(k partKey) *shard {
	h := fnv.New32a()
	h.Write([]byte(k.topic))
	return b.shards[(h.Sum32()+uint32(k.partition))%uint32(len(b.shards))]
}

func (b *Broker) currentView() *clusterView { return b.view.Load() }

// settingsFor returns a topic's effective settings from the current view.
func (b *Broker) settingsFor(topic string) *topicSettings {
	if v := b.view.Load(); v != nil {
		if st, ok := v.settings[topic]; ok {
			return st
		}
	}
	cfg := b.liveConfig()
	if snap := b.store.Current(); snap != nil {
		if t, ok := snap.Topics[topic]; ok {
			return resolveTopicSettings(cfg, t.Configs)
		}
	}
	return resolveTopicSettings(cfg, nil)
}

// reconcileLoop follows metadata changes made elsewhere (cluster mode) and
// kicks from local handlers.
func (b *Broker) reconcileLoop(watch <-chan *meta.Snapshot) {
	defer b.wg.Done()
	for {
		select {
		case <-b.closed:
			return
		case _, ok := <-watch:
			if !ok {
				// The metadata store stopped (a failed disk under its log):
				// data is still served; metadata changes answer with its
				// error. Receiving on the closed channel would spin.
				select {
				case <-b.closed:
					return // a shutdown stops the feed too
				default:
				}
				b.log.Error("metadata store stopped; topic and partition changes are no longer applied")
				watch = nil
				continue
			}
		case <-b.reconcileCh:
		}
		if err := b.reconcile(b.store.Current(), true); err != nil {
			b.log.Error("apply metadata", "err", err)
		}
	}
}

// reconcile opens and removes partitions so shards match snap, then publishes
// snap as the served view. Only New and the reconcile loop call it.
func (b *Broker) reconcile(snap *meta.Snapshot, clean bool) error {
	if v := b.view.Load(); v != nil && v.snap.AppliedIndex >= snap.AppliedIndex {
		return nil
	}
	want := make(map[partKey]meta.TopicID)
	epochs := make(map[partKey]int32)
	for name, t := range snap.Topics {
		for i, p := range t.Partitions {
			if p.Leader != b.nodeID && !containsInt32(p.Replicas, b.nodeID) {
				continue
			}
			k := partKey{name, int32(i)}
			want[k] = t.ID
			epochs[k] = p.LeaderEpoch
		}
	}
	type change struct {
		k      partKey
		id     meta.TopicID
		remove bool
		open   bool
	}
	byShard := make(map[*shard][]change)
	for k, id := range b.open {
		if wid, ok := want[k]; !ok || wid != id {
			byShard[b.shardFor(k)] = append(byShard[b.shardFor(k)], change{k: k, id: id, remove: true})
		}
	}
	for k, id := range want {
		if oid, ok := b.open[k]; !ok || oid != id {
			byShard[b.shardFor(k)] = append(byShard[b.shardFor(k)], change{k: k, id: id, open: true})
		}
	}
	// At start-up a partition that cannot be opened fails the start, as
	// before: the shards' write-ahead logs may hold acknowledged batches
	// for it, which the replay that follows would count as orphaned and
	// retire. Later (a topic being created) it is served offline instead.
	starting := b.startState != nil
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	for s, changes := range byShard {
		wg.Add(1)
		s.submit(func(s *shard) {
			defer wg.Done()
			for _, c := range changes {
				if c.remove {
					if p, ok := s.parts[c.k]; ok {
						p.remove()
						delete(s.parts, c.k)
					}
					continue
				}
				p, err := s.openPartition(c.k, c.id, epochs[c.k], clean)
				if err != nil && starting {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					continue
				}
				if err != nil {
					// One partition that cannot open must not hold back every
					// other metadata change (nor its own deletion): it is
					// served offline, KAFKA_STORAGE_ERROR, as after a storage
					// fault, and reopened with backoff.
					s.b.log.Error("open partition; serving it offline and retrying", "topic", c.k.topic, "partition", c.k.partition, "err", err)
					p = &partition{key: c.k, topicID: c.id, dir: partitionDir(s.b.dataDir, c.k), shard: s, leaderEpoch: epochs[c.k]}
					p.failedReopens = 1
					p.lastReopen = time.Now()
					p.reopenSoon()
				}
				s.parts[c.k] = p
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	for _, changes := range byShard {
		for _, c := range changes {
			if c.remove {
				delete(b.open, c.k)
			} else {
				b.open[c.k] = c.id
			}
		}
	}
	if !starting && len(byShard) > 0 {
		b.checkDescriptorLimit(len(b.open))
	}
	b.publish(newClusterView(snap, b.effectiveConfig(snap)))
	return nil
}

func (b *Broker) publish(v *clusterView) {
	b.view.Store(v)
	b.viewMu.Lock()
	close(b.viewChanged)
	b.viewChanged = make(chan struct{})
	b.viewMu.Unlock()
}

// waitApplied blocks until the served view reflects raft index idx.
func (b *Broker) waitApplied(ctx context.Context, idx uint64) error {
	for {
		b.viewMu.Lock()
		ch := b.viewChanged
		b.viewMu.Unlock()
		if v := b.view.Load(); v != nil && v.snap.AppliedIndex >= idx {
			return nil
		}
		select {
		case b.reconcileCh <- struct{}{}:
		default:
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-b.closed:
			return errors.New("broker closed")
		}
	}
}

// propose commits metadata ops and waits until the view serves the result.
func (b *Broker) propose(ctx context.Context, ops []meta.Op) ([]meta.OpResult, error) {
	res, err := b.store.Propose(ctx, ops)
	if err != nil {
		return nil, err
	}
	if err := b.waitApplied(ctx, b.store.Current().AppliedIndex); err != nil {
		return nil, err
	}
	return res, nil
}

// Serve implements netpoll.Handler: decode the header, pick the handler.
func (b *Broker) Serve(c netpoll.ConnInfo, body []byte, out netpoll.Responder) {
	// The listener binds before the broker has registered its address; a
	// request that arrives in between waits (bounded by the connection's
	// in-flight cap) instead of losing its connection, in order behind
	// the earlier ones (serve_early.go).
	if !b.ready.Load() && b.holdEarly(c, body, out) {
		return
	}
	b.serve(c, body, out)
}

// serve decodes the header and picks the handler. A request it cannot
// serve closes the connection once the answers to the connection's earlier
// requests are written, and no later request of it is read, as Kafka reads
// a connection's requests one at a time: closed at once, it dropped those
// answers (a produce appended but never acknowledged, retried, stored
// twice).
func (b *Broker) serve(c netpoll.ConnInfo, body []byte, out netpoll.Responder) {
	h, err := parseRequestHeader(body)
	if err != nil {
		out.CloseAfterEarlier(err)
		return
	}
	var known bool
	if c.Listener, known = b.listenerOf(c); !known {
		// Never served past its listener's SASL for a name not known.
		out.CloseAfterEarlier(fmt.Errorf("connection of listener %q, which this broker does not have", c.Listener))
		return
	}
	r := &request{b: b, conn: c, key: h.key, version: h.version, corr: h.corr, clientID: h.clientID, out: out, received: time.Now()}
	if !b.sasl[c.Listener].allows(c, h.key) {
		// As Kafka, which closes a connection sending anything but the
		// SASL exchange before it has authenticated.
		r.closeConnAfterEarlier(fmt.Errorf("api key %d before SASL authentication", h.key))
		return
	}
	e, ok := apis[h.key]
	if !ok {
		r.closeConnAfterEarlier(fmt.Errorf("unknown api key %d", h.key))
		return
	}
	if h.version < e.min || h.version > e.max {
		if h.key == 18 {
			// KIP-511: answer in v0 with the supported ranges.
			r.version = 0
			r.kreq = &kmsg.ApiVersionsRequest{Version: 0}
			b.handleApiVersionsUnsupported(r)
			return
		}
		r.closeConnAfterEarlier(fmt.Errorf("api key %d version %d not in %d-%d", h.key, h.version, e.min, e.max))
		return
	}
	kreq := kmsg.RequestForKey(h.key)
	kreq.SetVersion(h.version)
	at := h.bodyAt
	if kreq.IsFlexible() {
		if at, err = skipTaggedFields(body, at); err != nil {
			r.closeConnAfterEarlier(err)
			return
		}
	}
	if err := kreq.ReadFrom(body[at:]); err != nil {
		r.closeConnAfterEarlier(fmt.Errorf("decode api key %d v%d: %w", h.key, h.version, err))
		return
	}
	r.kreq = kreq
	if h.key != 0 && b.joinLane(r, e.handle) {
		return // behind a produce on the connection's lane (produce_lanes.go)
	}
	e.handle(b, r)
}

// ConnClosed implements netpoll.Handler.
// A produce lane removes itself once its queue is empty (produce_lanes.go).
func (b *Broker) ConnClosed(c netpoll.ConnInfo) {
	c.Listener, _ = b.listenerOf(c)
	b.sasl[c.Listener].closed(c)
}

// listenerOf names the listener a connection came through: its own, or,
// for a connection made outside the broker's listeners (a test's, an
// embedder's, with no name), the broker's one listener if it has one.
// known is false for any other: such a connection is not served, since a
// name the broker does not know has no SASL to go through.
func (b *Broker) listenerOf(c netpoll.ConnInfo) (name string, known bool) {
	if c.Listener == "" && len(b.listeners) == 1 {
		return b.listeners[0], true
	}
	return c.Listener, slices.Contains(b.listeners, c.Listener)
}

// Close stops the shards, closes every partition cleanly and writes the
// clean-shutdown marker. The listener must be shut down first. Stopping
// takes at most the longer of io.timeout.ms and shutdown.timeout.ms, and
// the final filesystem sync as long again: a shard loop held by a stalled
// disk (a write, or a full queue behind a stalled fdatasync) cannot answer
// the reconciler or the group coordinators' close, and must not hold the
// stop for good. Past the limit the stop reports what did not finish and
// writes no marker.
func (b *Broker) Close() error {
	defer b.releaseGCFloor()
	limit := max(b.cfg.IOTimeout, b.cfg.ShutdownGrace)
	deadline := time.Now().Add(limit)
	close(b.closed)
	defer b.stopFilling(deadline) // on every path; a no-op after the first
	b.refuseEarly()
	if b.stopWatch != nil {
		b.stopWatch()
	}
	var stuck error
	if !waitBy(deadline, b.wg.Wait) {
		stuck = fmt.Errorf("metadata changes still waiting for the shards after %v", limit)
	} else if !waitBy(deadline, b.groups.closeAll) {
		stuck = fmt.Errorf("group coordinators still waiting for the shards after %v", limit)
	} else if !waitBy(deadline, b.txns.closeAll) {
		stuck = fmt.Errorf("transaction coordinators still waiting for the shards after %v", limit)
	}
	start := time.Now()
	shardsErr := b.stopShards(deadline)
	if shardsErr == nil {
		b.closeShardSyncfsDirs()
	} // else they stay open: a stuck shard's syncer may still syncfs them
	if err := errors.Join(stuck, shardsErr); err != nil {
		b.dataDirFile.Close()
		return fmt.Errorf("stop partition shards (no clean-shutdown marker written): %w", err)
	}
	closed := time.Since(start)
	// Before the shutdown sync, which would otherwise write back a fill's
	// zeros, and before the marker says the directory is settled.
	b.stopFilling(deadline)
	if syncfsAvailable {
		// Partitions closed without their own syncs; one syncfs covers them.
		if err := b.syncAtShutdown(); err != nil {
			// dataDirFile stays open: the stalled syncfs still holds it.
			return fmt.Errorf("sync data filesystem at shutdown (no clean-shutdown marker written): %w", err)
		}
	}
	b.log.Info("partitions closed", "partitions", len(b.open), "close_took", closed, "sync_took", time.Since(start)-closed)
	b.dataDirFile.Close()
	if !b.syncfsTrusted {
		// Each partition wrote and synced its own files: the shutdown's
		// syncfs could not have said that it failed.
		if b.walKeepAll.Load() {
			return errors.New("a partition did not close cleanly: no clean-shutdown marker written")
		}
		marker := filepath.Join(b.dataDir, cleanShutdownMarker)
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			return fmt.Errorf("write clean-shutdown marker: %w", err)
		}
		syncDir(b.dataDir)
		return nil
	}
	// Every partition is durable: the shards' WALs are no longer needed.
	if err := b.removeAllWALFiles(); err != nil {
		return err
	}
	if b.syncfsFailure.Load() {
		// Pages a failed syncfs lost may lie inside files whose length
		// looks right, which a clean start would trust. The next start
		// validates every log and replays the kept WAL files.
		return errors.New("a filesystem sync failed in this run: write-ahead log files kept and no clean-shutdown marker written")
	}
	st := &cleanShutdownState{Partitions: make(map[string]partitionCleanState)}
	for _, s := range b.shards {
		for name, ps := range s.closedStates {
			st.Partitions[name] = ps
		}
	}
	return writeCleanShutdownMarker(b.dataDir, st)
}

// syncAtShutdown runs the shutdown's syncfs within the longer of
// io.timeout.ms and shutdown.timeout.ms (it may write back gigabytes the
// default flush policy left to the kernel), as every I/O is bounded. One
// that does not finish is left running and reported; the stop then writes
// no clean-shutdown marker and keeps the WALs, so the next start recovers
// from the files as after a crash.
func (b *Broker) syncAtShutdown() error {
	limit := max(b.cfg.IOTimeout, b.cfg.ShutdownGrace)
	var err error // read only once the sync has returned
	if !waitBy(time.Now().Add(limit), func() { err = b.syncfs(b.dataDirFile) }) {
		return fmt.Errorf("syncfs did not finish within %v", limit)
	}
	return err
}

// stopShards stops every shard at once and waits for them until deadline:
// a shard stops only after its syncer finished the queued fdatasyncs and its
// partitions closed, and a stalled disk must not hold the stop for good.
// Shards still running at the deadline are left to finish on their own (the
// process is on its way out) and named in the error; the caller then writes
// no clean-shutdown marker.
func (b *Broker) stopShards(deadline time.Time) error {
	for _, s := range b.shards {
		close(s.quit)
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	expired := false
	var stuck []int
	for _, s := range b.shards {
		if !expired {
			select {
			case <-s.done:
				continue
			case <-t.C:
				expired = true
			}
		}
		select {
		case <-s.done:
		default:
			stuck = append(stuck, s.id)
		}
	}
	if len(stuck) > 0 {
		return fmt.Errorf("shards %v did not stop in time (a stalled disk?)", stuck)
	}
	return nil
}

// stopAfterFailedStart stops the shards of a start that failed; the start's
// own error is what New returns, a stop that also fails is logged.
func (b *Broker) stopAfterFailedStart() {
	b.releaseGCFloor()
	deadline := time.Now().Add(max(b.cfg.IOTimeout, b.cfg.ShutdownGrace))
	b.dataDirFile.Close() // the replay's syncfs, the only one through it so far, has returned
	if err := b.stopShards(deadline); err != nil {
		b.log.Error("stop partition shards after a failed start", "err", err)
	} else {
		b.closeShardSyncfsDirs()
	}
	b.stopFilling(deadline)
}

// waitBy runs wait and reports whether it returned by deadline; one that
// did not is left running.
func waitBy(deadline time.Time, wait func()) bool {
	done := make(chan struct{})
	go func() {
		wait()
		close(done)
	}()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func containsInt32(xs []int32, x int32) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
