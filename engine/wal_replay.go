package engine

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/chronik-go/chronik/engine/batch"
	"github.com/chronik-go/chronik/engine/partlog"
	"github.com/chronik-go/chronik/engine/walfile"
)

// walFile is a WAL file found at start.
type walFile struct {
	gen   uint64
	shard int
	path  string
}

// walReplayStats counts what a replay did with the batches it read.
type walReplayStats struct {
	batches  int // read from the WAL files
	applied  int // appended to a log that had lost them
	present  int // already in the log
	orphaned int // their topic or partition no longer exists
	gaps     int // beyond the log's end: cannot be placed
	failed   int // their append failed (the disk): the start fails
}

func (st *walReplayStats) add(o walReplayStats) {
	st.applied += o.applied
	st.present += o.present
	st.orphaned += o.orphaned
	st.gaps += o.gaps
	st.failed += o.failed
}

// replayWAL runs once at start, after every partition is open and before
// any request is served. It appends to each log the batches a previous
// run's WAL holds beyond the log's end (the partition files lost them with
// the page cache), then makes the data filesystem durable and keeps the
// WAL files as spares or deletes them. An unclean start syncs the
// filesystem even without WAL files: bytes recovered from the page cache
// must be durable before new WAL entries build on them.
func (b *Broker) replayWAL(clean bool) error {
	if err := b.seedWALGen(); err != nil {
		return err
	}
	files, err := b.listWALFiles()
	if err != nil {
		return err
	}
	if len(files) == 0 && clean {
		return nil
	}
	start := time.Now()
	var st walReplayStats
	// whole are the files whose first entry was read whole, of their own
	// generation: only those may become spares (below).
	whole := make(map[string]bool, len(files))
	for _, f := range files {
		items, torn, err := readWALFile(f.path, f.gen)
		if err != nil {
			return err
		}
		whole[f.path] = len(items) > 0 // an entry holds at least one item
		if torn != "" {
			// Only the last file of a shard should end early (a crash
			// mid-append); an earlier one was abandoned after a failed
			// write, and its entries past the damage were never acknowledged.
			b.log.Warn("write-ahead log ends in a damaged entry; replaying what precedes it", "file", f.path, "reason", torn)
		}
		for _, it := range items {
			st.batches += len(it.batches)
		}
		b.replayItems(items, &st)
	}
	b.metrics.walBatchesLost.Add(int64(st.gaps))
	if st.failed > 0 {
		// The WAL files are the only copy of those acknowledged batches:
		// they stay, and a start once the disk takes writes again replays
		// them.
		return fmt.Errorf("write-ahead log replay could not write %d acknowledged batches to their partitions (the log above says why); the write-ahead log files are kept for the next start", st.failed)
	}
	if syncfsAvailable {
		if err := b.syncfs(b.dataDirFile); err != nil {
			return fmt.Errorf("sync data filesystem after write-ahead log replay: %w", err)
		}
	}
	for _, f := range files {
		b.walGen.Store(max(b.walGen.Load(), f.gen))
		// A file whose first entry is not whole (a crash in its first
		// append, or a failed one) would hide from seedWALGen the
		// generations of the older entries behind it: it is deleted.
		if whole[f.path] && b.keepAsSpare(f.shard, f.path) {
			continue // its shard fills no new file
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove replayed write-ahead log: %w", err)
		}
	}
	if len(files) > 0 {
		syncDir(filepath.Join(b.dataDir, walDirName))
		lvl := b.log.Info
		if st.gaps > 0 {
			lvl = b.log.Error // acknowledged records that could not be restored
		}
		lvl("write-ahead log replayed", "files", len(files), "batches", st.batches, "applied", st.applied,
			"present", st.present, "orphaned", st.orphaned, "gaps", st.gaps, "took", time.Since(start))
	}
	return nil
}

