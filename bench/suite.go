package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// SuiteConfig runs a list of scenarios.
type SuiteConfig struct {
	Name      string // "full", "quick" or a test's own
	Scenarios []Scenario
	Reps      int               // repetitions of every scenario on every target (at least 3 for published figures)
	Targets   map[string]Target // brokers by target name; disk and loopback are built in
	DataDir   string            // the filesystem the disk reference measures; "" means os.TempDir()
	Progress  io.Writer         // live progress line; nil for none
	Log       io.Writer         // one line per finished run; nil for none
	// Only, when not empty, runs just the scenarios named (bench-check and
	// partial reruns use it).
	Only []string
}

// SuiteRun is one scenario run against one target.
type SuiteRun struct {
	Scenario string `json:"scenario"`
	Target   string `json:"target"`
	Rep      int    `json:"rep"` // 1-based
	// Throughput of the measured phase (consume: reading; e2e: producing).
	RecordsPerSec float64 `json:"records_per_s,omitempty"`
	MBPerSec      float64 `json:"mb_per_s,omitempty"`
	Records       int64   `json:"records,omitempty"`
	ElapsedSec    float64 `json:"elapsed_s,omitempty"`
	// Latency is the scenario's latency: produce ack latency, end-to-end
	// latency for e2e, round trip for loopback; none for consume.
	Latency    LatencySummary  `json:"latency,omitzero"`
	AckLatency *LatencySummary `json:"ack_latency,omitempty"` // e2e: the producer's acks
	SendLag    *LatencySummary `json:"send_lag,omitempty"`    // open loop: the generator's own lateness
	Points     []SweepPoint    `json:"points,omitempty"`      // sweep
	Disk       *DiskResult     `json:"disk,omitempty"`
	Loopback   *LoopbackResult `json:"loopback,omitempty"`
	Verified   string          `json:"verified,omitempty"`
	// CPU seconds used during the run by the broker process (0 when it
	// runs in-process) and by this process (the client).
	BrokerCPUSec float64 `json:"broker_cpu_s,omitempty"`
	BenchCPUSec  float64 `json:"bench_cpu_s,omitempty"`
	Error        string  `json:"error,omitempty"`
}

// SweepPoint is one open-loop rate of a sweep.
type SweepPoint struct {
	Fraction      float64        `json:"fraction"`
	TargetRate    float64        `json:"target_rate"`
	RecordsPerSec float64        `json:"records_per_s"`
	MBPerSec      float64        `json:"mb_per_s"`
	Latency       LatencySummary `json:"latency"`
	SendLag       LatencySummary `json:"send_lag"`
}

// SuiteReport is a whole suite run: what ran, every run's figures, and the
// summaries BENCHMARKS.md and bench-check are made from.
type SuiteReport struct {
	RunInfo
	Suite      string            `json:"suite"`
	Reps       int               `json:"reps"`
	ElapsedSec float64           `json:"elapsed_s"`
	Scenarios  []Scenario        `json:"scenarios"`
	Runs       []SuiteRun        `json:"runs"`
	Summaries  []ScenarioSummary `json:"summaries"`
	Goals      []GoalStanding    `json:"goals"`
	Error      string            `json:"error,omitempty"`
}

// RunSuite runs every scenario cfg.Reps times on each of its targets. Within
// a repetition the targets take turns, and the first target rotates from one
// repetition to the next, so drift on a shared machine (other load, page
// cache, thermal) spreads over all targets instead of favouring one. Every
// broker run gets a fresh broker. A failed run is recorded and the suite
// goes on; the returned error names every failure.
func RunSuite(ctx context.Context, cfg SuiteConfig, info RunInfo) (SuiteReport, error) {
	rep := SuiteReport{RunInfo: info, Suite: cfg.Name, Reps: cfg.Reps}
	if cfg.Reps < 1 {
		return rep, fmt.Errorf("suite: reps %d: need at least 1", cfg.Reps)
	}
	for _, s := range cfg.Scenarios {
		if len(cfg.Only) == 0 || slices.Contains(cfg.Only, s.Name) {
			rep.Scenarios = append(rep.Scenarios, s)
		}
	}
	if len(rep.Scenarios) == 0 {
		return rep, errors.New("suite: no scenarios to run")
	}
	if err := checkSuiteTargets(rep.Scenarios, cfg.Targets); err != nil {
		return rep, err
	}
	start := time.Now()
	var errs []error
	for _, s := range rep.Scenarios {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		maxRate := 0.0
		if s.MaxFrom != "" {
			maxRate = suiteMaxRate(rep.Summaries, s.MaxFrom)
			if maxRate <= 0 {
				err := fmt.Errorf("scenario %s: no throughput measured by %s to take fractions of", s.Name, s.MaxFrom)
				errs = append(errs, err)
				rep.Summaries = append(rep.Summaries, ScenarioSummary{Scenario: s.Name, Error: err.Error()})
				continue
			}
		}
		for r := 1; r <= cfg.Reps; r++ {
			n := len(s.Targets)
			for i := range n {
				target := s.Targets[(i+r-1)%n]
				run := runScenario(ctx, cfg, s, target, maxRate)
				run.Scenario, run.Target, run.Rep = s.Name, target, r
				if run.Error != "" {
					errs = append(errs, fmt.Errorf("%s on %s, rep %d: %s", s.Name, target, r, run.Error))
				}
				rep.Runs = append(rep.Runs, run)
				if cfg.Log != nil {
					fmt.Fprintf(cfg.Log, "%-32s %-14s rep %d/%d  %s\n", s.Name, target, r, cfg.Reps, run.Line())
				}
			}
		}
		rep.Summaries = append(rep.Summaries, summarizeScenario(s, rep.Runs, maxRate))
	}
	rep.ElapsedSec = time.Since(start).Seconds()
	rep.Goals = EvaluateGoals(rep.Summaries)
	err := errors.Join(errs...)
	if err != nil {
		rep.Error = err.Error()
	}
	return rep, err
}

