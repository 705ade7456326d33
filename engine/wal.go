package engine

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"time"

	"github.com/chronik-go/chronik/engine/meta"
	"github.com/chronik-go/chronik/engine/walfile"
	"github.com/chronik-go/chronik/uring"
)

// The shard write-ahead log makes a turn's appends durable with one
// fdatasync of one file, however many partitions the turn touched, under
// log.flush.policy=always. The partition logs keep those batches staged in
// memory (partlog's write-behind) and write them to their files in larger
// pieces later; each WAL checkpoint writes every staged byte, syncs the
// filesystem once, and then retires the WAL file that covered them. At
// start, whatever WAL files exist are replayed into the partitions
// (wal_replay.go). docs/ARCHITECTURE.md has the measurements behind it.

// walDirName is the WAL directory inside the data directory. Partition
// directories are always "<topic>-<n>", so the name cannot collide.
const walDirName = "__wal"

// walSpareName is a checkpointed WAL file kept for reuse: overwriting a file
// whose blocks are already written lets each fdatasync skip the journal
// commit that growing a file needs (1.3-1.9x faster on ext4 here).
func walSpareName(shard int) string { return fmt.Sprintf("spare-%04d.wal", shard) }

// walItem is one partition's batches of one turn, as the WAL holds them.
type walItem struct {
	key     partKey
	topicID meta.TopicID
	batches [][]byte // record batches with their offsets stamped
}

// shardWAL is one shard's write-ahead log. Only the shard's syncer
// goroutine touches it (Broker.Close reads reusable once the shard has
// stopped).
type shardWAL struct {
	b     *Broker
	shard int
	f     uring.File // nil until the first append, or after a failure
	name  string
	gen   uint64 // generation of f, stamped into its entries
	size  int64
	// allocated is how far f is written with zeros (or old entries).
	allocated int64
	// failed is set by a failed append and cleared by the owner's resume
	// job (shard_syncer.go): until then every item fails, so that no entry
	// is acknowledged on top of batches whose entry was lost.
	failed error

	// A checkpoint takes two jobs. At the owner's rotate job the file
	// appends went to becomes retiring (appends move to a new file) and the
	// files abandoned after failed appends so far become retiringAbandoned;
	// once the owner has written every batch they hold, its checkpoint job
	// hands them to a goroutine: a syncfs runs off the syncer's path, a
	// success retires them (the first becomes the spare, the abandoned ones
	// are deleted), and done reports the next file it prepared.
	retiring          string
	retiringAbandoned []string
	done              chan *walNextFile
	abandoned         []string
	// next is the file the following rotation moves to, prepared by the
	// last checkpoint's goroutine (nil when there is none).
	next *walNextFile
	// reusable are the files close leaves to become spares after a clean
	// shutdown (keepWALSpares): the current one, unless an append to it
	// failed, the prepared next one, and one rotated out for a checkpoint
	// that did not start (the shutdown's syncfs covers it).
	reusable []string

	// The shard's own descriptors of the data directory (syncfs_dirs.go):
	// syncerDir for the syncer's syncs of many partitions at once,
	// checkpointDir for its checkpoints, which run beside the syncer.
	// Nil without a broker's New: such a syncfs fails.
	syncerDir, checkpointDir *os.File

	hdrs []byte   // scratch: entry and item headers of one write
	iov  [][]byte // scratch: the write's buffers
}

func newShardWAL(b *Broker, shard int) *shardWAL {
	return &shardWAL{b: b, shard: shard}
}

// appendItems writes the items as one entry per job, then fdatasyncs once.
// Every item's bytes are in the file and durable when it returns nil. After
// a failure the file is left behind (its earlier entries still count) and
// the next append starts a new one, so a damaged region is never followed
// by entries that were acknowledged.
func (w *shardWAL) appendItems(jobs [][]walItem) error {
	if w.f == nil {
		if err := w.openNext(); err != nil {
			return err
		}
	}
	n, err := w.write(jobs)
	if err == nil {
		start := time.Now()
		err = w.f.Datasync()
		w.b.metrics.observeSync(time.Since(start))
	}
	if err != nil {
		name := w.name // abandon forgets it
		w.abandon()
		return fmt.Errorf("write-ahead log %s: %w", name, err)
	}
	w.size += n
	w.extendAhead()
	w.b.metrics.walSyncs.Add(1)
	w.b.metrics.walBytes.Add(n)
	return nil
}

