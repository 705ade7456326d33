package partlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Swapping cleaned segments in is crash-safe through one manifest file, the
// commit point: a crash at any moment leaves either the old segments or the
// cleaned one, never both, never neither.
//
//  1. The cleaned segment is written and fdatasynced under .cleaned names
//     (<base>.log.cleaned, .index.cleaned, .timeindex.cleaned).
//  2. cleaner.swap is written (temp file, fdatasync, rename, directory sync):
//     "segments with base offsets in [base, end) are replaced by <base>.*.cleaned
//     whose .log has size bytes".
//  3. The old segments' files are deleted, the .cleaned files renamed to
//     their final names (indexes first, .log last), the directory synced.
//  4. cleaner.swap is deleted and the directory synced.
//
// Steps 1 (its fdatasyncs) to 4 are a CleanTask (clean_task.go). Open
// finishes a swap whose manifest it finds (redoing steps 3 and 4) and
// deletes any other .cleaned file: without a manifest they belong to a pass
// that never committed, and the old segments are intact.
const (
	cleanedSuffix       = ".cleaned"
	swapManifestName    = "cleaner.swap"
	swapManifestTmpName = swapManifestName + ".tmp"
	swapManifestMagic   = "CSWP"
	swapManifestPayload = 24
)

// swapManifest describes one committed swap.
type swapManifest struct {
	base int64 // the cleaned segment's base offset
	end  int64 // replaced segments have base offsets in [base, end)
	size int64 // bytes of the cleaned .log
}

func (m swapManifest) encode() []byte {
	p := make([]byte, 0, swapManifestPayload)
	for _, v := range []int64{m.base, m.end, m.size} {
		p = binary.BigEndian.AppendUint64(p, uint64(v))
	}
	return encodeStateRecord(swapManifestMagic, 1, p)
}

func decodeSwapManifest(b []byte) (swapManifest, error) {
	p, err := decodeStateRecord(b, swapManifestMagic, 1, swapManifestPayload)
	if err != nil {
		return swapManifest{}, fmt.Errorf("cleaner swap manifest: %w", err)
	}
	return swapManifest{
		base: int64(binary.BigEndian.Uint64(p)),
		end:  int64(binary.BigEndian.Uint64(p[8:])),
		size: int64(binary.BigEndian.Uint64(p[16:])),
	}, nil
}

// writeSwapManifest durably commits a swap.
func writeSwapManifest(dir string, m swapManifest) error {
	tmp := filepath.Join(dir, swapManifestTmpName)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write swap manifest: %w", err)
	}
	_, err = f.Write(m.encode())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write swap manifest %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, swapManifestName)); err != nil {
		return fmt.Errorf("write swap manifest: %w", err)
	}
	return syncSwapDir(dir)
}

// syncSwapDir is syncDir, replaced by a test to fail the directory sync
// after the manifest's rename.
var syncSwapDir = syncDir

// removeSwapManifest ends a finished swap durably, so that a later pass's
// uncommitted .cleaned files can never be mistaken for this swap's.
func removeSwapManifest(dir string) error {
	if err := os.Remove(filepath.Join(dir, swapManifestName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove swap manifest: %w", err)
	}
	return syncDir(dir)
}

// newCleanedSegment is a segment written under .cleaned names until it is
// swapped in.
func newCleanedSegment(dir string, base int64, l *Log) *segment {
	s := newSegment(dir, base, l.opts.Opener)
	s.pathSuffix = cleanedSuffix
	s.offsets.path += cleanedSuffix
	s.times.path += cleanedSuffix
	return s
}

// cleanedPaths are a segment's final file paths, indexes first and the
// .log last: the .log's .cleaned name is what tells recovery a swap is
// unfinished, so it is renamed last.
func cleanedPaths(dir string, base int64) []string {
	var paths []string
	for _, suffix := range []string{indexSuffix, timeIndexSuffix, logSuffix} {
		paths = append(paths, filepath.Join(dir, segmentFileName(base, suffix)))
	}
	return paths
}

// promoteCleaned renames a cleaned segment's files to their final names.
func promoteCleaned(dir string, base int64) error {
	for _, final := range cleanedPaths(dir, base) {
		if err := os.Rename(final+cleanedSuffix, final); err != nil {
			return fmt.Errorf("swap in cleaned segment: %w", err)
		}
	}
	return nil
}

// cleanedPromoted points a swapped-in segment at its final file names; its
// open descriptors stayed valid across the renames.
func (s *segment) cleanedPromoted() {
	s.pathSuffix = ""
	s.offsets.path = strings.TrimSuffix(s.offsets.path, cleanedSuffix)
	s.times.path = strings.TrimSuffix(s.times.path, cleanedSuffix)
}

// finishInterruptedSwap completes a swap committed before a crash and
// deletes the files of passes that never committed. It reports whether it
// changed the directory.
func finishInterruptedSwap(dir string, entries []os.DirEntry, logger *slog.Logger) (changed bool, err error) {
	var cleaned []string
	manifestFound := false
	for _, e := range entries {
		switch name := e.Name(); {
		case name == swapManifestTmpName || name == cleanerCheckpointTmpName:
			os.Remove(filepath.Join(dir, name))
			changed = true
		case name == swapManifestName:
			manifestFound = true
		case strings.HasSuffix(name, cleanedSuffix):
			cleaned = append(cleaned, name)
		}
	}
	if manifestFound {
		changed = true
		if err := redoSwap(dir, entries, logger); err != nil {
			return changed, err
		}
	}
	for _, name := range cleaned {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return changed, fmt.Errorf("remove uncommitted cleaned file: %w", err)
		}
		changed = true
	}
	return changed, nil
}

// redoSwap finishes the swap cleaner.swap describes.
func redoSwap(dir string, entries []os.DirEntry, logger *slog.Logger) error {
	raw, err := os.ReadFile(filepath.Join(dir, swapManifestName))
	if err != nil {
		return fmt.Errorf("read swap manifest: %w", err)
	}
	m, err := decodeSwapManifest(raw)
	if err != nil {
		// Written through a rename, so never torn: this is foreign.
		logger.Warn("ignoring unreadable cleaner swap manifest", "dir", dir, "err", err)
		return removeSwapManifest(dir)
	}
	cleanedLog := filepath.Join(dir, segmentFileName(m.base, logSuffix)+cleanedSuffix)
	st, err := os.Stat(cleanedLog)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// The .log was renamed last: the swap finished before the crash.
		return removeSwapManifest(dir)
	case err != nil:
		return fmt.Errorf("finish swap: %w", err)
	case st.Size() != m.size:
		return fmt.Errorf("finish swap: %s has %d bytes, the manifest says %d", cleanedLog, st.Size(), m.size)
	}
	logger.Warn("finishing a cleaned-segment swap interrupted by a crash", "dir", dir, "base", m.base, "end", m.end)
	for _, e := range entries {
		base, suffix, ok := parseSegmentFileName(e.Name())
		if !ok || base < m.base || base >= m.end {
			continue
		}
		if base == m.base && suffix != logSuffix {
			// An index already renamed into place is the new one.
			if _, err := os.Stat(filepath.Join(dir, e.Name()+cleanedSuffix)); err != nil {
				continue
			}
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("finish swap: %w", err)
		}
	}
	for _, suffix := range []string{indexSuffix, timeIndexSuffix, logSuffix} {
		final := filepath.Join(dir, segmentFileName(m.base, suffix))
		if err := os.Rename(final+cleanedSuffix, final); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("finish swap: %w", err)
		}
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	return removeSwapManifest(dir)
}
