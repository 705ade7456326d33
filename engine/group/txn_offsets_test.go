package group

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnReq is a TxnOffsetCommit v3 of producer pid (epoch 1) committing
// offset to partition p of topic, naming no member.
func txnReq(group string, pid int64, topic string, p int32, offset int64) *kmsg.TxnOffsetCommitRequest {
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.Version = 3
	req.TransactionalID = fmt.Sprintf("tx-%d", pid)
	req.Group, req.ProducerID, req.ProducerEpoch = group, pid, 1
	rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.LeaderEpoch = p, offset, 4
	md := fmt.Sprintf("md-%d", offset)
	rp.Metadata = &md
	req.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: topic, Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{rp}}}
	return req
}

// txnCommit sends req and returns its answer, which must come at once.
func (e *env) txnCommit(req *kmsg.TxnOffsetCommitRequest) *kmsg.TxnOffsetCommitResponse {
	e.t.Helper()
	var r reply
	e.c.TxnOffsetCommit(req, r.fn())
	if r.n != 1 {
		e.t.Fatalf("TxnOffsetCommit answered %d times", r.n)
	}
	return r.resp.(*kmsg.TxnOffsetCommitResponse)
}

// txnCodes lists a TxnOffsetCommit answer's codes, "topic/partition=code".
func txnCodes(resp *kmsg.TxnOffsetCommitResponse) string {
	var out []string
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			name := t.Topic
			if name == "" {
				name = fmt.Sprintf("%x", t.TopicID[:2])
			}
			out = append(out, fmt.Sprintf("%s/%d=%s", name, p.Partition, codeName(p.ErrorCode)))
		}
	}
	return strings.Join(out, " ")
}

func codeName(code int16) string {
	if code == 0 {
		return "OK"
	}
	return kerr.ErrorForCode(code).(*kerr.Error).Message
}

// mustTxnCommit commits one transactional offset, which must succeed.
func (e *env) mustTxnCommit(group string, pid int64, topic string, p int32, offset int64) {
	e.t.Helper()
	if got := txnCodes(e.txnCommit(txnReq(group, pid, topic, p, offset))); !strings.HasSuffix(got, "=OK") {
		e.t.Fatalf("txn commit %s %s/%d: %s", group, topic, p, got)
	}
}

// commitOffset is a plain group-less OffsetCommit, which must succeed.
func (e *env) commitOffset(group, topic string, p int32, offset int64) {
	e.t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 9
	req.Group = group
	req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: topic, Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: p, Offset: offset}}}}
	if code := e.c.OffsetCommit(req).Topics[0].Partitions[0].ErrorCode; code != 0 {
		e.t.Fatalf("commit %s %s/%d: %v", group, topic, p, kerr.ErrorForCode(code))
	}
}

// fetch reads one partition's offset with OffsetFetch v8, RequireStable as
// given: "offset" or the error's name.
func (e *env) fetch(group, topic string, p int32, stable bool) string {
	e.t.Helper()
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	rg.Topics = []kmsg.OffsetFetchRequestGroupTopic{{Topic: topic, Partitions: []int32{p}}}
	sp := e.c.OffsetFetchStable(8, &rg, stable).Topics[0].Partitions[0]
	if sp.ErrorCode != 0 {
		if sp.Offset != -1 || sp.LeaderEpoch != -1 {
			e.t.Fatalf("%s %s/%d: %s with offset %d epoch %d", group, topic, p, codeName(sp.ErrorCode), sp.Offset, sp.LeaderEpoch)
		}
		return codeName(sp.ErrorCode)
	}
	return fmt.Sprint(sp.Offset)
}

