package group

import (
	"fmt"
	"hash/fnv"
	"maps"
	"regexp"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// consumerGroup is a KIP-848 group: members heartbeat their subscription,
// the broker computes a target assignment whenever the group epoch moves,
// and each member is walked towards its target one heartbeat at a time,
// revoking before another member may take a partition.
type consumerGroup struct {
	g               *group
	epoch           int32 // bumped by every membership, subscription or metadata change
	assignmentEpoch int32 // the epoch the current target assignment was computed at
	assignor        string
	members         map[string]*consumerMember
	static          map[string]string         // group.instance.id -> member id
	owners          map[topicPartition]string // member holding a partition (assigned or being revoked)
	metaVersion     uint64                    // Topics.Version the subscription hash was taken at
	metaHash        uint64                    // hash of the subscribed topics' ids and sizes
	epochUnwritten  bool                      // the epoch record still needs writing
	// What persist (consumer_persist.go) last wrote of the group's state,
	// the epoch the replayed state record carried, and members removed
	// since the last write, whose records it tombstones.
	stateWritten []byte
	stateEpoch   int32
	removed      map[string]bool
}

func newConsumerGroup(g *group) *consumerGroup {
	return &consumerGroup{
		g:       g,
		members: make(map[string]*consumerMember),
		static:  make(map[string]string),
		owners:  make(map[topicPartition]string),
		removed: make(map[string]bool),
	}
}

func (cg *consumerGroup) stop() {
	for _, m := range cg.members {
		m.session.stop()
		m.rebalance.stop()
	}
}

// stateName is Kafka's ConsumerGroupState.
func (cg *consumerGroup) stateName() string {
	switch {
	case len(cg.members) == 0:
		return "Empty"
	case cg.assignmentEpoch != cg.epoch:
		return "Assigning"
	}
	for _, m := range cg.members {
		if !m.left && (m.state != memberStable || m.epoch != cg.assignmentEpoch) {
			return "Reconciling"
		}
	}
	return "Stable"
}

// ConsumerGroupHeartbeat handles one KIP-848 heartbeat: a join (epoch 0), a
// leave (-1), a static member's temporary leave (-2) or a regular beat.
func (c *Coordinator) ConsumerGroupHeartbeat(cl Client, req *kmsg.ConsumerGroupHeartbeatRequest) *kmsg.ConsumerGroupHeartbeatResponse {
	resp := req.ResponseKind().(*kmsg.ConsumerGroupHeartbeatResponse)
	resp.HeartbeatIntervalMillis = int32(c.cfg.ConsumerHeartbeatInterval / time.Millisecond)
	fail := func(code int16, format string, args ...any) *kmsg.ConsumerGroupHeartbeatResponse {
		resp.ErrorCode = code
		if format != "" {
			msg := fmt.Sprintf(format, args...)
			resp.ErrorMessage = &msg
		}
		return resp
	}
	if c.closed {
		return fail(kerr.NotCoordinator.Code, "")
	}
	if code, msg := c.checkHeartbeat(req); code != 0 {
		return fail(code, "%s", msg)
	}
	g := c.groups[req.Group]
	created := g == nil
	if created {
		if req.MemberEpoch != 0 {
			return fail(kerr.UnknownMemberID.Code, "")
		}
		g = &group{c: c, name: req.Group}
		g.consumer = newConsumerGroup(g)
		c.groups[req.Group] = g
		// Once its members leave, a group that never committed is
		// removed only by an expiry sweep.
		c.armExpiry()
	}
	if g.classic != nil {
		// Only a join converts an empty classic group, as Kafka creates
		// a consumer group only for member epoch 0: a stray heartbeat
		// must not change the group's type.
		if !g.empty() || req.MemberEpoch != 0 {
			return fail(kerr.GroupIDNotFound.Code, "Group %s is not a consumer group.", req.Group)
		}
		g.toConsumer()
	}
	cg := g.consumer
	switch req.MemberEpoch {
	case 0:
		cg.join(cl, req, resp)
	case -1:
		cg.leave(req, resp)
	case -2:
		cg.staticLeave(req, resp)
	default:
		cg.beat(req, resp)
	}
	if err := cg.persist(); err != nil && resp.ErrorCode == 0 {
		// What the answer rests on was not stored: the member must not
		// act on it (it retries, and a restart would not know it).
		return fail(kerr.CoordinatorNotAvailable.Code, "")
	}
	if created && resp.ErrorCode != 0 {
		delete(c.groups, req.Group) // the first request was refused
	}
	return resp
}

// checkHeartbeat is Kafka's request validation before any group state is
// looked at.
func (c *Coordinator) checkHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest) (int16, string) {
	switch {
	case req.Group == "":
		return kerr.InvalidGroupID.Code, "GroupId can't be empty."
	case req.Version >= 1 && req.MemberID == "":
		return kerr.InvalidRequest.Code, "MemberId can't be empty."
	case req.MemberEpoch < -2:
		return kerr.InvalidRequest.Code, fmt.Sprintf("MemberEpoch %d is invalid.", req.MemberEpoch)
	case req.ServerAssignor != nil && !slices.Contains(c.cfg.ConsumerAssignors, *req.ServerAssignor):
		return kerr.UnsupportedAssignor.Code, fmt.Sprintf("ServerAssignor %s is not supported. Supported assignors: %v.", *req.ServerAssignor, c.cfg.ConsumerAssignors)
	}
	if req.MemberEpoch == 0 {
		switch {
		case req.RebalanceTimeoutMillis == -1:
			return kerr.InvalidRequest.Code, "RebalanceTimeoutMs must be provided in first request."
		case req.SubscribedTopicNames == nil && req.SubscribedTopicRegex == nil:
			// An empty list is a subscription (a regex consumer joining
			// before any topic matches); only both null is refused.
			return kerr.InvalidRequest.Code, "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining."
		case req.Topics == nil || len(req.Topics) > 0:
			return kerr.InvalidRequest.Code, "TopicPartitions must be empty when (re-)joining."
		}
	}
	if req.SubscribedTopicRegex != nil {
		if _, err := compileSubscription(*req.SubscribedTopicRegex); err != nil {
			return kerr.InvalidRegularExpression.Code, err.Error()
		}
	}
	return 0, ""
}