// write lays the jobs' entries out after the file's end, in writes of
// uring.WritevChunk's size.
func (w *shardWAL) write(jobs [][]walItem) (int64, error) {
	w.hdrs = w.hdrs[:0]
	w.iov = w.iov[:0]
	// Headers are appended to one scratch buffer that may move while it
	// grows, so the buffers are assembled after all headers are in place.
	type piece struct {
		hdrFrom, hdrTo int
		batch          []byte
	}
	var pieces []piece
	for _, items := range jobs {
		if len(items) == 0 {
			continue
		}
		body := 0
		for _, it := range items {
			for _, b := range it.batches {
				body += walfile.ItemSize(it.key.topic, len(b))
			}
		}
		entryAt := len(w.hdrs)
		w.hdrs = walfile.AppendEntryHeader(w.hdrs, w.gen, uint64(body))
		crc := walfile.HeaderCRC(w.hdrs[entryAt:])
		pieces = append(pieces, piece{hdrFrom: entryAt, hdrTo: entryAt + walfile.EntryHeaderSize})
		for _, it := range items {
			for _, b := range it.batches {
				at := len(w.hdrs)
				w.hdrs = walfile.AppendItemHeader(w.hdrs, it.topicID, it.key.topic, it.key.partition, len(b))
				crc = crc32.Update(crc, castagnoli, w.hdrs[at:])
				crc = crc32.Update(crc, castagnoli, b)
				pieces = append(pieces, piece{hdrFrom: at, hdrTo: len(w.hdrs), batch: b})
			}
		}
		walfile.PutEntryCRC(w.hdrs[entryAt:], crc)
	}
	for _, pc := range pieces {
		w.iov = append(w.iov, w.hdrs[pc.hdrFrom:pc.hdrTo])
		if pc.batch != nil {
			w.iov = append(w.iov, pc.batch)
		}
	}
	off := w.size
	for bufs := w.iov; len(bufs) > 0; {
		chunk := bufs[:uring.WritevChunk(bufs)]
		bufs = bufs[len(chunk):]
		n, err := w.f.WritevAt(chunk, off)
		off += int64(n)
		if err != nil {
			return off - w.size, err
		}
	}
	clear(w.iov)
	return off - w.size, nil
}

// walNextFile is a WAL file ready for appends: named with its generation,
// its directory entry durable, allocated bytes written.
type walNextFile struct {
	f         uring.File
	name      string
	gen       uint64
	allocated int64
}

// openNext starts the shard's next WAL file: the one the last checkpoint
// prepared when there is one, or else one prepared now. A prepared file
// whose generation is not past the current one (a file was opened after a
// failure while the checkpoint ran) would replay out of order, so it is
// dropped.
func (w *shardWAL) openNext() error {
	next := w.next
	w.next = nil
	if next != nil && next.gen <= w.gen {
		next.f.Close()
		w.b.removeWALFiles([]string{next.name})
		next = nil
	}
	if next == nil {
		var err error
		if next, err = w.b.prepareWALFile(w.shard); err != nil {
			return err
		}
	}
	w.f, w.name, w.gen, w.size, w.allocated = next.f, next.name, next.gen, 0, next.allocated
	return nil
}

// prepareWALFile makes a shard's next WAL file: a spare, renamed, when
// there is one (wal_spare_fill.go), or else a new file written with zeros
// to its expected size. Its directory entry is durable before it is used,
// so an fdatasync of the file is enough for its entries. Any goroutine may
// call it.
func (b *Broker) prepareWALFile(shard int) (*walNextFile, error) {
	dir := filepath.Join(b.dataDir, walDirName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write-ahead log directory: %w", err)
	}
	gen := b.walGen.Add(1)
	name := filepath.Join(dir, walfile.FileName(gen, shard))
	fresh := os.Rename(filepath.Join(dir, walSpareName(shard)), name) != nil &&
		os.Rename(filepath.Join(dir, walSecondSpareName(shard)), name) != nil
	f, err := b.opener.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open write-ahead log: %w", err)
	}
	allocated := int64(0)
	if fresh {
		allocated = min(walExtendBytes, b.walFileLimit())
		err = zeroFill(f, 0, allocated)
		if err == nil {
			err = f.Datasync()
		}
	} else {
		allocated, err = f.Size()
	}
	if err == nil {
		err = syncPathErr(dir)
	}
	if err != nil {
		f.Close()
		os.Remove(name)
		return nil, fmt.Errorf("prepare write-ahead log %s: %w", name, err)
	}
	return &walNextFile{f: f, name: name, gen: gen, allocated: allocated}, nil
}

// walExtendBytes is how much of a new WAL file is zero-filled at once: when
// it is created (so that the first fdatasyncs need no journal commit) and
// again ahead of the entries as they approach its end, up to a little more
// than the checkpoint size. Filling it all at creation stalled the first
// acknowledgements for as long as writing 80 MiB takes.
const walExtendBytes = 8 << 20

// walZeros is what zeroFill writes; shared by every shard, never written.
var walZeros = make([]byte, 1<<20)

