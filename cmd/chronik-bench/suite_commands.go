package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/chronik-go/chronik/bench"
)

// suiteTargets builds the brokers a suite runs against: the chronik binary
// (as given, and with fsync on every write) and the two references, kfake
// and the null broker, each as its own process through this executable's
// hidden subcommands, so every broker is started, measured and stopped the
// same way.
func suiteTargets(chronik *bench.ChronikTarget) (map[string]bench.Target, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find chronik-bench executable for the reference brokers: %w", err)
	}
	fsync := *chronik
	fsync.Label = bench.TargetChronikFsync
	fsync.Sets = append(append([]string(nil), chronik.Sets...), bench.ChronikFsyncSetting)
	return map[string]bench.Target{
		bench.TargetChronik:      *chronik,
		bench.TargetChronikFsync: fsync,
		bench.TargetKfake: bench.ChronikTarget{Binary: self, Label: bench.TargetKfake, Subcommand: "kfake-serve",
			DataParent: chronik.DataParent, StopTimeout: chronik.StopTimeout},
		bench.TargetNull: bench.ChronikTarget{Binary: self, Label: bench.TargetNull, Subcommand: "null-serve",
			DataParent: chronik.DataParent, StopTimeout: chronik.StopTimeout},
	}, nil
}

func cmdSuite(ctx context.Context, argv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("suite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	chronik := chronikFlags(fs)
	suite := fs.String("suite", bench.SuiteQuick, "which scenarios: quick (under two minutes) or full (make bench, ~20 minutes)")
	reps := fs.Int("reps", 3, "repetitions of every scenario on every target")
	only := fs.String("only", "", "comma-separated scenario names to run (default: all of the suite)")
	out := fs.String("out", "", "write the report as JSON to this file")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of text")
	list := fs.Bool("list", false, "list the suite's scenarios and exit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	scenarios, err := bench.SuiteScenarios(*suite)
	if err != nil {
		return usageError{err}
	}
	if *list {
		for _, s := range scenarios {
			fmt.Fprintf(stdout, "%-34s %s\n", s.Name, s.Title)
		}
		return nil
	}
	if *reps < 1 {
		return usageError{fmt.Errorf("--reps %d: need at least 1", *reps)}
	}
	targets, err := suiteTargets(chronik)
	if err != nil {
		return err
	}
	cfg := bench.SuiteConfig{
		Name: *suite, Scenarios: scenarios, Reps: *reps, Targets: targets,
		DataDir: dataParent(chronik), Progress: progressWriter(stderr), Log: stderr,
	}
	if *only != "" {
		cfg.Only = strings.Split(*only, ",")
	}
	info := bench.NewRunInfo(argv, dataParent(chronik))
	rep, err := bench.RunSuite(ctx, cfg, info)
	if *out != "" {
		if werr := writeJSONFile(*out, rep); werr != nil {
			return errors.Join(err, werr)
		}
	}
	if *asJSON {
		if jerr := writeJSON(stdout, rep); jerr != nil {
			return jerr
		}
	} else {
		bench.WriteSuiteText(stdout, rep)
	}
	return err
}

func writeJSONFile(path string, v any) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := writeJSON(f, v); err != nil {
		f.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return nil
}

func readSuiteReport(path string) (bench.SuiteReport, error) {
	var rep bench.SuiteReport
	b, err := os.ReadFile(path)
	if err != nil {
		return rep, fmt.Errorf("read report: %w", err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return rep, fmt.Errorf("read report %s: %w", path, err)
	}
	return rep, nil
}

func cmdReport(_ context.Context, argv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "bench/results/last.json", "suite report (JSON) written by chronik-bench suite --out")
	markdown := fs.String("markdown", "BENCHMARKS.md", "Markdown file whose generated section is rewritten (the rest is kept)")
	plots := fs.String("plots", "bench/results", "directory for the latency-vs-throughput PNG plots")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rep, err := readSuiteReport(*in)
	if err != nil {
		return err
	}
	// Judge the goals with this binary's rules, so a report regenerated
	// from an older run states them as the document describes them.
	rep.Goals = bench.EvaluateGoals(rep.Summaries)
	if err := os.MkdirAll(*plots, 0o755); err != nil {
		return fmt.Errorf("plot directory: %w", err)
	}
	if err := bench.UpdateBenchmarksFile(*markdown, rep, *plots, *in, bench.ShellQuote(argv)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: suite section regenerated from %s (%s, commit %s); plots in %s\n", *markdown, *in, rep.Date, rep.Commit, *plots)
	return nil
}

func cmdCheck(_ context.Context, _, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	last := fs.String("last", "bench/results/last.json", "the last recorded suite report")
	fresh := fs.String("fresh", "", "a fresh suite report to compare with it (required; make bench-check runs the quick suite for it)")
	asJSON := fs.Bool("json", false, "print the comparison as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *fresh == "" {
		return usageError{errors.New("--fresh is required")}
	}
	l, err := readSuiteReport(*last)
	if err != nil {
		return err
	}
	f, err := readSuiteReport(*fresh)
	if err != nil {
		return err
	}
	rep := bench.CompareSuites(l, f)
	if *asJSON {
		if err := writeJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		bench.WriteCheckText(stdout, rep)
	}
	if len(rep.Regressions) > 0 {
		return fmt.Errorf("%d figure(s) regressed: %s", len(rep.Regressions), strings.Join(rep.Regressions, "; "))
	}
	return nil
}
