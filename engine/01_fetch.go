package engine

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/batch"
	"github.com/chronik-go/chronik/engine/partlog"
)

// Fetch: v4-16
//
// Behaviour:
// * Whole batches from the fetch offset, at most PartitionMaxBytes per
//   partition and MaxBytes per response, except that the first partition
//   with records returns its first batch whole (KIP-74) so a big batch
//   cannot stall a consumer; as in Kafka, later partitions keep to the
//   limits.
// * Long poll: answers when MinBytes is reached or MaxWaitMs passes; a
//   waiting fetch is woken by appends to its partitions, never by polling.
//   Any partition error, or no partition to serve (none named and none
//   left in the session), answers at once.
// * Fetch sessions (KIP-227), see fetch_session.go.
// * A partition this broker only follows is NOT_LEADER_OR_FOLLOWER in every
//   version: followers here hold no copy of the leader's records, so
//   serving them (as Kafka's followers may from v11, KIP-392) would hand a
//   consumer an empty log and OFFSET_OUT_OF_RANGE, resetting its position.
//   From v12 the answer names the leader, from v16 its address (KIP-951).
// * No transactions yet: the last stable offset is the high watermark and
//   read_committed consumers get an empty aborted-transactions list.
// * Fetch below v10 of a partition holding zstd batches in the range read
//   is UNSUPPORTED_COMPRESSION_TYPE (KIP-110).
//
// Version notes:
// * v4: LastStableOffset, AbortedTransactions, IsolationLevel
// * v5: LogStartOffset (KIP-107)
// * v7: fetch sessions (KIP-227)
// * v9: CurrentLeaderEpoch fencing (KIP-320)
// * v11: rack, PreferredReadReplica (KIP-392)
// * v12: flexible, DivergingEpoch
// * v13: topic IDs instead of names (KIP-516)
// * v15: ReplicaState (KIP-903)
// * v16: NodeEndpoints for NOT_LEADER (KIP-951)

func init() { registerAPI(1, 4, 16, (*Broker).handleFetch) }

// fetchPart is one partition a fetch serves, with its result.
type fetchPart struct {
	key          partKey
	topicID      [16]byte
	offset       int64
	maxBytes     int32
	currentEpoch int32
	unknownID    bool // v13+ topic id that names no topic
	// leader is who leads the partition when errCode is
	// NOT_LEADER_OR_FOLLOWER (KIP-951).
	leader kmsg.FetchResponseTopicPartitionCurrentLeader

	errCode       int16
	highWatermark int64
	lastStable    int64
	logStart      int64
	data          []byte
	// aborted lists the aborted transactions within what a read_committed
	// fetch read (txn_partition.go).
	aborted []kmsg.FetchResponseTopicPartitionAbortedTransaction
}

// fetchOp is one Fetch request through its read rounds. Its mutex guards the
// round bookkeeping only; reads run on the partitions' shards.
type fetchOp struct {
	b           *Broker
	r           *request
	req         *kmsg.FetchRequest
	session     *fetchSession
	incremental bool
	parts       []fetchPart
	byShard     map[*shard][]int
	deadline    time.Time

	pending atomic.Int32
	done    atomic.Bool

	mu      sync.Mutex
	reading bool
	woken   bool
	expired bool
	timer   *time.Timer
}