// zeroFill writes n zero bytes to f at off.
func zeroFill(f uring.File, off, n int64) error {
	zeros := walZeros
	for end := off + n; off < end; off += int64(len(zeros)) {
		if _, err := f.WriteAt(zeros[:min(int64(len(zeros)), end-off)], off); err != nil {
			return err
		}
	}
	return nil
}

// extendAhead zero-fills the next stretch of the file once the entries come
// within half a stretch of its allocated end; the next fdatasync makes it
// durable. It is an optimisation: a failure only means appends that grow
// the file, and is logged.
func (w *shardWAL) extendAhead() {
	if w.allocated < w.size {
		// Entries went past the zeros (a group larger than the lead, or
		// a failed extension): the file is written up to its end, and
		// zeros from the old mark would overwrite acknowledged entries.
		w.allocated = w.size
	}
	limit := w.b.walFileLimit()
	if w.allocated-w.size > walExtendBytes/2 || w.allocated >= limit {
		return
	}
	n := min(int64(walExtendBytes), limit-w.allocated)
	if err := zeroFill(w.f, w.allocated, n); err != nil {
		w.b.log.Warn("extend write-ahead log", "file", w.name, "err", err)
		return
	}
	w.allocated += n
}

// abandon stops appending to the current file after a failed write or sync.
// The file stays until a checkpoint covers it.
func (w *shardWAL) abandon() {
	if w.f == nil {
		return
	}
	w.f.Close()
	w.abandoned = append(w.abandoned, w.name)
	w.f, w.name, w.size = nil, "", 0
}

// checkpointDue says the file has outgrown log.flush.wal.checkpoint.bytes
// and no checkpoint's syncfs is running: the owner should write its staged
// bytes and queue a checkpoint job. Signals raised while the owner is busy
// with a checkpoint are stale by the time it is done; it drops them
// (finishWAL).
func (w *shardWAL) checkpointDue() bool {
	w.reapCheckpoint(false)
	return w.f != nil && w.size >= w.b.cfg.WALCheckpointBytes && w.done == nil
}

// rotate runs at the owner's rotate job, which starts a checkpoint: entries
// of later jobs go to a new file, and the current file and those abandoned
// so far wait for the checkpoint job. Every batch they hold was appended by
// a job queued before the rotate job, so the owner knows which partitions
// must write their staged batches before it queues the checkpoint job.
func (w *shardWAL) rotate() {
	w.reapCheckpoint(false)
	if w.retiring != "" {
		// Not expected (one checkpoint at a time): keep it, but as a file
		// to delete rather than the spare.
		w.retiringAbandoned = append(w.retiringAbandoned, w.retiring)
		w.retiring = ""
	}
	if w.f != nil {
		if err := w.f.Close(); err != nil {
			w.b.log.Warn("close write-ahead log", "file", w.name, "err", err)
		}
		w.retiring = w.name
		w.f, w.name, w.size = nil, "", 0
	}
	w.retiringAbandoned = append(w.retiringAbandoned, w.abandoned...)
	w.abandoned = nil
}

// startCheckpoint runs at the owner's checkpoint job, after the owner wrote
// every batch the rotated files hold: a goroutine syncs the filesystem,
// which makes those batches durable in the partition files, then the files
// are retired. Appends never wait for the syncfs.
func (w *shardWAL) startCheckpoint() {
	w.reapCheckpoint(false)
	if w.done != nil {
		w.reapCheckpoint(true) // not expected: the owner runs one checkpoint at a time
	}
	if w.retiring == "" && len(w.retiringAbandoned) == 0 {
		return
	}
	retired, covered := w.retiring, w.retiringAbandoned
	w.retiring, w.retiringAbandoned = "", nil
	w.done = make(chan *walNextFile, 1)
	go func(done chan<- *walNextFile) {
		done <- w.b.runWALCheckpoint(w.shard, w.checkpointDir, retired, covered)
	}(w.done)
}

// runWALCheckpoint is a checkpoint's goroutine: the syncfs, then the file
// moves that follow it — the retired file becomes the spare, and the spare
// becomes the shard's next file, which it returns (nil after a failed
// syncfs, or when it could not be made). Renames and directory syncs wait
// behind the journal commits a syncfs of many files forces (135-499 ms at
// 10,000 partitions), so they happen here, not on the syncer, whose appends
// would wait for them.
func (b *Broker) runWALCheckpoint(shard int, dir *os.File, retired string, covered []string) *walNextFile {
	if err := b.checkpointWAL(dir, covered); err != nil || retired == "" {
		return nil
	}
	b.recycleWAL(shard, retired)
	next, err := b.prepareWALFile(shard)
	if err != nil {
		b.log.Warn("prepare the next write-ahead log; the shard makes it when it needs it", "shard", shard, "err", err)
	}
	return next
}

