package bench

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// PlotFormat returns the image format Plot writes for file name: "svg",
// "png" or "pdf" from its extension, or an error for any other.
func PlotFormat(name string) (string, error) {
	f := strings.TrimPrefix(strings.ToLower(filepath.Ext(name)), ".")
	switch f {
	case "svg", "png", "pdf":
		return f, nil
	}
	return "", fmt.Errorf("bench: plot file %q: want a .svg, .png or .pdf name", name)
}

// Plot draws a sweep, one result per concurrency, in two panels that share
// the concurrency axis (logarithmic): throughput (all and successful
// requests per second) above, p50 and p99 latency below. It writes the
// image in format ("svg", "png" or "pdf") to w.
func Plot(w io.Writer, format string, title string, results []*Result) error {
	if len(results) == 0 {
		return errors.New("bench: nothing to plot")
	}
	var rps, ok, p50, p99 plotter.XYs
	var ticks []plot.Tick
	for _, r := range results {
		x := float64(r.Concurrency)
		if x <= 0 {
			return errors.New("bench: a result without concurrency cannot be plotted")
		}
		rps = append(rps, plotter.XY{X: x, Y: r.PerSecond})
		ok = append(ok, plotter.XY{X: x, Y: float64(r.Successes) / r.DurationSeconds})
		p50 = append(p50, plotter.XY{X: x, Y: r.Latency.P50})
		p99 = append(p99, plotter.XY{X: x, Y: r.Latency.P99})
		ticks = append(ticks, plot.Tick{Value: x, Label: strconv.Itoa(r.Concurrency)})
	}

	blue := color.RGBA{R: 31, G: 119, B: 180, A: 255}
	orange := color.RGBA{R: 255, G: 127, B: 14, A: 255}
	top := newPanel(concurrencyLabel, "requests per second", ticks)
	top.Title.Text = title
	bottom := newPanel(concurrencyLabel, "latency, ms", ticks)
	for _, e := range []error{
		addLine(top, "all answers", rps, blue, false),
		addLine(top, "successful", ok, orange, true),
		addLine(bottom, "p99", p99, blue, false),
		addLine(bottom, "p50", p50, orange, true),
	} {
		if e != nil {
			return e
		}
	}
	top.Y.Max = max(top.Y.Max*1.15, 1)
	bottom.Y.Max = max(bottom.Y.Max*1.15, 1)

	return drawPanels(w, format, []*plot.Plot{top, bottom})
}

// drawPanels draws panels one above the other, sharing their x axis, in
// format to w.
func drawPanels(w io.Writer, format string, panels []*plot.Plot) error {
	width, height := 16*vg.Centimeter, vg.Length(len(panels))*9*vg.Centimeter
	c, err := draw.NewFormattedCanvas(width, height, format)
	if err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	tiles := draw.Tiles{
		Rows: len(panels), Cols: 1,
		PadX: vg.Millimeter, PadY: 6 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter,
		PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter,
	}
	rows := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		rows[i] = []*plot.Plot{p}
	}
	canvases := plot.Align(rows, tiles, draw.New(c))
	for i, p := range panels {
		p.Draw(canvases[i][0])
	}
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("bench: writing the plot: %w", err)
	}
	return nil
}

// SizePoint is what the scenarios got on a database of one size.
type SizePoint struct {
	Users, Sessions, Bytes int64
	Results                []*Result
}

