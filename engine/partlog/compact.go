package partlog

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"time"

	"github.com/chronik-go/chronik/engine/batch"
)

// Defaults for zero CleanOptions fields.
const (
	DefaultCleanStepBytes = 1 << 20
	DefaultCleanKeyBytes  = 64 << 20
)

// CleanOptions configure log compaction (Kafka's cleaner and the topic's
// cleanup settings). Zero fields take defaults.
type CleanOptions struct {
	Now              time.Time     // wall clock; default Options.Now()
	DeleteRetention  time.Duration // delete.retention.ms: how long a cleaned tombstone stays
	MinCompactionLag time.Duration // min.compaction.lag.ms: records younger than this stay uncompacted
	// MaxCompactionLag is max.compaction.lag.ms: a pass is due, whatever the
	// dirty ratio, once a sealed dirty segment's first batch is older than
	// this (Kafka's KIP-354); 0 = no bound.
	MaxCompactionLag time.Duration
	// MinDirtyRatio is min.cleanable.dirty.ratio: a pass starts when the
	// dirty share of the cleanable bytes reaches it, or when kept tombstones
	// have passed their delete horizon.
	MinDirtyRatio float64
	// MaxKeyBytes bounds the memory of a pass's key map; a pass maps at
	// least one segment and stops mapping at the segment that crosses it.
	MaxKeyBytes int64
	// StepBytes bounds the bytes one Clean call reads and writes (it always
	// handles at least one batch), so a step takes the owner a short time.
	StepBytes int64
	// LastProducerBatch reports whether the batch at baseOffset is the last
	// one producerID wrote. Such a batch is kept, empty, when all its records
	// are removed, so the producer's sequence state survives compaction as
	// in Kafka. Nil keeps every emptied idempotent batch.
	LastProducerBatch func(producerID, baseOffset int64) bool
	// TxnBatch says what became of the transaction of producerID's
	// transactional batch at baseOffset: only a committed one's records are
	// mapped and compacted like any other; an aborted one's are removed.
	// Nil leaves every transactional batch, and every marker, as it is.
	TxnBatch func(producerID, baseOffset int64) TxnOutcome
	// LastProducerMarker reports whether a transaction marker of
	// producerID at epoch is the producer's last entry in the log: it then
	// stays, so the producer's epoch survives a rebuild of its state from
	// the log (Kafka keeps it too). Nil keeps every marker.
	LastProducerMarker func(producerID int64, epoch int16) bool
	// AbortedTxnGone is told of the abort marker at markerOffset whose
	// aborted transaction has no batch left in the log: read_committed
	// consumers need not be told of it any more. It may be told again.
	AbortedTxnGone func(producerID, markerOffset int64)
	// BeforeMarkersGo is called on the owner before the swap of a cleaned
	// group that removes transaction markers is handed out. It saves the
	// state that must not outlive those markers (the partition's
	// producer-state snapshot, without the aborted transactions they end)
	// and returns what makes that durable, which the swap runs before it
	// commits, so that after a crash no state names a marker the log no
	// longer holds. An error abandons the pass. Nil: markers go without it.
	BeforeMarkersGo func() (durable func() error, err error)
	// KeepMarkers keeps every transaction marker for now (while state
	// older than the log may still be adopted).
	KeepMarkers bool
	// StableOffset is the last stable offset (Kafka's bound on what a
	// pass may clean): a segment holding it or later offsets waits, so
	// that a read_committed consumer, which reads below it, never sees a
	// key's value removed for a later one it cannot read yet. Nil: the
	// log end.
	StableOffset func() int64
}

func (o CleanOptions) withDefaults(l *Log) CleanOptions {
	if o.Now.IsZero() {
		o.Now = l.opts.Now()
	}
	if o.MaxKeyBytes <= 0 {
		o.MaxKeyBytes = DefaultCleanKeyBytes
	}
	if o.StepBytes <= 0 {
		o.StepBytes = DefaultCleanStepBytes
	}
	return o
}

// CleanResult reports one Clean call.
type CleanResult struct {
	Bytes   int64 // bytes read and written by this call
	Running bool  // a pass is in progress: call Clean again
	Done    bool  // a pass finished in this call
	// Task, when set, is a cleaned group ready to be swapped in: run it
	// (off the owner if its fsyncs must not block it), then CleanTaskDone.
	// Until then Clean does no work.
	Task *CleanTask
}

