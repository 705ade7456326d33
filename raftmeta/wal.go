package raftmeta

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

const (
	walMagic      = "CHRKWAL1"
	segmentPrefix = "log-"
	segmentSuffix = ".wal"
	tmpSuffix     = ".tmp"
)

// wal is the durable raft log: the raft HardState and entries in append-only
// segment files. Only the newest segment is written; a snapshot starts a new
// segment holding what follows it, and the older segments are removed.
type wal struct {
	dir string
	log *slog.Logger
	f   *os.File // newest segment, open for appending
	seq uint64   // its sequence number
	buf []byte   // frame being built, reused

	// pendingHardState is the newest HardState not yet written. A change of
	// only the commit index needs no sync (the entries are durable and the
	// commit index is learnt again), so it rides along with the next synced
	// frame; every frame written is then followed by a sync, which is what
	// lets scanFrames tell a torn tail from corruption.
	pendingHardState *pb.HardState

	stats       *syncStats
	syncTimeout time.Duration
}

// syncStats is what other goroutines may read about the log's syncs.
type syncStats struct {
	start atomic.Int64  // unix nanos of the running sync, 0 when idle
	count atomic.Uint64 // syncs done
}

func segmentName(seq uint64) string {
	return fmt.Sprintf("%s%016x%s", segmentPrefix, seq, segmentSuffix)
}

// listNumbered returns the hex numbers of the files in dir named
// prefix<16 hex digits>suffix, in ascending order.
func listNumbered(dir, prefix, suffix string) ([]uint64, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("raftmeta: list %s: %w", dir, err)
	}
	var nums []uint64
	for _, de := range des {
		name := de.Name()
		if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, suffix) {
			continue
		}
		hex := strings.TrimSuffix(strings.TrimPrefix(name, prefix), suffix)
		if len(hex) != 16 {
			continue
		}
		n, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			continue
		}
		nums = append(nums, n)
	}
	slices.Sort(nums)
	return nums, nil
}

// openWAL replays every segment in dir into ms (which already holds the
// snapshot, if any) and opens the newest segment for appending, truncating a
// torn tail. It returns the newest HardState found (nil when none).
func openWAL(dir string, ms *raft.MemoryStorage, log *slog.Logger, stats *syncStats, syncTimeout time.Duration) (*wal, *pb.HardState, error) {
	w := &wal{dir: dir, log: log, stats: stats, syncTimeout: syncTimeout}
	seqs, err := listNumbered(dir, segmentPrefix, segmentSuffix)
	if err != nil {
		return nil, nil, err
	}
	if len(seqs) == 0 {
		if err := w.startSegment(1, nil, nil); err != nil {
			return nil, nil, err
		}
		return w, nil, nil
	}
	var hs *pb.HardState
	for i, seq := range seqs {
		path := filepath.Join(dir, segmentName(seq))
		last := i == len(seqs)-1
		valid, err := replaySegment(path, ms, &hs)
		if err != nil {
			if !last || !errors.Is(err, errTornTail) {
				if errors.Is(err, errTornTail) {
					// Older segments were synced whole before the next one
					// began, so a bad end there is damage, not a crash.
					err = fmt.Errorf("%w: %w", err, ErrCorrupt)
				}
				return nil, nil, fmt.Errorf("raftmeta: log file %s: %w", path, err)
			}
			if err := truncateTail(path, valid); err != nil {
				return nil, nil, err
			}
			log.Warn("raftmeta: truncated torn tail of the metadata log", "file", path, "at", valid, "reason", err.Error())
		}
		if last {
			f, err := openAppend(path)
			if err != nil {
				return nil, nil, err
			}
			w.f, w.seq = f, seq
		}
	}
	return w, hs, nil
}

// replaySegment appends the entries of one segment to ms and records the
// newest HardState in *hs. It returns the length of the file's valid prefix.
func replaySegment(path string, ms *raft.MemoryStorage, hs **pb.HardState) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	if len(data) < len(walMagic) || string(data[:len(walMagic)]) != walMagic {
		// Segments are created whole (tmp file, sync, rename), so a bad
		// header is never a torn write.
		return 0, fmt.Errorf("missing file header %q: %w", walMagic, ErrCorrupt)
	}
	valid, err := scanFrames(data[len(walMagic):], int64(len(walMagic)), func(payload []byte) error {
		fr, err := decodeFrame(payload)
		if err != nil {
			return fmt.Errorf("%w: %w", err, ErrCorrupt)
		}
		if len(fr.entries) > 0 {
			last, _ := ms.LastIndex()
			if first := fr.entries[0].GetIndex(); first > last+1 {
				return fmt.Errorf("entry %d follows entry %d: %w", first, last, ErrCorrupt)
			}
			if err := ms.Append(fr.entries); err != nil {
				return fmt.Errorf("append entries: %w", err)
			}
		}
		if fr.hardState != nil {
			*hs = fr.hardState
		}
		return nil
	})
	return int64(len(walMagic) + valid), err
}

