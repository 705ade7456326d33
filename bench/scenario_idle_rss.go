package bench

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// IdleRSSConfig measures a chronik process's footprint with many partitions
// that each hold an open segment but see no traffic.
type IdleRSSConfig struct {
	Target              ChronikTarget
	Topics              int
	Partitions          int32
	RecordsPerPartition int           // default 3
	RecordSize          int           // default 100
	Settle              time.Duration // wait after producing; default 2s
	Timeout             time.Duration // bound on the whole scenario; default 5 minutes
}

// IdleRSSReport is what RunIdleRSS measured.
type IdleRSSReport struct {
	RunInfo
	Topics              int           `json:"topics"`
	Partitions          int32         `json:"partitions_per_topic"`
	RecordsPerPartition int           `json:"records_per_partition"`
	AtStart             ProcessStatus `json:"at_start"` // just after the broker answered
	Idle                ProcessStatus `json:"idle"`     // after producing and settling
	IdleVmRSSMiB        float64       `json:"idle_vm_rss_mib"`
	DataDirFiles        int           `json:"data_dir_files"`
	DataDirBytes        int64         `json:"data_dir_bytes"` // apparent size
	StopSec             float64       `json:"stop_s"`         // SIGTERM to exit
	Error               string        `json:"error,omitempty"`
}

// RunIdleRSS starts the binary, creates cfg.Topics topics of cfg.Partitions
// partitions, writes a few records to every partition so each has an open
// segment, closes the client, waits cfg.Settle and reads the process status.
func RunIdleRSS(ctx context.Context, cfg IdleRSSConfig, info RunInfo) (IdleRSSReport, error) {
	if cfg.RecordsPerPartition == 0 {
		cfg.RecordsPerPartition = 3
	}
	if cfg.RecordSize == 0 {
		cfg.RecordSize = 100
	}
	if cfg.Settle == 0 {
		cfg.Settle = 2 * time.Second
	}
	rep := IdleRSSReport{RunInfo: info, Topics: cfg.Topics, Partitions: cfg.Partitions, RecordsPerPartition: cfg.RecordsPerPartition}
	err := runIdleRSS(ctx, cfg, &rep)
	if err != nil {
		rep.Error = err.Error()
	}
	return rep, err
}

func runIdleRSS(ctx context.Context, cfg IdleRSSConfig, rep *IdleRSSReport) (err error) {
	if cfg.Topics < 1 || cfg.Partitions < 1 {
		return fmt.Errorf("idle-rss: need at least 1 topic and 1 partition, got %d x %d", cfg.Topics, cfg.Partitions)
	}
	ctx, cancel := context.WithTimeout(ctx, orDefault(cfg.Timeout, 5*time.Minute))
	defer cancel()
	b, err := cfg.Target.StartProcess(ctx)
	if err != nil {
		return err
	}
	defer func() {
		stopErr := b.Stop()
		rep.StopSec = b.StopTook().Seconds()
		if stopErr != nil {
			err = errors.Join(err, fmt.Errorf("stop chronik: %w", stopErr))
		}
	}()
	if rep.AtStart, err = ReadProcessStatus(b.PID()); err != nil {
		return err
	}
	topics := make([]string, cfg.Topics)
	for i := range topics {
		topics[i] = fmt.Sprintf("idle-%03d", i)
	}
	if err := populateTopics(ctx, b.Addr(), topics, cfg.Partitions, cfg.RecordsPerPartition, cfg.RecordSize); err != nil {
		return err
	}
	// The broker's buffers and goroutines wind down after the client
	// leaves; there is no event to wait for, so the settle is a plain wait.
	select {
	case <-time.After(cfg.Settle):
	case <-ctx.Done():
		return ctx.Err()
	}
	if rep.Idle, err = ReadProcessStatus(b.PID()); err != nil {
		return err
	}
	rep.IdleVmRSSMiB = float64(rep.Idle.VmRSSKiB) / 1024
	rep.DataDirFiles, rep.DataDirBytes, err = directoryUsage(b.DataDir())
	return err
}

// populateTopics creates the topics in one request, waits for their leaders
// and produces n records of size bytes to every partition.
func populateTopics(ctx context.Context, addr string, topics []string, partitions int32, n, size int) error {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.MaxBufferedRecords(len(topics)*int(partitions)*n+1),
	)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	resp, err := adm.CreateTopics(ctx, partitions, 1, nil, topics...)
	if err != nil {
		return fmt.Errorf("create %d topics: %w", len(topics), err)
	}
	if err := resp.Error(); err != nil {
		return fmt.Errorf("create %d topics: %w", len(topics), err)
	}
	for _, t := range topics {
		if _, err := waitForLeaders(ctx, adm, t); err != nil {
			return err
		}
	}
	value := recordValue(size)
	var recs []*kgo.Record
	for _, t := range topics {
		for p := range partitions {
			for range n {
				recs = append(recs, &kgo.Record{Topic: t, Partition: p, Value: value})
			}
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("produce %d records: %w", len(recs), err)
	}
	return nil
}

// directoryUsage counts regular files under dir and their apparent bytes.
func directoryUsage(dir string) (files int, bytes int64, err error) {
	err = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files++
		bytes += info.Size()
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("measure data directory %s: %w", dir, err)
	}
	return files, bytes, nil
}