// seedWALGen starts the generation counter at the largest generation the
// spare files' entries carry. A spare keeps the entries of its earlier uses
// (a file's entries of other generations are never read) and can outlive a
// clean shutdown (a checkpoint that could not turn it into the next file),
// which leaves no other WAL file to count from; the counter then restarted
// at zero, the spare could be renamed to a generation its stale entries
// carry, and a replay after a crash would read them as current where one
// started at the end of the current entries. A file's first entry carries
// its largest generation: each use writes from the start, with a larger
// generation than the use before.
func (b *Broker) seedWALGen() error {
	spares, err := filepath.Glob(filepath.Join(b.dataDir, walDirName, "spare-*.wal"))
	if err != nil {
		return fmt.Errorf("list write-ahead log spares: %w", err)
	}
	for _, path := range spares {
		gen, err := firstWALEntryGen(path)
		if err != nil {
			return err
		}
		b.walGen.Store(max(b.walGen.Load(), gen))
	}
	return nil
}

// firstWALEntryGen returns the generation of the file's first entry, or 0
// when it does not start with a whole entry (never written, or torn).
func firstWALEntryGen(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read write-ahead log spare: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("read write-ahead log spare: %w", err)
	}
	gen, _ := walfile.FirstEntryGen(f, fi.Size())
	return gen, nil
}

// removeAllWALFiles deletes the WAL files at a clean shutdown, after the
// syncfs that made every partition durable, but first keeps each shard's
// last files as its spares (keepWALSpares). After a failed checkpoint they
// all stay, and the next start replays them.
func (b *Broker) removeAllWALFiles() error {
	if b.walKeepAll.Load() {
		return nil
	}
	b.keepWALSpares()
	files, err := b.listWALFiles()
	if err != nil || len(files) == 0 {
		return err
	}
	for _, f := range files {
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove write-ahead log at shutdown: %w", err)
		}
	}
	syncDir(filepath.Join(b.dataDir, walDirName))
	return nil
}

// listWALFiles returns the WAL files in generation order.
func (b *Broker) listWALFiles() ([]walFile, error) {
	dir := filepath.Join(b.dataDir, walDirName)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list write-ahead logs: %w", err)
	}
	var files []walFile
	for _, e := range entries {
		gen, shard, ok := walfile.ParseFileName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		files = append(files, walFile{gen: gen, shard: shard, path: filepath.Join(dir, e.Name())})
	}
	slices.SortFunc(files, func(a, b walFile) int {
		return cmp.Or(cmp.Compare(a.gen, b.gen), cmp.Compare(a.shard, b.shard))
	})
	return files, nil
}

