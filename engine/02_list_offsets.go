package engine

import (
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListOffsets: v0-8
//
// Behaviour:
// * Timestamp -1: the high watermark (the log end; single node, every
//   append is committed once written). -2: the log start offset. -3 (v7+,
//   KIP-734): the record with the largest timestamp and that timestamp.
//   -4 (v8+, KIP-405): the local log start, which is the log start here
//   since nothing is tiered. A timestamp >= 0: the first record whose
//   timestamp is at or after it, with its timestamp; none gives offset -1
//   and timestamp -1, as Kafka answers.
// * Any other negative timestamp, or a special one below the version that
//   added it, is UNSUPPORTED_VERSION for that partition; a partition listed
//   twice in one request is INVALID_REQUEST for both entries (v1+).
// * CurrentLeaderEpoch (v4+) fences: older than the partition's epoch is
//   FENCED_LEADER_EPOCH, newer is UNKNOWN_LEADER_EPOCH; -1 skips the check.
// * ReplicaID -1 (consumers) must hit the leader (NOT_LEADER_OR_FOLLOWER);
//   -2, the debugging id, is answered by any replica.
// * read_committed is answered as read_uncommitted: no transactions are
//   served yet, so the last stable offset is the high watermark.
// * Offsets are read on the shard that owns the partition; the event loop
//   only validates and fans out. The answer counts what was appended
//   before the request reached the shard, once the log has made it
//   visible, and nothing appended after (listOffsetsOnce), so a
//   ListOffsets pipelined behind a produce sees it and not the next, as
//   in Kafka, which serves a connection's requests one at a time.
//
// Version notes:
// * v0: MaxNumOffsets and OldStyleOffsets. Kafka lists segment base offsets
//   by file modification time; here the log is one span from its start,
//   last modified at its largest record timestamp: -1 (or a timestamp not
//   before now) gives [log end, log start], -2 [log start], an older
//   timestamp [log start] once the whole log is older, else nothing.
// * v1: one offset per partition, looked up by record timestamp
// * v2: IsolationLevel; read_committed answers the latest offset and
//   timestamp lookups below the last stable offset, as Kafka's
//   lastFetchableOffset.
// * v4: CurrentLeaderEpoch fencing and LeaderEpoch in the response (KIP-320)
// * v6: flexible
// * v7: -3 max timestamp (KIP-734)
// * v8: -4 earliest local offset (KIP-405)

func init() { registerAPI(2, 0, 8, (*Broker).handleListOffsets) }

// listOffsetsMinVersion is the first request version that may use each
// special timestamp.
var listOffsetsMinVersion = map[int64]int16{-1: 0, -2: 0, -3: 7, -4: 8}

// listOffsetsJob is one partition's lookup on its shard.
type listOffsetsJob struct {
	out       *kmsg.ListOffsetsResponseTopicPartition
	timestamp int64
	maxNum    int32
	// end is the partition's log end when the job first reached its
	// shard, after every append submitted before it (-1 until then): the
	// answer waits until the log has made it visible, and counts nothing
	// appended after it.
	end int64
	// readCommitted (isolation level 1) answers up to the last stable
	// offset: nothing of an open transaction.
	readCommitted bool
}

func (b *Broker) handleListOffsets(r *request) {
	req := r.kreq.(*kmsg.ListOffsetsRequest)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	v := b.currentView()

	seen := make(map[partKey]int)
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			seen[partKey{rt.Topic, rp.Partition}]++
		}
	}
	var (
		keys []partKey
		jobs []listOffsetsJob
	)
	resp.Topics = make([]kmsg.ListOffsetsResponseTopic, len(req.Topics))
	for i, rt := range req.Topics {
		st := &resp.Topics[i]
		*st = kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.ListOffsetsResponseTopicPartition, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			sp := &st.Partitions[j]
			*sp = kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			k := partKey{rt.Topic, rp.Partition}
			if code := b.checkListOffsets(req, v, k, rp, seen[k]); code != 0 {
				sp.ErrorCode = code
				continue
			}
			keys = append(keys, k)
			jobs = append(jobs, listOffsetsJob{out: sp, timestamp: rp.Timestamp, maxNum: rp.MaxNumOffsets, end: -1, readCommitted: req.IsolationLevel == 1})
		}
	}
	version := req.Version
	b.fanOut(keys, func() { r.respond(resp) }, func(s *shard, idx []int, finish func()) {
		s.listOffsetsOnce(keys, idx, jobs, version, finish)
	})
}

// checkListOffsets validates one partition on the event loop, in the order
// Kafka checks: request shape, existence, epoch, then leadership.
func (b *Broker) checkListOffsets(req *kmsg.ListOffsetsRequest, v *clusterView, k partKey, rp kmsg.ListOffsetsRequestTopicPartition, times int) int16 {
	if req.Version >= 1 {
		if times > 1 {
			return kerr.InvalidRequest.Code
		}
		if rp.Timestamp < 0 {
			if first, ok := listOffsetsMinVersion[rp.Timestamp]; !ok || req.Version < first {
				return kerr.UnsupportedVersion.Code
			}
		}
	}
	_, p, ok := v.partition(k.topic, k.partition)
	if !ok {
		return kerr.UnknownTopicOrPartition.Code
	}
	if code := leaderEpochCheck(rp.CurrentLeaderEpoch, p.LeaderEpoch); code != 0 {
		return code
	}
	if p.Leader != b.nodeID && req.ReplicaID != -2 {
		return kerr.NotLeaderForPartition.Code
	}
	return 0
}

