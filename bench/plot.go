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
	top := newPanel("requests per second", ticks)
	top.Title.Text = title
	bottom := newPanel("latency, ms", ticks)
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

	const width, height = 16 * vg.Centimeter, 18 * vg.Centimeter
	c, err := draw.NewFormattedCanvas(width, height, format)
	if err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	tiles := draw.Tiles{
		Rows: 2, Cols: 1,
		PadX: vg.Millimeter, PadY: 6 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter,
		PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter,
	}
	panels := [][]*plot.Plot{{top}, {bottom}}
	canvases := plot.Align(panels, tiles, draw.New(c))
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("bench: writing the plot: %w", err)
	}
	return nil
}

// newPanel returns an empty panel of a sweep plot: concurrency (with ticks)
// on a logarithmic x axis, ylabel from 0 on the y axis, a grid and a legend.
func newPanel(ylabel string, ticks []plot.Tick) *plot.Plot {
	p := plot.New()
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Label.Text = "concurrent clients"
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
