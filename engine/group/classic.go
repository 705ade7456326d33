package group

import (
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// classicState is a classic group's state, named as Kafka names it.
type classicState int8

const (
	stateEmpty classicState = iota
	statePreparingRebalance
	stateCompletingRebalance
	stateStable
	stateDead
)

func (s classicState) String() string {
	switch s {
	case stateEmpty:
		return "Empty"
	case statePreparingRebalance:
		return "PreparingRebalance"
	case stateCompletingRebalance:
		return "CompletingRebalance"
	case stateStable:
		return "Stable"
	}
	return "Dead"
}

// classicGroup is a group run by the classic protocol: members join, the
// broker picks a leader and a protocol, the leader assigns, SyncGroup hands
// each member the leader's bytes for it.
type classicGroup struct {
	g            *group
	state        classicState
	stateTime    time.Time
	protocolType string // "" for a group that only stores offsets
	protocol     string
	generation   int32
	leader       string
	members      map[string]*classicMember
	static       map[string]string // group.instance.id -> member id (KIP-345)

	// pending holds member ids handed out with MEMBER_ID_REQUIRED (KIP-394)
	// whose owners have not joined with them yet; each expires after the
	// session timeout.
	pending map[string]*timer

	awaitingJoin int             // members with a parked JoinGroup
	awaitingSync map[string]bool // members that have not synced this generation

	joinTimer        *timer // completes the join phase (rebalance timeout or initial delay)
	syncTimer        *timer // removes members that never synced
	initialDelay     bool   // joinTimer is group.initial.rebalance.delay.ms
	initialRemaining time.Duration
	newMemberAdded   bool
}

func newClassicGroup(g *group) *classicGroup {
	return &classicGroup{
		g:         g,
		stateTime: g.c.clock.Now(),
		members:   make(map[string]*classicMember),
		static:    make(map[string]string),
		pending:   make(map[string]*timer),
	}
}

func (cg *classicGroup) setState(s classicState) {
	cg.state = s
	cg.stateTime = cg.g.c.clock.Now()
}

// stop answers every parked request with code and stops all timers.
func (cg *classicGroup) stop(code int16) {
	for _, m := range cg.members {
		cg.answerParked(m, code)
		m.session.stop()
	}
	for _, t := range cg.pending {
		t.stop()
	}
	cg.joinTimer.stop()
	cg.syncTimer.stop()
}

// answerParked fails the member's parked requests with code.
func (cg *classicGroup) answerParked(m *classicMember, code int16) {
	if m.join != nil {
		resp := m.join.req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode = code
		resp.MemberID = m.id
		m.join.reply(resp)
		m.join = nil
		cg.awaitingJoin--
	}
	if m.sync != nil {
		resp := m.sync.req.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = code
		m.sync.reply(resp)
		m.sync = nil
	}
}

// --- JoinGroup -------------------------------------------------------------

// JoinGroup handles a JoinGroup request; reply runs once, now or when the
// rebalance completes.
func (c *Coordinator) JoinGroup(cl Client, req *kmsg.JoinGroupRequest, reply func(kmsg.Response)) {
	fail := func(code int16) {
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode = code
		resp.MemberID = req.MemberID
		reply(resp)
	}
	switch {
	case c.closed:
		fail(kerr.NotCoordinator.Code)
		return
	case req.Group == "":
		fail(kerr.InvalidGroupID.Code)
		return
	}
	g := c.groups[req.Group]
	isNew := g == nil
	if isNew {
		g = c.newClassicGroup(req.Group)
	}
	if g.consumer != nil {
		if !g.empty() {
			fail(kerr.InconsistentGroupProtocol.Code)
			return
		}
		g.toClassic()
	}
	g.classic.join(cl, req, reply)
	if isNew && g.removable() {
		delete(c.groups, req.Group) // the first request was refused
	}
}

func (cg *classicGroup) join(cl Client, req *kmsg.JoinGroupRequest, reply func(kmsg.Response)) {
	c := cg.g.c
	fail := func(code int16) {
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode = code
		resp.MemberID = req.MemberID
		reply(resp)
	}
	session := time.Duration(req.SessionTimeoutMillis) * time.Millisecond
	if session < c.cfg.MinSessionTimeout || session > c.cfg.MaxSessionTimeout {
		fail(kerr.InvalidSessionTimeout.Code)
		return
	}
	if !cg.supportsProtocols(req.ProtocolType, req.Protocols) {
		fail(kerr.InconsistentGroupProtocol.Code)
		return
	}
	if req.MemberID == "" {
		cg.joinNew(cl, req, reply)
		return
	}
	cg.joinKnown(cl, req, reply)
}

// supportsProtocols is Kafka's check that a joining member can share the
// group's protocol: an empty group takes any non-empty protocol list, a
// live one needs the same protocol type and a protocol every member has.
func (cg *classicGroup) supportsProtocols(protocolType string, ps []kmsg.JoinGroupRequestProtocol) bool {
	if protocolType == "" || len(ps) == 0 {
		return false
	}
	if cg.state == stateEmpty {
		return true
	}
	if protocolType != cg.protocolType {
		return false
	}
	for _, p := range ps {
		all := true
		for _, m := range cg.members {
			if _, ok := m.metadataFor(p.Name); !ok {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func (cg *classicGroup) newMember(id string, cl Client, req *kmsg.JoinGroupRequest) *classicMember {
	m := &classicMember{id: id, instanceID: req.InstanceID, clientID: cl.ID, clientHost: cl.Host}
	cg.setProtocols(m, req)
	return m
}

func (cg *classicGroup) setProtocols(m *classicMember, req *kmsg.JoinGroupRequest) {
	m.protocols = req.Protocols
	m.sessionTimeout = time.Duration(req.SessionTimeoutMillis) * time.Millisecond
	m.rebalanceTimeout = time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond
	if req.Version == 0 {
		m.rebalanceTimeout = m.sessionTimeout // v0 has no rebalance timeout
	}
}

// joinNew handles a join without a member id.
func (cg *classicGroup) joinNew(cl Client, req *kmsg.JoinGroupRequest, reply func(kmsg.Response)) {
	if req.InstanceID != nil {
		if old, ok := cg.static[*req.InstanceID]; ok {
			cg.replaceStatic(old, cl, req, reply)
			return
		}
	}
	if !cg.acceptsJoiner("") {
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode = kerr.GroupMaxSizeReached.Code
		reply(resp)
		return
	}
	prefix := cl.ID
	if req.InstanceID != nil {
		prefix = *req.InstanceID
	}
	id := newMemberID(prefix)
	// KIP-394: a dynamic member first learns its id and joins again with
	// it, so a client that gives up on a long join leaves no stray member.
	if req.Version >= 4 && req.InstanceID == nil {
		cg.addPending(id, time.Duration(req.SessionTimeoutMillis)*time.Millisecond)
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode = kerr.MemberIDRequired.Code
		resp.MemberID = id
		reply(resp)
		return
	}
	cg.addMemberAndRebalance(cg.newMember(id, cl, req), req, reply)
}

// acceptsJoiner is Kafka's group.max.size rule for a join by id (""
// for a new member): an Empty group takes anyone; a rebalancing one counts
// the members that have rejoined, since members that will not are still
// listed; a stable one counts its members. KIP-394 ids handed out but not
// used yet take no place.
func (cg *classicGroup) acceptsJoiner(id string) bool {
	limit := cg.g.c.cfg.MaxSize
	m := cg.members[id]
	switch cg.state {
	case stateEmpty:
		return true
	case statePreparingRebalance:
		return (m != nil && m.join != nil) || cg.awaitingJoin < limit
	default:
		return m != nil || len(cg.members) < limit
	}
}

func (cg *classicGroup) addPending(id string, session time.Duration) {
	cg.pending[id] = cg.g.c.after(session, func() {
		delete(cg.pending, id)
		if cg.state == statePreparingRebalance {
			cg.tryCompleteJoin()
		}
		cg.g.c.armExpiry()
	})
}

// joinKnown handles a join with a member id.
func (cg *classicGroup) joinKnown(cl Client, req *kmsg.JoinGroupRequest, reply func(kmsg.Response)) {
	fail := func(code int16) {
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode = code
		resp.MemberID = req.MemberID
		reply(resp)
	}
	if t, ok := cg.pending[req.MemberID]; ok {
		if !cg.acceptsJoiner(req.MemberID) {
			fail(kerr.GroupMaxSizeReached.Code)
			return
		}
		t.stop()
		delete(cg.pending, req.MemberID)
		cg.addMemberAndRebalance(cg.newMember(req.MemberID, cl, req), req, reply)
		return
	}
	if cg.fenced(req.InstanceID, req.MemberID) {
		fail(kerr.FencedInstanceID.Code)
		return
	}
	m := cg.members[req.MemberID]
	if m == nil || (req.InstanceID != nil && cg.static[*req.InstanceID] == "") {
		fail(kerr.UnknownMemberID.Code)
		return
	}
	if !cg.acceptsJoiner(m.id) {
		// Kafka checks every join: a member rejoining a rebalance that
		// others have filled to group.max.size is refused (and, not
		// having rejoined, leaves when the join phase ends).
		fail(kerr.GroupMaxSizeReached.Code)
		return
	}
	switch cg.state {
	case statePreparingRebalance:
		cg.updateMemberAndRebalance(m, req, reply)
	case stateCompletingRebalance:
		if !m.sameProtocols(req.Protocols) {
			cg.updateMemberAndRebalance(m, req, reply)
			return
		}
		// The member lost its JoinGroup response: answer it again, naming
		// the group's leader (a follower told it leads would run the
		// assignor over no members).
		reply(cg.joinSuccess(req, m, m.id == cg.leader, cg.leader, false))
		cg.heartbeat(m)
	case stateStable:
		// A leader's rejoin always rebalances: it is how a leader asks for
		// a new assignment when something outside member metadata changed.
		if m.id == cg.leader || !m.sameProtocols(req.Protocols) {
			cg.updateMemberAndRebalance(m, req, reply)
			return
		}
		reply(cg.joinSuccess(req, m, false, cg.leader, false))
		cg.heartbeat(m)
	default:
		fail(kerr.UnknownMemberID.Code)
	}
}

// fenced reports a static member whose instance id is held by another
// member id (KIP-345).
func (cg *classicGroup) fenced(instanceID *string, memberID string) bool {
	if instanceID == nil {
		return false
	}
	known, ok := cg.static[*instanceID]
	return ok && known != memberID
}

// unknownInstance reports an instance id the group does not know, which
// Kafka's validateMember answers UNKNOWN_MEMBER_ID whatever the member id.
func (cg *classicGroup) unknownInstance(instanceID *string) bool {
	if instanceID == nil {
		return false
	}
	_, ok := cg.static[*instanceID]
	return !ok
}

// replaceStatic lets a static member rejoin under a new member id, fencing
// the old one. In a stable group whose protocol would not change the member
// takes over its old assignment without a rebalance (KIP-345).
func (cg *classicGroup) replaceStatic(oldID string, cl Client, req *kmsg.JoinGroupRequest, reply func(kmsg.Response)) {
	m := cg.members[oldID]
	if !cg.acceptsJoiner(oldID) {
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode = kerr.GroupMaxSizeReached.Code
		reply(resp)
		return
	}
	if m == nil {
		delete(cg.static, *req.InstanceID)
		cg.addMemberAndRebalance(cg.newMember(newMemberID(*req.InstanceID), cl, req), req, reply)
		return
	}
	cg.answerParked(m, kerr.FencedInstanceID.Code)
	m.session.stop()
	formerLeader := cg.leader
	newID := newMemberID(*req.InstanceID)
	delete(cg.members, oldID)
	m.id = newID
	cg.members[newID] = m
	cg.static[*req.InstanceID] = newID
	if cg.leader == oldID {
		cg.leader = newID
	}
	if cg.awaitingSync[oldID] {
		delete(cg.awaitingSync, oldID)
		cg.awaitingSync[newID] = true
	}
	m.clientID, m.clientHost = cl.ID, cl.Host
	cg.setProtocols(m, req)

	// As Kafka, only a change of the group's protocol makes a returning
	// static member rebalance the group; its metadata may differ (consumer
	// metadata carries the member's generation, which a restart resets).
	if cg.state == stateStable && cg.selectProtocol() == cg.protocol {
		if err := cg.store(nil); err != nil {
			cg.g.c.log.Error("store static member", "group", cg.g.name, "err", err)
			resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
			resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
			reply(resp)
			return
		}
		// Before KIP-814 (v9) the leader is named by its old id, so a
		// returning leader acts as a follower and simply syncs; from v9
		// it is told to skip the assignment instead.
		isLeader := cg.leader == newID
		leaderID := formerLeader
		if req.Version >= 9 {
			leaderID = cg.leader
		}
		reply(cg.joinSuccess(req, m, isLeader && req.Version >= 9, leaderID, isLeader && req.Version >= 9))
		cg.heartbeat(m)
		return
	}
	cg.parkJoin(m, req, reply)
	switch cg.state {
	case statePreparingRebalance:
		cg.tryCompleteJoin()
	default:
		cg.prepareRebalance()
	}
}

func (cg *classicGroup) addMemberAndRebalance(m *classicMember, req *kmsg.JoinGroupRequest, reply func(kmsg.Response)) {
	if cg.state == stateEmpty {
		cg.protocolType = req.ProtocolType
	}
	if cg.state == statePreparingRebalance && cg.initialDelay {
		// The group came from Empty (at any generation, as Kafka's
		// group coordinator decides by the previous state): a member
		// arriving in the delay extends it.
		cg.newMemberAdded = true
	}
	cg.members[m.id] = m
	if m.instanceID != nil {
		cg.static[*m.instanceID] = m.id
	}
	if cg.leader == "" {
		cg.leader = m.id
	}
	cg.parkJoin(m, req, reply)
	cg.maybePrepareRebalance()
}

func (cg *classicGroup) updateMemberAndRebalance(m *classicMember, req *kmsg.JoinGroupRequest, reply func(kmsg.Response)) {
	cg.setProtocols(m, req)
	cg.parkJoin(m, req, reply)
	cg.maybePrepareRebalance()
}

// parkJoin holds the member's JoinGroup until the join phase completes. A
// join it supersedes (the client retried on another connection) is
// answered REBALANCE_IN_PROGRESS so no request is left without a reply.
func (cg *classicGroup) parkJoin(m *classicMember, req *kmsg.JoinGroupRequest, reply func(kmsg.Response)) {
	if m.join != nil {
		resp := m.join.req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode = kerr.RebalanceInProgress.Code
		resp.MemberID = m.id
		m.join.reply(resp)
	} else {
		cg.awaitingJoin++
	}
	m.join = &parkedJoin{req: req, reply: reply}
	m.session.stop()
}

func (cg *classicGroup) maybePrepareRebalance() {
	switch cg.state {
	case stateEmpty, stateStable, stateCompletingRebalance:
		cg.prepareRebalance()
	case statePreparingRebalance:
		cg.tryCompleteJoin()
	}
}

// prepareRebalance starts a join phase. An empty group waits
// group.initial.rebalance.delay.ms (extended while members keep arriving,
// up to the rebalance timeout) so a starting fleet lands in one
// generation; otherwise the phase ends when every member has rejoined or
// the largest rebalance timeout passes.
func (cg *classicGroup) prepareRebalance() {
	c := cg.g.c
	if cg.state == stateCompletingRebalance {
		cg.resetAssignments(kerr.RebalanceInProgress.Code)
	}
	cg.syncTimer.stop()
	cg.awaitingSync = nil
	wasEmpty := cg.state == stateEmpty
	cg.setState(statePreparingRebalance)
	cg.joinTimer.stop()
	timeout := cg.maxRebalanceTimeout()
	if wasEmpty {
		delay := min(c.cfg.InitialRebalanceDelay, timeout)
		cg.initialDelay = true
		cg.initialRemaining = max(timeout-c.cfg.InitialRebalanceDelay, 0)
		cg.joinTimer = c.after(delay, cg.initialDelayExpired)
		return
	}
	cg.initialDelay = false
	cg.joinTimer = c.after(timeout, cg.completeJoin)
	cg.tryCompleteJoin()
}

func (cg *classicGroup) initialDelayExpired() {
	c := cg.g.c
	if cg.newMemberAdded && cg.initialRemaining > 0 {
		cg.newMemberAdded = false
		delay := min(c.cfg.InitialRebalanceDelay, cg.initialRemaining)
		cg.initialRemaining = max(cg.initialRemaining-delay, 0)
		cg.joinTimer = c.after(delay, cg.initialDelayExpired)
		return
	}
	cg.completeJoin()
}

func (cg *classicGroup) maxRebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range cg.members {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}

// tryCompleteJoin ends the join phase early once every member has rejoined
// and no KIP-394 member id is still outstanding.
func (cg *classicGroup) tryCompleteJoin() {
	if cg.state == statePreparingRebalance && !cg.initialDelay &&
		cg.awaitingJoin == len(cg.members) && len(cg.pending) == 0 {
		cg.completeJoin()
	}
}

// completeJoin ends the join phase: members that did not rejoin leave
// (static members keep their place until their session expires), the
// generation advances and every joined member gets its JoinGroup answer;
// the leader's carries all members' metadata.
func (cg *classicGroup) completeJoin() {
	c := cg.g.c
	if cg.state != statePreparingRebalance {
		return
	}
	cg.joinTimer.stop()
	cg.initialDelay = false
	for _, m := range cg.members {
		if m.join == nil && m.instanceID == nil {
			cg.removeMember(m, kerr.UnknownMemberID.Code)
		}
	}
	if len(cg.members) > 0 && !cg.electJoinedLeader() {
		// Nobody rejoined: wait one more rebalance timeout so session
		// timeouts can clear the silent members.
		cg.joinTimer = c.after(cg.maxRebalanceTimeout(), cg.completeJoin)
		return
	}
	cg.generation++
	if cg.generation < 0 {
		cg.generation = 1
	}
	cg.newMemberAdded = false
	if len(cg.members) == 0 {
		cg.protocol = ""
		cg.leader = ""
		cg.setState(stateEmpty)
		if err := cg.store(nil); err != nil {
			c.log.Error("store empty group", "group", cg.g.name, "err", err)
		}
		cg.g.c.armExpiry()
		return
	}
	cg.protocol = cg.selectProtocol()
	cg.setState(stateCompletingRebalance)
	cg.awaitingSync = make(map[string]bool, len(cg.members))
	for _, m := range cg.members {
		cg.awaitingSync[m.id] = true
		if m.join == nil {
			continue
		}
		j := m.join
		m.join = nil
		cg.awaitingJoin--
		j.reply(cg.joinSuccess(j.req, m, m.id == cg.leader, cg.leader, false))
		cg.heartbeat(m)
	}
	gen := cg.generation
	cg.syncTimer = c.after(cg.maxRebalanceTimeout(), func() { cg.syncExpired(gen) })
}

// electJoinedLeader keeps the leader if it rejoined, else picks a member
// that did; false when no member rejoined.
func (cg *classicGroup) electJoinedLeader() bool {
	if m := cg.members[cg.leader]; m != nil && m.join != nil {
		return true
	}
	for _, id := range slices.Sorted(maps.Keys(cg.members)) {
		if cg.members[id].join != nil {
			cg.leader = id
			return true
		}
	}
	return false
}

// selectProtocol picks the protocol every member supports that the most
// members prefer (each member votes for its first supported choice).
func (cg *classicGroup) selectProtocol() string {
	var any *classicMember
	for _, m := range cg.members {
		any = m
		break
	}
	if any == nil {
		return ""
	}
	supportedByAll := func(name string) bool {
		for _, m := range cg.members {
			if _, ok := m.metadataFor(name); !ok {
				return false
			}
		}
		return true
	}
	votes := make(map[string]int)
	for _, m := range cg.members {
		for _, p := range m.protocols {
			if supportedByAll(p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best, bestVotes := "", -1
	for _, name := range slices.Sorted(maps.Keys(votes)) {
		if votes[name] > bestVotes {
			best, bestVotes = name, votes[name]
		}
	}
	return best
}

func (cg *classicGroup) joinSuccess(req *kmsg.JoinGroupRequest, m *classicMember, withMembers bool, leaderID string, skip bool) *kmsg.JoinGroupResponse {
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	resp.Generation = cg.generation
	pt, p := cg.protocolType, cg.protocol
	resp.ProtocolType = &pt
	resp.Protocol = &p
	resp.LeaderID = leaderID
	resp.MemberID = m.id
	resp.SkipAssignment = skip
	if withMembers {
		for _, id := range slices.Sorted(maps.Keys(cg.members)) {
			o := cg.members[id]
			md, _ := o.metadataFor(cg.protocol)
			jm := kmsg.NewJoinGroupResponseMember()
			jm.MemberID, jm.InstanceID, jm.ProtocolMetadata = o.id, o.instanceID, md
			resp.Members = append(resp.Members, jm)
		}
	}
	return resp
}

// syncExpired removes the members that got their JoinGroup answer but never
// sent SyncGroup within the rebalance timeout, then rebalances without them.
func (cg *classicGroup) syncExpired(gen int32) {
	if gen != cg.generation || len(cg.awaitingSync) == 0 {
		return
	}
	if cg.state != stateCompletingRebalance && cg.state != stateStable {
		return
	}
	for id := range cg.awaitingSync {
		if m := cg.members[id]; m != nil {
			cg.removeMember(m, kerr.UnknownMemberID.Code)
		}
	}
	cg.awaitingSync = nil
	cg.prepareRebalance()
}

// removeMember drops m, answering its parked requests with code.
func (cg *classicGroup) removeMember(m *classicMember, code int16) {
	cg.answerParked(m, code)
	m.session.stop()
	delete(cg.members, m.id)
	delete(cg.awaitingSync, m.id)
	if m.instanceID != nil && cg.static[*m.instanceID] == m.id {
		delete(cg.static, *m.instanceID)
	}
	if cg.leader == m.id {
		cg.leader = ""
		for _, id := range slices.Sorted(maps.Keys(cg.members)) {
			if cg.leader == "" || cg.members[id].join != nil {
				cg.leader = id
			}
			if cg.members[id].join != nil {
				break
			}
		}
	}
}

// removeAndRebalance removes a member that left or timed out.
func (cg *classicGroup) removeAndRebalance(m *classicMember) {
	cg.removeMember(m, kerr.UnknownMemberID.Code)
	switch cg.state {
	case stateStable, stateCompletingRebalance:
		cg.prepareRebalance()
	case statePreparingRebalance:
		cg.tryCompleteJoin()
	}
}

// heartbeat restarts the member's session timer, unless a request of the
// member is parked: a waiting request is proof of life of its own.
func (cg *classicGroup) heartbeat(m *classicMember) {
	m.session.stop()
	if m.parked() {
		return
	}
	m.session = cg.g.c.after(m.sessionTimeout, func() {
		if cg.members[m.id] != m || cg.g.c.groups[cg.g.name] != cg.g || cg.g.classic != cg {
			return
		}
		cg.g.c.log.Info("group member session expired", "group", cg.g.name, "member", m.id)
		cg.removeAndRebalance(m)
	})
}

// --- SyncGroup -------------------------------------------------------------

// SyncGroup handles a SyncGroup request; reply runs once, now or when the
// leader's assignment arrives.
func (c *Coordinator) SyncGroup(req *kmsg.SyncGroupRequest, reply func(kmsg.Response)) {
	fail := func(code int16) {
		resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = code
		reply(resp)
	}
	switch g := c.groups[req.Group]; {
	case c.closed:
		fail(kerr.NotCoordinator.Code)
	case req.Group == "":
		fail(kerr.InvalidGroupID.Code)
	case g == nil || g.classic == nil:
		fail(kerr.UnknownMemberID.Code)
	default:
		g.classic.sync(req, reply)
	}
}

func (cg *classicGroup) sync(req *kmsg.SyncGroupRequest, reply func(kmsg.Response)) {
	fail := func(code int16) {
		resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = code
		reply(resp)
	}
	if cg.fenced(req.InstanceID, req.MemberID) {
		fail(kerr.FencedInstanceID.Code)
		return
	}
	m := cg.members[req.MemberID]
	switch {
	case m == nil || cg.unknownInstance(req.InstanceID):
		fail(kerr.UnknownMemberID.Code)
		return
	case req.Generation != cg.generation:
		fail(kerr.IllegalGeneration.Code)
		return
	case req.ProtocolType != nil && *req.ProtocolType != cg.protocolType,
		req.Protocol != nil && *req.Protocol != cg.protocol:
		fail(kerr.InconsistentGroupProtocol.Code)
		return
	}
	switch cg.state {
	case statePreparingRebalance:
		fail(kerr.RebalanceInProgress.Code)
	case stateCompletingRebalance:
		if m.sync != nil {
			resp := m.sync.req.ResponseKind().(*kmsg.SyncGroupResponse)
			resp.ErrorCode = kerr.RebalanceInProgress.Code
			m.sync.reply(resp)
		}
		m.sync = &parkedSync{req: req, reply: reply}
		m.session.stop()
		cg.synced(m.id)
		if m.id == cg.leader {
			cg.completeSync(req)
		}
	case stateStable:
		cg.synced(m.id)
		reply(cg.syncSuccess(req, m))
		cg.heartbeat(m)
	default:
		fail(kerr.UnknownMemberID.Code)
	}
}

func (cg *classicGroup) synced(id string) {
	delete(cg.awaitingSync, id)
	if len(cg.awaitingSync) == 0 {
		cg.syncTimer.stop()
	}
}

// completeSync stores the leader's assignment and hands every waiting
// member its part; members the leader left out get an empty assignment.
func (cg *classicGroup) completeSync(req *kmsg.SyncGroupRequest) {
	assign := make(map[string][]byte, len(cg.members))
	for _, a := range req.GroupAssignment {
		if _, ok := cg.members[a.MemberID]; ok {
			assign[a.MemberID] = a.MemberAssignment
		}
	}
	for id := range cg.members {
		if len(assign[id]) == 0 && cg.protocolType == "consumer" {
			// Some clients cannot decode zero bytes as "no partitions".
			assign[id] = emptyConsumerAssignment
		}
	}
	if err := cg.store(assign); err != nil {
		cg.g.c.log.Error("store group assignment", "group", cg.g.name, "err", err)
		cg.resetAssignments(kerr.CoordinatorNotAvailable.Code)
		cg.prepareRebalance()
		return
	}
	for id, m := range cg.members {
		m.assignment = assign[id]
	}
	cg.setState(stateStable)
	for _, m := range cg.members {
		if m.sync == nil {
			continue
		}
		s := m.sync
		m.sync = nil
		s.reply(cg.syncSuccess(s.req, m))
		cg.heartbeat(m)
	}
}

var emptyConsumerAssignment = func() []byte {
	a := kmsg.NewConsumerMemberAssignment()
	return a.AppendTo(nil)
}()

func (cg *classicGroup) syncSuccess(req *kmsg.SyncGroupRequest, m *classicMember) *kmsg.SyncGroupResponse {
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	pt, p := cg.protocolType, cg.protocol
	resp.ProtocolType, resp.Protocol = &pt, &p
	resp.MemberAssignment = m.assignment
	return resp
}

// resetAssignments clears assignments and fails parked syncs with code.
func (cg *classicGroup) resetAssignments(code int16) {
	for _, m := range cg.members {
		m.assignment = nil
		if m.sync != nil {
			resp := m.sync.req.ResponseKind().(*kmsg.SyncGroupResponse)
			resp.ErrorCode = code
			m.sync.reply(resp)
			m.sync = nil
			cg.heartbeat(m)
		}
	}
}

// --- Heartbeat and LeaveGroup ----------------------------------------------

// Heartbeat handles a classic Heartbeat request.
func (c *Coordinator) Heartbeat(req *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	g := c.groups[req.Group]
	switch {
	case c.closed:
		resp.ErrorCode = kerr.NotCoordinator.Code
	case req.Group == "":
		resp.ErrorCode = kerr.InvalidGroupID.Code
	case g == nil || g.classic == nil:
		resp.ErrorCode = kerr.UnknownMemberID.Code
	default:
		resp.ErrorCode = g.classic.heartbeatRequest(req)
	}
	return resp
}

func (cg *classicGroup) heartbeatRequest(req *kmsg.HeartbeatRequest) int16 {
	if cg.fenced(req.InstanceID, req.MemberID) {
		return kerr.FencedInstanceID.Code
	}
	m := cg.members[req.MemberID]
	switch {
	case m == nil || cg.unknownInstance(req.InstanceID):
		return kerr.UnknownMemberID.Code
	case req.Generation != cg.generation:
		return kerr.IllegalGeneration.Code
	}
	switch cg.state {
	case statePreparingRebalance:
		cg.heartbeat(m)
		return kerr.RebalanceInProgress.Code
	case stateCompletingRebalance, stateStable:
		cg.heartbeat(m)
		return 0
	}
	return kerr.UnknownMemberID.Code
}

// LeaveGroup handles a LeaveGroup request: one member before v3, a batch
// of members (by member or instance id, KIP-345) from v3 on.
func (c *Coordinator) LeaveGroup(req *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	leaving := req.Members
	if req.Version < 3 {
		leaving = []kmsg.LeaveGroupRequestMember{{MemberID: req.MemberID}}
	}
	g := c.groups[req.Group]
	switch {
	case c.closed:
		resp.ErrorCode = kerr.NotCoordinator.Code
		return resp
	case req.Group == "":
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return resp
	}
	changed := false
	for _, rm := range leaving {
		out := kmsg.NewLeaveGroupResponseMember()
		out.MemberID, out.InstanceID = rm.MemberID, rm.InstanceID
		if g == nil || g.classic == nil {
			out.ErrorCode = kerr.UnknownMemberID.Code
		} else {
			// The answer names the member as the request did (Kafka
			// echoes it; the Java admin client looks a removal by
			// instance id up under member id "").
			var removed bool
			_, out.ErrorCode, removed = g.classic.leave(rm)
			changed = changed || removed
		}
		resp.Members = append(resp.Members, out)
	}
	switch {
	case changed:
		g.classic.afterLeave()
	case g != nil && g.classic != nil:
		g.classic.tryCompleteJoin() // a pending member id may have gone
	}
	if req.Version < 3 {
		resp.ErrorCode = resp.Members[0].ErrorCode
		resp.Members = nil
	}
	return resp
}

// leave removes one member without rebalancing yet (removed reports
// whether a member left); afterLeave rebalances once for the whole batch.
func (cg *classicGroup) leave(rm kmsg.LeaveGroupRequestMember) (id string, code int16, removed bool) {
	id = rm.MemberID
	if rm.InstanceID != nil {
		known, ok := cg.static[*rm.InstanceID]
		switch {
		case !ok:
			return id, kerr.UnknownMemberID.Code, false
		case id != "" && id != known:
			return id, kerr.FencedInstanceID.Code, false
		}
		id = known
	}
	if t, ok := cg.pending[id]; ok {
		t.stop()
		delete(cg.pending, id)
		return id, 0, false
	}
	m := cg.members[id]
	if m == nil {
		return id, kerr.UnknownMemberID.Code, false
	}
	cg.g.c.log.Info("group member left", "group", cg.g.name, "member", id)
	cg.removeMember(m, kerr.UnknownMemberID.Code)
	return id, 0, true
}

func (cg *classicGroup) afterLeave() {
	switch cg.state {
	case stateStable, stateCompletingRebalance:
		cg.prepareRebalance()
	case statePreparingRebalance:
		cg.tryCompleteJoin()
	}
	cg.g.c.armExpiry()
}

// --- persistence and description ---------------------------------------------

// store writes the group's metadata record; assign overrides the members'
// current assignments (nil keeps them).
func (cg *classicGroup) store(assign map[string][]byte) error {
	v := &kmsg.GroupMetadataValue{
		ProtocolType:          cg.protocolType,
		Generation:            cg.generation,
		CurrentStateTimestamp: cg.stateTime.UnixMilli(),
	}
	if cg.protocol != "" {
		p := cg.protocol
		v.Protocol = &p
	}
	if cg.leader != "" {
		l := cg.leader
		v.Leader = &l
	}
	for _, id := range slices.Sorted(maps.Keys(cg.members)) {
		m := cg.members[id]
		md, _ := m.metadataFor(cg.protocol)
		a := m.assignment
		if assign != nil {
			a = assign[id]
		}
		v.Members = append(v.Members, kmsg.GroupMetadataValueMember{
			MemberID:               m.id,
			InstanceID:             m.instanceID,
			ClientID:               m.clientID,
			ClientHost:             m.clientHost,
			RebalanceTimeoutMillis: int32(m.rebalanceTimeout / time.Millisecond),
			SessionTimeoutMillis:   int32(m.sessionTimeout / time.Millisecond),
			Subscription:           md,
			Assignment:             a,
		})
	}
	return cg.g.c.write(groupMetadataRecord(cg.g.name, v))
}

// restore rebuilds the group from its last metadata record. Members come
// back with the selected protocol only, as Kafka stores them.
func (cg *classicGroup) restore(v *kmsg.GroupMetadataValue) {
	cg.protocolType = v.ProtocolType
	cg.generation = v.Generation
	if v.Protocol != nil {
		cg.protocol = *v.Protocol
	}
	if v.Leader != nil {
		cg.leader = *v.Leader
	}
	cg.stateTime = time.UnixMilli(v.CurrentStateTimestamp)
	for _, vm := range v.Members {
		m := &classicMember{
			id:               vm.MemberID,
			instanceID:       vm.InstanceID,
			clientID:         vm.ClientID,
			clientHost:       vm.ClientHost,
			sessionTimeout:   time.Duration(vm.SessionTimeoutMillis) * time.Millisecond,
			rebalanceTimeout: time.Duration(vm.RebalanceTimeoutMillis) * time.Millisecond,
			protocols:        []kmsg.JoinGroupRequestProtocol{{Name: cg.protocol, Metadata: vm.Subscription}},
			assignment:       vm.Assignment,
		}
		cg.members[m.id] = m
		if m.instanceID != nil {
			cg.static[*m.instanceID] = m.id
		}
	}
	cg.state = stateEmpty
	if len(cg.members) > 0 {
		cg.state = stateStable
	}
}

// loaded starts the restored members' session timers.
func (cg *classicGroup) loaded() {
	for _, m := range cg.members {
		cg.heartbeat(m)
	}
}

func (cg *classicGroup) describe(out *kmsg.DescribeGroupsResponseGroup) {
	out.State = cg.state.String()
	out.ProtocolType = cg.protocolType
	stable := cg.state == stateStable
	if stable {
		out.Protocol = cg.protocol
	}
	for _, id := range slices.Sorted(maps.Keys(cg.members)) {
		m := cg.members[id]
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID, dm.InstanceID, dm.ClientID, dm.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
		if stable {
			dm.ProtocolMetadata, _ = m.metadataFor(cg.protocol)
			dm.MemberAssignment = m.assignment
		}
		out.Members = append(out.Members, dm)
	}
}

// validateCommit is Kafka's classic-group OffsetCommit check.
func (cg *classicGroup) validateCommit(req *kmsg.OffsetCommitRequest) commitValidation {
	return cg.checkCommit(req.Generation, req.MemberID, req.InstanceID, false)
}

// checkCommit is Kafka's ClassicGroup.validateOffsetCommit for OffsetCommit
// and, transactional, for TxnOffsetCommit: a transactional commit that names
// no member may go to a group with members (older TxnOffsetCommit versions
// cannot name one), and is not refused during a rebalance.
func (cg *classicGroup) checkCommit(generation int32, memberID string, instanceID *string, transactional bool) commitValidation {
	if generation < 0 && cg.state == stateEmpty {
		return commitValidation{} // a group-less commit to a group with no members
	}
	if generation >= 0 || memberID != "" || instanceID != nil {
		if cg.fenced(instanceID, memberID) {
			return commitValidation{code: kerr.FencedInstanceID.Code}
		}
		m := cg.members[memberID]
		if m == nil || cg.unknownInstance(instanceID) {
			return commitValidation{code: kerr.UnknownMemberID.Code}
		}
		if generation != cg.generation {
			return commitValidation{code: kerr.IllegalGeneration.Code}
		}
		if transactional {
			return commitValidation{}
		}
		if cg.state == stateCompletingRebalance {
			// The member has this generation's JoinGroup answer but not
			// its assignment yet; it retries after syncing.
			return commitValidation{code: kerr.RebalanceInProgress.Code}
		}
		return commitValidation{accepted: func() { cg.heartbeat(m) }}
	}
	if transactional {
		return commitValidation{}
	}
	return commitValidation{code: kerr.UnknownMemberID.Code}
}
