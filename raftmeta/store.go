package raftmeta

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/chronik-go/chronik/engine/meta"
)

const (
	// tickInterval is raft's clock: elections and heartbeats count ticks.
	tickInterval  = 100 * time.Millisecond
	electionTicks = 10
	// proposalQueue bounds the Propose calls waiting for the raft loop; when
	// it is full, Propose waits (under its ctx) instead of growing memory.
	proposalQueue = 1024
	// maxProposalsPerReady caps how many queued proposals one loop turn moves
	// into raft before it writes them out, so one Ready stays bounded.
	maxProposalsPerReady = 256
)

// Store is cluster metadata replicated by an etcd raft group, persisted in its
// own log and snapshots under one directory. It implements meta.Store.
type Store struct {
	dir  string
	opts Options
	log  *slog.Logger

	feed      snapshotFeed
	propc     chan *proposal
	stopc     chan struct{} // closed by Close
	donec     chan struct{} // closed when the raft loop has stopped
	readyc    chan struct{} // closed once leader with the whole log applied
	stopErr   error         // why the loop stopped; read after donec closes
	nextReq   atomic.Uint64
	syncs     syncStats
	closeOnce sync.Once

	// Owned by the raft loop goroutine.
	rn         *raft.RawNode
	ms         *raft.MemoryStorage
	wal        *wal
	state      *meta.State
	confState  *pb.ConfState
	snapIndex  uint64 // index of the newest snapshot on disk
	applied    uint64
	pending    map[uint64]*proposal
	lead       uint64
	role       raft.StateType
	leaderFrom uint64 // first index of this node's current leadership
	isReady    bool
}

var _ meta.Store = (*Store)(nil)

// Open recovers the metadata in dir (creating a new single-member cluster when
// dir is empty), starts the raft loop, and returns once this node is leader and
// has applied its whole log, so Current is complete. Corrupt files give an
// error naming the file (wrapping ErrCorrupt).
func Open(dir string, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("raftmeta: create %s: %w", dir, err)
	}
	if err := removeTempFiles(dir); err != nil {
		return nil, err
	}
	s := &Store{
		dir:       dir,
		opts:      opts,
		log:       opts.Logger,
		propc:     make(chan *proposal, proposalQueue),
		stopc:     make(chan struct{}),
		donec:     make(chan struct{}),
		readyc:    make(chan struct{}),
		ms:        raft.NewMemoryStorage(),
		confState: &pb.ConfState{},
		pending:   map[uint64]*proposal{},
	}
	s.nextReq.Store(rand.Uint64() >> 1) // fresh ids per process: no stale entry can match
	if err := s.recover(); err != nil {
		return nil, err
	}

	go s.run()

	timer := time.NewTimer(opts.OpenTimeout)
	defer timer.Stop()
	select {
	case <-s.readyc:
		return s, nil
	case <-s.donec:
		return nil, fmt.Errorf("raftmeta: open %s: %w", dir, s.stopErr)
	case <-timer.C:
		s.Close()
		return nil, fmt.Errorf("raftmeta: open %s: not leader with the log applied after %v", dir, opts.OpenTimeout)
	}
}