// CleanerStats count the compaction work done on this Log since it was opened.
type CleanerStats struct {
	Passes          int64
	SegmentsCleaned int64 // sealed segments rewritten
	BytesRead       int64
	BytesWritten    int64
	RecordsRemoved  int64
	// FirstDirtyOffset is where the next pass starts mapping keys: every
	// record below it was compacted against all keys below it.
	FirstDirtyOffset int64
}

// cleanerState is a Log's compaction bookkeeping, loaded on first use.
type cleanerState struct {
	firstDirty int64
	minHorizon int64
	pass       *cleanPass
	stats      CleanerStats
}

// cleanPass is one compaction pass in progress. It first maps the latest
// offset of every key in the dirty segments [first dirty, mapEnd), then
// rewrites the segments below mapEnd group by group, each group into one
// cleaned segment swapped in for it.
type cleanPass struct {
	keys  *keyMap
	bc    batchCleaner
	in    []byte   // a chunk of whole batches read from a segment
	inSeg *segment // the segment in holds batches of, from position inPos
	inPos int64
	out   []byte // cleaned batches not yet written

	mapping bool
	mapSeg  *segment // the segment being mapped; mapping stops at limit
	mapPos  int64
	limit   *segment // the first segment the pass may not compact
	mapEnd  int64

	groups  [][]*segment
	gi, si  int // current group, and source segment within it
	srcPos  int64
	cleaned *segment   // the current group's output
	task    *CleanTask // the current group's swap, while it runs
}

func (l *Log) cleanerState() *cleanerState {
	if l.cleaner != nil {
		return l.cleaner
	}
	cs := &cleanerState{firstDirty: l.start, minHorizon: noHorizon}
	if !l.dirMissing {
		cp, found, err := readCleanerCheckpoint(l.dir)
		if err != nil {
			l.opts.Logger.Warn("cleaner checkpoint unusable; the next pass recompacts the whole log", "dir", l.dir, "err", err)
		}
		if found {
			cs.firstDirty, cs.minHorizon = cp.firstDirty, cp.minHorizon
		}
	}
	l.cleaner = cs
	return cs
}

// CleanerStats returns the compaction counters.
func (l *Log) CleanerStats() CleanerStats {
	cs := l.cleanerState()
	st := cs.stats
	st.FirstDirtyOffset = cs.firstDirty
	return st
}

// cleanPlan is what a pass would cover now.
type cleanPlan struct {
	first, limit   int   // map segs[first:limit]; segs[limit] and later are not cleanable
	dirty, total   int64 // bytes of segs[first:limit] and of segs[:limit]
	tombstonesDue  bool  // a kept tombstone passed its delete horizon
	overdue        bool  // a sealed dirty segment outlived MaxCompactionLag
	firstDirtyFrom int64
}

func (l *Log) planClean(o *CleanOptions) (cleanPlan, error) {
	cs := l.cleanerState()
	var p cleanPlan
	p.limit = len(l.segs) - 1 // the active segment is never cleaned
	if l.sealing != nil && p.limit > 0 && l.segs[p.limit-1] == l.sealing.seg {
		p.limit-- // nor one whose seal task still holds its files
	}
	if p.limit <= 0 {
		return p, nil
	}
	p.firstDirtyFrom = min(max(cs.firstDirty, l.start), l.next)
	p.first = max(l.segmentFor(p.firstDirtyFrom), 0)
	if p.firstDirtyFrom >= l.segmentEnd(p.limit-1) {
		p.first = p.limit
	}
	if o.MinCompactionLag > 0 {
		cutoff := o.Now.Add(-o.MinCompactionLag).UnixMilli()
		for i := p.first; i < p.limit; i++ {
			if err := l.prepare(l.segs[i]); err != nil {
				return p, err
			}
			// Kafka's largestTimestamp: a segment of records without
			// timestamps ages by its file's modification time.
			newest, err := l.segs[i].largestTimestamp()
			if err != nil {
				return p, err
			}
			if newest > cutoff {
				p.limit = i
				break
			}
		}
	}
	if o.StableOffset != nil {
		stable := o.StableOffset()
		for p.limit > 0 && l.segmentEnd(p.limit-1) > stable {
			p.limit--
		}
		p.first = min(p.first, p.limit)
	}
	for i := 0; i < p.limit; i++ {
		p.total += l.segs[i].size
		if i >= p.first {
			p.dirty += l.segs[i].size
		}
	}
	p.tombstonesDue = cs.minHorizon <= o.Now.UnixMilli()
	if cutoff := o.Now.Add(-o.MaxCompactionLag).UnixMilli(); o.MaxCompactionLag > 0 && cutoff > 0 && p.dirty > 0 {
		overdue, err := l.dirtyOlderThan(p.first, cutoff)
		if err != nil {
			return p, err
		}
		p.overdue = overdue
	}
	return p, nil
}