// fetchAll lists a group's offsets (null topics) as "topic/p=offset|error".
func (e *env) fetchAll(group string, stable bool) string {
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	var out []string
	for _, t := range e.c.OffsetFetchStable(8, &rg, stable).Topics {
		for _, p := range t.Partitions {
			v := fmt.Sprint(p.Offset)
			if p.ErrorCode != 0 {
				v = codeName(p.ErrorCode)
			}
			out = append(out, fmt.Sprintf("%s/%d=%s", t.Topic, p.Partition, v))
		}
	}
	return strings.Join(out, " ")
}

// endTxn writes producer pid's marker to the fake log and completes the
// transaction, as the transaction coordinator does.
func (e *env) endTxn(pid int64, commit bool) {
	e.journal.log = append(e.journal.log, journalEntry{producer: pid, marker: true, commit: commit})
	e.c.CompleteTxn(pid, commit)
}

// reloadLog builds a fresh coordinator from the whole fake log, as the
// engine's start-up replay does: transactional records to ReplayTxn,
// markers to CompleteTxn.
func (e *env) reloadLog() {
	e.t.Helper()
	e.c.Close()
	e.c = New(e.cfg, e.clock, e.journal, e.topics)
	for _, en := range e.journal.log {
		var err error
		switch {
		case en.marker:
			e.c.CompleteTxn(en.producer, en.commit)
		case en.producer >= 0:
			err = e.c.ReplayTxn(en.producer, en.rec.Key, en.rec.Value)
		default:
			err = e.c.Replay(en.rec.Key, en.rec.Value)
		}
		if err != nil {
			e.t.Fatalf("replay: %v", err)
		}
	}
	e.c.Loaded()
}

// dumpTxnState is every group's committed and pending offsets.
func dumpTxnState(c *Coordinator) string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(c.groups)) {
		g := c.groups[name]
		fmt.Fprintf(&b, "%s:", name)
		for _, topic := range slices.Sorted(maps.Keys(g.offsets)) {
			for _, p := range slices.Sorted(maps.Keys(g.offsets[topic])) {
				cm := g.offsets[topic][p]
				fmt.Fprintf(&b, " %s/%d=%d,%d,%q,%d", topic, p, cm.Offset, cm.LeaderEpoch, cm.Metadata, cm.CommitTime.UnixMilli())
			}
		}
		for _, pid := range slices.Sorted(maps.Keys(g.txnOffsets)) {
			for _, topic := range slices.Sorted(maps.Keys(g.txnOffsets[pid])) {
				for _, p := range slices.Sorted(maps.Keys(g.txnOffsets[pid][topic])) {
					fmt.Fprintf(&b, " pending[%d]%s/%d=%d", pid, topic, p, g.txnOffsets[pid][topic][p].Offset)
				}
			}
		}
		b.WriteString("\n")
	}
	for _, pid := range slices.Sorted(maps.Keys(c.txnGroups)) {
		fmt.Fprintf(&b, "producer %d: %v\n", pid, slices.Sorted(maps.Keys(c.txnGroups[pid])))
	}
	return b.String()
}

