package bench

import (
	"fmt"
	"io"
	"strings"
)

// Regression thresholds of bench-check.
const (
	CheckThroughputDrop = 0.10 // fresh/last throughput below 0.90
	CheckP99Rise        = 0.20 // fresh/last p99 above 1.20
)

// CheckFinding compares one figure of a fresh run with the last recorded one.
type CheckFinding struct {
	Scenario string  `json:"scenario"`
	Target   string  `json:"target"`
	Point    string  `json:"point,omitempty"` // sweep: "50%"
	Metric   string  `json:"metric"`          // "records/s" or "p99 ms"
	Last     float64 `json:"last"`
	Fresh    float64 `json:"fresh"`
	Ratio    float64 `json:"ratio"` // fresh/last
	// Machine is the same ratio for the null broker in the same scenario:
	// how much faster or slower this machine (and client) was between the
	// two runs.
	Machine   float64 `json:"machine,omitempty"`
	Regressed bool    `json:"regressed"`
}

// CheckReport is what CompareSuites found.
type CheckReport struct {
	Last        RunInfo        `json:"last"`
	Fresh       RunInfo        `json:"fresh"`
	Findings    []CheckFinding `json:"findings"`
	Regressions []string       `json:"regressions"` // one line per regressed figure
	Missing     []string       `json:"missing"`     // scenarios of the fresh run the last one lacks
}

// CompareSuites compares Chronik's figures (targets chronik and
// chronik-fsync) in fresh with those in last, scenario by scenario by name.
// A throughput regresses when fresh/last falls below 1-CheckThroughputDrop
// and, where the same scenario measured the null broker both times, also
// after dividing by the null broker's fresh/last: a machine that was
// slower for everyone is not a broker regression, and a broker that got
// faster has not regressed because the client got faster still. A p99 regresses when fresh/last exceeds
// 1+CheckP99Rise; only open-loop p99 (sweep points, end-to-end) is judged,
// because closed-loop p99 measures the client's queue, not the broker, and
// swings by several times between identical runs.
func CompareSuites(last, fresh SuiteReport) CheckReport {
	rep := CheckReport{Last: last.RunInfo, Fresh: fresh.RunInfo}
	for _, fs := range fresh.Summaries {
		ls, ok := findSummary(last.Summaries, fs.Scenario)
		if !ok {
			rep.Missing = append(rep.Missing, fs.Scenario)
			continue
		}
		kind := scenarioKind(fresh.Scenarios, fs.Scenario)
		machine := 0.0
		if ln, ok := ls.Figures(TargetNull); ok && ln.Runs > 0 {
			if fn, ok := fs.Figures(TargetNull); ok && fn.Runs > 0 {
				machine = Ratio(fn.RecordsPerSec.Median, ln.RecordsPerSec.Median)
			}
		}
		for _, ft := range fs.Targets {
			if ft.Target != TargetChronik && ft.Target != TargetChronikFsync {
				continue
			}
			lt, ok := ls.Figures(ft.Target)
			if !ok || lt.Runs == 0 || ft.Runs == 0 {
				continue
			}
			if kind == KindSweep {
				for _, fp := range ft.Points {
					lp, ok := lt.Point(fp.Fraction)
					if !ok {
						continue
					}
					rep.add(CheckFinding{Scenario: fs.Scenario, Target: ft.Target, Point: fmt.Sprintf("%.0f%%", 100*fp.Fraction),
						Metric: "p99 ms", Last: lp.P99Ms.Median, Fresh: fp.P99Ms.Median})
				}
				continue
			}
			rep.add(CheckFinding{Scenario: fs.Scenario, Target: ft.Target, Metric: "records/s",
				Last: lt.RecordsPerSec.Median, Fresh: ft.RecordsPerSec.Median, Machine: machine})
			if kind == KindEndToEnd {
				rep.add(CheckFinding{Scenario: fs.Scenario, Target: ft.Target, Metric: "p99 ms", Last: lt.P99Ms.Median, Fresh: ft.P99Ms.Median})
			}
		}
	}
	return rep
}

func scenarioKind(scenarios []Scenario, name string) string {
	for _, s := range scenarios {
		if s.Name == name {
			return s.Kind
		}
	}
	return ""
}

func (r *CheckReport) add(f CheckFinding) {
	f.Ratio = Ratio(f.Fresh, f.Last)
	if f.Ratio == 0 {
		return // nothing to compare
	}
	switch f.Metric {
	case "records/s":
		f.Regressed = f.Ratio < 1-CheckThroughputDrop && (f.Machine == 0 || f.Ratio/f.Machine < 1-CheckThroughputDrop)
	case "p99 ms":
		f.Regressed = f.Ratio > 1+CheckP99Rise
	}
	r.Findings = append(r.Findings, f)
	if f.Regressed {
		r.Regressions = append(r.Regressions, f.describe())
	}
}

func (f CheckFinding) describe() string {
	where := f.Scenario + " on " + f.Target
	if f.Point != "" {
		where += " at " + f.Point
	}
	s := fmt.Sprintf("%s: %s %.3g → %.3g (×%.2f)", where, f.Metric, f.Last, f.Fresh, f.Ratio)
	if f.Machine > 0 {
		s += fmt.Sprintf("; null broker ×%.2f, so ×%.2f after the machine's drift", f.Machine, f.Ratio/f.Machine)
	}
	return s
}

// WriteCheckText prints a comparison for a person.
func WriteCheckText(w io.Writer, rep CheckReport) {
	fmt.Fprintf(w, "chronik-bench check\nlast:   %s, commit %s\nfresh:  %s, commit %s\n\n", rep.Last.Date, orUnknown(rep.Last.Commit), rep.Fresh.Date, orUnknown(rep.Fresh.Commit))
	t := table{header: []string{"scenario", "target", "point", "metric", "last", "fresh", "fresh/last", "null fresh/last", "verdict"}}
	for _, f := range rep.Findings {
		machine := "–"
		if f.Machine > 0 {
			machine = fmt.Sprintf("%.2f", f.Machine)
		}
		verdict := "ok"
		if f.Regressed {
			verdict = "REGRESSED"
		}
		t.add(f.Scenario, f.Target, orDash(f.Point), f.Metric, fmt.Sprintf("%.4g", f.Last), fmt.Sprintf("%.4g", f.Fresh), fmt.Sprintf("%.2f", f.Ratio), machine, verdict)
	}
	t.text(w)
	if len(rep.Missing) > 0 {
		fmt.Fprintf(w, "\nnot in the last run, not compared: %s\n", strings.Join(rep.Missing, ", "))
	}
	if len(rep.Regressions) == 0 {
		fmt.Fprintf(w, "\nno regression beyond %.0f%% throughput or %.0f%% p99\n", 100*CheckThroughputDrop, 100*CheckP99Rise)
		return
	}
	fmt.Fprintf(w, "\nREGRESSIONS (throughput down more than %.0f%%, or p99 up more than %.0f%%):\n", 100*CheckThroughputDrop, 100*CheckP99Rise)
	for _, r := range rep.Regressions {
		fmt.Fprintf(w, "  %s\n", r)
	}
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
