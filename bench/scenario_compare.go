package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// CompareConfig runs one produce workload against several targets.
type CompareConfig struct {
	Targets  []Target
	Runs     int
	Produce  ProduceConfig // Brokers is filled in for each run
	Progress io.Writer     // live progress line; nil for none
	Log      io.Writer     // one line per finished run; nil for none
}

// CompareRun is one workload run against one freshly started target.
type CompareRun struct {
	Target string        `json:"target"`
	Run    int           `json:"run"` // 1-based
	Result ProduceResult `json:"result"`
}

// TargetSummary is the spread of a target's runs.
type TargetSummary struct {
	Target        string `json:"target"`
	RecordsPerSec Spread `json:"records_per_s"`
	MBPerSec      Spread `json:"mb_per_s"`
	P99Ms         Spread `json:"p99_ms"`
}

// CompareRatio divides the first target's medians by the second's.
type CompareRatio struct {
	Of            string  `json:"of"` // "chronik/kfake"
	RecordsPerSec float64 `json:"records_per_s"`
	MBPerSec      float64 `json:"mb_per_s"`
	P99Ms         float64 `json:"p99_ms"` // below 1: the first target acks faster
}

// CompareReport is what RunCompare measured. With an error it holds the runs
// completed before the failure, and Error says what failed.
type CompareReport struct {
	RunInfo
	Workload ProduceConfig   `json:"workload"`
	Runs     []CompareRun    `json:"runs"`
	Targets  []TargetSummary `json:"targets"`
	Ratio    *CompareRatio   `json:"ratio,omitempty"`
	Error    string          `json:"error,omitempty"`
}

// RunCompare runs the produce workload cfg.Runs times against each target,
// alternating between targets so slow drift of the machine (page cache, other
// load, thermal) spreads over all of them. Every run gets a fresh broker.
func RunCompare(ctx context.Context, cfg CompareConfig, info RunInfo) (CompareReport, error) {
	rep := CompareReport{RunInfo: info, Workload: cfg.Produce.WithDefaults()}
	if len(cfg.Targets) == 0 {
		return rep, errors.New("compare: no targets")
	}
	if cfg.Runs < 1 {
		return rep, fmt.Errorf("compare: runs %d: need at least 1", cfg.Runs)
	}
	var err error
runs:
	for run := 1; run <= cfg.Runs; run++ {
		for _, t := range cfg.Targets {
			var res ProduceResult
			res, err = produceOnFreshBroker(ctx, t, cfg.Produce, cfg.Progress)
			if err != nil {
				err = fmt.Errorf("run %d against %s: %w", run, t.Name(), err)
				break runs
			}
			rep.Runs = append(rep.Runs, CompareRun{Target: t.Name(), Run: run, Result: res})
			if cfg.Log != nil {
				fmt.Fprintf(cfg.Log, "run %d/%d %-8s %s\n", run, cfg.Runs, t.Name(), res.Line())
			}
		}
	}
	rep.Targets, rep.Ratio = summarizeCompare(cfg.Targets, rep.Runs)
	if err != nil {
		rep.Error = err.Error()
	}
	return rep, err
}

// produceOnFreshBroker starts a broker, runs the workload, stops the broker.
// A broker that fails to stop cleanly fails the run: its figures may hide a
// problem (a hung flush, a crash on shutdown).
func produceOnFreshBroker(ctx context.Context, t Target, cfg ProduceConfig, progress io.Writer) (ProduceResult, error) {
	b, err := t.Start(ctx)
	if err != nil {
		return ProduceResult{}, err
	}
	cfg.Brokers = []string{b.Addr()}
	res, err := RunProduce(ctx, cfg, progress)
	if stopErr := b.Stop(); stopErr != nil {
		err = errors.Join(err, fmt.Errorf("stop %s: %w", t.Name(), stopErr))
	}
	return res, err
}

func summarizeCompare(targets []Target, runs []CompareRun) ([]TargetSummary, *CompareRatio) {
	var sums []TargetSummary
	for _, t := range targets {
		var rps, mbps, p99 []float64
		for _, r := range runs {
			if r.Target != t.Name() {
				continue
			}
			rps = append(rps, r.Result.RecordsPerSec)
			mbps = append(mbps, r.Result.MBPerSec)
			p99 = append(p99, r.Result.Latency.P99Ms)
		}
		if len(rps) == 0 {
			continue
		}
		sums = append(sums, TargetSummary{Target: t.Name(), RecordsPerSec: SpreadOf(rps), MBPerSec: SpreadOf(mbps), P99Ms: SpreadOf(p99)})
	}
	if len(sums) < 2 {
		return sums, nil
	}
	a, b := sums[0], sums[1]
	return sums, &CompareRatio{
		Of:            a.Target + "/" + b.Target,
		RecordsPerSec: Ratio(a.RecordsPerSec.Median, b.RecordsPerSec.Median),
		MBPerSec:      Ratio(a.MBPerSec.Median, b.MBPerSec.Median),
		P99Ms:         Ratio(a.P99Ms.Median, b.P99Ms.Median),
	}
}
