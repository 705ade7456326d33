package engine

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-go/chronik/engine/batch"
	"github.com/chronik-go/chronik/engine/meta"
	"github.com/chronik-go/chronik/engine/partlog"
)

// partKey names a partition.
type partKey struct {
	topic     string
	partition int32
}

// producerStateFile holds the idempotent producers' state at a log offset, so
// a restart replays only the batches appended after it.
const producerStateFile = "producer_state.json"

// partition is one partition's state, owned by its shard goroutine.
type partition struct {
	key         partKey
	topicID     meta.TopicID
	dir         string
	shard       *shard
	log         *partlog.Log
	leaderEpoch int32

	producers map[int64]*producerState
	// producersSavedAt is the log end offset of the snapshot on disk when
	// it holds exactly producers (else -1): a clean close at that offset
	// need not write it again, so idle partitions close without file I/O.
	producersSavedAt int64
	// producersExpired says expiry dropped producers since the last
	// snapshot: even an empty one must be written, or a restart would
	// replay them from the log.
	producersExpired bool
	// producersUnreliable says the last restore of producer state failed
	// (a read error mid-replay): the state may lack producers, so it is
	// not persisted as a snapshot until a restore succeeds.
	producersUnreliable bool
	// txns is the partition's side of transactions (txn_partition.go),
	// kept and restored with the producer state.
	txns    txnState
	waiters []fetchWaiter

	// lastReopen rate-limits reopening a log that stopped taking writes;
	// closed is set once the partition is closed or removed for good.
	// reopening says a reopen runs off the shard (partition_reopen.go);
	// failedReopens counts those that failed in a row.
	lastReopen    time.Time
	reopenArmed   bool
	reopening     bool
	failedReopens int
	closed        bool
	// ackedBeforeReopen is where the write-behind log that failed had
	// acknowledged up to: its reopen restores from the shard's WAL what
	// the partition file lost below it (wal_reopen.go).
	ackedBeforeReopen int64
	// walInFlight counts the shard's sync jobs holding this partition's
	// batches for the WAL that the shard has not finished (finishWAL):
	// until then a reopen cannot know what was acknowledged, nor find it
	// in the WAL.
	walInFlight int

	// Turn and flush policy bookkeeping. turnBatches are the batches the
	// turn hands to the shard's WAL; walUnsafe is set when the log was
	// reopened from files holding bytes that were never synced: its next
	// sync must be its own fdatasync, not a WAL entry built on them.
	turnBatches    [][]byte
	walUnsafe      bool
	walWindow      uint64 // the shard's WAL window p was last counted in
	queuedForWrite bool
	unflushed      int64
	queuedForSync  bool
	// The flush.ms timer (nil when none runs): armed at flushArmedAt for
	// flushDue; flushTimer numbers it, so that a timer replaced by a
	// sooner one does nothing.
	flushArmedAt time.Time
	flushDue     time.Time
	flushTimer   uint64
	flushTimerAt *time.Timer
}

// fetchWaiter is a long-poll fetch waiting for data on this partition.
type fetchWaiter interface {
	wake()
	finished() bool
}

func partitionDir(dataDir string, k partKey) string {
	return filepath.Join(dataDir, fmt.Sprintf("%s-%d", k.topic, k.partition))
}

// openPartition opens the partition's log and restores producer state.
func (s *shard) openPartition(k partKey, id meta.TopicID, epoch int32, clean bool) (*partition, error) {
	dir := partitionDir(s.b.dataDir, k)
	var logState *partlog.CleanState
	var snap *producerSnapshot
	if ss := s.b.startState; ss != nil {
		clean, logState, snap = ss.forPartition(dir, id)
	}
	l, err := s.openOwnLog(k, id, dir, clean, logState)
	if err != nil {
		return nil, err
	}
	p := &partition{key: k, topicID: id, dir: dir, shard: s, log: l, leaderEpoch: epoch}
	l.OnFail(p.logFailed)
	if err := p.restoreProducers(snap, clean); err != nil {
		l.Close()
		return nil, fmt.Errorf("restore producer state of %s-%d: %w", k.topic, k.partition, err)
	}
	return p, nil
}

