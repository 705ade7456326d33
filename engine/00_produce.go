package engine

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-go/chronik/engine/batch"
	"github.com/chronik-go/chronik/engine/partlog"
)

// Produce: v0-11 advertised, v3-11 served
//
// Behaviour:
// * v0-2 (message sets) are advertised because librdkafka turns compression
//   off when Produce v0 is missing; such requests get UNSUPPORTED_VERSION per
//   partition, as Kafka 4 answers them.
// * Exactly one magic-2 batch per partition at base offset 0, CRC-32C
//   checked before the fields it covers, stored as sent (base offset and
//   leader epoch stamped in place) unless the topic's compression.type names
//   a codec (the shard then recompresses the batch into it) or its
//   compressed records' offset deltas are not 0, 1, 2... (renumbered), as
//   Kafka does. An idempotent batch's negative sequence is INVALID_RECORD.
// * Internal topics (__consumer_offsets) take no client batches:
//   INVALID_TOPIC_EXCEPTION, unless the client id is Kafka's admin one
//   (__admin_client), as in Kafka.
// * The records of every batch are walked, a compressed one streamed
//   through its decompressor as Kafka does: a count or framing that does
//   not match the header is INVALID_RECORD, as Kafka answers.
// * Compacted topics (cleanup.policy has compact) reject records without a
//   key with INVALID_RECORD, as Kafka does.
// * A batch claiming LogAppendTime is INVALID_TIMESTAMP; zstd below v7 is
//   UNSUPPORTED_COMPRESSION_TYPE (KIP-110). A batch whose header max
//   timestamp is not its records' largest gets the right one written in
//   (and its CRC recomputed), as Kafka does. CreateTime timestamps
//   outside message.timestamp.before.max.ms / after.max.ms of the broker's
//   clock are INVALID_TIMESTAMP (KIP-937's keys; Kafka 4's defaults).
// * A batch refused for some of its records (no key on a compacted topic,
//   a timestamp out of range) names each from v8 on (ErrorRecords: its place
//   in the batch and why, the first 1,000; KIP-467), and is INVALID_TIMESTAMP
//   when any timestamp is out of range, otherwise INVALID_RECORD, as Kafka
//   decides.
// * Idempotent producers: sequence checked per (producer id, epoch,
//   partition); a duplicate of one of the last 5 batches gets its original
//   offset.
// * Appends of one shard turn share one commit; acks=1 and acks=-1 answer
//   after it (single node: the leader is the whole ISR). acks=-1 to a
//   partition whose in-sync replicas are fewer than its
//   min.insync.replicas is NOT_ENOUGH_REPLICAS, as in Kafka. acks=0 gets no
//   response, but holds its connection's slot until then; a partition error
//   closes the connection, as Kafka does.
//
// Version notes:
// * v3: record batches, transactional id
// * v5: LogStartOffset in response
// * v8: per-record errors and ErrorMessage (KIP-467)
// * v9: flexible
// * v10-11: CurrentLeader / NodeEndpoints tags for NOT_LEADER (KIP-951)

func init() { registerAPI(0, 0, 11, (*Broker).handleProduce) }

// produceJob is one partition's batch on its way to a shard.
type produceJob struct {
	out  *kmsg.ProduceResponseTopicPartition
	part *partition // set once appended, to match sync failures
	key  partKey
	raw  []byte
	hdr  batch.Header
	st   *topicSettings
	// errMsg explains a refused batch in the answer (v8+), where the code
	// alone would leave the producer guessing, and recordErrs names the
	// records it was refused for (KIP-467).
	errMsg     string
	recordErrs []kmsg.ProduceResponseTopicPartitionErrorRecord
}

func (b *Broker) handleProduce(r *request) {
	if b.handOff(r) {
		return // checked on the connection's lane (produce_lanes.go)
	}
	b.produce(r)
}

func (r *request) produceRequest() *kmsg.ProduceRequest { return r.kreq.(*kmsg.ProduceRequest) }

