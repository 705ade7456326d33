package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSuiteReport is a report with known figures: a headline scenario, a
// sweep and the fsync pair, as a suite run would leave them.
func fakeSuiteReport(chronikRate, nullRate, p99At50 float64) SuiteReport {
	spread := func(v float64) Spread { return Spread{Median: v, Min: v * 0.9, Max: v * 1.1, N: 3} }
	point := func(f, rate, p99 float64) PointFigures {
		return PointFigures{Fraction: f, TargetRate: spread(rate), RecordsPerSec: spread(rate), P50Ms: spread(p99 / 4), P99Ms: spread(p99),
			P999Ms: spread(p99 * 2), P9999Ms: spread(p99 * 3), MaxMs: spread(p99 * 4), SendLagP99Ms: spread(0.05)}
	}
	headline := ScenarioSummary{Scenario: goalHeadline, Targets: []TargetFigures{
		{Target: TargetChronik, Runs: 3, RecordsPerSec: spread(chronikRate), MBPerSec: spread(chronikRate / 1000), P99Ms: spread(50)},
		{Target: TargetKfake, Runs: 3, RecordsPerSec: spread(100000), MBPerSec: spread(100), P99Ms: spread(80)},
		{Target: TargetNull, Runs: 3, RecordsPerSec: spread(nullRate), MBPerSec: spread(nullRate / 1000), P99Ms: spread(20)},
	}}
	headline.Ratios = []RatioFigures{{Of: "chronik/kfake", RecordsPerSec: chronikRate / 100000}, {Of: "chronik/null", RecordsPerSec: chronikRate / nullRate}}
	sweep := ScenarioSummary{Scenario: goalSweep, MaxRate: chronikRate, Targets: []TargetFigures{
		{Target: TargetChronik, Runs: 3, Points: []PointFigures{point(0.1, chronikRate/10, 0.5), point(0.5, chronikRate/2, p99At50)}},
		{Target: TargetNull, Runs: 3, Points: []PointFigures{point(0.1, chronikRate/10, 0.2), point(0.5, chronikRate/2, 0.4)}},
	}}
	fsync := ScenarioSummary{Scenario: goalFsync, Targets: []TargetFigures{
		{Target: TargetChronikFsync, Runs: 3, RecordsPerSec: spread(100000), MBPerSec: spread(100)},
		{Target: TargetDisk, Runs: 3, Disk: &DiskFigures{FS: "ext4", SeqWriteMBPerSec: spread(3000), SeqWriteSyncedMBPerSec: spread(1000), Synced: []DiskSyncFigures{
			{WriteSize: 4096, MBPerSec: spread(8), WritesPerSec: spread(2000), FdatasyncP50: spread(0.4), FdatasyncP99: spread(1)},
			{WriteSize: 1 << 20, MBPerSec: spread(150), WritesPerSec: spread(150), FdatasyncP50: spread(2), FdatasyncP99: spread(5)},
		}}},
	}}
	fsyncSweep := ScenarioSummary{Scenario: goalFsyncSweep, MaxRate: 100000, Targets: []TargetFigures{
		{Target: TargetChronikFsync, Runs: 3, Points: []PointFigures{point(0.5, 50000, 1.5)}},
	}}
	p := ProduceConfig{Topic: "bench", Partitions: 6, RecordSize: 1024, Duration: suiteRunFor}
	rep := SuiteReport{
		RunInfo: RunInfo{Date: "2026-11-25T12:00:00Z", Command: "chronik-bench suite --suite full", Commit: "abc123",
			Machine: Machine{CPUModel: "Test CPU", Cores: 2, Kernel: "Linux 6.1", DataDirFS: "ext4", GoVersion: "go1.26"}},
		Suite: SuiteFull, Reps: 3,
		Scenarios: []Scenario{
			{Name: goalHeadline, Title: "Headline", Kind: KindProduce, Targets: []string{TargetChronik, TargetKfake, TargetNull}, Produce: p},
			{Name: goalSweep, Title: "Sweep", Kind: KindSweep, Targets: []string{TargetChronik, TargetNull}, Produce: p, Fractions: []float64{0.1, 0.5}, MaxFrom: goalHeadline},
			{Name: goalFsync, Title: "Fsync", Kind: KindProduce, Targets: []string{TargetChronikFsync, TargetDisk}, Produce: p},
			{Name: goalFsyncSweep, Title: "Fsync sweep", Kind: KindSweep, Targets: []string{TargetChronikFsync}, Produce: p, Fractions: []float64{0.5}, MaxFrom: goalFsync},
		},
		Summaries: []ScenarioSummary{headline, sweep, fsync, fsyncSweep},
	}
	rep.Goals = EvaluateGoals(rep.Summaries)
	return rep
}