// compileSubscription compiles a KIP-848 regex, which must match a whole
// topic name (Kafka uses RE2J's matches()).
func compileSubscription(expr string) (*regexp.Regexp, error) {
	re, err := regexp.Compile("^(?:" + expr + ")$")
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", expr, err)
	}
	return re, nil
}

// join admits a member (epoch 0). A static member whose instance id left
// with epoch -2 takes over its predecessor's partitions without changing
// the group epoch.
func (cg *consumerGroup) join(cl Client, req *kmsg.ConsumerGroupHeartbeatRequest, resp *kmsg.ConsumerGroupHeartbeatResponse) {
	c := cg.g.c
	id := req.MemberID
	if id == "" {
		id = newMemberID(cl.ID) // v0: the coordinator names the member
	}
	var inherit *consumerMember
	if req.InstanceID != nil {
		if oldID, ok := cg.static[*req.InstanceID]; ok {
			if old := cg.members[oldID]; old != nil {
				if !old.left && oldID != id {
					resp.ErrorCode = kerr.UnreleasedInstanceID.Code
					msg := fmt.Sprintf("Static member %s with instance id %s is still active.", oldID, *req.InstanceID)
					resp.ErrorMessage = &msg
					return
				}
				if old.left {
					inherit = old
				}
			}
		}
	}
	prev := cg.members[id]
	if prev != nil && prev != inherit {
		// A member rejoining with epoch 0 gave up everything it owned.
		cg.removeMember(prev)
		cg.bumpEpoch()
	}
	if inherit == nil && len(cg.members) >= c.cfg.MaxSize {
		resp.ErrorCode = kerr.GroupMaxSizeReached.Code
		return
	}
	m := &consumerMember{
		id: id, instanceID: req.InstanceID, rackID: req.RackID,
		clientID: cl.ID, clientHost: cl.Host,
		rebalanceTimeout: time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond,
		assigned:         make(assignment),
		revoking:         make(assignment),
		target:           make(assignment),
	}
	cg.setSubscription(m, req)
	if inherit != nil {
		cg.release(inherit)
		inherit.session.stop()
		inherit.rebalance.stop()
		delete(cg.members, inherit.id)
		cg.removed[inherit.id] = true
		m.assigned, m.target, m.assignedAt = inherit.assigned, inherit.target, inherit.assignedAt
		m.epoch, m.prevEpoch = inherit.prevEpoch, inherit.prevEpoch
		if !slices.Equal(inherit.topics, m.topics) || inherit.regexSource != m.regexSource {
			cg.bumpEpoch()
		}
	} else {
		cg.bumpEpoch()
	}
	cg.members[id] = m
	m.dirty = true
	cg.claim(m)
	if m.instanceID != nil {
		cg.static[*m.instanceID] = id
	}
	cg.updateTarget()
	cg.reconcile(m, assignment{}, false)
	cg.heartbeat(m)
	resp.MemberID = &id
	resp.MemberEpoch = m.epoch
	resp.Assignment = m.assigned.heartbeatAssignment()
	c.log.Info("consumer group member joined", "group", cg.g.name, "member", id, "epoch", m.epoch, "group_epoch", cg.epoch)
}