// leaderEpochCheck is KIP-320 fencing: a client epoch older than the
// partition's is FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH, and
// -1 means the client does not ask for the check.
func leaderEpochCheck(client, current int32) int16 {
	switch {
	case client < 0:
		return 0
	case client < current:
		return kerr.FencedLeaderEpoch.Code
	case client > current:
		return kerr.UnknownLeaderEpoch.Code
	}
	return 0
}

// listOffsetsOnce answers the shard's partitions of a ListOffsets once
// each log has made visible what was appended to it before the request
// reached the shard: Kafka serves a connection's requests one at a time,
// so a ListOffsets pipelined behind a produce must count its records,
// whether they are still staged in the shard's turn or, written behind
// the WAL, waiting for its sync. Every partition's end is taken first;
// then, while one is not visible yet, the request waits on it, woken as a
// long-poll fetch is (a write, a sync, a reopen), and looks again — for at
// most io.timeout.ms, after which it answers with what is visible (a
// failed write or sync may leave batches that never show).
func (s *shard) listOffsetsOnce(keys []partKey, idx []int, jobs []listOffsetsJob, version int16, finish func()) {
	for _, i := range idx {
		if p := s.parts[keys[i]]; p != nil && p.log != nil {
			jobs[i].end = p.log.NextOffset()
		}
	}
	s.listOffsetsWhenVisible(keys, idx, jobs, version, finish, time.Now().Add(s.b.cfg.IOTimeout))
}

func (s *shard) listOffsetsWhenVisible(keys []partKey, idx []int, jobs []listOffsetsJob, version int16, finish func(), deadline time.Time) {
	for _, i := range idx {
		if !time.Now().Before(deadline) {
			break // answered below with what is visible
		}
		p := s.parts[keys[i]]
		if p == nil || p.log == nil || p.log.Failed() != nil {
			continue // not waited on: answered below as it stands
		}
		if p.log.WrittenOffset() < min(jobs[i].end, p.log.NextOffset()) {
			w := &listOffsetsWaiter{}
			w.again = func() {
				s.submit(func(s *shard) {
					w.timer.Stop() // woken first by the shard: it would hold the request until the deadline
					s.listOffsetsWhenVisible(keys, idx, jobs, version, finish, deadline)
				})
			}
			p.addWaiter(w)
			w.timer = time.AfterFunc(time.Until(deadline), w.wake)
			return
		}
	}
	for _, i := range idx {
		s.listOffsets(keys[i], &jobs[i], version)
	}
	finish()
}

// listOffsetsWaiter is a ListOffsets waiting on a partition: woken by the
// shard that owns it, or by its deadline's timer, whichever comes first.
type listOffsetsWaiter struct {
	again func()
	woken atomic.Bool
	timer *time.Timer // set and stopped on the shard's goroutine
}

func (w *listOffsetsWaiter) wake() {
	if w.woken.CompareAndSwap(false, true) {
		w.again()
	}
}

func (w *listOffsetsWaiter) finished() bool { return w.woken.Load() }

// listOffsets answers one partition from its log; it runs on the shard.
func (s *shard) listOffsets(k partKey, j *listOffsetsJob, version int16) {
	out := j.out
	p, ok := s.parts[k]
	if code := logErrorCode(p, ok); code != 0 {
		out.ErrorCode = code
		return
	}
	l := p.log
	start, end := l.StartOffset(), l.WrittenOffset()
	if j.end >= 0 {
		// Nothing appended after the request; never below the start
		// (DeleteRecords may have moved it meanwhile).
		end = max(min(end, j.end), start)
	}
	if j.readCommitted {
		end = min(end, p.lastStableOffset())
	}
	if version == 0 {
		out.OldStyleOffsets = oldStyleOffsets(j.timestamp, j.maxNum, start, end, p)
		return
	}
	switch j.timestamp {
	case -2, -4:
		out.Offset, out.LeaderEpoch = start, p.leaderEpoch
	case -1:
		out.Offset, out.LeaderEpoch = end, p.leaderEpoch
	case -3:
		// Kafka answers the record with the largest timestamp without
		// checking the log start; an empty log keeps -1/-1.
		if off, ts := l.MaxTimestamp(); off >= 0 && off < end {
			out.Offset, out.Timestamp, out.LeaderEpoch = off, ts, p.leaderEpoch
		}
	default:
		off, ts, found, err := l.OffsetForTimestamp(j.timestamp)
		if err != nil {
			s.b.log.Error("list offsets by timestamp", "topic", k.topic, "partition", k.partition, "timestamp", j.timestamp, "err", err)
			out.ErrorCode = kerr.KafkaStorageError.Code
			return
		}
		// A record past the high watermark is not an answer; single
		// node, the high watermark is the log end.
		if found && off < end {
			out.Offset, out.Timestamp, out.LeaderEpoch = off, ts, p.leaderEpoch
		}
	}
}

// oldStyleOffsets answers ListOffsets v0, newest first, at most maxNum of
// them (see the version notes above).
func oldStyleOffsets(timestamp int64, maxNum int32, start, end int64, p *partition) []int64 {
	var offs []int64
	switch {
	case timestamp == -2:
		offs = []int64{start}
	case timestamp == -1 || timestamp >= time.Now().UnixMilli():
		offs = []int64{end}
		if start < end {
			offs = append(offs, start)
		}
	default:
		if _, maxTs := p.log.MaxTimestamp(); maxTs <= timestamp {
			offs = []int64{start}
		}
	}
	if maxNum >= 0 && int(maxNum) < len(offs) {
		offs = offs[:maxNum]
	}
	return offs
}
