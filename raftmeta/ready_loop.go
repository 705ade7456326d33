package raftmeta

import (
	"fmt"
	"math"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/chronik-go/chronik/engine/meta"
)

// run is the raft loop: the one goroutine that owns the raft node, the log
// and the state machine. Each turn it moves queued proposals into raft, then
// handles Ready until none is left: persist, append, apply, publish, Advance.
func (s *Store) run() {
	ticker := time.NewTicker(tickInterval)
	defer ticker.Stop()
	err := s.loop(ticker.C)
	s.shutdown(err)
}

func (s *Store) loop(tick <-chan time.Time) error {
	for {
		for s.rn.HasReady() {
			if err := s.handleReady(s.rn.Ready()); err != nil {
				return err
			}
		}
		if s.campaignIfAlone() {
			continue
		}
		select {
		case p := <-s.propc:
			s.propose(p)
		drain:
			for range maxProposalsPerReady - 1 {
				select {
				case p := <-s.propc:
					s.propose(p)
				default:
					break drain
				}
			}
		case <-tick:
			s.rn.Tick()
		case <-s.stopc:
			return nil
		}
	}
}

func (s *Store) propose(p *proposal) {
	if err := s.rn.Propose(p.data); err != nil {
		p.done <- proposalResult{err: fmt.Errorf("raftmeta: propose: %w", err)}
		return
	}
	s.pending[p.req] = p
}

// campaignIfAlone starts an election at once when this node is the group's
// only voter, so a single-node broker is leader within a few local log
// writes instead of a randomized election timeout. Multi-member groups wait
// for the timeout as raft intends. It reports whether raft has work to do.
func (s *Store) campaignIfAlone() bool {
	voters := s.confState.GetVoters()
	if s.role != raft.StateFollower || len(voters) != 1 || voters[0] != s.opts.NodeID ||
		len(s.confState.GetVotersOutgoing()) != 0 {
		return false
	}
	if err := s.rn.Campaign(); err != nil {
		s.log.Warn("raftmeta: campaign failed", "node", s.opts.NodeID, "err", err)
		return false
	}
	return s.rn.HasReady()
}

func (s *Store) handleReady(rd raft.Ready) error {
	if rd.SoftState != nil {
		s.observeLeader(rd.SoftState)
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := s.installSnapshot(rd.Snapshot, rd.HardState); err != nil {
			return err
		}
	}
	// Durable before anything is sent or applied.
	if err := s.wal.save(rd.HardState, rd.Entries, rd.MustSync); err != nil {
		return err
	}
	if rd.HardState != nil {
		if err := s.ms.SetHardState(rd.HardState); err != nil {
			return fmt.Errorf("raftmeta: set hard state: %w", err)
		}
	}
	if err := s.ms.Append(rd.Entries); err != nil {
		return fmt.Errorf("raftmeta: append %d entries: %w", len(rd.Entries), err)
	}
	if s.role == raft.StateLeader && s.leaderFrom == 0 {
		// The Ready that reports the leadership carries its empty entry.
		s.leaderFrom, _ = s.ms.LastIndex()
	}
	// rd.Messages would go to the other members here; a single-member group
	// has none, and its own messages are stepped by Advance.
	if err := s.apply(rd.CommittedEntries); err != nil {
		return err
	}
	if err := s.snapshotIfDue(); err != nil {
		return err
	}
	s.rn.Advance(rd)
	if !s.isReady && s.role == raft.StateLeader && s.applied >= s.leaderFrom {
		s.isReady = true
		close(s.readyc)
	}
	return nil
}

func (s *Store) observeLeader(ss *raft.SoftState) {
	if ss.Lead != s.lead && s.lead != raft.None && len(s.pending) > 0 {
		s.failPending(ErrLeaderChanged)
	}
	if ss.RaftState != raft.StateLeader {
		s.leaderFrom = 0
	}
	if ss.Lead != s.lead || ss.RaftState != s.role {
		s.log.Info("raftmeta: leadership changed", "node", s.opts.NodeID, "leader", ss.Lead, "role", ss.RaftState.String())
	}
	s.lead, s.role = ss.Lead, ss.RaftState
	controller := int32(-1)
	if ss.Lead != raft.None && ss.Lead <= math.MaxInt32 {
		controller = int32(ss.Lead)
	}
	s.state.SetController(controller)
}