func checkSuiteTargets(scenarios []Scenario, targets map[string]Target) error {
	for _, s := range scenarios {
		for _, t := range s.Targets {
			if t == TargetDisk || t == TargetLoopback {
				continue
			}
			if targets[t] == nil {
				return fmt.Errorf("scenario %s: no target %q configured", s.Name, t)
			}
		}
	}
	return nil
}

// suiteMaxRate is the median records/s of the first broker target of an
// earlier scenario: the "measured maximum" open-loop rates are fractions of.
func suiteMaxRate(sums []ScenarioSummary, name string) float64 {
	for _, s := range sums {
		if s.Scenario != name {
			continue
		}
		for _, t := range s.Targets {
			if t.Target == TargetChronik || t.Target == TargetChronikFsync {
				return t.RecordsPerSec.Median
			}
		}
	}
	return 0
}

// runScenario runs one scenario once on one target. Errors are recorded in
// the run, not returned: a suite reports what it could measure.
func runScenario(ctx context.Context, cfg SuiteConfig, s Scenario, target string, maxRate float64) SuiteRun {
	var run SuiteRun
	var err error
	switch {
	case target == TargetDisk:
		var d DiskResult
		dc := s.Disk
		dc.Dir = cfg.DataDir
		d, err = MeasureDisk(ctx, dc)
		run.Disk = &d
	case target == TargetLoopback:
		var l LoopbackResult
		l, err = MeasureLoopback(ctx, orDefault(s.LoopbackFor, time.Second))
		run.Loopback = &l
		run.MBPerSec, run.Latency = l.MBPerSec, l.RTT
	default:
		err = runOnFreshBroker(ctx, cfg, s, target, maxRate, &run)
	}
	if err != nil {
		run.Error = err.Error()
	}
	return run
}

// runOnFreshBroker starts the target, runs the scenario's workload on it and
// stops it. A broker that fails to stop cleanly fails the run.
func runOnFreshBroker(ctx context.Context, cfg SuiteConfig, s Scenario, target string, maxRate float64, run *SuiteRun) error {
	b, err := cfg.Targets[target].Start(ctx)
	if err != nil {
		return err
	}
	cpu := startCPUClock(b)
	pc := s.Produce
	pc.Brokers = []string{b.Addr()}
	err = runWorkload(ctx, cfg, s, pc, maxRate, run, func() { cpu = startCPUClock(b) })
	run.BrokerCPUSec, run.BenchCPUSec = cpu.read()
	if stopErr := b.Stop(); stopErr != nil {
		err = errors.Join(err, fmt.Errorf("stop %s: %w", target, stopErr))
	}
	return err
}