func TestEvaluateGoals(t *testing.T) {
	rep := fakeSuiteReport(250000, 300000, 0.8)
	want := []struct {
		status string
		value  float64
	}{
		{GoalMet, 2.5},         // 250k vs kfake 100k
		{GoalMet, 250.0 / 300}, // vs null
		{GoalMet, 0.8},         // p99 at 50%
		{GoalMet, 100.0 / 150}, // 100 MB/s vs the fastest raw size, 1 MiB at 150 MB/s
		{GoalMet, 1.5},         // 1.5 ms vs the lowest raw fdatasync p99, 1 ms
	}
	for i, g := range rep.Goals {
		if g.Status != want[i].status || !near(g.Value, want[i].value) {
			t.Errorf("goal %q: %s %.4f, want %s %.4f (%s)", g.Goal, g.Status, g.Value, want[i].status, want[i].value, g.Measured)
		}
	}
	short := fakeSuiteReport(150000, 300000, 3)
	for i, wantStatus := range []string{GoalShort, GoalShort, GoalShort} {
		if g := short.Goals[i]; g.Status != wantStatus {
			t.Errorf("goal %q: %s, want %s (%s)", g.Goal, g.Status, wantStatus, g.Measured)
		}
	}
	if g := short.Goals[3]; !strings.Contains(g.Measured, "raw 1 MiB write+fdatasync 150.0 MB/s (the fastest size)") || !strings.Contains(g.Measured, "raw 4 KiB: 8.0 MB/s") {
		t.Errorf("fsync goal measured %q: want the fastest raw size named and the others beside it", g.Measured)
	}
	if g := rep.Goals[2]; !strings.Contains(g.Measured, "the null broker at the same rate: p99 0.400 ms") {
		t.Errorf("latency goal measured %q: want the null broker's floor beside it", g.Measured)
	}
	if g := EvaluateGoals(nil); len(g) != 5 || g[0].Status != GoalNotMeasured || g[4].Status != GoalNotMeasured {
		t.Errorf("goals of an empty suite %+v: want all not measured", g)
	}
}

func TestUpdateBenchmarksFileKeepsHandWrittenSections(t *testing.T) {
	dir := t.TempDir()
	doc := filepath.Join(dir, "BENCHMARKS.md")
	hand := "# Chronik benchmarks\n\nIntro.\n\n## Produce (issue 2: first figures)\n\nHand-measured table.\n"
	if err := os.WriteFile(doc, []byte(hand), 0o644); err != nil {
		t.Fatal(err)
	}
	plots := filepath.Join(dir, "bench", "results")
	if err := os.MkdirAll(plots, 0o755); err != nil {
		t.Fatal(err)
	}
	rep := fakeSuiteReport(250000, 300000, 0.8)
	if err := UpdateBenchmarksFile(doc, rep, plots, filepath.Join(plots, "last.json"), "chronik-bench report"); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	s := string(first)
	for _, want := range []string{
		"Intro.\n\n" + markdownBegin, // inserted after the introduction
		markdownEnd + "\n\n## Produce (issue 2: first figures)\n\nHand-measured table.\n",
		"commit `abc123`", "Test CPU; 2 cores", "data directory on ext4", "`chronik-bench suite --suite full`, then `chronik-bench report`",
		"[bench/results/last.json](bench/results/last.json)",
		"| Throughput, acks=1, 1 KiB, 6 partitions: at least 2× kfake | **met** |",
		"| chronik | 3 | 250000 (225000–275000) |",
		"chronik/null: throughput 0.83",
		"![sweep-1k-p6-acks1](bench/results/sweep-1k-p6-acks1.png)",
		"![sweep-1k-p6-acksall-fsync](bench/results/sweep-1k-p6-acksall-fsync.png)",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("document lacks %q:\n%s", want, s)
		}
	}
	for _, name := range []string{goalSweep, goalFsyncSweep} {
		png, err := os.ReadFile(filepath.Join(plots, name+".png"))
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("plot %s: %v, want a PNG file", name, err)
		}
	}

	// A second run replaces the section in place, leaving the rest.
	rep2 := fakeSuiteReport(150000, 300000, 3)
	rep2.Commit = "def456"
	if err := UpdateBenchmarksFile(doc, rep2, plots, "", "chronik-bench report"); err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	s = string(second)
	if strings.Count(s, markdownBegin) != 1 || strings.Contains(s, "abc123") || !strings.Contains(s, "def456") || !strings.Contains(s, "**NOT MET**") {
		t.Errorf("second regeneration did not replace the section:\n%s", s)
	}
	if !strings.HasPrefix(s, "# Chronik benchmarks\n\nIntro.\n\n") || !strings.HasSuffix(s, "## Produce (issue 2: first figures)\n\nHand-measured table.\n") {
		t.Errorf("hand-written parts changed:\n%s", s)
	}
}