// dirtyOlderThan reports whether a sealed segment from segs[first] on has a
// first batch timestamped before cutoff (ms), as Kafka measures a log's
// compaction delay. Batches without a timestamp do not count.
func (l *Log) dirtyOlderThan(first int, cutoff int64) (bool, error) {
	for i := first; i < len(l.segs)-1; i++ {
		s := l.segs[i]
		logWasOpen := s.f != nil
		ts, err := s.firstBatchTimestamp()
		l.releaseLookup(s, logWasOpen)
		if err != nil {
			return false, err
		}
		if ts > 0 && ts < cutoff {
			return true, nil
		}
	}
	return false, nil
}

// worthIt reports whether the plan justifies a pass.
func (p *cleanPlan) worthIt(minRatio float64) bool {
	if p.total == 0 {
		return false
	}
	return p.dirty > 0 && (float64(p.dirty)/float64(p.total) >= minRatio || p.overdue) || p.tombstonesDue
}

// CleanPriority is the dirty share of the log's cleanable bytes and whether
// a pass would start now, for choosing which log to clean first.
func (l *Log) CleanPriority(o CleanOptions) (ratio float64, due bool, err error) {
	if err := l.writable(); err != nil {
		return 0, false, err
	}
	o = o.withDefaults(l)
	p, err := l.planClean(&o)
	if err != nil || p.total == 0 {
		return 0, false, err
	}
	return float64(p.dirty) / float64(p.total), p.worthIt(o.MinDirtyRatio), nil
}

// Clean advances compaction (cleanup.policy=compact) by one step of about
// o.StepBytes: it starts a pass when one is due, maps keys, or rewrites
// sealed segments, swapping each cleaned group in. For each key only the
// record with the highest offset stays; tombstones stay until their delete
// horizon; the active segment is never touched; kept records keep their
// offsets. A pass survives appends and rolls between steps; one whose
// segments were removed or truncated meanwhile is abandoned.
func (l *Log) Clean(o CleanOptions) (CleanResult, error) {
	if err := l.writable(); err != nil {
		return CleanResult{}, err
	}
	o = o.withDefaults(l)
	cs := l.cleanerState()
	if cs.pass == nil {
		plan, err := l.planClean(&o)
		if err != nil || !plan.worthIt(o.MinDirtyRatio) {
			return CleanResult{}, err
		}
		cs.pass = &cleanPass{
			keys:    newKeyMap(),
			bc:      batchCleaner{minHorizon: noHorizon},
			mapping: true,
			mapSeg:  l.segs[plan.first],
			limit:   l.segs[plan.limit],
			mapEnd:  l.segs[plan.first].base,
		}
	}
	p := cs.pass
	if p.task != nil {
		return CleanResult{Running: true}, nil
	}
	p.bc.keys, p.bc.now, p.bc.deleteRetention = p.keys, o.Now.UnixMilli(), o.DeleteRetention.Milliseconds()
	p.bc.outcome, p.bc.lastMarker, p.bc.abortGone = o.TxnBatch, o.LastProducerMarker, o.AbortedTxnGone
	p.bc.keepMarkers = o.KeepMarkers
	p.bc.keepEmpty = func(h *batch.Header) bool {
		return o.LastProducerBatch == nil || o.LastProducerBatch(h.ProducerID, h.BaseOffset)
	}
	if !l.passIntact(p) {
		l.abortClean()
		return CleanResult{}, nil
	}
	var res CleanResult
	err := l.cleanStep(p, &o, &res)
	if err != nil {
		l.abortClean()
		return res, fmt.Errorf("compact %s: %w", l.dir, err)
	}
	if p.gi == len(p.groups) && !p.mapping && p.task == nil {
		l.finishPass(p)
		res.Done = true
	}
	res.Running = cs.pass != nil
	if res.Running {
		res.Task = p.task
	}
	return res, nil
}