func (b *Broker) handleFetch(r *request) {
	req := r.kreq.(*kmsg.FetchRequest)
	// As Kafka: the broker's fetch.max.bytes bounds what a client may ask
	// for. Kafka reads one request of a connection at a time; here several
	// may be in flight, so a fetch also keeps to the room the connection's
	// unwritten responses leave (a client pipelining fetches it does not
	// read gets first batches only, not MaxBytes each).
	want := min(req.MaxBytes, b.cfg.FetchMaxBytes)
	req.MaxBytes = int32(r.out.Reserve(int(want)))
	if req.MaxBytes < want && req.MaxBytes < req.MinBytes {
		// Cut below MinBytes, the response can never hold it: answer
		// with what fits once there is any, not after MaxWaitMs.
		req.MinBytes = 1
	}
	v := b.currentView()
	op := &fetchOp{b: b, r: r, req: req}

	var isNew bool
	if req.Version >= 7 {
		size := 0
		for _, rt := range req.Topics {
			size += len(rt.Partitions)
		}
		s, created, code := b.sessions.acquire(req.SessionID, req.SessionEpoch, size, req.Version >= 13)
		if code != 0 {
			resp := req.ResponseKind().(*kmsg.FetchResponse)
			resp.ErrorCode = code
			r.respond(resp)
			return
		}
		op.session, isNew = s, created
	}

	var requested []fetchPart
	for _, rt := range req.Topics {
		name := rt.Topic
		unknownID := false
		if req.Version >= 13 {
			n, ok := v.topicByID(rt.TopicID)
			name, unknownID = n, !ok
		}
		for _, rp := range rt.Partitions {
			requested = append(requested, fetchPart{
				key: partKey{name, rp.Partition}, topicID: rt.TopicID, offset: rp.FetchOffset,
				maxBytes: rp.PartitionMaxBytes, currentEpoch: rp.CurrentLeaderEpoch, unknownID: unknownID,
			})
		}
	}
	var forgotten []sessionKey
	for _, ft := range req.ForgottenTopics {
		for _, p := range ft.Partitions {
			if req.Version >= 13 {
				// By id: a deleted topic's name no longer resolves.
				forgotten = append(forgotten, sessionKey{topicID: ft.TopicID, partition: p})
			} else {
				forgotten = append(forgotten, sessionKey{topic: ft.Topic, partition: p})
			}
		}
	}
	op.parts, op.session = b.sessions.merge(op.session, isNew, requested, forgotten, v)
	op.incremental = op.session != nil && !isNew

	op.byShard = make(map[*shard][]int)
	immediate := false
	for i := range op.parts {
		fp := &op.parts[i]
		fp.highWatermark, fp.lastStable, fp.logStart = -1, -1, -1
		t, p, ok := v.partition(fp.key.topic, fp.key.partition)
		switch {
		case fp.unknownID:
			fp.errCode = kerr.UnknownTopicID.Code
		case !ok:
			fp.errCode = kerr.UnknownTopicOrPartition.Code
		case req.Version >= 13 && t.ID != fp.topicID:
			fp.errCode = kerr.InconsistentTopicID.Code
		case fp.currentEpoch >= 0 && fp.currentEpoch < p.LeaderEpoch:
			fp.errCode = kerr.FencedLeaderEpoch.Code
		case fp.currentEpoch > p.LeaderEpoch:
			fp.errCode = kerr.UnknownLeaderEpoch.Code
		case p.Leader != b.nodeID:
			fp.errCode = kerr.NotLeaderForPartition.Code
			fp.leader.LeaderID, fp.leader.LeaderEpoch = p.Leader, p.LeaderEpoch
		default:
			s := b.shardFor(fp.key)
			op.byShard[s] = append(op.byShard[s], i)
			continue
		}
		immediate = true
	}
	wait := min(time.Duration(req.MaxWaitMillis)*time.Millisecond, b.cfg.FetchMaxWait)
	op.deadline = r.received.Add(wait)
	// As in Kafka, a fetch of no partitions has nothing to wait for.
	if immediate || wait <= 0 || req.MinBytes <= 0 || len(op.parts) == 0 {
		op.expired = true
	}
	op.mu.Lock()
	op.reading = true
	op.mu.Unlock()
	op.read()
}

// read runs one round: every shard reads its partitions, the last one to
// finish evaluates the round.
func (op *fetchOp) read() {
	if len(op.byShard) == 0 {
		op.evaluate()
		return
	}
	op.pending.Store(int32(len(op.byShard)))
	op.mu.Lock()
	register := !op.expired
	op.mu.Unlock()
	for s, idxs := range op.byShard {
		s.submit(func(s *shard) {
			// The response holds at most MaxBytes (and the first batch
			// past it), filled in partition order: what this shard read
			// for earlier partitions is room a later one cannot use, so
			// a fetch holds at most MaxBytes and one batch a shard in
			// memory however many partitions it names. Shards read in
			// parallel, so only fit, in response order, knows which
			// partition is the first to return records (KIP-74: its
			// first batch whole). Here, until this shard has read
			// records, a partition may take its first batch past its
			// limits; such a batch is kept only if it is that first one,
			// so it does not take the room of the shard's later
			// partitions. After it, none can be first.
			budget := max(op.req.MaxBytes, 1) // 0 still gets a first batch
			readAny := false
			for _, i := range idxs {
				past := s.readFetchPart(op, &op.parts[i], register, budget, !readAny)
				readAny = readAny || len(op.parts[i].data) > 0
				if !past {
					budget -= int32(len(op.parts[i].data))
				}
			}
			if op.pending.Add(-1) == 0 {
				op.evaluate()
			}
		})
	}
}