func (cg *consumerGroup) setSubscription(m *consumerMember, req *kmsg.ConsumerGroupHeartbeatRequest) (changed bool) {
	if req.SubscribedTopicNames != nil {
		topics := slices.Clone(req.SubscribedTopicNames)
		slices.Sort(topics)
		topics = slices.Compact(topics)
		if !slices.Equal(topics, m.topics) {
			m.topics, changed = topics, true
		}
	}
	if req.SubscribedTopicRegex != nil && *req.SubscribedTopicRegex != m.regexSource {
		if *req.SubscribedTopicRegex == "" {
			m.regex, m.regexSource = nil, ""
		} else {
			m.regex, _ = compileSubscription(*req.SubscribedTopicRegex)
			m.regexSource = *req.SubscribedTopicRegex
		}
		changed = true
	}
	if req.ServerAssignor != nil && *req.ServerAssignor != m.assignor {
		m.assignor, changed = *req.ServerAssignor, true
	}
	if d := time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond; d > 0 && d != m.rebalanceTimeout {
		m.rebalanceTimeout = d
		m.dirty = true
	}
	if req.RackID != nil && (m.rackID == nil || *m.rackID != *req.RackID) {
		m.rackID = req.RackID
		m.dirty = true
	}
	m.dirty = m.dirty || changed
	return changed
}

// leave removes a member for good (epoch -1).
func (cg *consumerGroup) leave(req *kmsg.ConsumerGroupHeartbeatRequest, resp *kmsg.ConsumerGroupHeartbeatResponse) {
	m := cg.members[req.MemberID]
	if m == nil {
		resp.ErrorCode = kerr.UnknownMemberID.Code
		return
	}
	cg.g.c.log.Info("consumer group member left", "group", cg.g.name, "member", m.id)
	cg.removeMember(m)
	cg.bumpEpoch()
	id := m.id
	resp.MemberID = &id
	resp.MemberEpoch = -1
}

// staticLeave parks a static member (epoch -2): it keeps its partitions,
// and the group its epoch, until it rejoins or its session runs out. The
// request need not repeat the instance id (franz-go leaves without it);
// the member's own is used, and a dynamic member simply leaves.
func (cg *consumerGroup) staticLeave(req *kmsg.ConsumerGroupHeartbeatRequest, resp *kmsg.ConsumerGroupHeartbeatResponse) {
	m := cg.members[req.MemberID]
	if m == nil {
		resp.ErrorCode = kerr.UnknownMemberID.Code
		return
	}
	if m.instanceID == nil {
		cg.leave(req, resp)
		return
	}
	m.rebalance.stop()
	cg.release(m)
	m.revoking = make(assignment)
	m.left = true
	m.prevEpoch = m.epoch
	m.epoch = -2
	m.dirty = true
	cg.claim(m)
	cg.heartbeat(m)
	id := m.id
	resp.MemberID = &id
	resp.MemberEpoch = -2
}

