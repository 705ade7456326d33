package engine

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/chronik-go/chronik/engine/partlog"
)

// A write-behind partition acknowledges a batch once the shard's WAL holds
// it; its own file gets the bytes later, unsynced. When such a log fails
// (a sync of its file, or a seal, reports a failed writeback) and is
// reopened from disk, recovery cuts it where the file lost pages — below
// what was acknowledged — and new appends would take those offsets again,
// so that a later start's replay found them taken and dropped the
// acknowledged batches for good. The reopen therefore appends from the
// shard's WAL files what the recovered log lacks, as a start's replay does,
// and syncs it before the log serves. The files are still there: a WAL file
// is retired only after a checkpoint's syncfs succeeded, and a syncfs
// reports the writeback error (once per descriptor, whoever else heard it).

// restoreFromWAL appends to l, p's log recovered by a reopen, the batches
// of p that the shard's WAL files hold past l's end, and makes them durable.
// It runs on the reopen's goroutine: it reads the WAL files (the syncer may
// be appending to the last; an entry it has not finished ends the read)
// and touches only l. Acknowledged batches it cannot restore are reported,
// as a start's replay reports them.
func (s *shard) restoreFromWAL(p *partition, l *partlog.Log, acked int64) error {
	files, err := s.b.listWALFiles()
	if err != nil {
		return err
	}
	from := l.NextOffset()
	var st walReplayStats
	for _, f := range files {
		if f.shard != s.id {
			continue
		}
		items, _, err := readWALFile(f.path, f.gen)
		if errors.Is(err, fs.ErrNotExist) {
			continue // retired (or recycled) by a checkpoint that succeeded since it was listed
		}
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.key != p.key || it.topicID != p.topicID {
				continue
			}
			for _, raw := range it.batches {
				st.batches++
				if st.gaps > 0 {
					st.gaps++ // past a gap nothing more can be placed
					continue
				}
				_, placed := s.b.replayBatch(l, p.key, raw, p.leaderEpoch)
				st.count(placed)
			}
		}
	}
	s.b.metrics.walBatchesLost.Add(int64(st.gaps))
	if st.failed > 0 {
		return fmt.Errorf("restore %d acknowledged batches from the write-ahead log: their appends failed", st.failed)
	}
	if st.applied > 0 {
		if err := l.Sync(); err != nil {
			return fmt.Errorf("sync batches restored from the write-ahead log: %w", err)
		}
		l.MarkDurable(l.NextOffset())
	}
	lvl := s.b.log.Info
	if l.NextOffset() < acked {
		lvl = s.b.log.Error // acknowledged records neither the file nor the WAL holds
	}
	lvl("partition log restored from the write-ahead log after a storage fault", "topic", p.key.topic, "partition", p.key.partition,
		"recovered_to", from, "acknowledged_to", acked, "restored_to", l.NextOffset(), "batches", st.batches, "applied", st.applied, "gaps", st.gaps)
	return nil
}