// reapCheckpoint collects a finished checkpoint (waiting for it when wait
// is set) and keeps the next file it prepared for the next rotation.
func (w *shardWAL) reapCheckpoint(wait bool) {
	if w.done == nil {
		return
	}
	var next *walNextFile
	if wait {
		next = <-w.done
	} else {
		select {
		case next = <-w.done:
		default:
			return
		}
	}
	w.done = nil
	// After a failed syncfs every WAL file stays for the next start
	// (checkpointWAL set walKeepAll), and nothing was prepared.
	if next != nil {
		if w.next != nil {
			// No append came between two checkpoints (a rotation with the
			// file just started): keep the unused one as a spare.
			w.next.f.Close()
			w.b.recycleWAL(w.shard, w.next.name)
		}
		w.next = next
	}
}

// recycleWAL keeps a checkpointed file as the shard's spare, or deletes it
// when there already is one. Its stale entries carry an older generation
// than whatever name it gets next, so they are never replayed.
func (b *Broker) recycleWAL(shard int, name string) {
	spare := filepath.Join(filepath.Dir(name), walSpareName(shard))
	if _, err := os.Stat(spare); err == nil || b.walKeepAll.Load() {
		b.removeWALFiles([]string{name})
		return
	}
	if err := os.Rename(name, spare); err != nil {
		b.log.Warn("keep write-ahead log for reuse", "file", name, "err", err)
		b.removeWALFiles([]string{name})
	}
}

// close ends the shard's WAL at shutdown; once its own syncfs has made
// every partition durable, Broker.Close keeps the files close lists in
// reusable as spares and deletes the rest.
func (w *shardWAL) close() {
	w.reapCheckpoint(true)
	if w.f != nil {
		if err := w.f.Close(); err != nil {
			w.b.log.Warn("close write-ahead log", "file", w.name, "err", err)
		} else {
			w.reusable = append(w.reusable, w.name)
		}
		w.f = nil
	}
	if w.next != nil {
		// Holds no entries of its generation; Broker.Close keeps or
		// deletes it with the rest, or the next start's replay finds
		// nothing in it.
		w.next.f.Close()
		w.reusable = append(w.reusable, w.next.name)
		w.next = nil
	}
	if w.retiring != "" {
		w.reusable = append(w.reusable, w.retiring)
	}
}

// checkpointWAL syncs the data filesystem through the shard's checkpoint
// descriptor dir (syncfs_dirs.go): every partition byte written
// before it started is then durable, and so are the batches of the WAL
// files it was given (abandoned by the shard after failures), which it
// then deletes. A failed syncfs keeps every WAL file for the next start,
// since the pages it lost are not known.
func (b *Broker) checkpointWAL(dir *os.File, covered []string) error {
	start := time.Now()
	// A stalled syncfs holds no append (the next file takes them and no
	// checkpoint is due until this one ends), so it is only reported.
	stalled := time.AfterFunc(b.cfg.IOTimeout, func() {
		b.metrics.walCheckpointStalls.Add(1)
		b.log.Error("write-ahead log checkpoint: syncfs stalled; appends go on, the files it covers stay until it finishes", "deadline", b.cfg.IOTimeout)
	})
	err := b.syncfs(dir)
	stalled.Stop()
	b.metrics.observeSync(time.Since(start))
	b.metrics.walCheckpoints.Add(1)
	if err != nil {
		b.syncfsFailed()
		b.log.Error("write-ahead log checkpoint: syncfs failed; keeping every WAL file for the next start", "err", err)
		return err
	}
	b.removeWALFiles(covered)
	return nil
}

// syncfsFailed records a failed syncfs of the data filesystem (a WAL
// checkpoint's or a direct sync's): the pages it lost are not known and may
// be any partition's, those written behind the WAL included, so every WAL
// file stays for the next start and the stop writes no clean-shutdown
// marker. (The kernel reports a writeback error to one syncfs per
// descriptor: a later checkpoint's through the same one would not see it.)
func (b *Broker) syncfsFailed() {
	b.walKeepAll.Store(true)
	b.syncfsFailure.Store(true)
}

// removeWALFiles deletes WAL files, unless a syncfs has failed in this run.
func (b *Broker) removeWALFiles(names []string) {
	if b.walKeepAll.Load() {
		return
	}
	for _, n := range names {
		if err := os.Remove(n); err != nil && !errors.Is(err, os.ErrNotExist) {
			b.log.Warn("remove write-ahead log", "file", n, "err", err)
		}
	}
}

// syncPathErr fsyncs a file, or a directory (syncDir that reports
// failure).
func syncPathErr(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}
