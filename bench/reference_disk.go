package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// DiskConfig is the raw disk reference: what the data directory's
// filesystem does without a broker in the way.
type DiskConfig struct {
	Dir string `json:"-"` // a fresh file is made here and removed
	// SeqBytes is written in 1 MiB writes for the sequential figure.
	SeqBytes int64 `json:"seq_bytes"`
	// SyncSizes are the write sizes of the write+fdatasync figures.
	SyncSizes []int `json:"sync_sizes"`
	// SyncFor is how long each write+fdatasync size runs.
	SyncFor time.Duration `json:"sync_for_ns"`
}

// WithDefaults fills in 256 MiB, 4 KiB / 64 KiB / 256 KiB / 1 MiB and 2 s.
func (c DiskConfig) WithDefaults() DiskConfig {
	if c.SeqBytes == 0 {
		c.SeqBytes = 256 << 20
	}
	if len(c.SyncSizes) == 0 {
		c.SyncSizes = []int{4 << 10, 64 << 10, 256 << 10, 1 << 20}
	}
	if c.SyncFor == 0 {
		c.SyncFor = 2 * time.Second
	}
	return c
}

// DiskResult is what MeasureDisk found.
type DiskResult struct {
	FS string `json:"fs"`
	// SeqWriteMBPerSec is appending SeqBytes in 1 MiB writes into the page
	// cache; SeqWriteSyncedMBPerSec includes one fdatasync at the end, so
	// it is what the device absorbs.
	SeqWriteMBPerSec       float64 `json:"seq_write_mb_per_s"`
	SeqWriteSyncedMBPerSec float64 `json:"seq_write_synced_mb_per_s"`
	// Synced is one figure per write size: append, fdatasync, repeat.
	Synced []DiskSyncResult `json:"synced"`
}

// DiskSyncResult is appending WriteSize bytes and calling fdatasync after
// every write, as a broker flushing every acks=all write must.
type DiskSyncResult struct {
	WriteSize    int     `json:"write_size"`
	Writes       int64   `json:"writes"`
	WritesPerSec float64 `json:"writes_per_s"`
	MBPerSec     float64 `json:"mb_per_s"`
	// Fdatasync is the latency of the fdatasync call alone.
	Fdatasync LatencySummary `json:"fdatasync"`
}

// SyncedAt returns the write+fdatasync figure for one write size.
func (r DiskResult) SyncedAt(size int) (DiskSyncResult, bool) {
	for _, s := range r.Synced {
		if s.WriteSize == size {
			return s, true
		}
	}
	return DiskSyncResult{}, false
}

// MeasureDisk runs the raw disk figures in cfg.Dir. Files grow by appends
// (no preallocation), as a broker's segments do, so each fdatasync also
// commits the file's new size.
func MeasureDisk(ctx context.Context, cfg DiskConfig) (DiskResult, error) {
	cfg = cfg.WithDefaults()
	res := DiskResult{FS: DescribeMachine(cfg.Dir).DataDirFS}
	dir, err := os.MkdirTemp(cfg.Dir, "chronik-bench-disk-")
	if err != nil {
		return res, fmt.Errorf("disk reference directory: %w", err)
	}
	defer os.RemoveAll(dir)

	if err := measureSeqWrite(ctx, dir, cfg.SeqBytes, 0, &res); err != nil {
		return res, err
	}
	for _, size := range cfg.SyncSizes {
		s, err := measureSyncedWrites(ctx, dir, size, cfg.SyncFor)
		if err != nil {
			return res, err
		}
		res.Synced = append(res.Synced, s)
	}
	return res, nil
}

// MeasureReservedSeqWrite is MeasureDisk's sequential page-cache figure
// (MB/s, total bytes in 1 MiB writes to a fresh file in dir) with the
// file's blocks reserved 8 MiB ahead of the writes, as a broker may reserve
// its busy segments' (Chronik's log.preallocate): the raw reference with
// the same help. A file system that cannot reserve fails it.
func MeasureReservedSeqWrite(ctx context.Context, dir string, total int64) (float64, error) {
	var res DiskResult
	if err := measureSeqWrite(ctx, dir, total, 8<<20, &res); err != nil {
		return 0, err
	}
	return res.SeqWriteMBPerSec, nil
}

// measureSeqWrite appends total bytes in 1 MiB writes from one buffer,
// reserving the file's blocks reserveStep ahead of them when it is
// positive.
func measureSeqWrite(ctx context.Context, dir string, total, reserveStep int64, res *DiskResult) error {
	f, err := os.CreateTemp(dir, "seq-")
	if err != nil {
		return fmt.Errorf("disk reference: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := recordValue(1 << 20)
	start := time.Now()
	var reserved int64
	for written := int64(0); written < total; written += int64(len(buf)) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if reserveStep > 0 && written+int64(len(buf)) > reserved {
			if err := reserveSpace(f, reserved, reserveStep); err != nil {
				return fmt.Errorf("disk reference reserve %s: %w", f.Name(), err)
			}
			reserved += reserveStep
		}
		if _, err := f.Write(buf); err != nil {
			return fmt.Errorf("disk reference write %s: %w", f.Name(), err)
		}
	}
	wrote := time.Since(start)
	if err := fdatasync(f); err != nil {
		return fmt.Errorf("disk reference fdatasync %s: %w", f.Name(), err)
	}
	synced := time.Since(start)
	res.SeqWriteMBPerSec = float64(total) / wrote.Seconds() / 1e6
	res.SeqWriteSyncedMBPerSec = float64(total) / synced.Seconds() / 1e6
	return nil
}

func measureSyncedWrites(ctx context.Context, dir string, size int, d time.Duration) (DiskSyncResult, error) {
	res := DiskSyncResult{WriteSize: size}
	if size < 1 {
		return res, errors.New("disk reference: write size must be positive")
	}
	f, err := os.CreateTemp(dir, "sync-")
	if err != nil {
		return res, fmt.Errorf("disk reference: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := recordValue(size)
	rec := newLatencyRecorder()
	start := time.Now()
	end := start.Add(d)
	for time.Now().Before(end) {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if _, err := f.Write(buf); err != nil {
			return res, fmt.Errorf("disk reference write %s: %w", f.Name(), err)
		}
		t := time.Now()
		if err := fdatasync(f); err != nil {
			return res, fmt.Errorf("disk reference fdatasync %s: %w", f.Name(), err)
		}
		rec.record(time.Since(t))
		res.Writes++
	}
	secs := time.Since(start).Seconds()
	res.WritesPerSec = float64(res.Writes) / secs
	res.MBPerSec = float64(res.Writes) * float64(size) / secs / 1e6
	res.Fdatasync = summarizeLatency(mergeRecorders([]*latencyRecorder{rec}))
	return res, nil
}