// cleanStep works batch by batch until the step's budget is spent. Bytes
// count what is read, written and (for compressed batches) decompressed, so
// a step's time follows its work even for highly compressible batches.
func (l *Log) cleanStep(p *cleanPass, o *CleanOptions, res *CleanResult) error {
	for (res.Bytes == 0 || res.Bytes < o.StepBytes) && p.task == nil {
		if p.mapping {
			if err := l.mapStep(p, o, res); err != nil {
				return err
			}
			continue
		}
		if p.gi == len(p.groups) {
			return nil
		}
		if err := l.cleanGroupStep(p, o, res); err != nil {
			return err
		}
	}
	if p.cleaned != nil {
		// Written at the end of every step: no output waits in memory
		// between steps.
		return p.flushCleaned(l)
	}
	return nil
}

// mapStep maps the keys of one chunk of the segment being mapped, or moves
// on to the next segment, or ends the mapping.
func (l *Log) mapStep(p *cleanPass, o *CleanOptions, res *CleanResult) error {
	if p.mapSeg == p.limit {
		return l.endMapping(p)
	}
	if p.mapPos >= p.mapSeg.size {
		i, _ := l.indexOf(p.mapSeg)
		p.mapSeg, p.mapPos, p.mapEnd = l.segs[i+1], 0, l.segs[i+1].base
		if p.keys.bytes >= o.MaxKeyBytes {
			return l.endMapping(p)
		}
		return nil
	}
	h, raw, err := p.nextBatch(p.mapSeg, p.mapPos, o.StepBytes)
	if err != nil {
		return err
	}
	p.mapPos += int64(len(raw))
	l.cleaner.stats.BytesRead += int64(len(raw))
	res.Bytes += int64(len(raw))
	if h.Control() || h.Transactional() && (o.TxnBatch == nil || o.TxnBatch(h.ProducerID, h.BaseOffset) != TxnCommitted) {
		// A record of an open or aborted transaction must not replace
		// an older one: a read_committed consumer would lose both.
		return nil
	}
	recs, err := batchRecords(raw, &h)
	if err != nil {
		return fmt.Errorf("map keys of batch %d in %s: %w", h.BaseOffset, p.mapSeg.path(logSuffix), err)
	}
	if h.Codec() != 0 {
		res.Bytes += int64(len(recs))
	}
	return forEachRecordView(recs, h.NumRecords, func(r *recordView) error {
		if r.key != nil {
			p.keys.put(r.key, h.BaseOffset+int64(r.offsetDelta))
		}
		return nil
	})
}

// endMapping groups the segments below the mapped range for rewriting:
// consecutive segments whose sizes add up to at most a segment, whose
// offsets fit the index's int32 relative offsets.
func (l *Log) endMapping(p *cleanPass) error {
	p.mapping = false
	end, _ := l.indexOf(p.mapSeg)
	for i := 0; i < end; {
		j, size := i+1, l.segs[i].size
		for j < end && size+l.segs[j].size <= l.opts.SegmentBytes && l.segmentEnd(j)-1-l.segs[i].base <= math.MaxInt32 {
			size += l.segs[j].size
			j++
		}
		p.groups = append(p.groups, slices.Clone(l.segs[i:j]))
		i = j
	}
	return nil
}

