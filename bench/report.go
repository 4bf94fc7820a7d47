package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes results as text tables: one result in detail, one row
// per operation; several (a sweep) as one row each. It returns the first
// write error.
func WriteTable(w io.Writer, results []*Result) error {
	if len(results) == 0 {
		return nil
	}
	ew := &errWriter{w: w}
	first := results[0]
	if len(results) == 1 {
		writeOne(ew, first)
	} else {
		writeSweep(ew, results)
	}
	if c := first.Ceiling; c != nil {
		fmt.Fprintf(ew, "hash ceiling: %d CPUs, argon2id %s: %.1f ms per hash with every CPU hashing = %.1f hashes/s\n",
			c.CPUs, c.Params, c.HashMillis, c.PerSecond)
	}
	return ew.err
}

func writeOne(w io.Writer, r *Result) {
	fmt.Fprintf(w, "scenario %s, concurrency %d, %s measured, server %s\n\n",
		r.Scenario, r.Concurrency, time.Duration(r.DurationSeconds*float64(time.Second)), r.URL)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\trequests\tok\tok/s\terrors/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\t")
	row := func(name string, req, ok int64, rate, errRate float64, l Latency, errs map[string]int64) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t\n",
			name, req, ok, rate, errRate, l.P50, l.P90, l.P99, l.Max, formatErrors(errs))
	}
	for _, o := range r.Operations {
		name := o.Name
		if o.Probe {
			name += " (probe)"
		}
		row(name, o.Requests, o.Successes, o.PerSecond, o.ErrorsPerSecond, o.Latency, o.Errors)
	}
	if len(r.Operations) > 1 {
		row("total", r.Requests, r.Successes, r.PerSecond, r.ErrorsPerSecond, r.Latency, r.Errors)
	}
	tw.Flush()
	fmt.Fprintln(w)
	if r.Scenario == Refresh || r.Scenario == Mixed || r.Scenario == Flood {
		fmt.Fprintf(w, "refresh chains broken (401): %d\n", r.ChainsBroken)
	}
	if s := r.Server; s != nil {
		fmt.Fprintf(w, "server: peak RSS %s, CPU %.2f s in the window = %.3f ms per request", mib(s.PeakRSSBytes), s.CPUSeconds, s.CPUMillisPerOp)
		if s.IdleRSSBytes > 0 {
			fmt.Fprintf(w, ", idle RSS %s, /readyz %.0f ms after start", mib(s.IdleRSSBytes), s.StartToReadyMillis)
		}
		if s.LogLevel != "" {
			fmt.Fprintf(w, ", log level %s", s.LogLevel)
		}
		if s.DatabaseCPUSeconds > 0 {
			fmt.Fprintf(w, "\ndatabase: CPU %.2f s in the window = %.3f ms per request; server and database together %.3f ms per request",
				s.DatabaseCPUSeconds, s.DatabaseCPUMillisPerOp, s.CPUMillisPerOp+s.DatabaseCPUMillisPerOp)
		}
		if s.LoadCPUSeconds > 0 {
			fmt.Fprintf(w, "\nload generator (this process, same machine): CPU %.2f s in the window = %.3f ms per request", s.LoadCPUSeconds, s.LoadCPUMillisPerOp)
		}
		fmt.Fprintln(w)
	}
	switch {
	case r.CeilingRatio > 0 && r.Scenario == Mixed:
		bound := r.Ceiling.PerSecond * mixedTotal / mixedSignin
		fmt.Fprintf(w, "mixed: signups and signins %.1f/s = %.2f of the hashing ceiling, which bounds the mix at %.0f requests/s (%d hashes per %d requests); %.1f/s = %.2f of that bound\n",
			r.CeilingRatio*r.Ceiling.PerSecond, r.CeilingRatio, bound, mixedSignin, mixedTotal, r.PerSecond, r.PerSecond/bound)
	case r.CeilingRatio > 0:
		fmt.Fprintf(w, "%s successes %.1f/s = %.2f of the hashing ceiling\n", r.Scenario, float64(r.Successes)/r.DurationSeconds, r.CeilingRatio)
	}
	if t := r.Timing; t != nil {
		fmt.Fprintf(w, "timing: wrong password - unknown login %+.2f ms (p50), %+.2f ms (p90); correct - unknown %+.2f ms (p50), %+.2f ms (p90); correct - wrong %+.2f ms (p50), %+.2f ms (p90)\n",
			t.WrongMinusUnknownP50, t.WrongMinusUnknownP90, t.CorrectMinusUnknownP50, t.CorrectMinusUnknownP90, t.CorrectMinusWrongP50, t.CorrectMinusWrongP90)
	}
}

func writeSweep(w io.Writer, results []*Result) {
	r0 := results[0]
	fmt.Fprintf(w, "scenario %s, sweep of concurrency, %s measured each, server %s\n\n",
		r0.Scenario, time.Duration(r0.DurationSeconds*float64(time.Second)), r0.URL)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "concurrency\trequests\tok\tok/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\tceiling\tCPU ms/req\tpeak RSS\t")
	for _, r := range results {
		ratio, cpu, rss := "-", "-", "-"
		if r.CeilingRatio > 0 {
			ratio = fmt.Sprintf("%.2f", r.CeilingRatio)
		}
		if s := r.Server; s != nil {
			cpu, rss = fmt.Sprintf("%.3f", s.CPUMillisPerOp), mib(s.PeakRSSBytes)
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t\n",
			r.Concurrency, r.Requests, r.Successes, r.PerSecond, r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max,
			formatErrors(r.Errors), ratio, cpu, rss)
	}
	tw.Flush()
	fmt.Fprintln(w)
	if s := r0.Server; s != nil && s.LogLevel != "" {
		fmt.Fprintf(w, "server log level: %s\n", s.LogLevel)
	}
}

// RateLimitWarning returns a warning when more than 1% of the answers in
// results were 429 Too Many Requests, so that a rate limit rather than the
// server's capacity bounded the run; "" otherwise.
func RateLimitWarning(results []*Result) string {
	var limited, total int64
	for _, r := range results {
		limited += r.Errors["429"]
		total += r.Requests
	}
	if total == 0 || limited*100 <= total {
		return ""
	}
	return fmt.Sprintf("warning: %d of %d answers (%.1f%%) were 429 Too Many Requests: the server's rate limits, not its capacity, bounded this run; start it with --ip-rate-limit 0 --ip-refresh-rate-limit 0 to measure throughput",
		limited, total, float64(limited)*100/float64(total))
}

// formatErrors lists errors as "503:12 transport:1", or "-" for none.
func formatErrors(errs map[string]int64) string {
	if len(errs) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		parts = append(parts, fmt.Sprintf("%s:%d", k, errs[k]))
	}
	return strings.Join(parts, " ")
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// errWriter remembers the first write error and drops later writes.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	_, e.err = e.w.Write(p)
	return len(p), nil
}