// replayItems hands each item to the shard that owns its partition and
// waits; the batches appended update their partitions' producer state.
func (b *Broker) replayItems(items []walItem, st *walReplayStats) {
	byShard := make(map[*shard][]walItem)
	for _, it := range items {
		s := b.shardFor(it.key)
		byShard[s] = append(byShard[s], it)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for s, its := range byShard {
		wg.Add(1)
		s.submit(func(s *shard) {
			defer wg.Done()
			got := s.replayItems(its)
			mu.Lock()
			st.add(got)
			mu.Unlock()
		})
	}
	wg.Wait()
}

// replayItems appends the batches each partition's log lacks.
func (s *shard) replayItems(items []walItem) walReplayStats {
	var st walReplayStats
	nowMs := time.Now().UnixMilli()
	appended := make(map[*partition]int) // batches appended, by partition
	for _, it := range items {
		p := s.parts[it.key]
		if p == nil || p.topicID != it.topicID {
			st.orphaned += len(it.batches)
			continue
		}
		if p.log == nil {
			// Not expected (a partition whose open fails fails the start
			// before the replay), but its batches cannot go back now, and
			// the partition must not come back without them.
			s.b.log.Error("replay write-ahead log: the partition's log is not open", "topic", it.key.topic, "partition", it.key.partition)
			st.failed += len(it.batches)
			continue
		}
		for _, raw := range it.batches {
			h, placed := s.b.replayBatch(p.log, it.key, raw, p.leaderEpoch)
			st.count(placed)
			if placed == batchApplied {
				if err := p.applyProducerBatch(h, raw, nowMs); err != nil {
					s.b.log.Error("replay write-ahead log: producer state", "topic", it.key.topic, "partition", it.key.partition, "err", err)
				}
				appended[p]++
			}
		}
	}
	if !s.b.syncfsTrusted {
		// The replay's syncfs would not report a failed writeback on this
		// kernel, and the WAL files go after it: each partition syncs its
		// own file once.
		for p, n := range appended {
			if err := p.log.Sync(); err != nil {
				s.b.log.Error("sync replayed write-ahead log batches", "topic", p.key.topic, "partition", p.key.partition, "err", err)
				st.applied -= n
				st.failed += n
			}
		}
	}
	return st
}

// batchPlacement is what a replay did with one of the WAL's batches.
type batchPlacement int

const (
	batchApplied batchPlacement = iota // appended: the log had lost it
	batchPresent                       // already in the log
	batchGap                           // invalid, or beyond the log's end: cannot be placed
	batchFailed                        // its append failed (the disk)
)

func (st *walReplayStats) count(placed batchPlacement) {
	switch placed {
	case batchApplied:
		st.applied++
	case batchPresent:
		st.present++
	case batchGap:
		st.gaps++
	case batchFailed:
		st.failed++
	}
}

// replayBatch appends one of the WAL's batches for partition k to l if l
// lacks it: a batch below the log's end is there already, one at the end
// goes on, and one past it cannot be placed.
func (b *Broker) replayBatch(l *partlog.Log, k partKey, raw []byte, leaderEpoch int32) (batch.Header, batchPlacement) {
	h, err := batch.ParseHeader(raw)
	if err != nil || !batch.CRCValid(raw) || h.Size() != len(raw) {
		// The entry's CRC matched, so this was written as is.
		b.log.Error("write-ahead log holds an invalid batch", "topic", k.topic, "partition", k.partition, "err", err)
		return h, batchGap
	}
	next := l.NextOffset()
	appendBatch := l.Append
	switch {
	case h.LastOffset() < next:
		return h, batchPresent
	case h.BaseOffset == next:
	case h.BaseOffset < next && next == l.StartOffset() && l.SegmentCount() == 0:
		// DeleteRecords moved the start inside this batch while only
		// the WAL held it, and the crash left the log empty: the batch
		// goes back whole, the start stays inside it.
		appendBatch = l.AppendAcrossStart
	default:
		b.log.Error("write-ahead log batch does not follow the log's end", "topic", k.topic, "partition", k.partition,
			"batch_offset", h.BaseOffset, "log_end", next)
		return h, batchGap
	}
	if _, err := appendBatch(raw, leaderEpoch); err != nil {
		b.log.Error("replay write-ahead log batch", "topic", k.topic, "partition", k.partition, "offset", h.BaseOffset, "err", err)
		return h, batchFailed
	}
	return h, batchApplied
}

// readWALFile parses a WAL file's entries of generation gen. Reading stops
// at zeros (the preallocated rest of the file), at an entry of another
// generation (left from the file's previous use) and at the first entry
// that is short or fails its CRC; torn says why in that last case. The
// items' batches point into one buffer holding the file.
func readWALFile(path string, gen uint64) (items []walItem, torn string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("read write-ahead log: %w", err)
	}
	torn = walfile.Scan(data, func(e walfile.Entry) bool {
		if e.Gen != gen {
			return false // a stale entry from the file's previous use
		}
		its, perr := walfile.ParseBody(e.Body)
		if perr != nil {
			// The CRC matched: this is a bug, not a torn write.
			err = fmt.Errorf("write-ahead log %s entry at byte %d: %w", path, e.Pos, perr)
			return false
		}
		for _, it := range its {
			items = append(items, walItem{key: partKey{it.Topic, it.Partition}, topicID: it.TopicID, batches: [][]byte{it.Batch}})
		}
		return true
	})
	if err != nil {
		return nil, "", err
	}
	return items, torn, nil
}
