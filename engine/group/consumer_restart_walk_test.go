package group

import (
	"flag"
	"fmt"
	"maps"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Random walks over a KIP-848 group: dynamic and static members joining,
// rejoining, leaving, heartbeating (confirming or ignoring revocations,
// losing responses), changing their subscriptions, topics coming, going
// and growing, time passing past session and rebalance timeouts, offset
// commits and deletions, and coordinator restarts (over the whole log or a
// compacted one) at random points. At each restart the group's whole state
// must come back as it was; some restarts also run the next steps on the
// restarted coordinator and on the one it replaced, which must answer
// alike. Invariants are checked after every step.
//
//	go test ./engine/group -run ConsumerRestartWalk -walk.seeds 2000
//	go test ./engine/group -run ConsumerRestartWalk -walk.seed 1234 -v
var (
	walkSeeds = flag.Int("walk.seeds", 128, "random walks of TestConsumerRestartWalk")
	walkSteps = flag.Int("walk.steps", 250, "steps of each random walk")
	walkSeed  = flag.Int64("walk.seed", 0, "run only this walk's seed")
)

func TestConsumerRestartWalk(t *testing.T) {
	seeds := make([]int64, 0, *walkSeeds)
	if *walkSeed != 0 {
		seeds = append(seeds, *walkSeed)
	} else {
		for i := range *walkSeeds {
			seeds = append(seeds, int64(i+1))
		}
	}
	for _, seed := range seeds {
		if !t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { runRestartWalk(t, seed, *walkSteps) }) {
			return // one failing walk is enough to read
		}
	}
}

var (
	walkMemberIDs = []string{"m0", "m1", "m2", "m3", "s0", "s1"}
	walkInstances = []string{"i0", "i1", "i2"}
	walkTopics    = []string{"t0", "t1", "t2", "logs-a", "logs-b", "x"}
	walkRegexes   = []string{"t.*", "logs-.*", "t[02]", "x|t1", ""}
)

// walkClient is a member's client as the walk models it: what it holds,
// and the last assignment it was sent and has not taken yet.
type walkClient struct {
	id      string
	inst    *string
	epoch   int32
	owned   assignment
	pending assignment
	joins   int
}

func (cl *walkClient) reset() {
	cl.epoch, cl.owned, cl.pending = 0, make(assignment), nil
}

type walker struct {
	t       *testing.T
	e       *env
	shadow  *env // a restarted copy run in lockstep with e, or nil
	rng     *rand.Rand
	seed    int64
	step    int
	clients map[string]*walkClient
	topicN  int
	trace   []string
}

func runRestartWalk(t *testing.T, seed int64, steps int) {
	w := &walker{t: t, e: newEnv(t), rng: rand.New(rand.NewSource(seed)), seed: seed, clients: make(map[string]*walkClient)}
	for _, id := range walkMemberIDs {
		w.clients[id] = &walkClient{id: id, owned: make(assignment)}
	}
	w.createTopic("t0")
	w.createTopic("t1")
	for w.step = 0; w.step < steps; w.step++ {
		w.randomStep()
		w.check()
		if t.Failed() {
			return
		}
	}
	// End with a restart of each kind.
	w.restart(false)
	w.restart(true)
}

func (w *walker) logf(format string, args ...any) {
	w.trace = append(w.trace, fmt.Sprintf("%3d ", w.step)+fmt.Sprintf(format, args...))
}

func (w *walker) fatalf(format string, args ...any) {
	w.t.Helper()
	tr := w.trace
	if len(tr) > 60 {
		tr = tr[len(tr)-60:]
	}
	w.t.Fatalf("seed %d step %d: %s\nlast steps:\n%s", w.seed, w.step, fmt.Sprintf(format, args...), strings.Join(tr, "\n"))
}

func (w *walker) pick(n int) int { return w.rng.Intn(n) }

func (w *walker) chance(p float64) bool { return w.rng.Float64() < p }