// beat is a regular heartbeat (epoch > 0).
func (cg *consumerGroup) beat(req *kmsg.ConsumerGroupHeartbeatRequest, resp *kmsg.ConsumerGroupHeartbeatResponse) {
	m := cg.members[req.MemberID]
	if m == nil {
		if req.InstanceID != nil && cg.static[*req.InstanceID] != "" {
			resp.ErrorCode = kerr.FencedInstanceID.Code
			return
		}
		resp.ErrorCode = kerr.UnknownMemberID.Code
		return
	}
	owned := assignmentFromRequest(req.Topics)
	switch {
	case m.left || req.MemberEpoch > m.epoch:
		resp.ErrorCode = kerr.FencedMemberEpoch.Code
		return
	case req.MemberEpoch < m.epoch:
		// The response that moved the member to its new epoch may have
		// been lost: the previous epoch is fine if the member owns
		// nothing it should not.
		if req.MemberEpoch != m.prevEpoch || owned == nil || !owned.subsetOf(m.assigned) {
			resp.ErrorCode = kerr.FencedMemberEpoch.Code
			return
		}
	}
	full := req.RebalanceTimeoutMillis != -1 && (req.SubscribedTopicNames != nil || req.SubscribedTopicRegex != nil) && req.Topics != nil
	changedSub := cg.setSubscription(m, req)
	if changedSub {
		cg.bumpEpoch()
	}
	cg.updateTarget()
	before := m.assigned
	cg.reconcile(m, owned, changedSub)
	cg.heartbeat(m)
	id := m.id
	resp.MemberID = &id
	resp.MemberEpoch = m.epoch
	if full || !before.equal(m.assigned) {
		resp.Assignment = m.assigned.heartbeatAssignment()
	}
}

// removeMember drops a member and frees what it held.
func (cg *consumerGroup) removeMember(m *consumerMember) {
	m.session.stop()
	m.rebalance.stop()
	cg.release(m)
	delete(cg.members, m.id)
	cg.removed[m.id] = true
	if m.instanceID != nil && cg.static[*m.instanceID] == m.id {
		delete(cg.static, *m.instanceID)
	}
}

// fence removes a member that missed its session or revocation deadline.
func (cg *consumerGroup) fence(m *consumerMember, why string) {
	if cg.members[m.id] != m || cg.g.consumer != cg || cg.g.c.groups[cg.g.name] != cg.g {
		return
	}
	cg.g.c.log.Info("consumer group member fenced", "group", cg.g.name, "member", m.id, "reason", why)
	cg.removeMember(m)
	cg.bumpEpoch()
	cg.persist() // a failure is logged; the next heartbeat writes it again
}

func (cg *consumerGroup) heartbeat(m *consumerMember) {
	m.session.stop()
	m.session = cg.g.c.after(cg.g.c.cfg.ConsumerSessionTimeout, func() { cg.fence(m, "session timeout") })
}

func (cg *consumerGroup) bumpEpoch() {
	cg.epoch++
	cg.epochUnwritten = true
}

// release frees every partition m holds.
func (cg *consumerGroup) release(m *consumerMember) {
	for _, a := range []assignment{m.assigned, m.revoking} {
		a.each(func(id [16]byte, p int32) {
			tp := topicPartition{id, p}
			if cg.owners[tp] == m.id {
				delete(cg.owners, tp)
			}
		})
	}
}

// claim records m as the holder of what it owns.
func (cg *consumerGroup) claim(m *consumerMember) {
	for _, a := range []assignment{m.assigned, m.revoking} {
		a.each(func(id [16]byte, p int32) {
			tp := topicPartition{id, p}
			if o := cg.owners[tp]; o != "" && o != m.id {
				cg.g.c.log.Error("consumer group partition claimed twice", "group", cg.g.name, "partition", p, "owner", o, "claimant", m.id)
				return
			}
			cg.owners[tp] = m.id
		})
	}
}

// resolvedTopics returns the existing topics m subscribes to.
func (cg *consumerGroup) resolvedTopics(m *consumerMember) map[string]bool {
	topics := cg.g.c.topics
	out := make(map[string]bool, len(m.topics))
	for _, t := range m.topics {
		if _, _, ok := topics.Lookup(t); ok {
			out[t] = true
		}
	}
	if m.regex != nil {
		for _, t := range topics.Names() {
			if m.regex.MatchString(t) {
				out[t] = true
			}
		}
	}
	return out
}

