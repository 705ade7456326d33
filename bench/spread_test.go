package bench

import "testing"

func TestSpreadOf(t *testing.T) {
	f := func(values []float64, want Spread) {
		t.Helper()
		if got := SpreadOf(values); got != want {
			t.Errorf("SpreadOf(%v) = %+v, want %+v", values, got, want)
		}
	}
	f(nil, Spread{})
	f([]float64{7}, Spread{Median: 7, Min: 7, Max: 7, N: 1})
	f([]float64{3, 1, 2}, Spread{Median: 2, Min: 1, Max: 3, N: 3})
	f([]float64{10, 40, 20, 30}, Spread{Median: 25, Min: 10, Max: 40, N: 4})
	f([]float64{5, 5, 1, 9, 5}, Spread{Median: 5, Min: 1, Max: 9, N: 5})
}

func TestSpreadOfLeavesInputAlone(t *testing.T) {
	in := []float64{3, 1, 2}
	SpreadOf(in)
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Errorf("SpreadOf reordered its input: %v", in)
	}
}

func TestRatio(t *testing.T) {
	f := func(a, b, want float64) {
		t.Helper()
		if got := Ratio(a, b); got != want {
			t.Errorf("Ratio(%v, %v) = %v, want %v", a, b, got, want)
		}
	}
	f(150, 100, 1.5)
	f(50, 200, 0.25)
	f(1, 0, 0) // no baseline: reported as n/a, never Inf
	f(0, 5, 0)
}

func TestSummarizeCompare(t *testing.T) {
	run := func(target string, rps, p99 float64) CompareRun {
		return CompareRun{Target: target, Result: ProduceResult{RecordsPerSec: rps, MBPerSec: rps / 1000, Latency: LatencySummary{P99Ms: p99}}}
	}
	targets := []Target{namedTarget{name: "chronik"}, namedTarget{name: "kfake"}}
	sums, ratio := summarizeCompare(targets, []CompareRun{
		run("chronik", 90, 4), run("kfake", 100, 2),
		run("chronik", 120, 6), run("kfake", 80, 3),
		run("chronik", 100, 5), run("kfake", 100, 4),
	})
	if len(sums) != 2 {
		t.Fatalf("got %d summaries, want 2", len(sums))
	}
	if want := (Spread{Median: 100, Min: 90, Max: 120, N: 3}); sums[0].RecordsPerSec != want {
		t.Errorf("chronik records/s %+v, want %+v", sums[0].RecordsPerSec, want)
	}
	if want := (Spread{Median: 0.1, Min: 0.08, Max: 0.1, N: 3}); sums[1].MBPerSec != want {
		t.Errorf("kfake MB/s %+v, want %+v", sums[1].MBPerSec, want)
	}
	if ratio == nil || ratio.Of != "chronik/kfake" || ratio.RecordsPerSec != 1 || ratio.P99Ms != 5.0/3 {
		t.Errorf("ratio %+v, want chronik/kfake with records/s 1 and p99 5/3", ratio)
	}
	if _, ratio := summarizeCompare(targets, []CompareRun{run("chronik", 1, 1)}); ratio != nil {
		t.Errorf("ratio %+v with one target's runs, want none", ratio)
	}
}
