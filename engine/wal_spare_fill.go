package engine

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// A shard's first two WAL files after a start have no checkpointed file to
// reuse. Grown on the syncer, each 8 MiB of zeros rode on the next
// fdatasync together with a journal commit for the new size: at 1,000
// fsynced produces a second that put 3.5-6 ms into the p99 for the first
// 128 MiB (BENCHMARKS.md, "WAL files filled before use"). Instead, when a
// shard's turns are first to use its WAL (right after the start's replay
// when they do from the first), a goroutine writes both files full of
// zeros under names the WAL never reads, and renames each to one of the
// shard's two spare names once it is durable; the shard syncs its
// partitions directly until then. From the third file on, checkpointed
// files are reused. Filled while the WAL was in use instead, 80 MiB of
// zeros reaching the disk together held WAL fdatasyncs queued behind them
// for up to 22 ms.

// walSecondSpareName is the shard's second spare slot, filled by these fills
// or kept at a clean shutdown (keepAsSpare): a checkpoint recycles into the
// first (walSpareName).
func walSecondSpareName(shard int) string { return fmt.Sprintf("spare-%04d-2.wal", shard) }

// walFillingName is where a spare is written before it is complete: a name
// of its own per fill, so that a fill a failed start left running can never
// touch the file of another.
func walFillingName(shard int) string {
	return fmt.Sprintf("spare-%04d-%016x.filling", shard, rand.Uint64())
}

// walFileLimit is how large a WAL file grows: a little more than the
// checkpoint size, so that the entries that arrive while a checkpoint is
// queued still overwrite written blocks.
func (b *Broker) walFileLimit() int64 {
	return b.cfg.WALCheckpointBytes + b.cfg.WALCheckpointBytes/4
}

// requestWALFile is called by the shard when its turns should go to its
// WAL but its files are not ready; it starts the fills once per process.
// The broker's fills run one at a time, so that one shard's zeros never
// reach the disk in one burst with another's (a shard already using its
// WAL would wait behind them).
func (s *shard) requestWALFile() {
	if s.walFileRequested {
		return
	}
	s.walFileRequested = true
	b := s.b
	b.spareFills.Add(1)
	go func() {
		defer b.spareFills.Done()
		// Ready either way: after a failure the syncer grows a new file as
		// it goes, as it did before fills.
		defer s.walReady.Store(true)
		select {
		case b.fillTurn <- struct{}{}:
			defer func() { <-b.fillTurn }()
		case <-b.stopFills:
			return
		}
		for _, name := range []string{walSpareName(s.id), walSecondSpareName(s.id)} {
			err := b.fillSpare(s.id, name)
			if errors.Is(err, errFillStopped) {
				return
			}
			if err != nil {
				b.metrics.walFillFailures.Add(1)
				b.log.Warn("fill a write-ahead log file ahead; the shard grows its file as it goes", "shard", s.id, "err", err)
				return
			}
		}
	}()
}

// stopFilling stops the fills (each within a megabyte) and waits for them
// until deadline; a fill stuck in a write is left behind, on a file no
// other fill or WAL uses.
func (b *Broker) stopFilling(deadline time.Time) {
	b.stopFillsOnce.Do(func() { close(b.stopFills) })
	waitBy(deadline, b.spareFills.Wait)
}

// errFillStopped ends a fill when the broker closes.
var errFillStopped = errors.New("broker closing")

// walFillChunk is how much a fill writes and syncs at a time.
const walFillChunk = 1 << 20

// fillSpare writes a WAL file of zeros of the full size, makes it durable
// and renames it to the spare name given, unless a file is there already
// (left by an earlier run).
// It stops between megabytes when the broker closes.
func (b *Broker) fillSpare(shard int, spareName string) error {
	dir := filepath.Join(b.dataDir, walDirName)
	spare := filepath.Join(dir, spareName)
	if _, err := os.Stat(spare); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write-ahead log directory: %w", err)
	}
	filling := filepath.Join(dir, walFillingName(shard))
	f, err := b.opener.Open(filling)
	if err != nil {
		return fmt.Errorf("open %s: %w", filling, err)
	}
	limit := b.walFileLimit()
	for off := int64(0); off < limit && err == nil; off += walFillChunk {
		select {
		case <-b.stopFills:
			err = errFillStopped
		default:
			err = zeroFill(f, off, min(walFillChunk, limit-off))
		}
		if err == nil {
			// A megabyte at a time to the disk: an fdatasync that commits
			// ext4's journal (a partition file's, while the shard syncs
			// directly) first writes every block allocated in that
			// transaction, and 80 MiB of the fill's held it for 40-50 ms.
			err = f.Datasync()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// No checkpoint can have recycled a file into the slot meanwhile:
		// the shard uses its WAL only once its fills have ended.
		err = os.Rename(filling, spare)
	}
	if err == nil {
		return syncPathErr(dir)
	}
	os.Remove(filling)
	if errors.Is(err, errFillStopped) {
		return err
	}
	return fmt.Errorf("fill %s: %w", filling, err)
}

// tidyWALSpares runs at start, before any shard fills: it deletes the
// files of fills a crash cut short, and spares no shard of this run will
// take — those of shards past num.shards, all of them when the shards use
// no WAL, and those smaller than this run's WAL files. Spares hold no
// entry that replay reads.
func (b *Broker) tidyWALSpares(shards int) {
	dir := filepath.Join(b.dataDir, walDirName)
	stale, _ := filepath.Glob(filepath.Join(dir, "spare-*.filling"))
	for _, path := range stale {
		os.Remove(path)
	}
	spares, _ := filepath.Glob(filepath.Join(dir, "spare-*.wal"))
	for _, path := range spares {
		var shard int
		if _, err := fmt.Sscanf(filepath.Base(path), "spare-%04d", &shard); err != nil {
			continue
		}
		// A spare smaller than this run's files (a larger checkpoint size
		// now) would be grown on the syncer as it fills: filled again.
		info, err := os.Stat(path)
		if !b.writeBehindOn() || shard >= shards || (err == nil && info.Size() < b.walFileLimit()) {
			os.Remove(path)
		}
	}
}

// keepWALSpares runs at a clean shutdown, after the syncfs that made every
// partition durable: each shard's last WAL files (shardWAL.reusable) become
// its spares where a slot is free, so that the next start writes no zeros
// (160 MiB a shard at the default checkpoint size). The rest are deleted.
func (b *Broker) keepWALSpares() {
	kept := false
	for _, s := range b.shards {
		for _, name := range s.wal.reusable {
			kept = b.keepAsSpare(s.id, name) || kept
		}
	}
	if kept {
		syncDir(filepath.Join(b.dataDir, walDirName))
	}
}

// keepAsSpare renames a WAL file whose entries are all durable in the
// partition files into a free spare slot of its shard, and says whether it
// did. A spare is never replayed, and seedWALGen sets the generation
// counter past its first entry, its newest. A file not of the full size,
// or of a shard that will not use it, is not kept.
func (b *Broker) keepAsSpare(shard int, path string) bool {
	if !b.writeBehindOn() || shard >= len(b.shards) {
		return false
	}
	if info, err := os.Stat(path); err != nil || info.Size() < b.walFileLimit() {
		return false
	}
	dir := filepath.Dir(path)
	for _, slot := range []string{walSpareName(shard), walSecondSpareName(shard)} {
		slot = filepath.Join(dir, slot)
		if _, err := os.Stat(slot); err == nil {
			continue // taken: an unused spare
		}
		if err := os.Rename(path, slot); err != nil {
			b.log.Warn("keep write-ahead log for reuse", "file", path, "err", err)
			return false
		}
		return true
	}
	return false
}