// Transactional offsets are written as the producer's transactional batch
// and stay invisible to OffsetFetch until the commit marker; RequireStable
// answers UNSTABLE_OFFSET_COMMIT for exactly the partitions pending.
func TestTxnOffsetsPendingUntilCommit(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 2)
	e.commitOffset("g", "t", 0, 5)
	e.commitOffset("g", "t", 1, 6)
	e.mustTxnCommit("g", 7, "t", 0, 10)

	var txnRecs int
	for _, en := range e.journal.log {
		if en.producer == 7 && en.epoch == 1 {
			txnRecs++
			d, err := decodeRecord(en.rec.Key, en.rec.Value)
			if err != nil || d.kind != recordOffset || d.group != "g" || d.commit.Offset != 10 || d.commit.LeaderEpoch != 4 || d.commit.Metadata != "md-10" {
				t.Fatalf("transactional record: %+v %v", d, err)
			}
		}
	}
	if txnRecs != 1 || len(e.journal.recs) != 2 {
		t.Fatalf("%d transactional records and %d plain ones, want 1 and 2", txnRecs, len(e.journal.recs))
	}

	if got := e.fetch("g", "t", 0, false); got != "5" {
		t.Fatalf("pending offset visible: fetch reads %s, want the committed 5", got)
	}
	if got := e.fetch("g", "t", 0, true); got != "UNSTABLE_OFFSET_COMMIT" {
		t.Fatalf("stable fetch of a pending partition: %s", got)
	}
	if got := e.fetch("g", "t", 1, true); got != "6" {
		t.Fatalf("stable fetch of a partition with nothing pending: %s", got)
	}
	if got := e.fetchAll("g", true); got != "t/0=UNSTABLE_OFFSET_COMMIT t/1=6" {
		t.Fatalf("stable fetch of all offsets: %s", got)
	}
	if got := e.fetchAll("g", false); got != "t/0=5 t/1=6" {
		t.Fatalf("fetch of all offsets: %s", got)
	}
	// RequireStable does not exist before v7.
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = "g"
	rg.Topics = []kmsg.OffsetFetchRequestGroupTopic{{Topic: "t", Partitions: []int32{0}}}
	if sp := e.c.OffsetFetchStable(6, &rg, true).Topics[0].Partitions[0]; sp.ErrorCode != 0 || sp.Offset != 5 {
		t.Fatalf("v6 fetch: %s offset %d", codeName(sp.ErrorCode), sp.Offset)
	}

	e.c.CompleteTxn(8, true) // another producer's end changes nothing
	if got := e.fetch("g", "t", 0, true); got != "UNSTABLE_OFFSET_COMMIT" {
		t.Fatalf("after another producer's commit: %s", got)
	}
	e.endTxn(7, true)
	if got := e.fetch("g", "t", 0, true); got != "10" {
		t.Fatalf("after the commit marker: %s, want 10", got)
	}
	cm, _ := e.c.groups["g"].offset("t", 0)
	if cm.LeaderEpoch != 4 || cm.Metadata != "md-10" || !cm.CommitTime.Equal(e.clock.now) {
		t.Fatalf("committed %+v", cm)
	}
	if e.c.PendingTxnOffsets(7) || len(e.c.groups["g"].txnOffsets) != 0 {
		t.Fatal("pending offsets kept after the commit")
	}
}

// An abort drops the pending offsets; the committed ones stay.
func TestTxnOffsetsAbortDropped(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 2)
	e.commitOffset("g", "t", 0, 5)
	e.mustTxnCommit("g", 7, "t", 0, 10)
	e.mustTxnCommit("g", 7, "t", 1, 11)
	e.mustTxnCommit("other", 7, "t", 0, 12) // a group the transaction created
	if got := e.fetch("other", "t", 0, false); got != "-1" {
		t.Fatalf("pending offset of a new group visible: %s", got)
	}
	e.endTxn(7, false)
	for _, c := range []struct {
		group string
		p     int32
		want  string
	}{{"g", 0, "5"}, {"g", 1, "-1"}, {"other", 0, "-1"}} {
		if got := e.fetch(c.group, "t", c.p, true); got != c.want {
			t.Fatalf("%s t/%d after the abort: %s, want %s", c.group, c.p, got, c.want)
		}
	}
	if e.c.PendingTxnOffsets(7) {
		t.Fatal("pending offsets kept after the abort")
	}
	// The group the aborted transaction created holds nothing: the expiry
	// sweep removes it, as Kafka's does.
	e.clock.advance(e.cfg.OffsetsRetentionCheckInterval)
	if e.c.groups["other"] != nil {
		t.Fatal("the aborted transaction's empty group outlived the sweep")
	}
}