// cleanGroupStep rewrites one chunk of the current group's current segment
// into the group's cleaned segment, and swaps the cleaned segment in once
// the group is done.
func (l *Log) cleanGroupStep(p *cleanPass, o *CleanOptions, res *CleanResult) error {
	g := p.groups[p.gi]
	if p.cleaned == nil {
		out := newCleanedSegment(l.dir, g[0].base, l)
		for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
			if err := os.Remove(out.path(suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove stale cleaned file: %w", err)
			}
		}
		if _, err := out.file(); err != nil {
			return err
		}
		p.cleaned = out
	}
	src := g[p.si]
	if p.srcPos < src.size {
		return l.cleanBatch(p, src, o, res)
	}
	p.si, p.srcPos = p.si+1, 0
	if p.si < len(g) {
		return nil
	}
	if err := p.flushCleaned(l); err != nil {
		return err
	}
	// Seal the cleaned segment without its fdatasyncs, which the swap task
	// runs, and keep the group readable while the task deletes its files.
	out := p.cleaned
	if out.maxTSOffset >= 0 {
		if err := out.times.maybeAppend(out.maxTS, int32(out.maxTSOffset-out.base)); err != nil {
			return err
		}
	}
	if err := errors.Join(out.offsets.writeOut(), out.times.writeOut()); err != nil {
		return err
	}
	// Time retention falls back to the file's modification time for a
	// segment whose batches carry no timestamp: the cleaned segment keeps
	// its group's, as in Kafka, or each cleaning would make it young again.
	if st, err := os.Stat(g[len(g)-1].path(logSuffix)); err != nil {
		return fmt.Errorf("stat cleaned group: %w", err)
	} else if err := os.Chtimes(out.path(logSuffix), time.Time{}, st.ModTime()); err != nil {
		return fmt.Errorf("keep the cleaned segment's modification time: %w", err)
	}
	for _, s := range g {
		if err := l.prepare(s); err != nil {
			return err
		}
		// Pinned, the group is read through these descriptors while the
		// task deletes its files and renames the cleaned ones into place:
		// a path opened then names nothing, or the cleaned segment's index.
		if _, err := s.file(); err != nil {
			return err
		}
		if err := errors.Join(s.offsets.open(), s.times.open()); err != nil {
			return err
		}
	}
	var durable func() error
	if p.bc.markersRemoved > 0 && o.BeforeMarkersGo != nil {
		var err error
		if durable, err = o.BeforeMarkersGo(); err != nil {
			return fmt.Errorf("save the state the removed transaction markers end: %w", err)
		}
	}
	p.bc.markersRemoved = 0
	i, _ := l.indexOf(g[0])
	p.task = l.newCleanTask(i, i+len(g), out)
	p.task.beforeCommit = durable
	p.cleaned = nil
	p.gi, p.si = p.gi+1, 0
	return nil
}

// cleanBatch cleans the next batch of src into the group's cleaned segment,
// indexing it as appends do. Output is written once it reaches a step's
// worth, or at the end of the step or of the group.
func (l *Log) cleanBatch(p *cleanPass, src *segment, o *CleanOptions, res *CleanResult) error {
	h, raw, err := p.nextBatch(src, p.srcPos, o.StepBytes)
	if err != nil {
		return err
	}
	p.srcPos += int64(len(raw))
	l.cleaner.stats.BytesRead += int64(len(raw))
	out := p.cleaned
	at := len(p.out)
	p.bc.decompressed = 0
	if p.out, err = p.bc.clean(p.out, raw, &h); err != nil {
		return fmt.Errorf("clean batch %d in %s: %w", h.BaseOffset, src.path(logSuffix), err)
	}
	res.Bytes += int64(len(raw)+len(p.out)-at) + p.bc.decompressed
	if len(p.out) == at {
		return nil
	}
	nh, err := batch.ParseHeader(p.out[at:])
	if err != nil {
		return err
	}
	pos := out.size + int64(at)
	if pos+int64(nh.Size()) > math.MaxInt32 {
		return fmt.Errorf("cleaned segment %s would outgrow its index", out.path(logSuffix))
	}
	if err := out.indexBatch(&nh, pos, l.opts.IndexIntervalBytes); err != nil {
		return err
	}
	if int64(len(p.out)) >= o.StepBytes {
		return p.flushCleaned(l)
	}
	return nil
}

// flushCleaned writes the cleaned batches held in memory.
func (p *cleanPass) flushCleaned(l *Log) error {
	if len(p.out) == 0 {
		return nil
	}
	out := p.cleaned
	if _, err := out.f.WriteAt(p.out, out.size); err != nil {
		return fmt.Errorf("write %s: %w", out.path(logSuffix), err)
	}
	out.size += int64(len(p.out))
	out.dirty = true
	l.cleaner.stats.BytesWritten += int64(len(p.out))
	p.out = p.out[:0]
	return nil
}

// nextBatch returns the whole batch of s at pos, from the chunk of whole
// batches last read when it holds it, else reading a new chunk of about
// chunk bytes.
func (p *cleanPass) nextBatch(s *segment, pos, chunk int64) (batch.Header, []byte, error) {
	if s != p.inSeg || pos < p.inPos || pos >= p.inPos+int64(len(p.in)) {
		p.inSeg = nil
		if err := p.readChunk(s, pos, chunk); err != nil {
			return batch.Header{}, nil, err
		}
		p.inSeg, p.inPos = s, pos
	}
	b := p.in[pos-p.inPos:]
	h, err := batch.ParseHeader(b)
	if err != nil {
		return h, nil, fmt.Errorf("%w: %s at %d: %w", ErrCorrupt, s.path(logSuffix), pos, err)
	}
	return h, b[:h.Size()], nil
}

