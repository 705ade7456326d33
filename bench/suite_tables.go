package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// table is rows of cells, printed as aligned text on a terminal and as a
// Markdown table in BENCHMARKS.md, so both show the same figures.
type table struct {
	header []string
	rows   [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t table) text(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.header, "\t"))
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

func (t table) markdown(w io.Writer) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(t.header, " | "))
	seps := make([]string, len(t.header))
	for i := range seps {
		seps[i] = "---"
	}
	fmt.Fprintf(w, "|%s|\n", strings.Join(seps, "|"))
	for _, r := range t.rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
}

// scenarioTables builds the tables of one scenario's summary.
func scenarioTables(s Scenario, sum ScenarioSummary) []table {
	switch s.Kind {
	case KindReferences:
		return referenceTables(sum)
	case KindSweep:
		return []table{sweepTable(sum)}
	}
	var tables []table
	t := table{header: []string{"target", "runs", "records/s", "MB/s"}}
	latency := s.Kind == KindProduce || s.Kind == KindEndToEnd
	if latency {
		label := "ack"
		if s.Kind == KindEndToEnd {
			label = "e2e"
		}
		t.header = append(t.header, label+" p50 ms", label+" p99 ms", label+" p99.9 ms", label+" p99.99 ms", label+" max ms")
	}
	if s.Kind == KindEndToEnd {
		t.header = append(t.header, "ack p99 ms", "send lag p99 ms")
	}
	t.header = append(t.header, "broker CPU s", "bench CPU s")
	for _, f := range sum.Targets {
		if f.Disk != nil {
			continue
		}
		row := []string{f.Target, runsCell(f), cell(f.RecordsPerSec, "%.0f"), cell(f.MBPerSec, "%.1f")}
		if latency {
			row = append(row, cell(f.P50Ms, "%.2f"), cell(f.P99Ms, "%.2f"), cell(f.P999Ms, "%.2f"), cell(f.P9999Ms, "%.2f"), cell(f.MaxMs, "%.2f"))
		}
		if s.Kind == KindEndToEnd {
			row = append(row, cell(f.AckP99Ms, "%.2f"), cell(f.SendLagP99Ms, "%.3f"))
		}
		row = append(row, cell(f.BrokerCPUSec, "%.2f"), cell(f.BenchCPUSec, "%.2f"))
		t.add(row...)
	}
	tables = append(tables, t)
	for _, f := range sum.Targets {
		if f.Disk != nil {
			tables = append(tables, diskTable(f))
		}
	}
	return tables
}

func runsCell(f TargetFigures) string {
	if f.Failed > 0 {
		return fmt.Sprintf("%d (+%d failed)", f.Runs, f.Failed)
	}
	return fmt.Sprint(f.Runs)
}

// cell is "median (min–max)".
func cell(s Spread, verb string) string {
	if s.N == 0 {
		return "–"
	}
	if s.N == 1 {
		return fmt.Sprintf(verb, s.Median)
	}
	return fmt.Sprintf(verb+" ("+verb+"–"+verb+")", s.Median, s.Min, s.Max)
}

func referenceTables(sum ScenarioSummary) []table {
	var tables []table
	for _, f := range sum.Targets {
		switch {
		case f.Disk != nil:
			tables = append(tables, diskTable(f))
		case f.Target == TargetLoopback:
			t := table{header: []string{"reference", "runs", "MB/s (64 KiB writes)", "100 B round trip p50 ms", "p99 ms", "p99.9 ms"}}
			t.add("loopback TCP", runsCell(f), cell(f.MBPerSec, "%.0f"), cell(f.P50Ms, "%.3f"), cell(f.P99Ms, "%.3f"), cell(f.P999Ms, "%.3f"))
			tables = append(tables, t)
		}
	}
	return tables
}