func (w *walker) randomStep() {
	switch r := w.pick(100); {
	case r < 12:
		w.join(false)
	case r < 20:
		w.join(true)
	case r < 24:
		w.leave(-1)
	case r < 28:
		w.leave(-2)
	case r < 58:
		w.beat(w.clients[walkMemberIDs[w.pick(len(walkMemberIDs))]], false)
	case r < 64:
		w.beat(w.clients[walkMemberIDs[w.pick(len(walkMemberIDs))]], true)
	case r < 70:
		w.topicChange()
	case r < 80:
		w.advance()
	case r < 82:
		w.deleteGroup()
	case r < 88:
		w.commit()
	case r < 92:
		w.restart(w.chance(0.5))
	default:
		w.lockstepRestart()
	}
}

// --- topics ---

func (w *walker) createTopic(name string) {
	w.topicN++
	id := [16]byte{0xbb, byte(w.topicN >> 8), byte(w.topicN)} // unique, unlike fakeTopics.add after a deletion
	w.e.topics.topics[name] = fakeTopic{id, int32(1 + w.pick(4))}
	w.e.topics.version++
}

func (w *walker) topicChange() {
	name := walkTopics[w.pick(len(walkTopics))]
	tp, ok := w.e.topics.topics[name]
	switch {
	case !ok:
		w.createTopic(name)
		w.logf("create topic %s (%d partitions)", name, w.e.topics.topics[name].partitions)
	case w.chance(0.4):
		delete(w.e.topics.topics, name)
		w.e.topics.version++
		w.logf("delete topic %s", name)
	default:
		tp.partitions += int32(1 + w.pick(2))
		w.e.topics.topics[name] = tp
		w.e.topics.version++
		w.logf("grow topic %s to %d", name, tp.partitions)
	}
}

// --- heartbeats ---

type walkSub struct {
	names    []string
	regex    *string
	assignor *string
	rack     *string
	rebal    int32
}

func (w *walker) randomSub(join bool) *walkSub {
	s := &walkSub{rebal: []int32{1000, 3000, 5000, 20000}[w.pick(4)]}
	if !join && w.chance(0.3) {
		s.rebal = 0 // unchanged
	}
	if join || w.chance(0.7) {
		s.names = []string{}
		for _, n := range walkTopics {
			if w.chance(0.3) {
				s.names = append(s.names, n)
			}
		}
	}
	if w.chance(0.3) || s.names == nil {
		re := walkRegexes[w.pick(len(walkRegexes))]
		s.regex = &re
	}
	if w.chance(0.3) {
		a := []string{"uniform", "range"}[w.pick(2)]
		s.assignor = &a
	}
	if w.chance(0.3) {
		r := []string{"r0", "r1"}[w.pick(2)]
		s.rack = &r
	}
	return s
}

func (s *walkSub) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "names=%v", s.names)
	if s.regex != nil {
		fmt.Fprintf(&b, " regex=%q", *s.regex)
	}
	if s.assignor != nil {
		fmt.Fprintf(&b, " assignor=%s", *s.assignor)
	}
	if s.rack != nil {
		fmt.Fprintf(&b, " rack=%s", *s.rack)
	}
	fmt.Fprintf(&b, " rebalance=%d", s.rebal)
	return b.String()
}

func reqTopics(a assignment) []kmsg.ConsumerGroupHeartbeatRequestTopic {
	out := []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	for _, id := range sortedIDs(a) {
		out = append(out, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: id, Partitions: slices.Clone(a[id])})
	}
	return out
}