// subscribedTopics is the union of every member's subscription.
func (cg *consumerGroup) subscribedTopics() map[string]bool {
	out := make(map[string]bool)
	for _, m := range cg.members {
		maps.Copy(out, cg.resolvedTopics(m))
	}
	return out
}

// metadataHash fingerprints the subscribed topics (names, ids, partition
// counts), so a created, deleted or grown topic moves the group epoch.
func (cg *consumerGroup) metadataHash() uint64 {
	h := fnv.New64a()
	topics := cg.g.c.topics
	for _, name := range slices.Sorted(maps.Keys(cg.subscribedTopics())) {
		id, n, _ := topics.Lookup(name)
		fmt.Fprintf(h, "%s\x00%x\x00%d\x00", name, id, n)
	}
	return h.Sum64()
}

// updateTarget recomputes the target assignment when the group epoch moved
// past it, first bumping the epoch if subscribed topics changed.
func (cg *consumerGroup) updateTarget() {
	topics := cg.g.c.topics
	if v := topics.Version(); v != cg.metaVersion {
		cg.metaVersion = v
		// Only a target that is otherwise current can go stale this way;
		// one about to be recomputed takes the new metadata anyway.
		if cg.assignmentEpoch == cg.epoch && len(cg.members) > 0 && cg.metadataHash() != cg.metaHash {
			cg.bumpEpoch()
		}
	}
	if cg.assignmentEpoch == cg.epoch {
		return
	}
	cg.metaHash = cg.metadataHash()
	cg.assignor = cg.preferredAssignor()
	ids := slices.Sorted(maps.Keys(cg.members))
	members := make([]assignorMember, 0, len(ids))
	names := make(map[string]bool)
	for _, id := range ids {
		m := cg.members[id]
		subs := cg.resolvedTopics(m)
		maps.Copy(names, subs)
		members = append(members, assignorMember{id: id, instanceID: m.instanceID, topics: subs, current: m.target})
	}
	var ts []assignorTopic
	for _, name := range slices.Sorted(maps.Keys(names)) {
		id, n, _ := topics.Lookup(name)
		ts = append(ts, assignorTopic{name: name, id: id, partitions: n})
	}
	targets := assignorByName(cg.assignor)(members, ts)
	for _, id := range ids {
		m := cg.members[id]
		if !m.target.equal(targets[id]) {
			m.target, m.dirty = targets[id], true
		}
	}
	cg.assignmentEpoch = cg.epoch
}

// preferredAssignor is the assignor most members ask for, else the
// configured default.
func (cg *consumerGroup) preferredAssignor() string {
	cfg := cg.g.c.cfg.ConsumerAssignors
	votes := make(map[string]int)
	for _, m := range cg.members {
		if m.assignor != "" {
			votes[m.assignor]++
		}
	}
	best, n := cfg[0], 0
	for _, name := range cfg {
		if votes[name] > n {
			best, n = name, votes[name]
		}
	}
	return best
}

// reconcile moves m one step towards its target (Kafka's
// CurrentAssignmentBuilder). owned is what the member reports owning; nil
// means it did not say, which counts as still owning everything.
func (cg *consumerGroup) reconcile(m *consumerMember, owned assignment, subscriptionChanged bool) {
	if m.left {
		return
	}
	switch m.state {
	case memberStable:
		if m.epoch != cg.assignmentEpoch {
			cg.nextAssignment(m, m.epoch, owned)
		} else if subscriptionChanged {
			cg.dropUnsubscribed(m, owned)
		}
	case memberUnrevoked:
		if owned == nil || m.revoking.overlaps(owned) {
			if subscriptionChanged {
				cg.dropUnsubscribed(m, owned)
			}
			return
		}
		cg.nextAssignment(m, min(m.epoch+1, cg.assignmentEpoch), owned)
	case memberUnreleased:
		cg.nextAssignment(m, m.epoch, owned)
	}
}

