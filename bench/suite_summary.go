package bench

// ScenarioSummary is a scenario's figures over its repetitions: one row per
// target, and chronik's ratio to every other target.
type ScenarioSummary struct {
	Scenario string          `json:"scenario"`
	MaxRate  float64         `json:"max_rate,omitempty"` // the records/s open-loop fractions were taken of
	Targets  []TargetFigures `json:"targets"`
	Ratios   []RatioFigures  `json:"ratios,omitempty"`
	Error    string          `json:"error,omitempty"`
}

// TargetFigures is the spread of one target's successful runs.
type TargetFigures struct {
	Target        string         `json:"target"`
	Runs          int            `json:"runs"`   // successful runs summarised
	Failed        int            `json:"failed"` // runs that failed
	RecordsPerSec Spread         `json:"records_per_s,omitzero"`
	MBPerSec      Spread         `json:"mb_per_s,omitzero"`
	P50Ms         Spread         `json:"p50_ms,omitzero"`
	P99Ms         Spread         `json:"p99_ms,omitzero"`
	P999Ms        Spread         `json:"p999_ms,omitzero"`
	P9999Ms       Spread         `json:"p9999_ms,omitzero"`
	MaxMs         Spread         `json:"max_ms,omitzero"`
	AckP99Ms      Spread         `json:"ack_p99_ms,omitzero"` // e2e
	SendLagP99Ms  Spread         `json:"send_lag_p99_ms,omitzero"`
	BrokerCPUSec  Spread         `json:"broker_cpu_s,omitzero"`
	BenchCPUSec   Spread         `json:"bench_cpu_s,omitzero"`
	Points        []PointFigures `json:"points,omitempty"`
	Disk          *DiskFigures   `json:"disk,omitempty"`
}

// PointFigures is one sweep rate over the repetitions.
type PointFigures struct {
	Fraction      float64 `json:"fraction"`
	TargetRate    Spread  `json:"target_rate"`
	RecordsPerSec Spread  `json:"records_per_s"`
	P50Ms         Spread  `json:"p50_ms"`
	P99Ms         Spread  `json:"p99_ms"`
	P999Ms        Spread  `json:"p999_ms"`
	P9999Ms       Spread  `json:"p9999_ms"`
	MaxMs         Spread  `json:"max_ms"`
	SendLagP99Ms  Spread  `json:"send_lag_p99_ms"`
}

// DiskFigures is the raw disk reference over the repetitions.
type DiskFigures struct {
	FS                     string            `json:"fs"`
	SeqWriteMBPerSec       Spread            `json:"seq_write_mb_per_s"`
	SeqWriteSyncedMBPerSec Spread            `json:"seq_write_synced_mb_per_s"`
	Synced                 []DiskSyncFigures `json:"synced"`
}

// DiskSyncFigures is one write size of write+fdatasync.
type DiskSyncFigures struct {
	WriteSize     int    `json:"write_size"`
	MBPerSec      Spread `json:"mb_per_s"`
	WritesPerSec  Spread `json:"writes_per_s"`
	FdatasyncP50  Spread `json:"fdatasync_p50_ms"`
	FdatasyncP99  Spread `json:"fdatasync_p99_ms"`
	FdatasyncP999 Spread `json:"fdatasync_p999_ms"`
}

// RatioFigures divides chronik's medians by another target's.
type RatioFigures struct {
	Of            string  `json:"of"` // "chronik/kfake"
	RecordsPerSec float64 `json:"records_per_s,omitempty"`
	P99Ms         float64 `json:"p99_ms,omitempty"` // below 1: chronik is faster
}

// Figures returns the row of one target, if it ran.
func (s ScenarioSummary) Figures(target string) (TargetFigures, bool) {
	for _, t := range s.Targets {
		if t.Target == target {
			return t, true
		}
	}
	return TargetFigures{}, false
}

// Point returns a target's figures at one sweep fraction.
func (t TargetFigures) Point(fraction float64) (PointFigures, bool) {
	for _, p := range t.Points {
		if p.Fraction == fraction {
			return p, true
		}
	}
	return PointFigures{}, false
}

func summarizeScenario(s Scenario, runs []SuiteRun, maxRate float64) ScenarioSummary {
	sum := ScenarioSummary{Scenario: s.Name, MaxRate: maxRate}
	for _, target := range s.Targets {
		var ok []SuiteRun
		failed := 0
		for _, r := range runs {
			if r.Scenario != s.Name || r.Target != target {
				continue
			}
			if r.Error != "" {
				failed++
				continue
			}
			ok = append(ok, r)
		}
		sum.Targets = append(sum.Targets, summarizeTarget(target, ok, failed, s.Fractions))
	}
	chronik, ok := sum.Figures(TargetChronik)
	if !ok {
		chronik, ok = sum.Figures(TargetChronikFsync)
	}
	if !ok || chronik.Runs == 0 {
		return sum
	}
	for _, t := range sum.Targets {
		if t.Target == chronik.Target || t.Runs == 0 || t.Disk != nil || len(t.Points) > 0 {
			continue
		}
		sum.Ratios = append(sum.Ratios, RatioFigures{
			Of:            chronik.Target + "/" + t.Target,
			RecordsPerSec: Ratio(chronik.RecordsPerSec.Median, t.RecordsPerSec.Median),
			P99Ms:         Ratio(chronik.P99Ms.Median, t.P99Ms.Median),
		})
	}
	return sum
}