// readChunk reads about want bytes of whole batches of s from pos (at least
// one whole batch) into the pass's input buffer.
func (p *cleanPass) readChunk(s *segment, pos, want int64) error {
	n := max(min(want, s.size-pos), min(batch.HeaderSize, s.size-pos))
	p.in = slices.Grow(p.in[:0], int(n))[:n]
	if err := s.readAt(p.in, pos); err != nil {
		return err
	}
	h, err := batch.ParseHeader(p.in)
	if err != nil {
		return fmt.Errorf("%w: %s at %d: %w", ErrCorrupt, s.path(logSuffix), pos, err)
	}
	if size := int64(h.Size()); size > n {
		if pos+size > s.size {
			return fmt.Errorf("%w: %s: batch at %d runs past the end", ErrCorrupt, s.path(logSuffix), pos)
		}
		p.in = slices.Grow(p.in, int(size-n))[:size]
		if err := s.readAt(p.in[n:], pos+n); err != nil {
			return err
		}
	}
	whole, _, err := wholeBatches(p.in, math.MaxInt64)
	if err != nil {
		return fmt.Errorf("%w: %s after %d: %w", ErrCorrupt, s.path(logSuffix), pos, err)
	}
	p.in = p.in[:whole]
	return nil
}

// finishPass records how far the pass compacted.
func (l *Log) finishPass(p *cleanPass) {
	cs := l.cleaner
	cs.pass = nil
	cs.firstDirty = p.mapEnd
	cs.minHorizon = p.bc.minHorizon
	cs.stats.Passes++
	cs.stats.RecordsRemoved += p.bc.removedRecords
	if err := writeCleanerCheckpoint(l.dir, cleanerCheckpoint{firstDirty: cs.firstDirty, minHorizon: cs.minHorizon}); err != nil {
		l.opts.Logger.Warn("cleaner checkpoint not written; the next pass redoes work", "dir", l.dir, "err", err)
	}
}

// StopCleaning abandons the pass in progress, if any, releasing its key map
// (the topic stopped being compacted): a swap already handed out is waited
// for and applied first.
func (l *Log) StopCleaning() { l.abortClean() }

// abortClean abandons the pass in progress, deleting its unfinished output;
// segments already swapped in stay (they are correct on their own).
func (l *Log) abortClean() {
	if l.cleaner == nil || l.cleaner.pass == nil {
		return
	}
	l.settleCleanTask()
	p := l.cleaner.pass
	if p == nil {
		return
	}
	l.cleaner.pass = nil
	l.cleaner.stats.RecordsRemoved += p.bc.removedRecords
	if p.cleaned != nil {
		if err := p.cleaned.remove(); err != nil {
			l.opts.Logger.Warn("remove abandoned cleaned segment", "dir", l.dir, "err", err)
		}
	}
}

// indexOf finds s among the log's segments.
func (l *Log) indexOf(s *segment) (int, bool) {
	i := l.segmentFor(s.base)
	return i, i >= 0 && l.segs[i] == s
}

// passIntact reports whether every segment the pass has yet to read is still
// a sealed segment of the log: retention, DeleteRecords or truncation
// between steps abandon the pass.
func (l *Log) passIntact(p *cleanPass) bool {
	sealed := func(s *segment) bool {
		i, ok := l.indexOf(s)
		return ok && i < len(l.segs)-1 && s.sealed
	}
	if _, ok := l.indexOf(p.limit); !ok {
		return false
	}
	if p.mapping && p.mapSeg != p.limit && !sealed(p.mapSeg) {
		return false
	}
	for _, g := range p.groups[p.gi:] {
		for _, s := range g {
			if !sealed(s) {
				return false
			}
		}
	}
	return true
}

// cleanerTruncated keeps the cleaner's bookkeeping below a truncation point:
// offsets written again after it are dirty.
func (l *Log) cleanerTruncated(offset int64) {
	if l.cleaner == nil {
		return
	}
	l.settleCleanTask()
	l.abortClean()
	if l.cleaner.firstDirty > offset {
		l.cleaner.firstDirty = offset
		if err := writeCleanerCheckpoint(l.dir, cleanerCheckpoint{firstDirty: offset, minHorizon: l.cleaner.minHorizon}); err != nil {
			l.opts.Logger.Warn("cleaner checkpoint not written", "dir", l.dir, "err", err)
		}
	}
}