// openOwnLog is openLog for a directory that may not be the partition's
// own. One whose owner file names another topic id was left by a deleted
// topic of the same name (a crash before its removal, or a failed one): it
// is moved aside as <dir>.<time>-stray, as Kafka moves stray logs aside,
// and the partition starts empty. An owner file that does not parse (a
// crash left it damaged) names nobody: it is dropped and the directory
// adopted, so that no data is ever moved aside on a damaged file's word.
// It is safe off the shard's goroutine (a reopen).
func (s *shard) openOwnLog(k partKey, id meta.TopicID, dir string, clean bool, logState *partlog.CleanState) (*partlog.Log, error) {
	l, err := s.openLog(k, id, dir, clean, logState)
	var other *partlog.OtherOwnerError
	if !errors.As(err, &other) {
		return l, err
	}
	if _, ok := parsePartitionOwner(other.Content); !ok {
		s.b.log.Warn("dropping a damaged partition owner file; adopting the directory", "dir", dir, "content", string(other.Content))
		if rerr := os.Remove(other.Path); rerr != nil {
			return nil, fmt.Errorf("drop damaged %s: %w", other.Path, rerr)
		}
		return s.openLog(k, id, dir, false, nil)
	}
	stray := fmt.Sprintf("%s.%d-stray", dir, time.Now().UnixNano())
	s.b.log.Warn("moving aside a partition directory left by a deleted topic of the same name", "dir", dir, "to", stray, "err", err)
	if rerr := os.Rename(dir, stray); rerr != nil {
		return nil, fmt.Errorf("move aside %s left by a deleted topic: %w", dir, rerr)
	}
	return s.openLog(k, id, dir, false, nil)
}

// openLog opens a partition's log; logState is its state from the broker's
// clean-shutdown marker, if any.
func (s *shard) openLog(k partKey, id meta.TopicID, dir string, clean bool, logState *partlog.CleanState) (*partlog.Log, error) {
	b := s.b
	st := b.settingsFor(k.topic)
	l, err := partlog.Open(dir, partlog.Options{
		Opener:             b.opener,
		SegmentBytes:       st.segmentBytes,
		SegmentMs:          st.rollAfter(),
		IndexIntervalBytes: st.indexIntervalBytes,
		Preallocate:        b.reservesBlocks(st),
		Logger:             b.log,
		Writeback:          s.queueWriteback,
		Sealer:             s.queueSeal,
		CleanState:         logState,
		Owner:              partitionOwner(id),
	}, clean)
	if err != nil {
		return nil, fmt.Errorf("open partition %s-%d: %w", k.topic, k.partition, err)
	}
	if b.writeBehindOn() {
		l.SetWriteBehind()
	}
	return l, nil
}

// reservesBlocks says whether a partition of a topic with settings st
// reserves its active segment's blocks ahead of its writes: the topic's
// preallocate, on a file system where that helps (segmentReserveUsable).
func (b *Broker) reservesBlocks(st *topicSettings) bool { return st.preallocate && b.segmentReserve }

// partitionOwner is the content of a partition directory's owner file, as
// Kafka writes partition.metadata: the topic id in its base64 form.
func partitionOwner(id meta.TopicID) []byte {
	return fmt.Appendf(nil, "version: 0\ntopic_id: %s\n", base64.RawURLEncoding.EncodeToString(id[:]))
}

// parsePartitionOwner reads a topic id back from partitionOwner's format.
func parsePartitionOwner(b []byte) (meta.TopicID, bool) {
	var id meta.TopicID
	rest, ok := bytes.CutPrefix(b, []byte("version: 0\ntopic_id: "))
	if !ok {
		return id, false
	}
	enc, ok := bytes.CutSuffix(rest, []byte("\n"))
	if !ok {
		return id, false
	}
	if n, err := base64.RawURLEncoding.Decode(id[:], enc); err != nil || n != len(id) || len(enc) != base64.RawURLEncoding.EncodedLen(len(id)) {
		return id, false
	}
	return id, true
}