// nextAssignment computes the member's next state: keep what is in both
// its assignment and its target, revoke the rest first, and only then take
// target partitions no other member holds.
func (cg *consumerGroup) nextAssignment(m *consumerMember, epoch int32, owned assignment) {
	keep, revoke, add := make(assignment), make(assignment), make(assignment)
	unreleased := false
	m.assigned.each(func(id [16]byte, p int32) {
		if m.target.has(id, p) {
			keep.add(id, p)
		} else {
			revoke.add(id, p)
		}
	})
	m.target.each(func(id [16]byte, p int32) {
		if m.assigned.has(id, p) {
			return
		}
		if o := cg.owners[topicPartition{id, p}]; o == "" || o == m.id {
			add.add(id, p)
		} else {
			unreleased = true
		}
	})
	cg.release(m)
	m.dirty = true
	m.prevEpoch = m.epoch
	switch {
	case len(revoke) > 0 && (owned == nil || revoke.overlaps(owned)):
		m.state = memberUnrevoked
		m.epoch = epoch
		m.assigned, m.revoking = keep, revoke
		cg.armRebalance(m)
	default:
		m.state = memberStable
		if unreleased {
			m.state = memberUnreleased
		}
		m.epoch = cg.assignmentEpoch
		add.each(keep.add)
		m.assigned, m.revoking = keep, make(assignment)
		m.rebalance.stop()
	}
	cg.claim(m)
	m.noteAssigned()
}

// dropUnsubscribed revokes the partitions of topics a member no longer
// subscribes to, while it is otherwise waiting.
func (cg *consumerGroup) dropUnsubscribed(m *consumerMember, owned assignment) {
	subs := cg.resolvedTopics(m)
	topics := cg.g.c.topics
	keep, revoke := make(assignment), m.revoking.clone()
	m.assigned.each(func(id [16]byte, p int32) {
		if name, ok := topics.Name(id); ok && subs[name] {
			keep.add(id, p)
		} else {
			revoke.add(id, p)
		}
	})
	if keep.count() == m.assigned.count() {
		return
	}
	cg.release(m)
	m.dirty = true
	m.assigned = keep
	m.revoking = make(assignment)
	if owned == nil || revoke.overlaps(owned) {
		m.revoking = revoke
		m.state = memberUnrevoked
		cg.armRebalance(m)
	}
	cg.claim(m)
	m.noteAssigned()
}

// armRebalance gives a member its rebalance timeout to confirm a
// revocation; past it the member is fenced so its partitions can move.
func (cg *consumerGroup) armRebalance(m *consumerMember) {
	m.rebalance.stop()
	epoch := m.epoch
	m.rebalance = cg.g.c.after(m.rebalanceTimeout, func() {
		if m.state == memberUnrevoked && m.epoch == epoch {
			cg.fence(m, "rebalance timeout")
		}
	})
}

// validateCommit is the KIP-848 OffsetCommit check, with KIP-1251's
// relaxation: an older member epoch is accepted for partitions the member
// already owned at that epoch.
func (cg *consumerGroup) validateCommit(req *kmsg.OffsetCommitRequest) commitValidation {
	return cg.checkCommit(req.Version, req.Generation, req.MemberID, nil, false)
}

// checkCommit is Kafka's ConsumerGroup.validateOffsetCommit for OffsetCommit
// and, transactional, for TxnOffsetCommit, which may name no member at all
// (epoch -1, no member or instance id) and has no minimum version.
func (cg *consumerGroup) checkCommit(version int16, epoch int32, memberID string, instanceID *string, transactional bool) commitValidation {
	if epoch < 0 && len(cg.members) == 0 {
		return commitValidation{}
	}
	if transactional && epoch == -1 && memberID == "" && instanceID == nil {
		return commitValidation{}
	}
	m := cg.members[memberID]
	switch {
	case m == nil || m.left:
		return commitValidation{code: kerr.UnknownMemberID.Code}
	case !transactional && version < 9:
		return commitValidation{code: kerr.UnsupportedVersion.Code}
	case epoch > m.epoch:
		return commitValidation{code: kerr.StaleMemberEpoch.Code}
	case epoch == m.epoch:
		return commitValidation{}
	}
	topics := cg.g.c.topics
	return commitValidation{partition: func(topic string, p int32) int16 {
		id, _, _ := topics.Lookup(topic)
		if at, ok := m.assignedAt[topicPartition{id, p}]; ok && epoch >= at {
			return 0
		}
		return kerr.StaleMemberEpoch.Code
	}}
}

