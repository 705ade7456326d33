package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// tinySuite is every scenario kind, shrunk to run in seconds, named as the
// real suite names the scenarios the goals read.
func tinySuite() []Scenario {
	p := ProduceConfig{Topic: "bench", Partitions: 3, RecordSize: 256, Acks: "1", Duration: 150 * time.Millisecond, Warmup: 200}
	fsync := p
	fsync.Acks = "all"
	disk := DiskConfig{SeqBytes: 1 << 20, SyncSizes: []int{4096, 65536}, SyncFor: 30 * time.Millisecond}
	return []Scenario{
		{Name: "references", Kind: KindReferences, Targets: []string{TargetLoopback, TargetDisk}, LoopbackFor: 50 * time.Millisecond, Disk: disk},
		{Name: goalHeadline, Kind: KindProduce, Targets: []string{TargetChronik, TargetKfake, TargetNull}, Produce: p},
		{Name: goalFsync, Kind: KindProduce, Targets: []string{TargetChronikFsync, TargetDisk}, Produce: fsync, Disk: disk},
		{Name: "consume", Kind: KindConsume, Targets: []string{TargetChronik, TargetKfake}, Produce: p, Consumers: 2, FillBytes: 256 * 1000},
		{Name: goalSweep, Kind: KindSweep, Targets: []string{TargetChronik, TargetNull}, Produce: p,
			Fractions: []float64{0.1, 0.5}, MaxFrom: goalHeadline, PointFor: 100 * time.Millisecond},
		{Name: "e2e", Kind: KindEndToEnd, Targets: []string{TargetKfake}, Produce: p, Consumers: 1,
			Fractions: []float64{0.2}, MaxFrom: goalHeadline, PointFor: 100 * time.Millisecond},
		{Name: goalFsyncSweep, Kind: KindSweep, Targets: []string{TargetChronikFsync}, Produce: fsync,
			Fractions: []float64{0.5}, MaxFrom: goalFsync, PointFor: 100 * time.Millisecond},
	}
}

func tinyTargets(t *testing.T) map[string]Target {
	fake := fakeChronik(t, "serve")
	fsync := fake
	fsync.Label = TargetChronikFsync
	return map[string]Target{TargetChronik: fake, TargetChronikFsync: fsync, TargetKfake: KfakeTarget{}, TargetNull: NullTarget{}}
}