// The later record wins when a transaction's offset meets a plain commit
// of the same partition, as in Kafka (completePendingTxnOffsetCommit
// compares record offsets), and a replay gets the same result.
func TestTxnOffsetsLaterRecordWins(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 2)
	// Partition 0: the plain commit comes after the transactional one.
	e.mustTxnCommit("g", 7, "t", 0, 10)
	e.commitOffset("g", "t", 0, 20)
	// Partition 1: the plain commit comes first.
	e.commitOffset("g", "t", 1, 21)
	e.mustTxnCommit("g", 7, "t", 1, 11)
	e.endTxn(7, true)
	if got := e.fetch("g", "t", 0, true) + " " + e.fetch("g", "t", 1, true); got != "20 11" {
		t.Fatalf("after the commit: %s, want 20 (later plain commit) and 11 (later txn commit)", got)
	}
	before := dumpTxnState(e.c)
	e.reloadLog()
	if after := dumpTxnState(e.c); after != before {
		t.Fatalf("state after replay:\n%s\nbefore:\n%s", after, before)
	}
}

// Replaying the log (plain records, transactional ones, markers) rebuilds
// committed and pending offsets as they were; a transaction still open at
// the end of the replay stays pending and completes later.
func TestTxnOffsetsReplay(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 3)
	e.commitOffset("g", "t", 0, 1)
	e.mustTxnCommit("g", 7, "t", 0, 10) // committed below
	e.mustTxnCommit("g", 8, "t", 1, 20) // aborted below
	e.mustTxnCommit("g", 9, "t", 2, 30) // left open
	e.mustTxnCommit("h", 9, "t", 0, 31) // left open, in a group it created
	e.endTxn(7, true)
	e.endTxn(8, false)
	e.mustTxnCommit("g", 7, "t", 1, 12) // the producer's next transaction, open
	before := dumpTxnState(e.c)

	e.reloadLog()
	if after := dumpTxnState(e.c); after != before {
		t.Fatalf("state after replay:\n%s\nbefore:\n%s", after, before)
	}
	if got := e.fetch("h", "t", 0, true); got != "UNSTABLE_OFFSET_COMMIT" {
		t.Fatalf("a group holding only pending offsets after the replay: %s", got)
	}
	want := map[string]string{"g/0": "10", "g/1": "UNSTABLE_OFFSET_COMMIT", "g/2": "UNSTABLE_OFFSET_COMMIT", "h/0": "UNSTABLE_OFFSET_COMMIT"}
	for k, w := range want {
		var group string
		var p int32
		fmt.Sscanf(strings.Replace(k, "/", " ", 1), "%s %d", &group, &p)
		if got := e.fetch(group, "t", p, true); got != w {
			t.Fatalf("%s after the replay: %s, want %s", k, got, w)
		}
	}

	// The coordinator of the transactions completes them after the restart.
	e.endTxn(9, true)
	e.endTxn(7, false)
	if got := e.fetch("g", "t", 2, true) + " " + e.fetch("h", "t", 0, true) + " " + e.fetch("g", "t", 1, true); got != "30 31 -1" {
		t.Fatalf("after completing the open transactions: %s", got)
	}
	before = dumpTxnState(e.c)
	e.reloadLog()
	if after := dumpTxnState(e.c); after != before {
		t.Fatalf("state after the second replay:\n%s\nbefore:\n%s", after, before)
	}
}