// produce checks r's batches and submits them to their shards.
func (b *Broker) produce(r *request) {
	req := r.produceRequest()
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	v := b.currentView()

	resp.Topics = make([]kmsg.ProduceResponseTopic, len(req.Topics))
	jobs := make(map[*shard][]produceJob)
	for i, rt := range req.Topics {
		st := &resp.Topics[i]
		*st = kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		st.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			sp := &st.Partitions[j]
			*sp = kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.BaseOffset = -1
			sp.LogAppendTime = -1
			sp.LogStartOffset = -1
			code, job := b.prepareProduce(r, req, v, rt.Topic, rp)
			if code != 0 {
				sp.ErrorCode = code
				if job.errMsg != "" && req.Version >= 8 {
					sp.ErrorMessage = &job.errMsg
					sp.ErrorRecords = job.recordErrs
				}
				if code == kerr.NotLeaderForPartition.Code && req.Version >= 10 {
					pointAtLeader(resp, sp, v, rt.Topic, r.conn.Listener)
				}
				continue
			}
			job.out = sp
			s := b.shardFor(job.key)
			jobs[s] = append(jobs[s], job)
		}
	}
	if len(jobs) == 0 {
		answerProduce(r, req, resp)
		return
	}
	var pending atomic.Int32
	pending.Store(int32(len(jobs)))
	for s, js := range jobs {
		s.submit(func(s *shard) {
			for i := range js {
				s.appendProduce(&js[i])
			}
			// Answer after the turn's commit so a shared sync covers it.
			// acks=0 waits too: its request keeps the connection's slot
			// until then, so the in-flight cap bounds it like any other.
			s.afterTurn = append(s.afterTurn, func(syncErrs map[*partition]error) {
				for i := range js {
					j := &js[i]
					if err := syncErrs[j.part]; err != nil && j.part != nil && j.out.ErrorCode == 0 {
						// Not durable under the configured policy: not acknowledged.
						j.out.ErrorCode = kerr.KafkaStorageError.Code
						j.out.BaseOffset = -1
						s.b.metrics.storageErrors.Add(1)
					}
				}
				if pending.Add(-1) == 0 {
					answerProduce(r, req, resp)
				}
			})
		})
	}
}

// pointAtLeader names the partition's leader in a NOT_LEADER_OR_FOLLOWER
// answer (KIP-951), so that the producer goes there without a metadata
// round trip: its id and epoch, and its address once per response (the
// one of the listener the client came through).
func pointAtLeader(resp *kmsg.ProduceResponse, sp *kmsg.ProduceResponseTopicPartition, v *clusterView, topic, listener string) {
	_, mp, ok := v.partition(topic, sp.Partition)
	if !ok {
		return
	}
	sp.CurrentLeader.LeaderID, sp.CurrentLeader.LeaderEpoch = mp.Leader, mp.LeaderEpoch
	br, known := v.broker(mp.Leader)
	if !known || slices.ContainsFunc(resp.Brokers, func(e kmsg.ProduceResponseBroker) bool { return e.NodeID == br.NodeID }) {
		return
	}
	host, port, ok := br.Endpoint(listener)
	if !ok {
		return
	}
	e := kmsg.NewProduceResponseBroker()
	e.NodeID, e.Host, e.Port, e.Rack = br.NodeID, host, port, br.RackPtr()
	resp.Brokers = append(resp.Brokers, e)
}

// answerProduce sends the produce answer. acks=0 has none to send; when a
// partition failed, the connection is closed instead, as Kafka does, so the
// producer learns of it and refreshes its metadata rather than sending on
// into a partition that drops every batch.
func answerProduce(r *request, req *kmsg.ProduceRequest, resp *kmsg.ProduceResponse) {
	if req.Acks != 0 {
		r.respond(resp)
		return
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				r.closeConnAfterEarlier(fmt.Errorf("acks=0 produce to %s[%d] failed: %w", t.Topic, p.Partition, kerr.ErrorForCode(p.ErrorCode)))
				return
			}
		}
	}
	r.respondNone()
}

// adminClientID is the client id Kafka lets append to internal topics.
const adminClientID = "__admin_client"