// heartbeat sends one request for cl (to the shadow too, comparing the
// answers); owned nil is a keep-alive that reports nothing.
func (w *walker) heartbeat(cl *walkClient, inst *string, epoch int32, s *walkSub, owned assignment) *kmsg.ConsumerGroupHeartbeatResponse {
	w.t.Helper()
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version = 1
	req.Group, req.MemberID, req.MemberEpoch, req.InstanceID = "g", cl.id, epoch, inst
	req.RebalanceTimeoutMillis = -1
	if s != nil {
		req.SubscribedTopicNames, req.SubscribedTopicRegex = s.names, s.regex
		req.ServerAssignor, req.RackID = s.assignor, s.rack
		if s.rebal > 0 {
			req.RebalanceTimeoutMillis = s.rebal
		}
	}
	if owned != nil {
		req.Topics = reqTopics(owned)
	}
	client := Client{ID: fmt.Sprintf("client-%s-%d", cl.id, cl.joins), Host: fmt.Sprintf("/10.0.0.%d", cl.joins%3)}
	resp := w.e.c.ConsumerGroupHeartbeat(client, req)
	if w.shadow != nil {
		if r2 := w.shadow.c.ConsumerGroupHeartbeat(client, req); !reflect.DeepEqual(resp, r2) {
			w.fatalf("restarted coordinator answers %s's heartbeat\n%+v\nthe one it replaced\n%+v", cl.id, r2, resp)
		}
	}
	return resp
}

func fromResponse(a *kmsg.ConsumerGroupHeartbeatResponseAssignment) assignment {
	out := make(assignment)
	for _, t := range a.Topics {
		for _, p := range t.Partitions {
			out.add(t.TopicID, p)
		}
	}
	return out
}

// answered takes a response in: an error that means the member is gone
// makes the client start over.
func (w *walker) answered(cl *walkClient, resp *kmsg.ConsumerGroupHeartbeatResponse) {
	switch resp.ErrorCode {
	case 0:
		cl.epoch = resp.MemberEpoch
		if resp.Assignment != nil {
			cl.pending = fromResponse(resp.Assignment)
		}
	case kerr.UnknownMemberID.Code, kerr.FencedMemberEpoch.Code, kerr.FencedInstanceID.Code:
		cl.reset()
	}
}

func (w *walker) join(static bool) {
	cl := w.clients[walkMemberIDs[w.pick(len(walkMemberIDs))]]
	var inst *string
	if static {
		i := walkInstances[w.pick(len(walkInstances))]
		inst = &i
	}
	s := w.randomSub(true)
	cl.joins++
	resp := w.heartbeat(cl, inst, 0, s, assignment{})
	w.logf("join %s inst=%v %s: %v epoch %d", cl.id, deref(inst), s, kerr.ErrorForCode(resp.ErrorCode), resp.MemberEpoch)
	if resp.ErrorCode == 0 {
		cl.reset() // a join gives up whatever the client held
		cl.inst = inst
		w.answered(cl, resp)
	}
}

func (w *walker) leave(epoch int32) {
	cl := w.clients[walkMemberIDs[w.pick(len(walkMemberIDs))]]
	resp := w.heartbeat(cl, cl.inst, epoch, nil, nil)
	w.logf("leave %s (%d): %v", cl.id, epoch, kerr.ErrorForCode(resp.ErrorCode))
	cl.reset()
}

// beat is a regular heartbeat of one of several kinds; sub also changes
// the member's subscription.
func (w *walker) beat(cl *walkClient, sub bool) {
	if cl.epoch <= 0 && !w.chance(0.1) {
		return // a client not in the group; now and then it tries anyway
	}
	epoch := cl.epoch
	var s *walkSub
	if sub {
		s = w.changedSub(cl)
	}
	kind := w.pick(10)
	var owned assignment
	lost := false
	switch {
	case kind < 5: // confirms: takes its last assignment, reports it
		if cl.pending != nil {
			cl.owned, cl.pending = cl.pending, nil
		}
		owned = cl.owned
	case kind < 7: // ignores its last assignment, reports what it holds
		owned = cl.owned
	case kind < 9: // keep-alive
		if s != nil {
			owned = cl.owned
		}
	default: // the answer is lost; the client will send what it holds again
		owned, lost = cl.owned, true
	}
	if w.chance(0.05) {
		epoch-- // an answer lost before
	}
	if s == nil && owned != nil && w.chance(0.5) {
		s = &walkSub{names: w.currentNames(cl), rebal: 5000} // a full request with the same subscription
		if s.names == nil {
			re := ""
			s.names, s.regex = []string{}, &re
		}
	}
	resp := w.heartbeat(cl, cl.inst, epoch, s, owned)
	desc := "keep-alive"
	if owned != nil {
		desc = fmt.Sprintf("owned %v", owned)
	}
	if s != nil {
		desc += " " + s.String()
	}
	w.logf("beat %s epoch %d %s lost=%v: %v epoch %d assignment %v", cl.id, epoch, desc, lost, kerr.ErrorForCode(resp.ErrorCode), resp.MemberEpoch, resp.Assignment != nil)
	if lost {
		cl.pending = nil // it resends a full request, answered with the assignment
		return
	}
	w.answered(cl, resp)
}