// readFetchPart runs on the shard owning the partition; budget is the room
// its shard's earlier partitions left in the response (none left: only the
// offset is checked). With firstWhole and room left its first batch is
// read whole even past the limits (KIP-74), which it reports (past); fit
// decides whether that batch is kept.
func (s *shard) readFetchPart(op *fetchOp, fp *fetchPart, register bool, budget int32, firstWhole bool) (past bool) {
	p, ok := s.parts[fp.key]
	if op.req.Version >= 13 && (!ok || p.topicID != fp.topicID) {
		// A fetch by topic id that waited while its topic was deleted,
		// or deleted and created again under the same name, must not
		// read the new topic's records under the old id.
		fp.errCode = kerr.UnknownTopicID.Code
		fp.data = nil
		return false
	}
	if code := logErrorCode(p, ok); code != 0 {
		fp.errCode = code
		fp.data = nil
		return false
	}
	// Batches staged in this shard turn are not yet written and could still
	// be taken back: the high watermark stops before them.
	fp.highWatermark = p.log.WrittenOffset()
	fp.lastStable = p.lastStableOffset()
	fp.logStart = p.log.StartOffset()
	fp.aborted = nil
	end := fp.highWatermark
	readCommitted := op.req.IsolationLevel == 1
	if readCommitted {
		// Nothing of an open transaction: it may yet abort.
		end = fp.lastStable
	}
	limit := min(fp.maxBytes, op.req.MaxBytes, budget)
	if limit <= 0 && budget > 0 {
		limit = 1
	}
	data, err := p.log.ReadAppend(nil, fp.offset, end, max(limit, 0), firstWhole && budget > 0)
	switch {
	case errors.Is(err, partlog.ErrOffsetOutOfRange):
		fp.errCode = kerr.OffsetOutOfRange.Code
		fp.data = nil
		return false
	case err != nil:
		s.b.log.Error("fetch read", "topic", fp.key.topic, "partition", fp.key.partition, "err", err)
		fp.errCode = kerr.KafkaStorageError.Code
		fp.data = nil
		return false
	}
	if op.req.Version < 10 && holdsZstd(data) {
		// KIP-110: a fetch older than v10 cannot take zstd batches.
		fp.errCode = kerr.UnsupportedCompressionType.Code
		fp.data = nil
		return false
	}
	fp.errCode = 0
	fp.data = data
	if readCommitted && len(data) > 0 {
		fp.aborted = p.txns.abortedFrom(fp.offset, end)
	}
	if register {
		p.addWaiter(op)
	}
	return int64(len(data)) > int64(max(limit, 0))
}

// evaluate answers the fetch or waits for the next wake-up.
func (op *fetchOp) evaluate() {
	total := op.fit()
	anyErr := false
	for i := range op.parts {
		anyErr = anyErr || op.parts[i].errCode != 0
	}
	op.mu.Lock()
	if op.expired || anyErr || total >= int(op.req.MinBytes) || !time.Now().Before(op.deadline) {
		op.done.Store(true)
		if op.timer != nil {
			op.timer.Stop()
		}
		op.mu.Unlock()
		op.finish()
		return
	}
	if op.woken {
		op.woken = false
		op.mu.Unlock()
		op.read()
		return
	}
	op.reading = false
	if op.timer == nil {
		op.timer = time.AfterFunc(time.Until(op.deadline), func() {
			op.mu.Lock()
			op.expired = true
			op.mu.Unlock()
			op.wake()
		})
	}
	op.mu.Unlock()
}

// wake implements fetchWaiter: an append (or the deadline) starts a new round.
func (op *fetchOp) wake() {
	op.mu.Lock()
	if op.done.Load() {
		op.mu.Unlock()
		return
	}
	if op.reading {
		op.woken = true
		op.mu.Unlock()
		return
	}
	op.reading = true
	op.mu.Unlock()
	op.read()
}

func (op *fetchOp) finished() bool { return op.done.Load() }

