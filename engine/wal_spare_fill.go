package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// A shard's first two WAL files after a start have no checkpointed file to
// reuse. Grown on the syncer, each 8 MiB of zeros rode on the next
// fdatasync together with a journal commit for the new size: at 1,000
// fsynced produces a second that put 3.5-6 ms into the p99 for the first
// 128 MiB (BENCHMARKS.md, "WAL files filled before use"). Instead, when a
// shard's turns are first to use its WAL, a goroutine writes both files
// full of zeros under names the WAL never reads, and renames each to one of
// the shard's two spare names once it is durable; the shard syncs its
// partitions directly until then. From the third file on, checkpointed
// files are reused. Filled while the WAL was in use instead, 80 MiB of
// zeros reaching the disk together held WAL fdatasyncs queued behind them
// for up to 22 ms.

// walSecondSpareName is the shard's second spare slot, used only by these
// fills: a checkpoint recycles into the first (walSpareName).
func walSecondSpareName(shard int) string { return fmt.Sprintf("spare-%04d-2.wal", shard) }

// walFillingName is where a spare is written before it is complete.
func walFillingName(shard int) string { return fmt.Sprintf("spare-%04d.filling", shard) }

// walFileLimit is how large a WAL file grows: a little more than the
// checkpoint size, so that the entries that arrive while a checkpoint is
// queued still overwrite written blocks.
func (b *Broker) walFileLimit() int64 {
	return b.cfg.WALCheckpointBytes + b.cfg.WALCheckpointBytes/4
}

// requestWALFile is called by the shard when its turns should go to its
// WAL but its files are not ready; it starts the fills once per process.
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
		for _, name := range []string{walSpareName(s.id), walSecondSpareName(s.id)} {
			if err := b.fillSpare(s.id, name); err != nil {
				b.log.Warn("fill a write-ahead log file ahead; the shard grows its file as it goes", "shard", s.id, "err", err)
				return
			}
		}
	}()
}

// errFillStopped ends a fill when the broker closes.
var errFillStopped = errors.New("broker closing")

// fillSpare writes a WAL file of zeros of the full size, makes it durable
// and renames it to the spare name given, unless a file is there already.
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
	for off := int64(0); off < limit && err == nil; off += int64(len(walZeros)) {
		select {
		case <-b.closed:
			err = errFillStopped
		default:
			err = zeroFill(f, off, min(int64(len(walZeros)), limit-off))
		}
	}
	if err == nil {
		err = f.Datasync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if _, serr := os.Stat(spare); serr == nil {
			err = os.Remove(filling) // a checkpoint recycled a file there meanwhile
		} else if errors.Is(serr, fs.ErrNotExist) {
			err = os.Rename(filling, spare)
		} else {
			err = serr
		}
	}
	if err == nil {
		return syncDirErr(dir)
	}
	os.Remove(filling)
	if errors.Is(err, errFillStopped) {
		return nil
	}
	return fmt.Errorf("fill %s: %w", filling, err)
}

// removeStaleFills deletes spare files a crash left half filled.
func (b *Broker) removeStaleFills() {
	stale, _ := filepath.Glob(filepath.Join(b.dataDir, walDirName, "spare-*.filling"))
	for _, path := range stale {
		os.Remove(path)
	}
}