// runWorkload runs the scenario's workload on a started broker. A workload
// with an untimed set-up (consume's fill) calls restartCPU when the measured
// part begins, so the CPU figures cover only that.
func runWorkload(ctx context.Context, cfg SuiteConfig, s Scenario, pc ProduceConfig, maxRate float64, run *SuiteRun, restartCPU func()) error {
	switch s.Kind {
	case KindProduce:
		res, err := RunProduce(ctx, pc, cfg.Progress)
		run.fromProduce(res)
		return err
	case KindConsume:
		fill := pc
		fill.Duration, fill.Warmup = 0, 0 // the topic holds exactly FillBytes
		fill.Records = max(1, s.FillBytes/int64(pc.WithDefaults().RecordSize))
		pres, err := RunProduce(ctx, fill, cfg.Progress)
		if err != nil {
			return fmt.Errorf("fill topic: %w", err)
		}
		restartCPU()
		res, err := RunConsume(ctx, ConsumeConfig{Brokers: pc.Brokers, Topic: pc.Topic, Consumers: s.Consumers, Expect: &pres.Stream}, cfg.Progress)
		run.RecordsPerSec, run.MBPerSec, run.Records, run.ElapsedSec = res.RecordsPerSec, res.MBPerSec, res.Records, res.ElapsedSec
		run.Verified = res.Verified
		return err
	case KindEndToEnd:
		pc.Rate = maxRate * s.Fractions[0]
		pc.Duration = orDefault(s.PointFor, suitePointFor)
		res, err := RunEndToEnd(ctx, EndToEndConfig{Produce: pc, Consumers: s.Consumers}, cfg.Progress)
		run.fromProduce(res.Produce)
		ack := res.Produce.Latency
		run.AckLatency, run.Latency, run.Verified = &ack, res.Latency, res.Verified
		return err
	case KindSweep:
		for i, f := range s.Fractions {
			p := pc
			p.Rate = maxRate * f
			p.Duration = orDefault(s.PointFor, suitePointFor)
			if i > 0 {
				p.Warmup = 0 // the broker is warm from the first point
			}
			res, err := RunProduce(ctx, p, cfg.Progress)
			if err != nil {
				return fmt.Errorf("open loop at %.0f%% (%.0f records/s): %w", 100*f, p.Rate, err)
			}
			run.Points = append(run.Points, SweepPoint{
				Fraction: f, TargetRate: p.Rate, RecordsPerSec: res.RecordsPerSec, MBPerSec: res.MBPerSec,
				Latency: res.Latency, SendLag: res.SendLag,
			})
		}
		return nil
	}
	return fmt.Errorf("scenario %s: unknown kind %q", s.Name, s.Kind)
}

func (r *SuiteRun) fromProduce(res ProduceResult) {
	r.RecordsPerSec, r.MBPerSec, r.Records, r.ElapsedSec = res.RecordsPerSec, res.MBPerSec, res.Records, res.ElapsedSec
	r.Latency = res.Latency
	if res.Mode == "open" {
		lag := res.SendLag
		r.SendLag = &lag
	}
}

// Line is a one-line account of a run for the suite's log.
func (r SuiteRun) Line() string {
	if r.Error != "" {
		return "FAILED: " + r.Error
	}
	switch {
	case r.Disk != nil:
		s := fmt.Sprintf("disk %s: seq write %.0f MB/s (%.0f with final fdatasync)", r.Disk.FS, r.Disk.SeqWriteMBPerSec, r.Disk.SeqWriteSyncedMBPerSec)
		for _, w := range r.Disk.Synced {
			s += fmt.Sprintf("; %s+fdatasync %.1f MB/s, fdatasync p50 %.2f p99 %.2f ms", formatBytes(w.WriteSize), w.MBPerSec, w.Fdatasync.P50Ms, w.Fdatasync.P99Ms)
		}
		return s
	case r.Loopback != nil:
		return fmt.Sprintf("loopback TCP %.0f MB/s; 100 B round trip p50 %.3f p99 %.3f ms", r.Loopback.MBPerSec, r.Loopback.RTT.P50Ms, r.Loopback.RTT.P99Ms)
	case len(r.Points) > 0:
		s := ""
		for i, p := range r.Points {
			if i > 0 {
				s += "; "
			}
			s += fmt.Sprintf("%.0f%%: %.0f/s p50 %.2f p99 %.2f ms", 100*p.Fraction, p.RecordsPerSec, p.Latency.P50Ms, p.Latency.P99Ms)
		}
		return s
	}
	s := fmt.Sprintf("%.0f records/s, %.1f MB/s", r.RecordsPerSec, r.MBPerSec)
	if r.Latency.Samples > 0 {
		s += fmt.Sprintf(", p50 %.2f p99 %.2f p99.9 %.2f ms", r.Latency.P50Ms, r.Latency.P99Ms, r.Latency.P999Ms)
	}
	if r.BrokerCPUSec > 0 || r.BenchCPUSec > 0 {
		s += fmt.Sprintf("; CPU s broker %.2f bench %.2f", r.BrokerCPUSec, r.BenchCPUSec)
	}
	return s
}

// formatBytes writes 4096 as "4 KiB".
func formatBytes(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