func summarizeTarget(target string, runs []SuiteRun, failed int, fractions []float64) TargetFigures {
	f := TargetFigures{Target: target, Runs: len(runs), Failed: failed}
	if len(runs) == 0 {
		return f
	}
	pick := func(get func(SuiteRun) float64) Spread {
		var vs []float64
		for _, r := range runs {
			if v := get(r); v != 0 {
				vs = append(vs, v)
			}
		}
		return SpreadOf(vs)
	}
	f.RecordsPerSec = pick(func(r SuiteRun) float64 { return r.RecordsPerSec })
	f.MBPerSec = pick(func(r SuiteRun) float64 { return r.MBPerSec })
	f.P50Ms = pick(func(r SuiteRun) float64 { return r.Latency.P50Ms })
	f.P99Ms = pick(func(r SuiteRun) float64 { return r.Latency.P99Ms })
	f.P999Ms = pick(func(r SuiteRun) float64 { return r.Latency.P999Ms })
	f.P9999Ms = pick(func(r SuiteRun) float64 { return r.Latency.P9999Ms })
	f.MaxMs = pick(func(r SuiteRun) float64 { return r.Latency.MaxMs })
	f.BrokerCPUSec = pick(func(r SuiteRun) float64 { return r.BrokerCPUSec })
	f.BenchCPUSec = pick(func(r SuiteRun) float64 { return r.BenchCPUSec })
	f.AckP99Ms = pick(func(r SuiteRun) float64 {
		if r.AckLatency == nil {
			return 0
		}
		return r.AckLatency.P99Ms
	})
	f.SendLagP99Ms = pick(func(r SuiteRun) float64 {
		if r.SendLag == nil {
			return 0
		}
		return r.SendLag.P99Ms
	})
	if len(runs[0].Points) > 0 {
		for _, frac := range fractions {
			var pts []SweepPoint
			for _, r := range runs {
				for _, p := range r.Points {
					if p.Fraction == frac {
						pts = append(pts, p)
					}
				}
			}
			pickPt := func(get func(SweepPoint) float64) Spread {
				vs := make([]float64, len(pts))
				for i, p := range pts {
					vs[i] = get(p)
				}
				return SpreadOf(vs)
			}
			f.Points = append(f.Points, PointFigures{
				Fraction:      frac,
				TargetRate:    pickPt(func(p SweepPoint) float64 { return p.TargetRate }),
				RecordsPerSec: pickPt(func(p SweepPoint) float64 { return p.RecordsPerSec }),
				P50Ms:         pickPt(func(p SweepPoint) float64 { return p.Latency.P50Ms }),
				P99Ms:         pickPt(func(p SweepPoint) float64 { return p.Latency.P99Ms }),
				P999Ms:        pickPt(func(p SweepPoint) float64 { return p.Latency.P999Ms }),
				P9999Ms:       pickPt(func(p SweepPoint) float64 { return p.Latency.P9999Ms }),
				MaxMs:         pickPt(func(p SweepPoint) float64 { return p.Latency.MaxMs }),
				SendLagP99Ms:  pickPt(func(p SweepPoint) float64 { return p.SendLag.P99Ms }),
			})
		}
	}
	if runs[0].Disk != nil {
		f.Disk = summarizeDisk(runs)
	}
	return f
}

func summarizeDisk(runs []SuiteRun) *DiskFigures {
	d := &DiskFigures{FS: runs[0].Disk.FS}
	var seq, seqSynced []float64
	for _, r := range runs {
		seq = append(seq, r.Disk.SeqWriteMBPerSec)
		seqSynced = append(seqSynced, r.Disk.SeqWriteSyncedMBPerSec)
	}
	d.SeqWriteMBPerSec, d.SeqWriteSyncedMBPerSec = SpreadOf(seq), SpreadOf(seqSynced)
	for _, first := range runs[0].Disk.Synced {
		var mbps, wps, p50, p99, p999 []float64
		for _, r := range runs {
			if s, ok := r.Disk.SyncedAt(first.WriteSize); ok {
				mbps = append(mbps, s.MBPerSec)
				wps = append(wps, s.WritesPerSec)
				p50 = append(p50, s.Fdatasync.P50Ms)
				p99 = append(p99, s.Fdatasync.P99Ms)
				p999 = append(p999, s.Fdatasync.P999Ms)
			}
		}
		d.Synced = append(d.Synced, DiskSyncFigures{
			WriteSize: first.WriteSize, MBPerSec: SpreadOf(mbps), WritesPerSec: SpreadOf(wps),
			FdatasyncP50: SpreadOf(p50), FdatasyncP99: SpreadOf(p99), FdatasyncP999: SpreadOf(p999),
		})
	}
	return d
}

// SyncedAt returns the figures of one write size.
func (d *DiskFigures) SyncedAt(size int) (DiskSyncFigures, bool) {
	if d == nil {
		return DiskSyncFigures{}, false
	}
	for _, s := range d.Synced {
		if s.WriteSize == size {
			return s, true
		}
	}
	return DiskSyncFigures{}, false
}