// logEnd is the log's end offset, or 0 without a log.
func (p *partition) logEnd() int64 {
	if p.log == nil {
		return 0
	}
	return p.log.NextOffset()
}

type producerSnapshot struct {
	Offset    int64                    `json:"offset"`
	Producers map[int64]*producerState `json:"producers"`
	txnState                           // open and aborted transactions at Offset
}

// restoreProducers loads the last producer-state snapshot — the partition's
// own file or cand (from the broker's clean-shutdown state), whichever is
// later — and replays batch headers written after it; producers expired
// meanwhile are dropped, as Kafka drops them when it loads its snapshots. A
// snapshot past the log's end (its batches lost in a crash after it was
// written) is not used. clean says the log opened from a clean shutdown.
func (p *partition) restoreProducers(cand *producerSnapshot, clean bool) (err error) {
	defer func() { p.producersUnreliable = err != nil }()
	before := p.producers // what a running broker saw, when it rebuilds after a fault
	p.producers = make(map[int64]*producerState)
	p.txns = txnState{}
	p.producersSavedAt = -1
	now := time.Now()
	defer func() {
		// Replayed producers (and those of snapshots older than SeenAtMs)
		// count as seen now, and the snapshot is written again with it; a
		// producer this broker saw later than its snapshot did keeps that
		// time; those seen too long ago are dropped.
		for id, ps := range p.producers {
			if ps.SeenAtMs == 0 {
				ps.SeenAtMs = now.UnixMilli()
				p.producersSavedAt = -1
			}
			if old := before[id]; old != nil && old.Epoch == ps.Epoch {
				ps.SeenAtMs = max(ps.SeenAtMs, old.SeenAtMs)
			}
		}
		p.expireProducers(now.Add(-p.shard.b.cfg.ProducerIDExpiration).UnixMilli())
	}()
	if clean && cand != nil && cand.Offset == p.log.NextOffset() {
		// No snapshot can be later: a clean start reads no file here.
		// (After a crash the log may end there having lost what was
		// written since, while a roll's snapshot past it survived: that
		// file must go, below, as Kafka drops snapshots past the log end.)
		p.adoptSnapshot(cand)
		return nil
	}
	from := p.log.StartOffset()
	raw, err := os.ReadFile(filepath.Join(p.dir, producerStateFile))
	snapAt := int64(-1)
	switch {
	case err == nil:
		var snap producerSnapshot
		if err := json.Unmarshal(raw, &snap); err != nil {
			// The snapshot is an optimisation: rebuild from the whole log.
			p.shard.b.log.Warn("unreadable producer state, rebuilding it from the log", "dir", p.dir, "err", err)
			break
		}
		if snap.Offset > p.log.NextOffset() {
			p.shard.b.log.Warn("producer state snapshot is past the log's end, rebuilding it from the log", "dir", p.dir, "snapshot", snap.Offset, "log_end", p.log.NextOffset())
			// Kept, it would pass for the state at its offset once the log
			// grows past it again (another history of those offsets).
			if err := os.Remove(filepath.Join(p.dir, producerStateFile)); err != nil {
				p.shard.b.log.Warn("remove producer state snapshot past the log's end", "dir", p.dir, "err", err)
			}
			syncDir(p.dir)
			break
		}
		if snap.Producers != nil {
			p.producers = snap.Producers
		}
		p.txns = snap.txnState
		from = max(from, snap.Offset)
		snapAt = snap.Offset
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	fileAt := snapAt
	if cand != nil && cand.Offset > p.log.NextOffset() {
		// The log lost offsets below the last clean stop: once it grows
		// past them again the kept state would pass for the state there
		// (consumeMarker retires it).
		p.shard.b.cleanStatePastLogEnd.Store(true)
	}
	if cand != nil && cand.Offset > snapAt && cand.Offset <= p.log.NextOffset() {
		p.adoptSnapshot(cand)
		from = max(p.log.StartOffset(), cand.Offset)
		snapAt = cand.Offset
	}
	if from >= p.log.NextOffset() {
		if fileAt == snapAt && snapAt == p.log.NextOffset() {
			p.producersSavedAt = snapAt // the file's snapshot is exactly the log's end
		}
		return nil
	}
	var markers []batch.Header // whose types are read after the scan
	atSnapshot := p.txns.clone()
	err = p.log.ScanBatches(from, func(h batch.Header) error {
		if h.Control() && h.ProducerID >= 0 {
			// The scan reads headers only; the epoch applies in log order.
			p.noteMarkerEpoch(h.ProducerID, h.ProducerEpoch, 0)
			markers = append(markers, h)
			return nil
		}
		p.applyProducerBatch(h, nil, 0) // replayed: seen at this restart (the deferred function)
		return nil
	})
	if err != nil || len(markers) == 0 {
		return err
	}
	p.txns = atSnapshot
	return p.replayMarkers(from, markers)
}

// replayMarkers rebuilds the transaction state from the batches at from and
// after, in log order, over the state before them, reading the type of each marker in markers (the
// control batches among them).
func (p *partition) replayMarkers(from int64, markers []batch.Header) error {
	next := 0
	return p.log.ScanBatches(from, func(h batch.Header) error {
		if !h.Control() || h.ProducerID < 0 {
			p.txns.noteData(&h, h.BaseOffset)
			return nil
		}
		if next >= len(markers) || markers[next].BaseOffset != h.BaseOffset {
			return fmt.Errorf("transaction marker at offset %d moved during the replay", h.BaseOffset)
		}
		next++
		typ, err := p.markerType(h.BaseOffset)
		if err != nil {
			return err
		}
		p.txns.noteMarker(h.ProducerID, typ, h.BaseOffset)
		return nil
	})
}

// markerType reads the type of the transaction marker at offset.
func (p *partition) markerType(offset int64) (int16, error) {
	raw, err := p.log.Read(offset, 4096)
	if err != nil {
		return 0, fmt.Errorf("read transaction marker at offset %d: %w", offset, err)
	}
	typ, err := batch.ControlType(raw)
	if err != nil {
		return 0, fmt.Errorf("transaction marker at offset %d: %w", offset, err)
	}
	return typ, nil
}

// adoptSnapshot makes snap's producers the partition's.
func (p *partition) adoptSnapshot(snap *producerSnapshot) {
	p.producers = make(map[int64]*producerState, len(snap.Producers))
	for id, ps := range snap.Producers {
		p.producers[id] = ps
	}
	p.txns = snap.txnState.clone()
}

// applyProducerBatch applies a batch of the log (one a restore or the WAL
// replay reads, or one the group coordinator appends, raw) to producer and
// transaction state, the producer seen at seenAtMs. A marker's type is read
// from raw, or from the log without it.
func (p *partition) applyProducerBatch(h batch.Header, raw []byte, seenAtMs int64) error {
	if h.ProducerID < 0 {
		return nil
	}
	if h.Control() {
		p.noteMarkerEpoch(h.ProducerID, h.ProducerEpoch, seenAtMs)
		var typ int16
		var err error
		if raw != nil {
			typ, err = batch.ControlType(raw)
		} else {
			typ, err = p.markerType(h.BaseOffset)
		}
		if err != nil {
			return err
		}
		p.txns.noteMarker(h.ProducerID, typ, h.BaseOffset)
		return nil
	}
	p.txns.noteData(&h, h.BaseOffset)
	// Compaction keeps a batch's last offset delta but may drop records:
	// the sequence range follows the offsets, as in Kafka.
	h.NumRecords = h.LastOffsetDelta + 1
	ps := recordIdempotent(p.producers[h.ProducerID], &h, h.BaseOffset)
	ps.SeenAtMs = seenAtMs
	p.producers[h.ProducerID] = ps
	p.producersSavedAt = -1
	return nil
}

// saveProducers writes the producer-state snapshot at the log end, when it
// differs from the one on disk.
func (p *partition) saveProducers() error {
	next := p.log.NextOffset()
	if p.producersUnreliable || p.producersSavedAt == next || (len(p.producers) == 0 && p.txns.empty() && !p.producersExpired) {
		return nil
	}
	return p.writeProducerSnapshot(next)
}

// writeProducerSnapshot writes p.producers as the producer-state snapshot at
// offset next, which they must describe: every batch below it and none
// above.
func (p *partition) writeProducerSnapshot(next int64) error {
	raw, err := json.Marshal(producerSnapshot{Offset: next, Producers: p.producers, txnState: p.txns})
	if err != nil {
		return err
	}
	tmp := filepath.Join(p.dir, producerStateFile+".tmp")
	if err := os.WriteFile(tmp, raw, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(p.dir, producerStateFile)); err != nil {
		return err
	}
	p.producersSavedAt = next
	p.producersExpired = false
	return nil
}

// appendResult is what a produce partition answer needs.
type appendResult struct {
	baseOffset    int64
	logAppendTime int64
	errCode       int16
	err           error
}

// append validates idempotence, stamps and writes one validated batch.
func (p *partition) append(raw []byte, h *batch.Header, st *topicSettings) appendResult {
	// A failed log's producer state may name batches that never reached the
	// disk: no duplicate may be answered from it until the log is reopened.
	if err := p.log.Failed(); err != nil {
		return appendResult{err: err, baseOffset: -1, logAppendTime: -1}
	}
	var ps *producerState
	if _, open := p.txns.Ongoing[h.ProducerID]; open && !h.Transactional() {
		// As Kafka: a producer's plain write inside its open transaction.
		return appendResult{errCode: kerr.InvalidTxnState.Code, baseOffset: -1, logAppendTime: -1}
	}
	if h.ProducerID >= 0 {
		ps = p.producers[h.ProducerID]
		v := checkIdempotent(ps, h)
		if v.duplicate != nil {
			if p.shard.b.flushPolicy == flushAlways {
				// The original's sync may still be pending: answer the
				// duplicate after this log's queued syncs, not before.
				p.queueSync()
			}
			// Kafka answers a duplicate with the original batch's max
			// timestamp as its log append time, whatever the topic's
			// timestamp type: on a LogAppendTime topic that is the stamp
			// the original got.
			return appendResult{baseOffset: v.duplicate.BaseOffset, logAppendTime: v.duplicate.Timestamp}
		}
		if v.errCode != 0 {
			return appendResult{errCode: v.errCode, baseOffset: -1, logAppendTime: -1}
		}
	}
	if st.recompresses(h) {
		// compression.type names a codec: the batch is stored in it, as
		// Kafka recompresses, here on the shard that owns the partition so
		// that batches keep their order.
		out, err := partlog.Recompress(raw, h, st.codec)
		if err != nil {
			p.shard.b.log.Debug("recompress", "topic", p.key.topic, "partition", p.key.partition, "err", err)
			return appendResult{errCode: kerr.InvalidRecord.Code, baseOffset: -1, logAppendTime: -1}
		}
		if len(out) > int(st.maxMessageBytes) {
			return appendResult{errCode: kerr.MessageTooLarge.Code, baseOffset: -1, logAppendTime: -1}
		}
		raw = out
		h.Attributes, h.Length = h.Attributes&^0x07|int16(st.codec), int32(len(out)-batch.LengthFieldEnd)
	}
	appendTime := int64(-1)
	if st.logAppendTime {
		appendTime = time.Now().UnixMilli()
		batch.SetLogAppendTime(raw, appendTime)
		h.MaxTimestamp = appendTime
	}
	base, err := p.stage(raw, h, st)
	if err != nil {
		return appendResult{err: err, baseOffset: -1, logAppendTime: -1}
	}
	p.txns.noteData(h, base)
	if h.ProducerID >= 0 {
		// (A duplicate answered from the state above does not refresh
		// SeenAtMs, as in Kafka: only a producer retrying one batch for
		// the whole expiration would notice.)
		ps = recordIdempotent(ps, h, base)
		ps.SeenAtMs = time.Now().UnixMilli()
		p.producers[h.ProducerID] = ps
		p.producersSavedAt = -1
	}
	p.afterAppend(int64(h.NumRecords), st)
	return appendResult{baseOffset: base, logAppendTime: appendTime}
}

// stage hands one batch to the log: its bytes go to the kernel with the rest
// of the turn's appends (shard.writeTurn), and its acknowledgement waits for
// the turn's commit.
func (p *partition) stage(raw []byte, h *batch.Header, st *topicSettings) (int64, error) {
	p.log.SetRollLimits(st.segmentBytes, st.rollAfter())
	p.log.SetIndexIntervalBytes(st.indexIntervalBytes)
	p.log.SetPreallocate(p.shard.b.reservesBlocks(st))
	segments, before := p.log.SegmentCount(), p.log.NextOffset()
	base, err := p.log.StageAppend(raw, p.leaderEpoch)
	if err != nil {
		return -1, err
	}
	if segments > 0 && p.log.SegmentCount() > segments {
		p.snapshotAtRoll(before)
	}
	p.shard.walWindowBytes += int64(len(raw))
	p.queueWrite()
	return base, nil
}

// snapshotAtRoll writes the producer state as it was before the batch that
// rolled the log, at the new segment's base, as Kafka does at each roll, so
// after a crash producer state is replayed from the active segment at most,
// however rarely the broker stops cleanly. A failure only costs a longer
// replay; so does a crash that cut the rolled segment short before its seal
// reached the disk (the snapshot then lies past the log's end and is not
// used).
//
// The snapshot is written even when it is empty (a partition without
// idempotent producers would otherwise be replayed from its start), but not
// while the state is unreliable.
func (p *partition) snapshotAtRoll(segmentBase int64) {
	if p.producersUnreliable {
		return
	}
	if err := p.writeProducerSnapshot(segmentBase); err != nil {
		p.shard.b.log.Warn("producer state snapshot at segment roll", "dir", p.dir, "err", err)
	}
}

// afterAppend applies the flush policy.
func (p *partition) afterAppend(records int64, st *topicSettings) {
	p.unflushed += records
	switch p.shard.b.flushPolicy {
	case flushAlways:
		p.queueSync()
	case flushNever:
	default:
		p.applyFlushInterval(st)
	}
	// Long-poll fetches are woken by shard.writeTurn once the bytes are written.
}

// applyFlushInterval is Kafka's policy: sync after flush.messages records or
// once the oldest unsynced record is flush.ms old. A flush.ms lowered while
// the timer runs applies from the next append (a timer armed under an hour
// would otherwise hold records unsynced for that hour).
func (p *partition) applyFlushInterval(st *topicSettings) {
	if p.unflushed >= st.flushMessages {
		p.queueSync()
		return
	}
	if st.flushMs < 0 {
		return
	}
	armed := p.flushTimerAt != nil
	if !armed {
		p.flushArmedAt = time.Now()
	}
	due := p.flushArmedAt.Add(msDuration(st.flushMs))
	if armed && !due.Before(p.flushDue) {
		return
	}
	p.flushDue = due
	p.flushTimer++
	timer := p.flushTimer
	if armed {
		p.flushTimerAt.Stop() // or it stays in the runtime's heap until its old deadline
	}
	p.flushTimerAt = time.AfterFunc(time.Until(due), func() {
		p.shard.submit(func(*shard) {
			if p.flushTimer != timer {
				return // a sooner timer replaced this one
			}
			p.flushTimerAt = nil
			if p.unflushed > 0 {
				p.queueSync()
			}
		})
	})
}

// stopFlushTimer drops a flush.ms timer of a partition going away, which
// would otherwise hold it until its deadline.
func (p *partition) stopFlushTimer() {
	if p.flushTimerAt != nil {
		p.flushTimerAt.Stop()
	}
}

func (p *partition) queueSync() {
	if !p.queuedForSync {
		p.queuedForSync = true
		p.shard.toSync = append(p.shard.toSync, p)
	}
}

// prepareSync captures the partition's pending sync for the syncer.
func (p *partition) prepareSync() (*partlog.SyncTask, error) {
	p.queuedForSync = false
	if p.log == nil {
		return nil, nil
	}
	p.unflushed = 0
	return p.log.PrepareSync()
}

// syncDone records the outcome of a sync the syncer ran.
func (p *partition) syncDone(t *partlog.SyncTask, err error) {
	if p.log == nil {
		return
	}
	p.log.SyncDone(t, err)
	if err != nil {
		p.shard.b.log.Error("sync partition", "topic", p.key.topic, "partition", p.key.partition, "err", err)
	}
}

func (p *partition) wakeWaiters() {
	if len(p.waiters) == 0 {
		return
	}
	ws := p.waiters
	p.waiters = nil
	for _, w := range ws {
		w.wake()
	}
}

// addWaiter registers a long-poll fetch, dropping waiters that already
// finished, and w's own earlier entry (each read round of a fetch registers
// it again), so an idle partition's list cannot grow without bound.
func (p *partition) addWaiter(w fetchWaiter) {
	live := p.waiters[:0]
	for _, old := range p.waiters {
		if !old.finished() && old != w {
			live = append(live, old)
		}
	}
	clear(p.waiters[len(live):])
	p.waiters = append(live, w)
}

func (p *partition) enforceRetention(now time.Time) {
	if p.log == nil {
		return // its reopen after a storage fault failed; the next produce retries it
	}
	st := p.shard.b.settingsFor(p.key.topic)
	retention := msDuration(st.retentionMs)
	if st.retentionMs < 0 {
		retention = -1
	}
	if _, err := p.log.EnforceRetention(now, retention, st.retentionBytes); err != nil {
		p.shard.b.log.Error("retention", "topic", p.key.topic, "partition", p.key.partition, "err", err)
	}
	p.txns.trimBelow(p.log.StartOffset())
}

// close closes the log cleanly. Where the broker syncs the filesystem at
// shutdown it returns the log's and producers' state for the broker's
// clean-shutdown marker (ok false: nothing to keep, the next start recovers
// or finds the partition from its files); elsewhere the partition persists
// them in its own files.
func (p *partition) close() (st partitionCleanState, ok bool) {
	p.closed = true
	p.stopFlushTimer()
	p.noteOffline()
	if p.log == nil {
		return st, false
	}
	defer p.wakeWaiters()
	var err error
	if p.shard.b.syncfsTrusted {
		// Broker.Close makes everything durable with one syncfs before it
		// writes the marker (a syncfs that would report a failed
		// writeback: syncfsTrusted).
		var ls partlog.CleanState
		ls, ok, err = p.log.CloseToState()
		// Unreliable producer state is not kept: the next start then
		// recovers the partition and replays its producers.
		ok = ok && !p.producersUnreliable
		if ok {
			st = partitionCleanState{TopicID: p.topicID, Log: ls, Producers: p.producers, Txns: p.txns}
		}
	} else {
		if serr := p.saveProducers(); serr != nil {
			p.shard.b.log.Error("save producer state", "dir", p.dir, "err", serr)
		}
		err = p.log.Close()
	}
	if err != nil {
		p.shard.b.log.Error("close partition", "dir", p.dir, "err", err)
		// Its staged batches may not have reached the file: keep the WAL.
		p.shard.b.walKeepAll.Store(true)
		ok = false
	}
	p.log = nil
	return st, ok
}

// remove deletes the partition's data (DeleteTopics).
func (p *partition) remove() {
	p.shard.awaitReopen(p)
	p.closed = true
	p.stopFlushTimer()
	p.noteOffline()
	if p.log == nil {
		p.removeFiles()
		return
	}
	if err := p.log.Remove(); err != nil {
		p.shard.b.log.Error("remove partition", "dir", p.dir, "err", err)
	}
	p.log = nil
	p.wakeWaiters()
}
