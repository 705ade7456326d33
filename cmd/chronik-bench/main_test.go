package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chronik-go/chronik/bench"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"chronik-bench"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// suiteJSON writes a suite report whose headline scenario measured chronik
// at the given rate against a steady null broker.
func suiteJSON(t *testing.T, dir, name string, chronikRate float64) string {
	t.Helper()
	s := func(v float64) bench.Spread { return bench.Spread{Median: v, Min: v, Max: v, N: 3} }
	rep := bench.SuiteReport{
		RunInfo: bench.RunInfo{Date: "2026-11-25T12:00:00Z", Command: "chronik-bench suite", Commit: "abc"},
		Suite:   bench.SuiteQuick, Reps: 3,
		Scenarios: []bench.Scenario{{Name: "produce-1k-p6-acks1", Title: "Headline", Kind: bench.KindProduce,
			Targets: []string{bench.TargetChronik, bench.TargetNull}, Produce: bench.ProduceConfig{Topic: "bench"}}},
		Summaries: []bench.ScenarioSummary{{Scenario: "produce-1k-p6-acks1", Targets: []bench.TargetFigures{
			{Target: bench.TargetChronik, Runs: 3, RecordsPerSec: s(chronikRate), MBPerSec: s(chronikRate / 1000)},
			{Target: bench.TargetNull, Runs: 3, RecordsPerSec: s(400000), MBPerSec: s(400)},
		}}},
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSuiteList(t *testing.T) {
	code, out, _ := runCLI(t, "suite", "--suite", "full", "--list")
	if code != 0 || !strings.Contains(out, "sweep-1k-p6-acks1") || !strings.Contains(out, "consume-1gib-p6") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
	if code, _, errOut := runCLI(t, "suite", "--suite", "huge", "--list"); code != 2 || !strings.Contains(errOut, `suite "huge"`) {
		t.Errorf("unknown suite: exit %d, %s", code, errOut)
	}
}

func TestCheckExitStatus(t *testing.T) {
	dir := t.TempDir()
	last := suiteJSON(t, dir, "last.json", 300000)
	same := suiteJSON(t, dir, "same.json", 300000)
	slower := suiteJSON(t, dir, "slower.json", 240000)
	if code, out, _ := runCLI(t, "check", "--last", last, "--fresh", same); code != 0 || !strings.Contains(out, "no regression") {
		t.Errorf("same figures: exit %d\n%s", code, out)
	}
	code, out, errOut := runCLI(t, "check", "--last", last, "--fresh", slower)
	if code != 1 || !strings.Contains(out, "REGRESSED") || !strings.Contains(errOut, "produce-1k-p6-acks1 on chronik") {
		t.Errorf("20%% slower: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, _ := runCLI(t, "check", "--last", last); code != 2 {
		t.Errorf("check without --fresh: exit %d, want 2", code)
	}
}

func TestReportRewritesGeneratedSection(t *testing.T) {
	dir := t.TempDir()
	in := suiteJSON(t, dir, "last.json", 300000)
	doc := filepath.Join(dir, "BENCHMARKS.md")
	if err := os.WriteFile(doc, []byte("# Benchmarks\n\nIntro.\n\n## Hand-measured\n\nKept.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "report", "--in", in, "--markdown", doc, "--plots", filepath.Join(dir, "plots"))
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	b, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.Contains(s, "### Goals (issue 3)") || !strings.HasSuffix(s, "## Hand-measured\n\nKept.\n") {
		t.Errorf("document:\n%s", s)
	}
}