// prepareProduce validates one partition's batch on the event loop, before it
// costs a shard any time.
func (b *Broker) prepareProduce(r *request, req *kmsg.ProduceRequest, v *clusterView, topic string, rp kmsg.ProduceRequestTopicPartition) (int16, produceJob) {
	if req.Acks != 0 && req.Acks != 1 && req.Acks != -1 {
		return kerr.InvalidRequiredAcks.Code, produceJob{}
	}
	_, mp, ok := v.partition(topic, rp.Partition)
	if !ok {
		return kerr.UnknownTopicOrPartition.Code, produceJob{}
	}
	if mp.Leader != b.nodeID {
		// A replica here takes no client writes: they would never reach
		// the leader's log.
		return kerr.NotLeaderForPartition.Code, produceJob{}
	}
	if req.Version < 3 {
		return kerr.UnsupportedVersion.Code, produceJob{}
	}
	if isInternalTopic(topic) && r.clientID != adminClientID {
		// The broker writes its internal topics itself; a client record
		// there could forge or corrupt committed offsets.
		return kerr.InvalidTopicException.Code, produceJob{}
	}
	st := v.settings[topic]
	if req.Acks == -1 && int64(len(mp.ISR)) < st.minInsyncReplicas {
		// As Kafka's Partition.appendRecordsToLeader, before the batch
		// is looked at: fewer in-sync replicas than the topic asks an
		// acks=all write to reach.
		return kerr.NotEnoughReplicas.Code, produceJob{errMsg: fmt.Sprintf(
			"the in-sync replicas (%d) are fewer than min.insync.replicas (%d)", len(mp.ISR), st.minInsyncReplicas)}
	}
	if len(rp.Records) > int(st.maxMessageBytes) {
		return kerr.MessageTooLarge.Code, produceJob{}
	}
	h, err := batch.Validate(rp.Records)
	switch {
	case errors.Is(err, batch.ErrCRC):
		return kerr.CorruptMessage.Code, produceJob{}
	case errors.Is(err, batch.ErrCodec):
		return kerr.UnsupportedCompressionType.Code, produceJob{}
	case err != nil:
		return kerr.InvalidRecord.Code, produceJob{errMsg: err.Error()}
	}
	if h.ProducerID >= 0 && h.BaseSequence < 0 {
		// An idempotent batch's sequence numbers start at 0 (Kafka's
		// LogValidator refuses a negative one from a client).
		return kerr.InvalidRecord.Code, produceJob{errMsg: fmt.Sprintf(
			"invalid sequence number %d in a record batch of producer id %d", h.BaseSequence, h.ProducerID)}
	}
	if h.Control() {
		return kerr.InvalidRecord.Code, produceJob{}
	}
	if h.Transactional() && h.ProducerID < 0 {
		return kerr.InvalidProducerIDMapping.Code, produceJob{}
	}
	if h.LogAppendTime() {
		// The broker stamps LogAppendTime; a producer may not claim it.
		return kerr.InvalidTimestamp.Code, produceJob{}
	}
	if h.Codec() == 4 && req.Version < 7 { // zstd
		return kerr.UnsupportedCompressionType.Code, produceJob{}
	}
	// The records must be what the header counts (offsets are assigned
	// from it), on a compacted topic each needs a key (compaction could
	// never replace or remove a record without one), and CreateTime
	// timestamps must lie within the topic's window around the clock.
	// A topic that recompresses bounds the walk at what its shard will
	// recompress, so an oversized batch costs no more than that here.
	var limit int64
	if st.recompresses(&h) {
		limit = min(st.maxRecompressBytes(), partlog.MaxDecompressedBytes)
	}
	rules := partlog.RecordRules{RequireKeys: st.compact}
	if !st.logAppendTime {
		rules.CheckTimestamps = true
		rules.Now, rules.BeforeMs, rules.AfterMs = time.Now().UnixMilli(), st.timestampBeforeMaxMs, st.timestampAfterMaxMs
	}
	seen, err := partlog.CheckRecords(rp.Records, &h, rules, limit)
	switch {
	case errors.Is(err, partlog.ErrDecompressedTooLarge) && limit > 0:
		return kerr.MessageTooLarge.Code, produceJob{errMsg: fmt.Sprintf(
			"%v (topic %s recompresses batches, compression.type, of at most %d bytes)", err, topic, limit)}
	case errors.Is(err, partlog.ErrDecompressedTooLarge):
		return kerr.MessageTooLarge.Code, produceJob{errMsg: err.Error()}
	case errors.Is(err, partlog.ErrTimestampOutOfRange) || errors.Is(err, partlog.ErrRecordWithoutKey):
		return refusedRecords(topic, &h, &seen, &rules)
	case err != nil:
		return kerr.InvalidRecord.Code, produceJob{errMsg: err.Error()}
	}
	if seen.OffsetDeltasOff && (h.Codec() != 0 || st.recompresses(&h)) {
		// As Kafka: a compressed batch whose records are not numbered
		// 0, 1, 2, ... is rebuilt, not stored as sent (a consumer would
		// compute offsets from the deltas) nor refused (older clients
		// wrote them so); so is an uncompressed one that the topic's
		// compression.type recompresses (Kafka builds that batch anew).
		// Uncompressed and kept, it is stored as sent, as in Kafka.
		// The rebuild decodes the section whole, here on the network
		// loop: bounded as a recompressing shard bounds its work, or a
		// few KiB of zeros could claim the walk's 256 MiB.
		if limit := st.maxRecompressBytes(); seen.Bytes > limit {
			return kerr.MessageTooLarge.Code, produceJob{errMsg: fmt.Sprintf(
				"the batch's records are not numbered 0, 1, 2... and decompress to %d bytes: the broker renumbers at most %d (16 × max.message.bytes)", seen.Bytes, limit)}
		}
		rebuilt, err := partlog.RenumberRecords(rp.Records, &h)
		if err != nil {
			return kerr.InvalidRecord.Code, produceJob{errMsg: err.Error()}
		}
		if len(rebuilt) > int(st.maxMessageBytes) {
			return kerr.MessageTooLarge.Code, produceJob{}
		}
		rp.Records = rebuilt
		h.Length = int32(len(rebuilt) - batch.LengthFieldEnd)
	}
	if !st.logAppendTime && seen.MaxTimestamp != h.MaxTimestamp {
		// As Kafka: the header carries the records' real largest
		// timestamp, which the time index and retention go by.
		batch.SetMaxTimestamp(rp.Records, seen.MaxTimestamp)
		h.MaxTimestamp = seen.MaxTimestamp
	}
	return 0, produceJob{key: partKey{topic, rp.Partition}, raw: rp.Records, hdr: h, st: st}
}