func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("raftmeta: open log file for append: %w", err)
	}
	return f, nil
}

func truncateTail(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("raftmeta: open %s to truncate its torn tail: %w", path, err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("raftmeta: truncate torn tail of %s at %d: %w", path, size, err)
	}
	if err := fdatasync(f); err != nil {
		return fmt.Errorf("raftmeta: sync %s after truncating its tail: %w", path, err)
	}
	return nil
}

// save makes hs and ents durable when raft asks for a sync, as one frame and
// one fdatasync. A HardState that only moves the commit index is kept for the
// next synced frame.
func (w *wal) save(hs *pb.HardState, ents []*pb.Entry, mustSync bool) error {
	if hs != nil {
		w.pendingHardState = hs
	}
	if !mustSync {
		return nil
	}
	return w.writeFrame(ents)
}

// flush writes a pending HardState (clean shutdown keeps the commit index).
func (w *wal) flush() error {
	if w.pendingHardState == nil {
		return nil
	}
	return w.writeFrame(nil)
}

func (w *wal) writeFrame(ents []*pb.Entry) error {
	if w.pendingHardState == nil && len(ents) == 0 {
		return nil
	}
	w.buf = appendPayload(append(w.buf[:0], make([]byte, frameHeaderLen)...), w.pendingHardState, ents)
	sealFrame(w.buf)
	if _, err := w.f.Write(w.buf); err != nil {
		return fmt.Errorf("raftmeta: write %s: %w", w.f.Name(), err)
	}
	if err := w.sync(w.f); err != nil {
		return fmt.Errorf("raftmeta: sync %s: %w", w.f.Name(), err)
	}
	w.pendingHardState = nil
	if cap(w.buf) > 1<<20 {
		w.buf = nil // one huge batch should not pin its buffer forever
	}
	return nil
}

func appendPayload(dst []byte, hs *pb.HardState, ents []*pb.Entry) []byte {
	if hs != nil {
		dst = appendHardStateRecord(dst, hs)
	}
	for _, e := range ents {
		dst = appendEntryRecord(dst, e)
	}
	return dst
}

// sync runs fdatasync, publishing its start time so Propose and Health can
// see a stalled disk while this goroutine is stuck in the kernel.
func (w *wal) sync(f *os.File) error {
	start := time.Now()
	w.stats.start.Store(start.UnixNano())
	err := fdatasync(f)
	w.stats.start.Store(0)
	w.stats.count.Add(1)
	if d := time.Since(start); d > w.syncTimeout {
		w.log.Warn("raftmeta: metadata log sync was slow", "file", f.Name(), "took", d, "limit", w.syncTimeout)
	}
	return err
}

// rotate starts the next segment holding hs and ents (everything after the
// snapshot just written) and removes the older segments.
func (w *wal) rotate(hs *pb.HardState, ents []*pb.Entry) error {
	if err := w.startSegment(w.seq+1, hs, ents); err != nil {
		return err
	}
	seqs, err := listNumbered(w.dir, segmentPrefix, segmentSuffix)
	if err != nil {
		return err
	}
	for _, seq := range seqs {
		if seq >= w.seq {
			continue
		}
		if err := os.Remove(filepath.Join(w.dir, segmentName(seq))); err != nil {
			return fmt.Errorf("raftmeta: remove compacted log segment: %w", err)
		}
	}
	if err := syncDir(w.dir); err != nil {
		return fmt.Errorf("raftmeta: sync %s after compaction: %w", w.dir, err)
	}
	return nil
}

// startSegment creates segment seq atomically (tmp file, sync, rename, sync
// dir) holding hs and ents, and makes it the one appended to.
func (w *wal) startSegment(seq uint64, hs *pb.HardState, ents []*pb.Entry) error {
	path := filepath.Join(w.dir, segmentName(seq))
	tmp := path + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("raftmeta: create log segment: %w", err)
	}
	buf := []byte(walMagic)
	if hs != nil || len(ents) > 0 {
		start := len(buf)
		buf = appendPayload(append(buf, make([]byte, frameHeaderLen)...), hs, ents)
		sealFrame(buf[start:])
	}
	err = func() error {
		defer f.Close()
		if _, err := f.Write(buf); err != nil {
			return err
		}
		if err := w.sync(f); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
		return syncDir(w.dir)
	}()
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("raftmeta: create log segment %s: %w", path, err)
	}
	af, err := openAppend(path)
	if err != nil {
		return err
	}
	if w.f != nil {
		w.f.Close()
	}
	w.f, w.seq, w.pendingHardState = af, seq, nil
	return nil
}

func (w *wal) close() error {
	err := w.flush()
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("raftmeta: close %s: %w", w.f.Name(), cerr)
	}
	return err
}
