package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
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
	// BrokerCPUSec is the broker process's CPU time during the run (topic
	// creation and warm-up included); 0 for an in-process broker.
	BrokerCPUSec float64 `json:"broker_cpu_s"`
	// BenchCPUSec is this process's CPU time during the run: the client,
	// plus the broker when it runs in-process (kfake).
	BenchCPUSec float64 `json:"bench_cpu_s"`
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
			var r CompareRun
			r, err = produceOnFreshBroker(ctx, t, cfg.Produce, cfg.Progress)
			if err != nil {
				err = fmt.Errorf("run %d against %s: %w", run, t.Name(), err)
				break runs
			}
			r.Target, r.Run = t.Name(), run
			rep.Runs = append(rep.Runs, r)
			if cfg.Log != nil {
				fmt.Fprintf(cfg.Log, "run %d/%d %-8s %s; CPU s broker %.2f, bench %.2f\n",
					run, cfg.Runs, t.Name(), r.Result.Line(), r.BrokerCPUSec, r.BenchCPUSec)
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
func produceOnFreshBroker(ctx context.Context, t Target, cfg ProduceConfig, progress io.Writer) (CompareRun, error) {
	b, err := t.Start(ctx)
	if err != nil {
		return CompareRun{}, err
	}
	cfg.Brokers = []string{b.Addr()}
	cpu := startCPUClock(b)
	res, err := RunProduce(ctx, cfg, progress)
	r := CompareRun{Result: res}
	r.BrokerCPUSec, r.BenchCPUSec = cpu.read()
	if stopErr := b.Stop(); stopErr != nil {
		err = errors.Join(err, fmt.Errorf("stop %s: %w", t.Name(), stopErr))
	}
	return r, err
}

// cpuClock measures CPU time used by the broker process (if it is one) and
// by this process since it was started. CPU time shows where a run's cycles
// went when client and broker share a few cores.
type cpuClock struct {
	pid             int // 0: in-process broker
	broker0, bench0 time.Duration
}

func startCPUClock(b Broker) cpuClock {
	var c cpuClock
	if p, ok := b.(interface{ PID() int }); ok {
		c.pid = p.PID()
		c.broker0, _ = ProcessCPUTime(c.pid)
	}
	c.bench0, _ = selfCPUTime()
	return c
}

// read returns seconds used since start; a figure that cannot be read is 0.
func (c cpuClock) read() (broker, bench float64) {
	if c.pid != 0 {
		if t, err := ProcessCPUTime(c.pid); err == nil {
			broker = (t - c.broker0).Seconds()
		}
	}
	if t, err := selfCPUTime(); err == nil {
		bench = (t - c.bench0).Seconds()
	}
	return broker, bench
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