// apply runs committed entries through the state machine, publishes the new
// snapshot, and only then answers the proposals, so a Propose that returns
// is already visible in Current.
func (s *Store) apply(ents []*pb.Entry) error {
	type completion struct {
		p *proposal
		r proposalResult
	}
	var done []completion
	for _, e := range ents {
		index := e.GetIndex()
		switch e.GetType() {
		case pb.EntryNormal:
			if len(e.GetData()) == 0 { // a new leader's empty entry
				s.state.Apply(index, nil)
				break
			}
			node, req, ops, err := decodeProposal(e.GetData())
			var results []meta.OpResult
			if err != nil {
				// Every member fails the same way on the same bytes, so
				// skipping the entry keeps replicas identical.
				s.log.Error("raftmeta: skipping undecodable metadata entry", "index", index, "err", err)
				err = fmt.Errorf("raftmeta: apply entry %d: %w", index, err)
				s.state.Apply(index, nil)
			} else {
				results = s.state.Apply(index, ops)
			}
			if node == s.opts.NodeID {
				if p, ok := s.pending[req]; ok {
					delete(s.pending, req)
					done = append(done, completion{p, proposalResult{results: results, err: err}})
				}
			}
		case pb.EntryConfChange:
			var cc pb.ConfChange
			if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
				return fmt.Errorf("raftmeta: decode conf change at index %d: %w", index, err)
			}
			s.confState = s.rn.ApplyConfChange(&cc)
			s.state.Apply(index, nil)
		case pb.EntryConfChangeV2:
			var cc pb.ConfChangeV2
			if err := proto.Unmarshal(e.GetData(), &cc); err != nil {
				return fmt.Errorf("raftmeta: decode conf change at index %d: %w", index, err)
			}
			s.confState = s.rn.ApplyConfChange(&cc)
			s.state.Apply(index, nil)
		}
		s.applied = index
	}
	if snap := s.state.Snapshot(); snap != s.feed.current.Load() {
		s.feed.publish(snap)
	}
	for _, c := range done {
		c.p.done <- c.r
	}
	return nil
}

// snapshotIfDue writes a snapshot every Options.SnapshotEvery applied
// entries and compacts the log behind it.
func (s *Store) snapshotIfDue() error {
	if s.applied-s.snapIndex < s.opts.SnapshotEvery {
		return nil
	}
	data, err := meta.MarshalSnapshot(s.state.Snapshot())
	if err != nil {
		return err
	}
	rs, err := s.ms.CreateSnapshot(s.applied, s.confState, data)
	if err != nil {
		return fmt.Errorf("raftmeta: create snapshot at index %d: %w", s.applied, err)
	}
	if err := writeSnapshotFile(s.dir, rs, s.wal.sync); err != nil {
		return err
	}
	if err := s.ms.Compact(s.applied); err != nil {
		return fmt.Errorf("raftmeta: compact log to index %d: %w", s.applied, err)
	}
	hs, _, _ := s.ms.InitialState()
	var tail []*pb.Entry
	if last, _ := s.ms.LastIndex(); last > s.applied {
		if tail, err = s.ms.Entries(s.applied+1, last+1, math.MaxUint64); err != nil {
			return fmt.Errorf("raftmeta: read log tail after index %d: %w", s.applied, err)
		}
	}
	if err := s.wal.rotate(hs, tail); err != nil {
		return err
	}
	if err := removeSnapshotsBefore(s.dir, s.applied); err != nil {
		return err
	}
	s.log.Debug("raftmeta: snapshot written", "index", s.applied, "bytes", len(data), "tail", len(tail))
	s.snapIndex = s.applied
	return nil
}

// installSnapshot replaces the state with a snapshot sent by the leader (only
// members that fell behind a compaction receive one).
func (s *Store) installSnapshot(rs *pb.Snapshot, hs *pb.HardState) error {
	index := rs.GetMetadata().GetIndex()
	snap, err := meta.UnmarshalSnapshot(rs.GetData())
	if err != nil {
		return fmt.Errorf("raftmeta: snapshot from leader at index %d: %w", index, err)
	}
	if err := writeSnapshotFile(s.dir, rs, s.wal.sync); err != nil {
		return err
	}
	if err := s.ms.ApplySnapshot(rs); err != nil {
		return fmt.Errorf("raftmeta: apply snapshot at index %d: %w", index, err)
	}
	if hs == nil {
		hs, _, _ = s.ms.InitialState()
	}
	if err := s.wal.rotate(hs, nil); err != nil {
		return err
	}
	if err := removeSnapshotsBefore(s.dir, index); err != nil {
		return err
	}
	snap.ControllerID = s.state.Snapshot().ControllerID
	s.state = meta.NewState(snap)
	s.confState = proto.Clone(pb.EnsureConfState(rs.GetMetadata().GetConfState())).(*pb.ConfState)
	s.snapIndex, s.applied = index, index
	s.feed.publish(s.state.Snapshot())
	return nil
}

func (s *Store) failPending(err error) {
	for req, p := range s.pending {
		p.done <- proposalResult{err: err}
		delete(s.pending, req)
	}
}

// shutdown runs when the loop ends: on Close (err nil) it keeps the commit
// index; on a failure it records why, so Propose and Close report it.
func (s *Store) shutdown(err error) {
	if werr := s.wal.close(); err == nil && werr != nil {
		err = werr
	}
	if err != nil {
		s.log.Error("raftmeta: metadata store stopped", "err", err)
	}
	s.stopErr = err
	if err == nil {
		err = ErrClosed
	}
	s.failPending(err)
	// Proposals that were queued but never reached raft.
	for drained := false; !drained; {
		select {
		case p := <-s.propc:
			p.done <- proposalResult{err: err}
		default:
			drained = true
		}
	}
	s.feed.close()
	close(s.donec)
}