func TestRunSuiteEveryKind(t *testing.T) {
	var log bytes.Buffer
	rep, err := RunSuite(context.Background(), SuiteConfig{
		Name: "tiny", Scenarios: tinySuite(), Reps: 3, Targets: tinyTargets(t), DataDir: t.TempDir(), Log: &log,
	}, NewRunInfo([]string{"chronik-bench", "suite"}, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	// 3 reps of: 2 references, 3 produce targets, chronik-fsync + disk,
	// 2 consume targets, 2 sweep targets, 1 e2e, 1 fsync sweep.
	if len(rep.Runs) != 3*13 || len(rep.Summaries) != 7 {
		t.Fatalf("%d runs, %d summaries; want 39 and 7", len(rep.Runs), len(rep.Summaries))
	}
	// Targets take turns, and the first one rotates between repetitions.
	var order []string
	for _, r := range rep.Runs {
		if r.Scenario == goalHeadline {
			order = append(order, r.Target)
		}
	}
	if got := strings.Join(order, ","); got != "chronik,kfake,null,kfake,null,chronik,null,chronik,kfake" {
		t.Errorf("headline run order %s: want rotating turns", got)
	}
	head, _ := findSummary(rep.Summaries, goalHeadline)
	if len(head.Targets) != 3 || head.Targets[0].RecordsPerSec.N != 3 || len(head.Ratios) != 2 || head.Ratios[1].Of != "chronik/null" || head.Ratios[1].RecordsPerSec <= 0 {
		t.Errorf("headline summary %+v: want three targets of three runs and chronik's ratios to kfake and null", head)
	}
	sweep, _ := findSummary(rep.Summaries, goalSweep)
	if c, ok := sweep.Figures(TargetChronik); !ok || len(c.Points) != 2 || sweep.MaxRate != head.Targets[0].RecordsPerSec.Median {
		t.Errorf("sweep %+v: want chronik's two points at fractions of the headline median", sweep)
	} else if p, _ := c.Point(0.5); p.P99Ms.N != 3 || p.TargetRate.Median != 0.5*sweep.MaxRate {
		t.Errorf("50%% point %+v: want three runs at half the maximum", p)
	}
	cons, _ := findSummary(rep.Summaries, "consume")
	for _, r := range rep.Runs {
		if r.Scenario == "consume" && (r.Records != 1000 || !strings.Contains(r.Verified, "exactly the records written")) {
			t.Errorf("consume run %+v: want 1000 verified records", r)
		}
		if r.Scenario == "e2e" && (r.AckLatency == nil || r.SendLag == nil || r.Latency.Samples == 0) {
			t.Errorf("e2e run %+v: want end-to-end, ack and send-lag latencies", r)
		}
	}
	if len(cons.Ratios) != 1 || cons.Ratios[0].Of != "chronik/kfake" {
		t.Errorf("consume ratios %+v", cons.Ratios)
	}
	fs, _ := findSummary(rep.Summaries, goalFsync)
	if d, ok := fs.Figures(TargetDisk); !ok || d.Disk == nil || len(d.Disk.Synced) != 2 || d.Disk.Synced[1].FdatasyncP99.N != 3 {
		t.Errorf("fsync scenario disk figures %+v", d)
	}
	if len(rep.Goals) != 5 {
		t.Fatalf("goals %+v: want the issue's five", rep.Goals)
	}
	for _, g := range rep.Goals {
		if g.Status != GoalMet && g.Status != GoalShort || g.Value <= 0 || g.Measured == "" {
			t.Errorf("goal %q: status %q value %v (%s); want it judged on measured figures", g.Goal, g.Status, g.Value, g.Measured)
		}
	}
	if n := strings.Count(log.String(), "\n"); n != 39 {
		t.Errorf("log has %d lines, want one per run", n)
	}

	var text bytes.Buffer
	WriteSuiteText(&text, rep)
	for _, want := range []string{"== produce-1k-p6-acks1", "chronik/null: throughput", "4 KiB write + fdatasync", "loopback TCP", "== goals (issue 3)", "asked records/s"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back SuiteReport
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Runs) != len(rep.Runs) || back.Goals[0].Value != rep.Goals[0].Value || back.Scenarios[1].Produce.Duration != 150*time.Millisecond {
		t.Errorf("JSON round trip lost figures")
	}
}

func TestRunSuiteRecordsFailuresAndGoesOn(t *testing.T) {
	s := tinySuite()
	broken := fakeChronik(t, "fail")
	targets := tinyTargets(t)
	targets[TargetChronik] = broken
	rep, err := RunSuite(context.Background(), SuiteConfig{
		Scenarios: s, Reps: 1, Targets: targets, DataDir: t.TempDir(), Only: []string{goalHeadline, goalSweep},
	}, RunInfo{})
	if err == nil || !strings.Contains(err.Error(), "produce-1k-p6-acks1 on chronik, rep 1") {
		t.Fatalf("err = %v, want the failed chronik run named", err)
	}
	head, _ := findSummary(rep.Summaries, goalHeadline)
	if c, _ := head.Figures(TargetChronik); c.Failed != 1 || c.Runs != 0 {
		t.Errorf("chronik figures %+v: want one failed run", c)
	}
	if k, _ := head.Figures(TargetKfake); k.Runs != 1 {
		t.Errorf("kfake figures %+v: the suite must go on past a failure", k)
	}
	// With no chronik maximum, the sweep cannot run, and says why.
	sweep, _ := findSummary(rep.Summaries, goalSweep)
	if !strings.Contains(sweep.Error, "no throughput measured by produce-1k-p6-acks1") {
		t.Errorf("sweep error %q", sweep.Error)
	}
	for _, g := range rep.Goals {
		if g.Status == GoalMet {
			t.Errorf("goal %q met without chronik figures", g.Goal)
		}
	}
	if rep.Goals[0].Status != GoalNotMeasured || rep.Goals[3].Status != GoalNotMeasured {
		t.Errorf("goals %+v: want unmeasured goals said so", rep.Goals)
	}
}

func TestSuiteScenarios(t *testing.T) {
	full, err := SuiteScenarios(SuiteFull)
	if err != nil {
		t.Fatal(err)
	}
	quick, err := SuiteScenarios(SuiteQuick)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Scenario{}
	for _, s := range full {
		if _, dup := byName[s.Name]; dup {
			t.Errorf("scenario %s twice in the full suite", s.Name)
		}
		byName[s.Name] = s
	}
	// What the issue asks to see, each at least once.
	for _, want := range []string{goalHeadline, "produce-100b-p6-acks1", "produce-1k-p6-acksall", goalFsync, "produce-1k-p1-acks1", "produce-1k-p64-acks1",
		"produce-1k-p1000-acks1", "produce-1k-p6-acks1-keyed", "produce-1k-p6-acks1-50producers", "consume-1gib-p6", goalSweep, goalFsyncSweep} {
		if _, ok := byName[want]; !ok {
			t.Errorf("full suite lacks %s", want)
		}
	}
	if s := byName[goalSweep]; len(s.Fractions) != 5 || s.Fractions[2] != 0.5 {
		t.Errorf("sweep fractions %v, want 10/30/50/70/90%%", s.Fractions)
	}
	if s := byName["consume-1gib-p6"]; s.FillBytes != 1<<30 {
		t.Errorf("consume fills %d bytes, want 1 GiB", s.FillBytes)
	}
	// Quick scenarios that share a name with the full suite run the same
	// workload, so bench-check can compare them.
	for _, q := range quick {
		f, ok := byName[q.Name]
		if !ok {
			continue
		}
		if q.Produce.Describe() != f.Produce.Describe() {
			t.Errorf("quick %s workload %+v differs from full %+v", q.Name, q.Produce, f.Produce)
		}
		// Every configured scenario must pass validation once brokers are known.
		if q.Produce.Topic != "" {
			p := q.Produce
			p.Brokers = []string{"x:1"}
			if err := p.WithDefaults().Validate(); err != nil {
				t.Errorf("%s: %v", q.Name, err)
			}
		}
	}
	if _, err := SuiteScenarios("huge"); err == nil {
		t.Error("unknown suite accepted")
	}
}