// validateFetch is the OffsetFetch v9+ member check.
func (cg *consumerGroup) validateFetch(rg *kmsg.OffsetFetchRequestGroup) int16 {
	if rg.MemberID == nil {
		return kerr.UnknownMemberID.Code
	}
	m := cg.members[*rg.MemberID]
	switch {
	case m == nil || m.left:
		return kerr.UnknownMemberID.Code
	case rg.MemberEpoch != m.epoch:
		return kerr.StaleMemberEpoch.Code
	}
	return 0
}

// ConsumerGroupDescribe describes one KIP-848 group.
func (c *Coordinator) ConsumerGroupDescribe(name string) kmsg.ConsumerGroupDescribeResponseGroup {
	out := kmsg.NewConsumerGroupDescribeResponseGroup()
	out.Group = name
	g := c.groups[name]
	switch {
	case c.closed:
		out.ErrorCode = kerr.NotCoordinator.Code
		return out
	case g == nil:
		out.ErrorCode = kerr.GroupIDNotFound.Code
		msg := fmt.Sprintf("Group %s not found.", name)
		out.ErrorMessage = &msg
		return out
	case g.consumer == nil:
		out.ErrorCode = kerr.GroupIDNotFound.Code
		msg := fmt.Sprintf("Group %s is not a consumer group.", name)
		out.ErrorMessage = &msg
		return out
	}
	cg := g.consumer
	out.State = cg.stateName()
	out.Epoch = cg.epoch
	out.AssignmentEpoch = cg.assignmentEpoch
	out.AssignorName = cg.assignor
	if out.AssignorName == "" {
		out.AssignorName = cg.preferredAssignor()
	}
	for _, id := range slices.Sorted(maps.Keys(cg.members)) {
		m := cg.members[id]
		dm := kmsg.NewConsumerGroupDescribeResponseGroupMember()
		dm.MemberID, dm.InstanceID, dm.RackID = m.id, m.instanceID, m.rackID
		dm.MemberEpoch = m.epoch
		dm.ClientID, dm.ClientHost = m.clientID, m.clientHost
		dm.SubscribedTopics = slices.Clone(m.topics)
		if dm.SubscribedTopics == nil {
			dm.SubscribedTopics = []string{}
		}
		if m.regex != nil {
			re := m.regexSource
			dm.SubscribedTopicRegex = &re
		}
		dm.Assignment = m.assigned.describeAssignment(c.topics)
		dm.TargetAssignment = m.target.describeAssignment(c.topics)
		dm.MemberType = 1 // a consumer-protocol member
		out.Members = append(out.Members, dm)
	}
	return out
}

// describeClassic answers DescribeGroups for a KIP-848 group in the classic
// shape tools read: consumer protocol type, subscriptions and assignments
// encoded as the classic consumer protocol encodes them.
func (cg *consumerGroup) describeClassic(out *kmsg.DescribeGroupsResponseGroup) {
	out.State = cg.stateName()
	out.ProtocolType = typeConsumer
	out.Protocol = cg.assignor
	topics := cg.g.c.topics
	for _, id := range slices.Sorted(maps.Keys(cg.members)) {
		m := cg.members[id]
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID, dm.InstanceID, dm.ClientID, dm.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
		md := kmsg.NewConsumerMemberMetadata()
		md.Topics = slices.Sorted(maps.Keys(cg.resolvedTopics(m)))
		dm.ProtocolMetadata = md.AppendTo(nil)
		ma := kmsg.NewConsumerMemberAssignment()
		for _, tid := range sortedIDs(m.assigned) {
			name, ok := topics.Name(tid)
			if !ok {
				continue
			}
			t := kmsg.NewConsumerMemberAssignmentTopic()
			t.Topic = name
			t.Partitions = slices.Clone(m.assigned[tid])
			ma.Topics = append(ma.Topics, t)
		}
		dm.MemberAssignment = ma.AppendTo(nil)
		out.Members = append(out.Members, dm)
	}
}
