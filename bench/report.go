package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Line is a one-line summary of a produce run.
func (r ProduceResult) Line() string {
	return fmt.Sprintf("%d records in %.2fs: %.0f records/s, %.1f MB/s, ack p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms",
		r.Records, r.ElapsedSec, r.RecordsPerSec, r.MBPerSec, r.Latency.P50Ms, r.Latency.P99Ms, r.Latency.P999Ms, r.Latency.MaxMs)
}

// Describe is a one-line statement of the workload's knobs.
func (c ProduceConfig) Describe() string {
	c = c.WithDefaults()
	return fmt.Sprintf("%d records x %d B (+%d warm-up), topic %s, %d partitions, acks=%s, idempotent=%t, linger=%s, batch-max-bytes=%d, compression=%s, producers=%d, max-inflight=%d, max-buffered=%d",
		c.Records, c.RecordSize, c.Warmup, c.Topic, c.Partitions, c.Acks, c.Idempotent, c.Linger, c.BatchMaxBytes, c.Compression, c.Producers, c.MaxInflight, c.MaxBuffered)
}

func writeHeader(w io.Writer, title string, info RunInfo) {
	fmt.Fprintf(w, "%s\n", title)
	fmt.Fprintf(w, "date:     %s\n", info.Date)
	fmt.Fprintf(w, "command:  %s\n", info.Command)
	fmt.Fprintf(w, "machine:  %s\n", info.Machine)
}

// WriteProduceText prints a produce run as text.
func WriteProduceText(w io.Writer, info RunInfo, cfg ProduceConfig, r ProduceResult) {
	writeHeader(w, "chronik-bench produce", info)
	fmt.Fprintf(w, "workload: %s\n", cfg.Describe())
	fmt.Fprintf(w, "brokers:  %s\n\n", strings.Join(cfg.Brokers, ","))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "records\telapsed s\trecords/s\tMB/s\tp50 ms\tp99 ms\tp99.9 ms\tmax ms\terrors")
	fmt.Fprintf(tw, "%d\t%.2f\t%.0f\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\n", r.Records, r.ElapsedSec, r.RecordsPerSec, r.MBPerSec,
		r.Latency.P50Ms, r.Latency.P99Ms, r.Latency.P999Ms, r.Latency.MaxMs, r.Errors)
	tw.Flush()
}

// WriteCompareText prints a comparison: every run, then the medians with
// their ranges, then the ratio of the first target to the second.
func WriteCompareText(w io.Writer, rep CompareReport) {
	writeHeader(w, "chronik-bench compare", rep.RunInfo)
	fmt.Fprintf(w, "workload: %s\n\n", rep.Workload.Describe())

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "run\ttarget\trecords/s\tMB/s\tp50 ms\tp99 ms\tp99.9 ms\tmax ms\telapsed s\tbroker CPU s\tbench CPU s")
	for _, r := range rep.Runs {
		l := r.Result.Latency
		brokerCPU := "in-process"
		if r.BrokerCPUSec > 0 {
			brokerCPU = fmt.Sprintf("%.2f", r.BrokerCPUSec)
		}
		fmt.Fprintf(tw, "%d\t%s\t%.0f\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%.2f\n", r.Run, r.Target, r.Result.RecordsPerSec, r.Result.MBPerSec,
			l.P50Ms, l.P99Ms, l.P999Ms, l.MaxMs, r.Result.ElapsedSec, brokerCPU, r.BenchCPUSec)
	}
	tw.Flush()
	fmt.Fprintln(w, "(bench CPU is this process: the client, plus kfake when it runs in-process)")

	if len(rep.Targets) > 0 {
		fmt.Fprintf(w, "\nmedian (min-max) over %d run(s) per target:\n", rep.Targets[0].RecordsPerSec.N)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "target\trecords/s\tMB/s\tp99 ms")
		for _, s := range rep.Targets {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Target,
				formatSpread(s.RecordsPerSec, "%.0f"), formatSpread(s.MBPerSec, "%.1f"), formatSpread(s.P99Ms, "%.2f"))
		}
		tw.Flush()
	}
	if r := rep.Ratio; r != nil {
		fmt.Fprintf(w, "\nratio %s of medians: records/s %s, MB/s %s, p99 %s (p99 below 1 means %s acks faster)\n",
			r.Of, formatRatio(r.RecordsPerSec), formatRatio(r.MBPerSec), formatRatio(r.P99Ms), rep.Targets[0].Target)
	}
	if rep.Error != "" {
		fmt.Fprintf(w, "\nFAILED: %s\n", rep.Error)
	}
}

// WriteTopicsText prints CreateTopics timings per size.
func WriteTopicsText(w io.Writer, rep TopicsReport) {
	writeHeader(w, "chronik-bench topics", rep.RunInfo)
	fmt.Fprintf(w, "target:   %s, %d run(s) per size\n\n", rep.Target, rep.Runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "partitions\tCreateTopics ms median (min-max)\tuntil leaders ms median (min-max)\tsamples (create ms)")
	for _, s := range rep.Sizes {
		samples := make([]string, len(s.CreateMs))
		for i, v := range s.CreateMs {
			samples[i] = fmt.Sprintf("%.2f", v)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", s.Partitions, formatSpread(s.CreateSpread, "%.2f"), formatSpread(s.ReadySpread, "%.2f"), strings.Join(samples, " "))
	}
	tw.Flush()
	if rep.Error != "" {
		fmt.Fprintf(w, "\nFAILED: %s\n", rep.Error)
	}
}

// WriteIdleRSSText prints the idle footprint.
func WriteIdleRSSText(w io.Writer, rep IdleRSSReport) {
	writeHeader(w, "chronik-bench idle-rss", rep.RunInfo)
	fmt.Fprintf(w, "setup:    %d topics x %d partitions, %d records per partition, then idle\n\n", rep.Topics, rep.Partitions, rep.RecordsPerPartition)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "when\tVmRSS MiB\tVmHWM MiB\tthreads\topen fds")
	for _, row := range []struct {
		name string
		st   ProcessStatus
	}{{"at start", rep.AtStart}, {"idle", rep.Idle}} {
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%d\t%d\n", row.name, float64(row.st.VmRSSKiB)/1024, float64(row.st.VmHWMKiB)/1024, row.st.Threads, row.st.OpenFDs)
	}
	tw.Flush()
	fmt.Fprintf(w, "\ndata dir: %d files, %.1f MiB apparent; graceful stop took %.2fs\n", rep.DataDirFiles, float64(rep.DataDirBytes)/(1<<20), rep.StopSec)
	if rep.Error != "" {
		fmt.Fprintf(w, "\nFAILED: %s\n", rep.Error)
	}
}

func formatSpread(s Spread, verb string) string {
	if s.N == 0 {
		return "n/a"
	}
	return fmt.Sprintf(verb+" ("+verb+"-"+verb+")", s.Median, s.Min, s.Max)
}

func formatRatio(r float64) string {
	if r == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", r)
}