// changedSub is the member's subscription with one or two things changed
// (or, now and then, a new one altogether).
func (w *walker) changedSub(cl *walkClient) *walkSub {
	if w.chance(0.2) {
		return w.randomSub(false)
	}
	s := &walkSub{names: w.currentNames(cl)}
	if s.names == nil {
		s.names = []string{}
	}
	for range 1 + w.pick(2) {
		switch w.pick(5) {
		case 0:
			n := walkTopics[w.pick(len(walkTopics))]
			if i := slices.Index(s.names, n); i >= 0 {
				s.names = slices.Delete(s.names, i, i+1)
			} else {
				s.names = append(s.names, n)
			}
		case 1:
			re := walkRegexes[w.pick(len(walkRegexes))]
			s.regex = &re
		case 2:
			a := []string{"uniform", "range"}[w.pick(2)]
			s.assignor = &a
		case 3:
			r := []string{"r0", "r1", "r2"}[w.pick(3)]
			s.rack = &r
		default:
			s.rebal = []int32{1000, 3000, 5000, 20000}[w.pick(4)]
		}
	}
	return s
}

// currentNames is the member's subscribed names as the coordinator has
// them, for a full request that changes nothing.
func (w *walker) currentNames(cl *walkClient) []string {
	if cg := w.group(w.e.c); cg != nil {
		if m := cg.members[cl.id]; m != nil {
			return slices.Clone(m.topics)
		}
	}
	return nil
}

// --- time, deletion, commits ---

func (w *walker) advance() {
	d := []time.Duration{300 * time.Millisecond, time.Second, 2500 * time.Millisecond, 6 * time.Second, 11 * time.Second, 70 * time.Second}[w.pick(6)]
	w.e.clock.advance(d)
	w.logf("advance %v", d)
}

func (w *walker) deleteGroup() {
	code := w.e.c.DeleteGroup("g")
	if w.shadow != nil {
		if c2 := w.shadow.c.DeleteGroup("g"); c2 != code {
			w.fatalf("restarted coordinator deletes the group with %v, the one it replaced %v", kerr.ErrorForCode(c2), kerr.ErrorForCode(code))
		}
	}
	w.logf("delete group: %v", kerr.ErrorForCode(code))
	switch code {
	case 0, kerr.NonEmptyGroup.Code, kerr.GroupIDNotFound.Code:
	default:
		w.fatalf("delete group: %v", kerr.ErrorForCode(code))
	}
}

func (w *walker) commit() {
	names := w.e.topics.Names()
	if len(names) == 0 {
		return
	}
	topic := names[w.pick(len(names))]
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version, req.Group, req.Generation = 9, "g", -1
	if w.chance(0.5) {
		cl := w.clients[walkMemberIDs[w.pick(len(walkMemberIDs))]]
		req.MemberID, req.Generation = cl.id, cl.epoch-int32(w.pick(2))
	}
	p := int32(w.pick(4))
	req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: topic, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: p, Offset: int64(w.step), LeaderEpoch: -1}}}}
	resp := w.e.c.OffsetCommit(req)
	if w.shadow != nil {
		if r2 := w.shadow.c.OffsetCommit(req); !reflect.DeepEqual(resp, r2) {
			w.fatalf("restarted coordinator answers a commit\n%+v\nthe one it replaced\n%+v", r2, resp)
		}
	}
	w.logf("commit %s/%d member %q generation %d: %v", topic, p, req.MemberID, req.Generation, kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode))
}