// PlotSizes draws throughput against database size, one panel per scenario
// (in the order of the first point's results) sharing the number of users
// as a logarithmic x axis: successful requests per second and, for the
// results that carry one (signin, signup), the hashing ceiling measured
// for that run; below them, CPU time per request relative to the smallest
// database, all scenarios in one panel. It writes the image in format to w.
func PlotSizes(w io.Writer, format string, title string, points []SizePoint) error {
	if len(points) == 0 || len(points[0].Results) == 0 {
		return errors.New("bench: nothing to plot")
	}
	var ticks []plot.Tick
	for _, pt := range points {
		if pt.Users <= 0 {
			return errors.New("bench: a database without users cannot be plotted")
		}
		ticks = append(ticks, plot.Tick{Value: float64(pt.Users), Label: fmt.Sprintf("%s users\n%s sessions\n%s", count(pt.Users), count(pt.Sessions), megabytes(pt.Bytes))})
	}
	blue := color.RGBA{R: 31, G: 119, B: 180, A: 255}
	orange := color.RGBA{R: 255, G: 127, B: 14, A: 255}
	var panels []*plot.Plot
	for i, first := range points[0].Results {
		var ok, ceiling plotter.XYs
		for _, pt := range points {
			if i >= len(pt.Results) || pt.Results[i].Scenario != first.Scenario {
				return errors.New("bench: every database size must have the same scenarios")
			}
			r := pt.Results[i]
			ok = append(ok, plotter.XY{X: float64(pt.Users), Y: r.PerSecond})
			if r.Ceiling != nil && r.Ceiling.PerSecond > 0 {
				ceiling = append(ceiling, plotter.XY{X: float64(pt.Users), Y: r.Ceiling.PerSecond})
			}
		}
		p := newPanel("database size", first.Scenario+": successful requests per second", ticks)
		if err := addLine(p, first.Scenario, ok, blue, false); err != nil {
			return err
		}
		if len(ceiling) > 0 {
			if err := addLine(p, "argon2id ceiling, timed before the run", ceiling, orange, true); err != nil {
				return err
			}
		}
		p.Y.Max = max(p.Y.Max*1.25, 1)
		panels = append(panels, p)
	}
	if cpu, err := cpuPanel(points, ticks); err != nil {
		return err
	} else if cpu != nil {
		panels = append(panels, cpu)
	}
	panels[0].Title.Text = title
	return drawPanels(w, format, panels)
}

// cpuPanel returns the panel of CPU time per request (the server's, plus
// a local database's) of each scenario relative to the first point's,
// which a shared machine's noise moves far less than throughput; nil if
// the results have no server measurements.
func cpuPanel(points []SizePoint, ticks []plot.Tick) (*plot.Plot, error) {
	colors := []color.Color{
		color.RGBA{R: 31, G: 119, B: 180, A: 255},
		color.RGBA{R: 214, G: 39, B: 40, A: 255},
		color.RGBA{R: 44, G: 160, B: 44, A: 255},
		color.RGBA{R: 148, G: 103, B: 189, A: 255},
	}
	cpu := func(r *Result) float64 {
		if r.Server == nil {
			return 0
		}
		return r.Server.CPUMillisPerOp + r.Server.DatabaseCPUMillisPerOp
	}
	p := newPanel("database size", "CPU per request, relative to the smallest", ticks)
	lines := 0
	for i, first := range points[0].Results {
		base := cpu(first)
		if base <= 0 {
			continue
		}
		var xys plotter.XYs
		for _, pt := range points {
			xys = append(xys, plotter.XY{X: float64(pt.Users), Y: cpu(pt.Results[i]) / base})
		}
		if err := addLine(p, first.Scenario, xys, colors[lines%len(colors)], lines%2 == 1); err != nil {
			return nil, err
		}
		lines++
	}
	if lines == 0 {
		return nil, nil
	}
	p.Y.Max = max(p.Y.Max*1.25, 1.5)
	return p, nil
}

// count writes n briefly: 10k, 1.5M.
func count(n int64) string {
	switch {
	case n >= 1e6:
		return strconv.FormatFloat(float64(n)/1e6, 'g', 3, 64) + "M"
	case n >= 1e3:
		return strconv.FormatFloat(float64(n)/1e3, 'g', 3, 64) + "k"
	}
	return strconv.FormatInt(n, 10)
}

// megabytes writes a size in bytes as MB (10^6 bytes).
func megabytes(b int64) string {
	return strconv.FormatFloat(float64(b)/1e6, 'f', 0, 64) + " MB"
}

// concurrencyLabel is the x axis of a sweep plot.
const concurrencyLabel = "concurrent clients"

// newPanel returns an empty panel: xlabel (with ticks) on a logarithmic x
// axis, ylabel from 0 on the y axis, a grid and a legend.
func newPanel(xlabel, ylabel string, ticks []plot.Tick) *plot.Plot {
	p := plot.New()
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = true
	return p
}

// addLine adds xys to p as a line with points in color c, dashed or not,
// named in the legend.
func addLine(p *plot.Plot, name string, xys plotter.XYs, c color.Color, dashed bool) error {
	l, s, err := plotter.NewLinePoints(xys)
	if err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	l.Color, s.Color = c, c
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(l, s)
	p.Legend.Add(name, l, s)
	return nil
}