// KIP-447: a TxnOffsetCommit naming a member is checked against a classic
// group's generation and members; one naming none is accepted even by a
// group with members, and v0-2 name none whatever their fields hold.
func TestTxnOffsetCommitClassicGenerationChecks(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 1)
	ids := e.stableGroup("g", 1)
	inst := "i1"
	static := e.staticStable("s", inst)
	other := "i2"
	for _, c := range []struct {
		name     string
		version  int16
		gen      int32
		member   string
		instance *string
		group    string
		want     string
	}{
		{"current member", 3, 1, ids[0], nil, "g", "OK"},
		{"stale generation", 3, 0, ids[0], nil, "g", "ILLEGAL_GENERATION"},
		{"future generation", 3, 2, ids[0], nil, "g", "ILLEGAL_GENERATION"},
		{"unknown member", 3, 1, "nobody", nil, "g", "UNKNOWN_MEMBER_ID"},
		{"member id only", 3, -1, "nobody", nil, "g", "UNKNOWN_MEMBER_ID"},
		{"no member named", 3, -1, "", nil, "g", "OK"},
		{"v2 ignores the fields", 2, 9, "nobody", nil, "g", "OK"},
		{"static member", 3, 1, static, &inst, "s", "OK"},
		{"fenced instance", 3, 1, "someone-else", &inst, "s", "FENCED_INSTANCE_ID"},
		{"unknown instance", 3, 1, static, &other, "s", "UNKNOWN_MEMBER_ID"},
		{"missing group, generation", 3, 1, "m", nil, "new", "ILLEGAL_GENERATION"},
		{"missing group, v6", 6, 1, "m", nil, "new", "GROUP_ID_NOT_FOUND"},
		{"missing group, no generation", 3, -1, "", nil, "new", "OK"},
	} {
		req := txnReq(c.group, 7, "t", 0, 3)
		req.Version, req.Generation, req.MemberID, req.InstanceID = c.version, c.gen, c.member, c.instance
		if c.version >= 6 {
			id, _, _ := e.topics.Lookup("t")
			req.Topics[0].Topic, req.Topics[0].TopicID = "", id
		}
		got := txnCodes(e.txnCommit(req))
		if !strings.HasSuffix(got, "="+c.want) {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
		pending := e.c.groups[c.group] != nil && e.c.groups[c.group].txnPending("t", 0)
		if pending != (c.want == "OK") {
			t.Errorf("%s: pending %v after %s", c.name, pending, got)
		}
		e.c.CompleteTxn(7, false)
	}
}

// A rebalance does not refuse a transactional commit of a member of the
// current generation (only a plain commit gets REBALANCE_IN_PROGRESS).
func TestTxnOffsetCommitDuringRebalance(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 1)
	id, r := e.newMember("g")
	e.clock.advance(0)
	if resp := r.join(t); resp.ErrorCode != 0 || resp.Generation != 1 {
		t.Fatalf("join: %v gen %d", kerr.ErrorForCode(resp.ErrorCode), resp.Generation)
	}
	req := txnReq("g", 7, "t", 0, 3)
	req.Generation, req.MemberID = 1, id
	if got := txnCodes(e.txnCommit(req)); got != "t/0=OK" {
		t.Fatalf("commit before SyncGroup: %s", got)
	}
}