func TestSpliceMarkdownRefusesBrokenMarkers(t *testing.T) {
	if _, err := SpliceMarkdown("x\n"+markdownEnd+"\n"+markdownBegin+"\n", "new"); err == nil {
		t.Error("markers out of order accepted")
	}
	out, err := SpliceMarkdown("no headings here", markdownBegin+"\nS\n"+markdownEnd)
	if err != nil || !strings.HasSuffix(out, markdownEnd+"\n") || !strings.HasPrefix(out, "no headings here\n\n") {
		t.Errorf("SpliceMarkdown without headings = %q, %v: want the section appended", out, err)
	}
}

func TestCompareSuitesNamesRegressions(t *testing.T) {
	last := fakeSuiteReport(250000, 300000, 0.8)
	f := func(name string, fresh SuiteReport, want []string) {
		t.Helper()
		rep := CompareSuites(last, fresh)
		got := strings.Join(rep.Regressions, "\n")
		if len(rep.Regressions) != len(want) {
			t.Errorf("%s: regressions:\n%s\nwant %d", name, got, len(want))
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: regressions lack %q:\n%s", name, w, got)
			}
		}
		var text bytes.Buffer
		WriteCheckText(&text, rep)
		if len(want) > 0 && !strings.Contains(text.String(), "REGRESSED") || len(want) == 0 && !strings.Contains(text.String(), "no regression") {
			t.Errorf("%s: text:\n%s", name, text.String())
		}
	}
	f("same", fakeSuiteReport(250000, 300000, 0.8), nil)
	// 12% slower while the null broker held steady: a regression.
	f("slower", fakeSuiteReport(220000, 300000, 0.8), []string{"produce-1k-p6-acks1 on chronik: records/s 2.5e+05 → 2.2e+05 (×0.88); null broker ×1.00"})
	// 12% slower with the whole machine 15% slower: not the broker.
	f("slow machine", fakeSuiteReport(220000, 255000, 0.8), nil)
	// 12% faster while the null broker got 36% faster: still no regression.
	f("faster", fakeSuiteReport(280000, 408000, 0.8), nil)
	// p99 at 50% up 50%.
	f("p99", fakeSuiteReport(250000, 300000, 1.2), []string{"sweep-1k-p6-acks1 on chronik at 50%: p99 ms 0.8 → 1.2 (×1.50)"})
	// 8% slower is within the threshold.
	f("noise", fakeSuiteReport(230000, 300000, 0.9), nil)

	fresh := fakeSuiteReport(250000, 300000, 0.8)
	fresh.Summaries = append(fresh.Summaries, ScenarioSummary{Scenario: "new-scenario"})
	if rep := CompareSuites(last, fresh); len(rep.Missing) != 1 || rep.Missing[0] != "new-scenario" {
		t.Errorf("missing %v, want the scenario the last run lacks", rep.Missing)
	}
}
