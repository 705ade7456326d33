// Command chronik-bench is Chronik's load generator and benchmark runner.
//
//	chronik-bench produce  --brokers host:port [workload flags]
//	chronik-bench consume  --brokers host:port --topic T [--consumers N]
//	chronik-bench e2e      --brokers host:port --rate R --duration D [workload flags]
//	chronik-bench compare  --chronik bin/chronik --runs 3 [workload flags]
//	chronik-bench suite    --chronik bin/chronik --suite quick|full --out bench/results/last.json
//	chronik-bench report   --in bench/results/last.json --markdown BENCHMARKS.md --plots bench/results
//	chronik-bench check    --last bench/results/last.json --fresh new.json
//	chronik-bench topics   --chronik bin/chronik --runs 5
//	chronik-bench idle-rss --chronik bin/chronik --topics 100 --partitions 6
//
// Every report names the machine, the date and the exact command line.
// Exit status: 0 success, 1 the benchmark failed, 2 bad usage.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/chronik-go/chronik/bench"
)

const usage = `usage: chronik-bench <command> [flags]

commands:
  produce   producer against running brokers: closed loop (throughput) or
            open loop at --rate (latency from intended send time)
  consume   read a topic from the start, verifying every record
  e2e       produce and consume at once: per-record end-to-end latency
  compare   produce workload alternately against the chronik binary and kfake
  suite     every scenario against chronik and the references (kfake, the
            null broker, raw loopback TCP and disk), alternating, with
            medians, ratios and the issue's goals: --suite quick|full
  report    regenerate BENCHMARKS.md's suite section and plots from a suite's JSON
  check     compare a fresh suite run with the last recorded one; names regressions
  topics    CreateTopics latency (1 and 100 partitions) on the chronik binary
  idle-rss  resident memory of an idle chronik with many open partitions

Run 'chronik-bench <command> -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one subcommand and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	commands := map[string]func(context.Context, []string, []string, io.Writer, io.Writer) error{
		"produce":  cmdProduce,
		"consume":  cmdConsume,
		"e2e":      cmdEndToEnd,
		"compare":  cmdCompare,
		"topics":   cmdTopics,
		"idle-rss": cmdIdleRSS,
		"suite":    cmdSuite,
		"report":   cmdReport,
		"check":    cmdCheck,
		// Hidden: the suite and compare --kfake process run the reference
		// brokers as their own processes through these.
		"kfake-serve": func(ctx context.Context, _, args []string, _, stderr io.Writer) error {
			return bench.ServeKfake(ctx, args, stderr)
		},
		"null-serve": func(ctx context.Context, _, args []string, _, stderr io.Writer) error {
			return bench.ServeNull(ctx, args, stderr)
		},
	}
	cmd, ok := commands[args[1]]
	if !ok {
		if args[1] == "-h" || args[1] == "--help" || args[1] == "help" {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "chronik-bench: unknown command %q\n\n%s", args[1], usage)
		return 2
	}
	err := cmd(ctx, args, args[2:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "chronik-bench %s: %v\n", args[1], err)
		return 2
	default:
		fmt.Fprintf(stderr, "chronik-bench %s: %v\n", args[1], err)
		return 1
	}
}

// usageError marks a bad command line, as opposed to a failed benchmark.
type usageError struct{ error }

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	return nil
}

// progressWriter is stderr when it is a terminal, else nil: a line rewritten
// with \r helps a person watching and only clutters a log file.
func progressWriter(stderr io.Writer) io.Writer {
	if f, ok := stderr.(*os.File); ok && bench.IsTerminal(f) {
		return f
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func cmdProduce(ctx context.Context, argv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("produce", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "", "comma-separated bootstrap host:port list (required)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	cfg := workloadFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *brokers == "" {
		return usageError{errors.New("--brokers is required")}
	}
	cfg.Brokers = strings.Split(*brokers, ",")
	if err := cfg.WithDefaults().Validate(); err != nil {
		return usageError{err}
	}
	info := bench.NewRunInfo(argv, "")
	res, err := bench.RunProduce(ctx, *cfg, progressWriter(stderr))
	if *asJSON {
		out := struct {
			bench.RunInfo
			Workload bench.ProduceConfig `json:"workload"`
			Brokers  []string            `json:"brokers"`
			Result   bench.ProduceResult `json:"result"`
			Error    string              `json:"error,omitempty"`
		}{RunInfo: info, Workload: cfg.WithDefaults(), Brokers: cfg.Brokers, Result: res}
		if err != nil {
			out.Error = err.Error()
		}
		if jerr := writeJSON(stdout, out); jerr != nil {
			return jerr
		}
		return err
	}
	if err != nil {
		return err
	}
	bench.WriteProduceText(stdout, info, *cfg, res)
	return nil
}

func cmdCompare(ctx context.Context, argv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := chronikFlags(fs)
	runs := fs.Int("runs", 3, "runs per target")
	kfakeMode := fs.String("kfake", "inprocess", "how kfake runs: inprocess (shares this process with the client) or process (its own process, like chronik)")
	kfakePersist := fs.Bool("kfake-persist", false, "kfake stores records on disk in the data dir (its DataDir option) instead of memory")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	cfg := workloadFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *runs < 1 {
		return usageError{fmt.Errorf("--runs %d: need at least 1", *runs)}
	}
	var kfake bench.Target
	switch *kfakeMode {
	case "inprocess":
		k := bench.KfakeTarget{}
		if *kfakePersist {
			k.PersistParent = dataParent(target)
		}
		kfake = k
	case "process":
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find chronik-bench executable for kfake-serve: %w", err)
		}
		k := bench.ChronikTarget{Binary: self, Label: "kfake", Subcommand: "kfake-serve", DataParent: target.DataParent, StopTimeout: target.StopTimeout}
		if *kfakePersist {
			k.Sets = []string{"kfake.persist=true"}
		}
		kfake = k
	default:
		return usageError{fmt.Errorf("--kfake %q: want inprocess or process", *kfakeMode)}
	}
	cfg.Brokers = []string{"(per run)"} // validated here, replaced for each run
	if err := cfg.WithDefaults().Validate(); err != nil {
		return usageError{err}
	}
	cfg.Brokers = nil
	info := bench.NewRunInfo(argv, dataParent(target))
	rep, err := bench.RunCompare(ctx, bench.CompareConfig{
		Targets:  []bench.Target{*target, kfake},
		Runs:     *runs,
		Produce:  *cfg,
		Progress: progressWriter(stderr),
		Log:      stderr,
	}, info)
	if *asJSON {
		if jerr := writeJSON(stdout, rep); jerr != nil {
			return jerr
		}
	} else {
		bench.WriteCompareText(stdout, rep)
	}
	return err
}

func cmdTopics(ctx context.Context, argv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("topics", flag.ContinueOnError)
	fs.SetOutput(stderr)
	chronik := chronikFlags(fs)
	runs := fs.Int("runs", 5, "topics created per size")
	targetName := fs.String("target", "chronik", "broker to time: chronik (the binary) or kfake (in-process reference)")
	timeout := fs.Duration("timeout", 5*time.Minute, "bound on the whole scenario")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var target bench.Target
	switch *targetName {
	case "chronik":
		target = *chronik
	case "kfake":
		target = bench.KfakeTarget{}
	default:
		return usageError{fmt.Errorf("--target %q: want chronik or kfake", *targetName)}
	}
	info := bench.NewRunInfo(argv, dataParent(chronik))
	rep, err := bench.RunTopics(ctx, bench.TopicsConfig{Target: target, Runs: *runs, Timeout: *timeout}, info)
	if *asJSON {
		if jerr := writeJSON(stdout, rep); jerr != nil {
			return jerr
		}
	} else {
		bench.WriteTopicsText(stdout, rep)
	}
	return err
}

func cmdIdleRSS(ctx context.Context, argv, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("idle-rss", flag.ContinueOnError)
	fs.SetOutput(stderr)
	chronik := chronikFlags(fs)
	topics := fs.Int("topics", 100, "topics to create")
	partitions := fs.Int("partitions", 6, "partitions per topic")
	perPartition := fs.Int("records-per-partition", 3, "records written to every partition")
	settle := fs.Duration("settle", 2*time.Second, "wait after producing before reading VmRSS")
	timeout := fs.Duration("timeout", 5*time.Minute, "bound on the whole scenario")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	info := bench.NewRunInfo(argv, dataParent(chronik))
	rep, err := bench.RunIdleRSS(ctx, bench.IdleRSSConfig{
		Target:              *chronik,
		Topics:              *topics,
		Partitions:          int32(*partitions),
		RecordsPerPartition: *perPartition,
		Settle:              *settle,
		Timeout:             *timeout,
	}, info)
	if *asJSON {
		if jerr := writeJSON(stdout, rep); jerr != nil {
			return jerr
		}
	} else {
		bench.WriteIdleRSSText(stdout, rep)
	}
	return err
}

func dataParent(t *bench.ChronikTarget) string {
	if t.DataParent != "" {
		return t.DataParent
	}
	return os.TempDir()
}