// --- restarts ---

func (w *walker) restart(compacted bool) {
	before := dumpWalkGroup(w.e.c)
	if compacted {
		w.e.reloadCompacted()
	} else {
		w.e.reload()
	}
	w.logf("restart (compacted %v)", compacted)
	if after := dumpWalkGroup(w.e.c); !reflect.DeepEqual(before, after) {
		w.fatalf("restart (compacted %v) changed the group:\n%s", compacted, diffDumps(before, after))
	}
	w.check()
}

// lockstepRestart restarts a copy of the coordinator from its log and runs
// the next few steps (no time passing) on both: they must answer alike
// and end alike. Then the copy carries on as the coordinator.
func (w *walker) lockstepRestart() {
	compacted := w.chance(0.5)
	f := &env{t: w.t, clock: &fakeClock{now: w.e.clock.now}, journal: &fakeJournal{recs: slices.Clone(w.e.journal.recs)}, topics: w.e.topics, cfg: w.e.cfg}
	f.c = New(f.cfg, f.clock, f.journal, f.topics)
	if compacted {
		f.reloadCompacted()
	} else {
		f.reload()
	}
	w.logf("lockstep restart (compacted %v)", compacted)
	if a, b := dumpWalkGroup(w.e.c), dumpWalkGroup(f.c); !reflect.DeepEqual(a, b) {
		w.fatalf("restart (compacted %v) changed the group:\n%s", compacted, diffDumps(a, b))
	}
	w.shadow = f
	for range 1 + w.pick(4) {
		w.step++
		switch r := w.pick(10); {
		case r < 2:
			w.join(w.chance(0.4))
		case r < 3:
			w.leave([]int32{-1, -2}[w.pick(2)])
		case r < 7:
			w.beat(w.clients[walkMemberIDs[w.pick(len(walkMemberIDs))]], w.chance(0.2))
		case r < 8:
			w.topicChange()
		case r < 9:
			w.commit()
		default:
			w.deleteGroup()
		}
		if a, b := dumpWalkGroup(w.e.c), dumpWalkGroup(f.c); !reflect.DeepEqual(a, b) {
			w.fatalf("after a restart the group went elsewhere:\n%s", diffDumps(a, b))
		}
		if w.t.Failed() {
			return
		}
	}
	w.shadow = nil
	w.e.c.Close()
	w.e.c, w.e.clock, w.e.journal = f.c, f.clock, f.journal
	w.check()
}

// --- state and invariants ---

func (w *walker) group(c *Coordinator) *consumerGroup {
	if g := c.groups["g"]; g != nil {
		return g.consumer
	}
	return nil
}

type walkMemberDump struct {
	ID, InstanceID, RackID, ClientID, ClientHost string
	RebalanceTimeout                             time.Duration
	Epoch, PrevEpoch                             int32
	State                                        memberState
	Left                                         bool
	Topics                                       []string
	RegexSource, Assignor                        string
	Assigned, Revoking, Target                   string
	AssignedAt                                   string
}