func diskTable(f TargetFigures) table {
	d := f.Disk
	t := table{header: []string{"raw disk (" + d.FS + ")", "runs", "MB/s", "writes/s", "fdatasync p50 ms", "p99 ms", "p99.9 ms"}}
	t.add("sequential 1 MiB writes (page cache)", runsCell(f), cell(d.SeqWriteMBPerSec, "%.0f"), "", "", "", "")
	t.add("sequential 1 MiB writes + one final fdatasync", runsCell(f), cell(d.SeqWriteSyncedMBPerSec, "%.0f"), "", "", "", "")
	for _, s := range d.Synced {
		t.add(formatBytes(s.WriteSize)+" write + fdatasync", runsCell(f), cell(s.MBPerSec, "%.1f"), cell(s.WritesPerSec, "%.0f"),
			cell(s.FdatasyncP50, "%.3f"), cell(s.FdatasyncP99, "%.3f"), cell(s.FdatasyncP999, "%.3f"))
	}
	return t
}

func sweepTable(sum ScenarioSummary) table {
	t := table{header: []string{"target", "load", "asked records/s", "achieved records/s", "p50 ms", "p99 ms", "p99.9 ms", "p99.99 ms", "max ms", "send lag p99 ms"}}
	for _, f := range sum.Targets {
		for _, p := range f.Points {
			t.add(f.Target, fmt.Sprintf("%.0f%%", 100*p.Fraction), fmt.Sprintf("%.0f", p.TargetRate.Median), cell(p.RecordsPerSec, "%.0f"),
				cell(p.P50Ms, "%.3f"), cell(p.P99Ms, "%.3f"), cell(p.P999Ms, "%.3f"), cell(p.P9999Ms, "%.3f"), cell(p.MaxMs, "%.3f"), cell(p.SendLagP99Ms, "%.3f"))
		}
		if f.Runs == 0 {
			t.add(f.Target, "", "", "no successful run", "", "", "", "", "", "")
		}
	}
	return t
}

// ratioLine is chronik's ratios to the other targets, in words.
func ratioLine(sum ScenarioSummary) string {
	if len(sum.Ratios) == 0 {
		return ""
	}
	parts := make([]string, len(sum.Ratios))
	for i, r := range sum.Ratios {
		p := fmt.Sprintf("%s: throughput %s", r.Of, formatRatio(r.RecordsPerSec))
		if r.P99Ms != 0 {
			p += ", p99 " + formatRatio(r.P99Ms)
		}
		parts[i] = p
	}
	return "Ratios of medians — " + strings.Join(parts, "; ") + " (throughput above 1 and p99 below 1 favour chronik)."
}

func goalsTable(goals []GoalStanding) table {
	t := table{header: []string{"goal", "status", "measured"}}
	for _, g := range goals {
		status := g.Status
		switch g.Status {
		case GoalMet:
			status = "**met**"
		case GoalShort:
			status = "**NOT MET**"
		}
		t.add(g.Goal, status, g.Measured)
	}
	return t
}

// WriteSuiteText prints a suite report on a terminal.
func WriteSuiteText(w io.Writer, rep SuiteReport) {
	writeHeader(w, "chronik-bench suite "+rep.Suite, rep.RunInfo)
	fmt.Fprintf(w, "reps:     %d per scenario and target; took %.0fs\n", rep.Reps, rep.ElapsedSec)
	for _, s := range rep.Scenarios {
		sum, ok := findSummary(rep.Summaries, s.Name)
		if !ok {
			continue
		}
		fmt.Fprintf(w, "\n== %s: %s\n", s.Name, s.Title)
		if s.Produce.Topic != "" {
			fmt.Fprintf(w, "workload: %s\n", s.Produce.Describe())
		}
		if sum.Error != "" {
			fmt.Fprintf(w, "FAILED: %s\n", sum.Error)
			continue
		}
		for _, t := range scenarioTables(s, sum) {
			t.text(w)
		}
		if l := ratioLine(sum); l != "" {
			fmt.Fprintln(w, l)
		}
	}
	fmt.Fprintln(w, "\n== goals (issue 3)")
	goalsTable(rep.Goals).text(w)
	if rep.Error != "" {
		fmt.Fprintf(w, "\nFAILED RUNS: %s\n", rep.Error)
	}
}

func findSummary(sums []ScenarioSummary, name string) (ScenarioSummary, bool) {
	for _, s := range sums {
		if s.Scenario == name {
			return s, true
		}
	}
	return ScenarioSummary{}, false
}
