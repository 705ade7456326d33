package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Line is a one-line summary of a produce run.
func (r ProduceResult) Line() string {
	s := fmt.Sprintf("%d records in %.2fs: %.0f records/s, %.1f MB/s, ack %s", r.Records, r.ElapsedSec, r.RecordsPerSec, r.MBPerSec, r.Latency.Line())
	if r.Mode == "open" {
		s = fmt.Sprintf("open loop at %.0f records/s: %s; send lag p99 %.3f ms", r.TargetRate, s, r.SendLag.P99Ms)
	}
	return s
}

// Line is the quantiles of a latency summary on one line.
func (l LatencySummary) Line() string {
	return fmt.Sprintf("p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, p99.99 %.3f ms, max %.3f ms", l.P50Ms, l.P99Ms, l.P999Ms, l.P9999Ms, l.MaxMs)
}

// Describe is a one-line statement of the workload's knobs.
func (c ProduceConfig) Describe() string {
	c = c.WithDefaults()
	amount := fmt.Sprintf("%d records", c.Records)
	if c.Duration > 0 {
		amount = "for " + c.Duration.String()
	}
	loop := "closed loop"
	if c.openLoop() {
		loop = fmt.Sprintf("open loop at %.0f records/s", c.Rate)
	}
	keys := "no keys"
	switch c.Keys {
	case KeysUniform:
		keys = fmt.Sprintf("uniform keys over %d", c.KeyCount)
	case KeysHot:
		keys = fmt.Sprintf("hot keys (%.0f%% on %d of %d)", 100*c.HotKeyShare, max(1, c.KeyCount/100), c.KeyCount)
	}
	return fmt.Sprintf("%s %s x %d B (+%d warm-up), %s, topic %s, %d partitions, acks=%s, idempotent=%t, linger=%s, batch-max-bytes=%d, compression=%s, producers=%d, max-inflight=%d, max-buffered=%d",
		loop, amount, c.RecordSize, c.Warmup, keys, c.Topic, c.Partitions, c.Acks, c.Idempotent, c.Linger, c.BatchMaxBytes, c.Compression, c.Producers, c.MaxInflight, c.MaxBuffered)
}

func writeHeader(w io.Writer, title string, info RunInfo) {
	fmt.Fprintf(w, "%s\n", title)
	fmt.Fprintf(w, "date:     %s\n", info.Date)
	fmt.Fprintf(w, "command:  %s\n", info.Command)
	if info.Commit != "" {
		fmt.Fprintf(w, "commit:   %s\n", info.Commit)
	}
	fmt.Fprintf(w, "machine:  %s\n", info.Machine)
}

// WriteProduceText prints a produce run as text.
func WriteProduceText(w io.Writer, info RunInfo, cfg ProduceConfig, r ProduceResult) {
	writeHeader(w, "chronik-bench produce", info)
	fmt.Fprintf(w, "workload: %s\n", cfg.Describe())
	fmt.Fprintf(w, "brokers:  %s\n\n", strings.Join(cfg.Brokers, ","))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "records\telapsed s\trecords/s\tMB/s\tp50 ms\tp99 ms\tp99.9 ms\tp99.99 ms\tmax ms\terrors")
	fmt.Fprintf(tw, "%d\t%.2f\t%.0f\t%.1f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\n", r.Records, r.ElapsedSec, r.RecordsPerSec, r.MBPerSec,
		r.Latency.P50Ms, r.Latency.P99Ms, r.Latency.P999Ms, r.Latency.P9999Ms, r.Latency.MaxMs, r.Errors)
	tw.Flush()
	if r.Mode == "open" {
		fmt.Fprintf(w, "\nlatency is from each record's intended send time (open loop at %.0f records/s asked, %.0f achieved)\n", r.TargetRate, r.RecordsPerSec)
		fmt.Fprintf(w, "generator send lag: %s\n", r.SendLag.Line())
	} else {
		fmt.Fprintln(w, "\nlatency is Produce call to ack in a closed loop: it includes time queued in the client")
	}
}

// WriteConsumeText prints a consume run as text.
func WriteConsumeText(w io.Writer, info RunInfo, cfg ConsumeConfig, r ConsumeResult) {
	writeHeader(w, "chronik-bench consume", info)
	fmt.Fprintf(w, "workload: read topic %s from the start with %d consumer(s) (%d had partitions), fetch max %d B, %d B per partition\n",
		cfg.Topic, cfg.Consumers, r.Consumers, cfg.FetchMaxBytes, cfg.FetchMaxPartitionBytes)
	fmt.Fprintf(w, "brokers:  %s\n\n", strings.Join(cfg.Brokers, ","))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "records\tpartitions\telapsed s\trecords/s\tMB/s")
	fmt.Fprintf(tw, "%d\t%d\t%.2f\t%.0f\t%.1f\n", r.Records, r.Partitions, r.ElapsedSec, r.RecordsPerSec, r.MBPerSec)
	tw.Flush()
	fmt.Fprintf(w, "\nverified: %s\n", r.Verified)
}

// WriteEndToEndText prints an end-to-end run as text.
func WriteEndToEndText(w io.Writer, info RunInfo, cfg EndToEndConfig, r EndToEndResult) {
	writeHeader(w, "chronik-bench e2e", info)
	fmt.Fprintf(w, "workload: %s; %d consumer(s)\n", cfg.Produce.Describe(), cfg.Consumers)
	fmt.Fprintf(w, "brokers:  %s\n\n", strings.Join(cfg.Produce.Brokers, ","))
	fmt.Fprintf(w, "produce:      %s\n", r.Produce.Line())
	fmt.Fprintf(w, "end-to-end:   %s (intended send to consumed, %d records)\n", r.Latency.Line(), r.Latency.Samples)
	fmt.Fprintf(w, "consumed:     %d records (warm-up included); verified: %s\n", r.Consumed, r.Verified)
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