type walkGroupDump struct {
	Exists, Consumer       bool
	Epoch, AssignmentEpoch int32
	Assignor               string
	MetaHash               uint64
	Members                []walkMemberDump
	Owners, Static         map[string]string
	Offsets                map[string]string
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func fmtAssignment(a assignment) string {
	var b strings.Builder
	for _, id := range sortedIDs(a) {
		if len(a[id]) > 0 {
			fmt.Fprintf(&b, "%x:%v ", id[:3], a[id])
		}
	}
	return b.String()
}

func fmtTP(tp topicPartition) string { return fmt.Sprintf("%x/%d", tp.id[:3], tp.partition) }

func dumpWalkGroup(c *Coordinator) walkGroupDump {
	var d walkGroupDump
	g := c.groups["g"]
	if g == nil {
		return d
	}
	d.Exists = true
	d.Offsets = make(map[string]string)
	for topic, ps := range g.offsets {
		for p, cm := range ps {
			d.Offsets[fmt.Sprintf("%s/%d", topic, p)] = fmt.Sprintf("%d %d %q %d %x", cm.Offset, cm.LeaderEpoch, cm.Metadata, cm.CommitTime.UnixMilli(), cm.TopicID)
		}
	}
	cg := g.consumer
	if cg == nil {
		return d
	}
	d.Consumer = true
	d.Epoch, d.AssignmentEpoch, d.Assignor, d.MetaHash = cg.epoch, cg.assignmentEpoch, cg.assignor, cg.metaHash
	d.Owners, d.Static = make(map[string]string), maps.Clone(cg.static)
	for tp, id := range cg.owners {
		d.Owners[fmtTP(tp)] = id
	}
	for _, id := range slices.Sorted(maps.Keys(cg.members)) {
		m := cg.members[id]
		var at []string
		for tp, e := range m.assignedAt {
			at = append(at, fmt.Sprintf("%s@%d", fmtTP(tp), e))
		}
		slices.Sort(at)
		d.Members = append(d.Members, walkMemberDump{
			ID: m.id, InstanceID: deref(m.instanceID), RackID: deref(m.rackID),
			ClientID: m.clientID, ClientHost: m.clientHost, RebalanceTimeout: m.rebalanceTimeout,
			Epoch: m.epoch, PrevEpoch: m.prevEpoch, State: m.state, Left: m.left,
			Topics: append([]string{}, m.topics...), RegexSource: m.regexSource, Assignor: m.assignor,
			Assigned: fmtAssignment(m.assigned), Revoking: fmtAssignment(m.revoking), Target: fmtAssignment(m.target),
			AssignedAt: strings.Join(at, " "),
		})
	}
	return d
}

func diffDumps(before, after walkGroupDump) string {
	var b strings.Builder
	if before.Exists != after.Exists || before.Consumer != after.Consumer {
		fmt.Fprintf(&b, "exists %v consumer %v, was %v %v\n", after.Exists, after.Consumer, before.Exists, before.Consumer)
	}
	if before.Epoch != after.Epoch || before.AssignmentEpoch != after.AssignmentEpoch || before.Assignor != after.Assignor || before.MetaHash != after.MetaHash {
		fmt.Fprintf(&b, "epoch %d/%d assignor %q hash %x, was %d/%d %q %x\n", after.Epoch, after.AssignmentEpoch, after.Assignor, after.MetaHash, before.Epoch, before.AssignmentEpoch, before.Assignor, before.MetaHash)
	}
	bm, am := make(map[string]walkMemberDump), make(map[string]walkMemberDump)
	for _, m := range before.Members {
		bm[m.ID] = m
	}
	for _, m := range after.Members {
		am[m.ID] = m
	}
	for _, id := range slices.Sorted(maps.Keys(bm)) {
		if x, ok := am[id]; !ok {
			fmt.Fprintf(&b, "member %s lost: %+v\n", id, bm[id])
		} else if !reflect.DeepEqual(x, bm[id]) {
			fmt.Fprintf(&b, "member %s\n  now %+v\n  was %+v\n", id, x, bm[id])
		}
	}
	for id, m := range am {
		if _, ok := bm[id]; !ok {
			fmt.Fprintf(&b, "member %s appeared: %+v\n", id, m)
		}
	}
	if !reflect.DeepEqual(before.Owners, after.Owners) {
		fmt.Fprintf(&b, "owners %v, was %v\n", after.Owners, before.Owners)
	}
	if !reflect.DeepEqual(before.Static, after.Static) {
		fmt.Fprintf(&b, "static %v, was %v\n", after.Static, before.Static)
	}
	if !reflect.DeepEqual(before.Offsets, after.Offsets) {
		fmt.Fprintf(&b, "offsets %v, was %v\n", after.Offsets, before.Offsets)
	}
	return b.String()
}

// check tests the invariants: no partition held by two members, owners
// exactly what members hold, static ids naming their members, live
// timers, and no client holding what its member does not.
func (w *walker) check() {
	w.t.Helper()
	for _, c := range []*Coordinator{w.e.c, w.shadowC()} {
		if c == nil {
			continue
		}
		cg := w.group(c)
		if cg == nil {
			continue
		}
		held := make(map[topicPartition]string)
		for id, m := range cg.members {
			if m.id != id {
				w.fatalf("member %s filed under %s", m.id, id)
			}
			if m.assigned.overlaps(m.revoking) {
				w.fatalf("member %s assigned %v and revoking %v overlap", id, m.assigned, m.revoking)
			}
			if len(m.revoking) > 0 && m.state != memberUnrevoked {
				w.fatalf("member %s revoking %v in state %d", id, m.revoking, m.state)
			}
			if m.left && (m.epoch != -2 || m.instanceID == nil || len(m.revoking) > 0) {
				w.fatalf("left member %s: epoch %d instance %v revoking %v", id, m.epoch, deref(m.instanceID), m.revoking)
			}
			if !m.left && (m.epoch > cg.epoch || m.epoch < 0) {
				w.fatalf("member %s at epoch %d, group at %d", id, m.epoch, cg.epoch)
			}
			if m.session == nil || m.session.stopped {
				w.fatalf("member %s has no session timer", id)
			}
			if m.state == memberUnrevoked && !m.left && (m.rebalance == nil || m.rebalance.stopped) {
				w.fatalf("member %s owes a revocation with no rebalance timer", id)
			}
			if m.instanceID != nil && cg.static[*m.instanceID] != id {
				w.fatalf("member %s with instance %s: static map names %q", id, *m.instanceID, cg.static[*m.instanceID])
			}
			if len(m.assignedAt) != m.assigned.count() {
				w.fatalf("member %s: assignedAt %v for assigned %v", id, m.assignedAt, m.assigned)
			}
			m.assigned.each(func(tid [16]byte, p int32) {
				if _, ok := m.assignedAt[topicPartition{tid, p}]; !ok {
					w.fatalf("member %s: no assignedAt for %s", id, fmtTP(topicPartition{tid, p}))
				}
			})
			for _, a := range []assignment{m.assigned, m.revoking} {
				a.each(func(tid [16]byte, p int32) {
					tp := topicPartition{tid, p}
					if o, ok := held[tp]; ok {
						w.fatalf("partition %s held by %s and %s", fmtTP(tp), o, id)
					}
					held[tp] = id
					if cg.owners[tp] != id {
						w.fatalf("partition %s held by %s, owners says %q", fmtTP(tp), id, cg.owners[tp])
					}
				})
			}
		}
		for tp, o := range cg.owners {
			if held[tp] != o {
				w.fatalf("owners gives %s to %s, which does not hold it", fmtTP(tp), o)
			}
		}
		for inst, id := range cg.static {
			if m := cg.members[id]; m == nil || m.instanceID == nil || *m.instanceID != inst {
				w.fatalf("static %s names %s, not a member with that instance", inst, id)
			}
		}
		if cg.assignmentEpoch > cg.epoch {
			w.fatalf("assignment epoch %d past the group's %d", cg.assignmentEpoch, cg.epoch)
		}
		if c != w.e.c {
			continue
		}
		for _, cl := range w.clients {
			m := cg.members[cl.id]
			if m == nil || m.left || cl.owned.count() == 0 {
				continue
			}
			hold := m.assigned.clone()
			m.revoking.each(hold.add)
			if !cl.owned.subsetOf(hold) {
				w.fatalf("client %s holds %v, its member only %v", cl.id, cl.owned, hold)
			}
		}
	}
}

func (w *walker) shadowC() *Coordinator {
	if w.shadow == nil {
		return nil
	}
	return w.shadow.c
}