// recover loads the newest snapshot and the log behind it and builds the raft
// node over them.
func (s *Store) recover() error {
	rs, snap, err := loadSnapshot(s.dir)
	if err != nil {
		return err
	}
	inSnapshot := ""
	if rs != nil {
		inSnapshot = snap.ClusterID
	}
	clusterID, err := resolveClusterID(s.dir, s.opts.ClusterID, inSnapshot)
	if err != nil {
		return err
	}
	base := &meta.Snapshot{ClusterID: clusterID}
	if rs != nil {
		snap.ClusterID = clusterID
		if err := s.ms.ApplySnapshot(rs); err != nil {
			return fmt.Errorf("raftmeta: load snapshot at index %d: %w", rs.GetMetadata().GetIndex(), err)
		}
		base = snap
		s.confState = proto.Clone(pb.EnsureConfState(rs.GetMetadata().GetConfState())).(*pb.ConfState)
		s.snapIndex = rs.GetMetadata().GetIndex()
		s.applied = s.snapIndex
	}
	base.ControllerID = -1 // known again once a leader is elected
	s.state = meta.NewState(base)
	s.feed.current.Store(s.state.Snapshot())

	w, hs, err := openWAL(s.dir, s.ms, s.log, &s.syncs, s.opts.SyncTimeout)
	if err != nil {
		return err
	}
	s.wal = w
	last, _ := s.ms.LastIndex()
	if hs != nil {
		if hs.GetCommit() < s.snapIndex {
			// The commit index rides unsynced with later frames; the
			// snapshot proves everything up to it was committed.
			hs.Commit = new(s.snapIndex)
		}
		if hs.GetCommit() > last {
			w.close()
			return fmt.Errorf("raftmeta: %s: commit index %d is past the last log entry %d: %w", s.dir, hs.GetCommit(), last, ErrCorrupt)
		}
		s.ms.SetHardState(hs)
	}

	rn, err := raft.NewRawNode(&raft.Config{
		ID:                        s.opts.NodeID,
		ElectionTick:              electionTicks,
		HeartbeatTick:             1,
		Storage:                   s.ms,
		Applied:                   s.applied,
		MaxSizePerMsg:             1 << 20,
		MaxCommittedSizePerReady:  16 << 20,
		MaxUncommittedEntriesSize: 64 << 20,
		MaxInflightMsgs:           256,
		CheckQuorum:               true,
		PreVote:                   true,
		Logger:                    raftLogger{s.log.With("component", "raft")},
	})
	if err != nil {
		w.close()
		return fmt.Errorf("raftmeta: start raft node %d: %w", s.opts.NodeID, err)
	}
	if rs == nil && last == 0 && raft.IsEmptyHardState(hs) {
		if err := rn.Bootstrap([]raft.Peer{{ID: s.opts.NodeID}}); err != nil {
			w.close()
			return fmt.Errorf("raftmeta: bootstrap node %d: %w", s.opts.NodeID, err)
		}
		s.log.Info("raftmeta: bootstrapped a new metadata cluster", "dir", s.dir, "node", s.opts.NodeID, "cluster", clusterID)
	}
	s.rn = rn
	return nil
}

// Propose commits ops as one raft entry and returns their results once the
// entry is applied here (Current then includes it). Concurrent calls share a
// log write and sync. When ctx ends first, the ops may still be applied later.
func (s *Store) Propose(ctx context.Context, ops []meta.Op) ([]meta.OpResult, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("raftmeta: propose: %w", err)
	}
	if err := s.stalled(); err != nil {
		return nil, err
	}
	req := s.nextReq.Add(1)
	data, err := encodeProposal(s.opts.NodeID, req, ops)
	if err != nil {
		return nil, fmt.Errorf("raftmeta: propose: %w", err)
	}
	p := &proposal{req: req, data: data, done: make(chan proposalResult, 1)}
	select {
	case s.propc <- p:
	case <-ctx.Done():
		return nil, fmt.Errorf("raftmeta: propose: %w", ctx.Err())
	case <-s.donec:
		return nil, s.closedErr()
	}
	select {
	case r := <-p.done:
		return r.results, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("raftmeta: waiting for the proposal to apply: %w", ctx.Err())
	case <-s.donec:
		select {
		case r := <-p.done:
			return r.results, r.err
		default:
			return nil, s.closedErr()
		}
	}
}

// Current returns the latest applied snapshot.
func (s *Store) Current() *meta.Snapshot { return s.feed.current.Load() }

// Watch returns a channel holding the current snapshot and then each newer
// one; an unread snapshot is replaced by a newer one. The channel is closed
// by cancel or by Close.
func (s *Store) Watch() (<-chan *meta.Snapshot, func()) { return s.feed.watch() }

// Health reports why the store cannot take proposals: stopped, failed, or a
// log sync stalled beyond Options.SyncTimeout. nil means healthy.
func (s *Store) Health() error {
	select {
	case <-s.donec:
		return s.closedErr()
	default:
	}
	return s.stalled()
}

// Close stops the raft loop, writes the last commit index, and closes the log.
// It returns the error that stopped the loop earlier, if any.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.stopc) })
	<-s.donec
	return s.stopErr
}

func (s *Store) stalled() error {
	start := s.syncs.start.Load()
	if start == 0 {
		return nil
	}
	if d := time.Since(time.Unix(0, start)); d > s.opts.SyncTimeout {
		return fmt.Errorf("raftmeta: log sync running for %v (limit %v): %w", d.Round(time.Millisecond), s.opts.SyncTimeout, ErrSyncStalled)
	}
	return nil
}

func (s *Store) closedErr() error {
	if s.stopErr != nil {
		return fmt.Errorf("raftmeta: stopped: %w", s.stopErr)
	}
	return ErrClosed
}