// fit cuts the round's reads to what the response returns and reports its
// size, so MinBytes counts only that. In partition order: the first
// partition with records keeps what it read (its first batch whole, KIP-74);
// as in Kafka, every later one keeps only whole batches within both the
// room left of MaxBytes and its own PartitionMaxBytes.
func (op *fetchOp) fit() int {
	room := int(op.req.MaxBytes)
	total := 0
	for i := range op.parts {
		fp := &op.parts[i]
		if fp.errCode != 0 || len(fp.data) == 0 {
			continue
		}
		if total > 0 {
			if limit := min(room, int(fp.maxBytes)); len(fp.data) > limit {
				fp.data = wholeBatchesWithin(fp.data, limit)
			}
		}
		room -= len(fp.data)
		total += len(fp.data)
	}
	return total
}

// finish assembles the response from what fit kept.
func (op *fetchOp) finish() {
	req := op.req
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	if op.session != nil {
		resp.SessionID = op.session.id
	}
	var returned []sessionKey
	topicAt := make(map[partKey]int) // topic name (partition -1) -> index
	for i := range op.parts {
		fp := &op.parts[i]
		tk := partKey{topic: fp.key.topic, partition: -1}
		if fp.unknownID {
			tk.topic = string(fp.topicID[:])
		}
		ti, ok := topicAt[tk]
		if !ok {
			ti = len(resp.Topics)
			topicAt[tk] = ti
			rt := kmsg.NewFetchResponseTopic()
			if !fp.unknownID {
				rt.Topic = fp.key.topic
			}
			rt.TopicID = fp.topicID
			resp.Topics = append(resp.Topics, rt)
		}
		sp := kmsg.NewFetchResponseTopicPartition()
		sp.Partition = fp.key.partition
		sp.ErrorCode = fp.errCode
		sp.HighWatermark = fp.highWatermark
		sp.LastStableOffset = fp.lastStable
		sp.LogStartOffset = fp.logStart
		// librdkafka reads a null record set as an invalid size; send empty.
		sp.RecordBatches = []byte{}
		if req.IsolationLevel == 1 {
			sp.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
			if fp.errCode == 0 && len(fp.data) > 0 && fp.aborted != nil {
				sp.AbortedTransactions = fp.aborted
			}
		}
		if fp.errCode == 0 && len(fp.data) > 0 {
			sp.RecordBatches = fp.data
			returned = append(returned, sessionKeyOf(req.Version >= 13, fp))
		}
		if fp.errCode == kerr.NotLeaderForPartition.Code && req.Version >= 12 {
			sp.CurrentLeader = fp.leader
			if req.Version >= 16 {
				addFetchLeaderEndpoint(resp, op.b.currentView(), fp.leader.LeaderID, op.r.conn.Listener)
			}
		}
		resp.Topics[ti].Partitions = append(resp.Topics[ti].Partitions, sp)
	}
	op.b.sessions.filter(op.session, op.incremental, resp, returned)
	op.r.respond(resp)
}

// addFetchLeaderEndpoint names a leader's address once per response (v16+,
// KIP-951), so that the consumer goes there without a metadata round trip:
// the one of the listener the consumer came through.
func addFetchLeaderEndpoint(resp *kmsg.FetchResponse, v *clusterView, leader int32, listener string) {
	br, known := v.broker(leader)
	if !known || slices.ContainsFunc(resp.Brokers, func(e kmsg.FetchResponseBroker) bool { return e.NodeID == leader }) {
		return
	}
	host, port, ok := br.Endpoint(listener)
	if !ok {
		return
	}
	e := kmsg.NewFetchResponseBroker()
	e.NodeID, e.Host, e.Port, e.Rack = br.NodeID, host, port, br.RackPtr()
	resp.Brokers = append(resp.Brokers, e)
}

// wholeBatchesWithin returns the longest prefix of whole batches within n bytes.
func wholeBatchesWithin(data []byte, n int) []byte {
	if n <= 0 {
		return nil
	}
	used := 0
	batch.Split(data, func(h batch.Header, raw []byte) error {
		if used+len(raw) > n {
			return errStopSplit
		}
		used += len(raw)
		return nil
	})
	return data[:used]
}

var errStopSplit = errors.New("stop")

// holdsZstd reports whether any batch of data is zstd-compressed.
func holdsZstd(data []byte) bool {
	found := false
	batch.Split(data, func(h batch.Header, _ []byte) error {
		if h.Codec() == 4 {
			found = true
			return errStopSplit
		}
		return nil
	})
	return found
}