// KIP-848 groups check the member epoch: STALE_MEMBER_EPOCH, which
// TxnOffsetCommit before v6 answers as ILLEGAL_GENERATION.
func TestTxnOffsetCommitConsumerEpochChecks(t *testing.T) {
	e := newEnv(t)
	tid := e.topics.add("t", 1)
	a, resp := e.cjoin("a", "t")
	if resp.ErrorCode != 0 || a.epoch != 1 {
		t.Fatalf("join: %v epoch %d", kerr.ErrorForCode(resp.ErrorCode), a.epoch)
	}
	for _, c := range []struct {
		name    string
		version int16
		epoch   int32
		member  string
		want    string
	}{
		{"current epoch", 3, 1, "a", "OK"},
		{"future epoch", 5, 2, "a", "ILLEGAL_GENERATION"},
		{"future epoch, v6", 6, 2, "a", "STALE_MEMBER_EPOCH"},
		{"older epoch, partition not owned then", 5, 0, "a", "ILLEGAL_GENERATION"},
		{"unknown member", 5, 1, "b", "UNKNOWN_MEMBER_ID"},
		{"no member named", 3, -1, "", "OK"},
	} {
		req := txnReq("g", 7, "t", 0, 3)
		req.Version, req.Generation, req.MemberID = c.version, c.epoch, c.member
		if c.version >= 6 {
			req.Topics[0].Topic, req.Topics[0].TopicID = "", tid
		}
		if got := txnCodes(e.txnCommit(req)); !strings.HasSuffix(got, "="+c.want) {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
		e.c.CompleteTxn(7, false)
	}
}

// Topic, metadata and journal errors, as Kafka answers them: unknown
// topics keep their own code whatever the group says, and a write that
// fails leaves nothing pending and creates no group.
func TestTxnOffsetCommitErrors(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 1)
	tid, _, _ := e.topics.Lookup("t")

	req := txnReq("g", 7, "t", 0, 3)
	req.Group = ""
	if got := txnCodes(e.txnCommit(req)); got != "t/0=INVALID_GROUP_ID" {
		t.Fatalf("empty group id: %s", got)
	}

	req = txnReq("new", 7, "t", 0, 3)
	big := strings.Repeat("x", e.cfg.OffsetMetadataMaxBytes+1)
	req.Topics[0].Partitions = append(req.Topics[0].Partitions,
		kmsg.TxnOffsetCommitRequestTopicPartition{Partition: 5, Offset: 1},
		kmsg.TxnOffsetCommitRequestTopicPartition{Partition: 0, Offset: 1, Metadata: &big})
	req.Topics = append(req.Topics, kmsg.TxnOffsetCommitRequestTopic{Topic: "missing", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{Partition: 0}}})
	if got, want := txnCodes(e.txnCommit(req)), "t/0=OK t/5=UNKNOWN_TOPIC_OR_PARTITION t/0=OFFSET_METADATA_TOO_LARGE missing/0=UNKNOWN_TOPIC_OR_PARTITION"; got != want {
		t.Fatalf("mixed commit: %s, want %s", got, want)
	}
	e.c.CompleteTxn(7, false)

	// A group error goes on the partitions whose topics exist only.
	req.Group, req.Generation = "absent", 3
	if got, want := txnCodes(e.txnCommit(req)), "t/0=ILLEGAL_GENERATION t/5=UNKNOWN_TOPIC_OR_PARTITION t/0=ILLEGAL_GENERATION missing/0=UNKNOWN_TOPIC_OR_PARTITION"; got != want {
		t.Fatalf("commit with a bad generation: %s, want %s", got, want)
	}

	// v6 names topics by id.
	req = txnReq("new", 7, "", 0, 3)
	req.Version = 6
	req.Topics[0].TopicID = tid
	req.Topics = append(req.Topics, kmsg.TxnOffsetCommitRequestTopic{TopicID: [16]byte{9, 9}, Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{Partition: 0}}})
	if got := txnCodes(e.txnCommit(req)); got != fmt.Sprintf("%x/0=OK 0909/0=UNKNOWN_TOPIC_ID", tid[:2]) {
		t.Fatalf("v6 commit: %s", got)
	}
	if got := e.fetch("new", "t", 0, true); got != "UNSTABLE_OFFSET_COMMIT" {
		t.Fatalf("v6 commit not pending under the topic's name: %s", got)
	}
	e.endTxn(7, false)
	delete(e.c.groups, "new")

	e.journal.failing = true
	if got := txnCodes(e.txnCommit(txnReq("new", 7, "t", 0, 3))); got != "t/0=COORDINATOR_NOT_AVAILABLE" {
		t.Fatalf("commit with a failing journal: %s", got)
	}
	e.journal.failing = false
	if e.c.groups["new"] != nil || e.c.PendingTxnOffsets(7) {
		t.Fatal("a commit that failed to reach the log created a group or left offsets pending")
	}

	e.c.Close()
	if got := txnCodes(e.txnCommit(txnReq("g", 7, "t", 0, 3))); got != "t/0=NOT_COORDINATOR" {
		t.Fatalf("closed coordinator: %s", got)
	}
}

