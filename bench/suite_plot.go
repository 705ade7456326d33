package bench

import (
	"fmt"
	"image/color"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// PlotSweeps draws one PNG per sweep scenario of rep into dir: p99 (solid)
// and p50 (dashed) ack latency against achieved throughput, one colour per
// target, every target on the same axes. Latency is on a log scale, so a
// reference a hundred times faster stays visible. The fsync sweep also
// gets the raw disk's fdatasync p99 as a horizontal line. It returns the
// files written, by scenario name.
func PlotSweeps(rep SuiteReport, dir string) (map[string]string, error) {
	files := make(map[string]string)
	for _, s := range rep.Scenarios {
		if s.Kind != KindSweep {
			continue
		}
		sum, ok := findSummary(rep.Summaries, s.Name)
		if !ok || !hasPoints(sum) {
			continue
		}
		path := filepath.Join(dir, s.Name+".png")
		if err := plotSweep(rep, s, sum, path); err != nil {
			return files, fmt.Errorf("plot %s: %w", s.Name, err)
		}
		files[s.Name] = path
	}
	return files, nil
}

func hasPoints(sum ScenarioSummary) bool {
	for _, t := range sum.Targets {
		if len(t.Points) > 0 {
			return true
		}
	}
	return false
}

func plotSweep(rep SuiteReport, s Scenario, sum ScenarioSummary, path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s (medians of %d runs; %s)", s.Name, rep.Reps, rep.Date)
	p.X.Label.Text = fmt.Sprintf("achieved throughput, records/s (%d B records)", s.Produce.WithDefaults().RecordSize)
	p.X.Tick.Marker = thousandsTicks{}
	p.Y.Label.Text = "ack latency from intended send time, ms (log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	maxX, maxY := 0.0, 0.0
	for i, t := range sum.Targets {
		if len(t.Points) == 0 {
			continue
		}
		c := plotutil.Color(i)
		for _, q := range []struct {
			name   string
			get    func(PointFigures) float64
			dashed bool
		}{
			{"p99", func(pf PointFigures) float64 { return pf.P99Ms.Median }, false},
			{"p50", func(pf PointFigures) float64 { return pf.P50Ms.Median }, true},
		} {
			xys := make(plotter.XYs, len(t.Points))
			for j, pt := range t.Points {
				xys[j].X = pt.RecordsPerSec.Median
				xys[j].Y = max(q.get(pt), 0.001) // a log axis cannot show 0
				maxX, maxY = max(maxX, xys[j].X), max(maxY, xys[j].Y)
			}
			line, points, err := plotter.NewLinePoints(xys)
			if err != nil {
				return err
			}
			line.Color, points.Color = c, c
			line.Width = vg.Points(1.5)
			if q.dashed {
				line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			}
			p.Add(line, points)
			p.Legend.Add(t.Target+" "+q.name, line, points)
		}
	}
	// Raw floors on the same axes: fdatasync for the fsync sweep, a loopback
	// round trip for the others.
	var floor float64
	var floorName string
	if s.MaxFrom == goalFsync {
		if fs, ok := findSummary(rep.Summaries, goalFsync); ok {
			if d, ok := fs.Figures(TargetDisk); ok {
				if q, ok := d.Disk.quickestSync(); ok {
					floor, floorName = q.FdatasyncP99.Median, fmt.Sprintf("raw %s fdatasync p99", formatBytes(q.WriteSize))
				}
			}
		}
	} else {
		for _, sum := range rep.Summaries {
			if l, ok := sum.Figures(TargetLoopback); ok && l.Runs > 0 {
				floor, floorName = l.P99Ms.Median, "loopback TCP 100 B round trip p99"
			}
		}
	}
	if floor > 0 && maxX > 0 {
		ref, err := plotter.NewLine(plotter.XYs{{X: 0, Y: floor}, {X: maxX * 1.05, Y: floor}})
		if err != nil {
			return err
		}
		ref.Color = color.Gray{Y: 80}
		ref.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(ref)
		p.Legend.Add(floorName, ref)
	}
	// Throughput from zero; head room above the highest latency for the
	// legend.
	p.X.Min, p.X.Max = 0, maxX*1.05
	p.Y.Max = maxY * 6
	return p.Save(9*vg.Inch, 5.5*vg.Inch, path)
}

// thousandsTicks labels a records/s axis "100k" rather than "100000.00".
type thousandsTicks struct{}

func (thousandsTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label == "" {
			continue
		}
		v := ticks[i].Value
		switch {
		case v == 0:
			ticks[i].Label = "0"
		case v >= 1e6:
			ticks[i].Label = fmt.Sprintf("%gM", v/1e6)
		case v >= 1e3:
			ticks[i].Label = fmt.Sprintf("%gk", v/1e3)
		default:
			ticks[i].Label = fmt.Sprintf("%g", v)
		}
	}
	return ticks
}