// appendProduce runs on the shard that owns the partition.
func (s *shard) appendProduce(j *produceJob) {
	p, ok := s.parts[j.key]
	if !ok {
		j.out.ErrorCode = kerr.UnknownTopicOrPartition.Code
		return
	}
	p.reopenIfFailed()
	if p.log == nil {
		j.out.ErrorCode = kerr.KafkaStorageError.Code
		return
	}
	if j.hdr.Transactional() {
		// Checked here, on the partition's shard, not on the event loop:
		// a transaction's end writes its marker on this shard after it
		// stops taking the transaction's writes, so no batch of it can
		// land after its marker (a "hanging" transaction, KIP-890).
		if code := s.b.txns.checkWrite(j.hdr.ProducerID, j.hdr.ProducerEpoch, j.key); code != 0 {
			j.out.ErrorCode = code
			j.out.LogStartOffset = p.log.StartOffset()
			return
		}
	}
	res := p.append(j.raw, &j.hdr, j.st)
	switch {
	case res.err != nil:
		s.b.log.Error("append", "topic", j.key.topic, "partition", j.key.partition, "err", res.err)
		s.b.metrics.storageErrors.Add(1)
		j.out.ErrorCode = kerr.KafkaStorageError.Code
	case res.errCode != 0:
		j.out.ErrorCode = res.errCode
	default:
		j.part = p
		j.out.BaseOffset = res.baseOffset
		j.out.LogAppendTime = res.logAppendTime
	}
	j.out.LogStartOffset = p.log.StartOffset()
}