// An offset tombstone drops the pending offsets of its partition, as in
// Kafka: OffsetDelete and DeleteGroups write one for a partition with only
// a pending offset too, so the later commit marker brings nothing back,
// live or replayed.
func TestTxnOffsetsDeleted(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 2)
	e.commitOffset("g", "t", 0, 1)
	e.mustTxnCommit("g", 7, "t", 0, 10)
	e.mustTxnCommit("g", 7, "t", 1, 11) // pending only

	del := kmsg.NewPtrOffsetDeleteRequest()
	del.Group = "g"
	del.Topics = []kmsg.OffsetDeleteRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 1}}}}
	n := len(e.journal.recs)
	if resp := e.c.OffsetDelete(del); resp.ErrorCode != 0 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("offset delete: %+v", resp)
	}
	if len(e.journal.recs) != n+1 || e.journal.recs[n].Value != nil {
		t.Fatal("no tombstone written for a partition with only a pending offset")
	}
	if got := e.fetch("g", "t", 1, true); got != "-1" {
		t.Fatalf("after OffsetDelete: %s, want nothing pending", got)
	}

	e.mustTxnCommit("h", 8, "t", 1, 21) // pending only, in a group it created
	if code := e.c.DeleteGroup("h"); code != 0 {
		t.Fatalf("delete group: %v", kerr.ErrorForCode(code))
	}
	var tombstoned bool
	for _, r := range e.journal.recs {
		if d, err := decodeRecord(r.Key, r.Value); err == nil && d.kind == recordOffset && d.group == "h" && d.tombstone {
			tombstoned = true
		}
	}
	if !tombstoned {
		t.Fatal("DeleteGroups wrote no tombstone for the pending offset")
	}
	if e.c.PendingTxnOffsets(8) {
		t.Fatal("the deleted group's pending offsets are still counted")
	}
	e.endTxn(7, true)
	e.endTxn(8, true)
	if got := e.fetch("g", "t", 0, true) + " " + e.fetch("g", "t", 1, true) + " " + e.fetch("h", "t", 1, true); got != "10 -1 -1" {
		t.Fatalf("after the commits: %s, want 10 -1 -1", got)
	}
	if e.c.groups["h"] != nil {
		t.Fatal("the deleted group came back")
	}
	before := dumpTxnState(e.c)
	e.reloadLog()
	if after := dumpTxnState(e.c); after != before {
		t.Fatalf("state after replay:\n%s\nbefore:\n%s", after, before)
	}
}

// The expiry sweep leaves an offset with a transactional one pending for
// its partition, and a group with pending offsets, alone (Kafka's
// cleanupExpiredOffsets).
func TestTxnOffsetsHoldExpiry(t *testing.T) {
	e := newEnv(t)
	e.topics.add("t", 2)
	e.commitOffset("g", "t", 0, 1)
	e.commitOffset("g", "t", 1, 2)
	e.mustTxnCommit("g", 7, "t", 0, 10)
	e.mustTxnCommit("h", 7, "t", 0, 20) // a group with nothing but a pending offset
	e.clock.advance(e.cfg.OffsetsRetention + e.cfg.OffsetsRetentionCheckInterval)
	if got := e.fetch("g", "t", 0, false) + " " + e.fetch("g", "t", 1, false); got != "1 -1" {
		t.Fatalf("after the retention: %s, want 1 (held by the transaction) and -1", got)
	}
	if e.c.groups["h"] == nil {
		t.Fatal("the sweep removed a group with a pending offset")
	}
	e.endTxn(7, true)
	if got := e.fetch("g", "t", 0, true) + " " + e.fetch("h", "t", 0, true); got != "10 20" {
		t.Fatalf("after the commit: %s", got)
	}
	e.clock.advance(e.cfg.OffsetsRetention + time.Minute)
	if e.c.GroupCount() != 0 {
		t.Fatalf("%d groups left after their offsets expired", e.c.GroupCount())
	}
}
