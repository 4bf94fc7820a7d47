// Package metrics exposes authstore's Prometheus metrics: HTTP requests by
// route and status with latency histograms, audit events (signins ok and
// failed, refresh reuse, ...), the password-hashing queue, the database
// connection pool, and the mail sender's outcomes.
//
// It knows nothing of the other packages: cmd/authstore hands it plain
// functions that read the service's hashing counters and the pool's.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HashingStats is a snapshot of the password-hashing concurrency limit.
type HashingStats struct {
	Slots    int    // hashes that may run at once
	InFlight int64  // hashes running now
	Waiting  int64  // calls queued for a slot now
	Rejected uint64 // calls refused as busy since start
}

// MailStats are the mail sender's counters since start.
type MailStats struct {
	Sent    uint64 // mails the SMTP server accepted
	Retried uint64 // failed attempts left for a later one
	Failed  uint64 // mails given up
}

// Sources are the counters Metrics reads at each scrape; nil ones are left
// out.
type Sources struct {
	Hashing func() HashingStats
	DB      func() sql.DBStats
	Mail    func() MailStats
}

// Metrics holds the collectors of one process. It is safe for concurrent
// use.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	events   *prometheus.CounterVec
}

// New returns Metrics with its own registry, holding the Go runtime and
// process collectors and those of src.
func New(src Sources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authstore_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "authstore_http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by route pattern.",
			// From a cached refresh (~0.1 ms) to a queued signin (~2 s).
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authstore_events_total",
			Help: "Audit events: signup, signin, signin_failed, signin_throttled, refresh_reuse, logout, session_revoked, logout_all.",
		}, []string{"event"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.events,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if src.Hashing != nil {
		m.reg.MustRegister(hashingCollector(src.Hashing)...)
	}
	if src.DB != nil {
		m.reg.MustRegister(newDBCollector(src.DB))
	}
	if src.Mail != nil {
		m.reg.MustRegister(mailCollector(src.Mail)...)
	}
	return m
}

func mailCollector(stats func() MailStats) []prometheus.Collector {
	counter := func(name, help string, v func(MailStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v(stats())) })
	}
	return []prometheus.Collector{
		counter("authstore_mail_sent_total", "Mails the SMTP server accepted.", func(s MailStats) uint64 { return s.Sent }),
		counter("authstore_mail_retried_total", "Failed mail attempts left for a later one.", func(s MailStats) uint64 { return s.Retried }),
		counter("authstore_mail_failed_total", "Mails given up (a permanent error, or too many attempts).", func(s MailStats) uint64 { return s.Failed }),
	}
}

func hashingCollector(stats func() HashingStats) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "authstore_hashing_slots", Help: "Password hashes that may run at once.",
		}, func() float64 { return float64(stats().Slots) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "authstore_hashing_in_flight", Help: "Password hashes running now.",
		}, func() float64 { return float64(stats().InFlight) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "authstore_hashing_queue_depth", Help: "Signups and signins waiting for a hashing slot.",
		}, func() float64 { return float64(stats().Waiting) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "authstore_hashing_rejected_total", Help: "Signups and signins refused with 503 because hashing stayed saturated.",
		}, func() float64 { return float64(stats().Rejected) }),
	}
}

// dbCollector reports a database/sql pool's statistics.
type dbCollector struct {
	stats                                     func() sql.DBStats
	open, inUse, idle, maxOpen, waits, waited *prometheus.Desc
}

func newDBCollector(stats func() sql.DBStats) *dbCollector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &dbCollector{
		stats:   stats,
		open:    d("authstore_db_connections_open", "Database connections open."),
		inUse:   d("authstore_db_connections_in_use", "Database connections in use."),
		idle:    d("authstore_db_connections_idle", "Idle database connections."),
		maxOpen: d("authstore_db_connections_max", "Largest number of open database connections allowed (0: no limit)."),
		waits:   d("authstore_db_wait_count_total", "Times a caller waited for a database connection."),
		waited:  d("authstore_db_wait_seconds_total", "Time spent waiting for database connections."),
	}
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.open, c.inUse, c.idle, c.maxOpen, c.waits, c.waited} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(s.OpenConnections))
	ch <- prometheus.MustNewConstMetric(c.inUse, prometheus.GaugeValue, float64(s.InUse))
	ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(s.Idle))
	ch <- prometheus.MustNewConstMetric(c.maxOpen, prometheus.GaugeValue, float64(s.MaxOpenConnections))
	ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(s.WaitCount))
	ch <- prometheus.MustNewConstMetric(c.waited, prometheus.CounterValue, s.WaitDuration.Seconds())
}

// ObserveRequest counts one answered request. route is the matched
// pattern, "" for a request no route matched.
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
		method = "-" // unmatched methods are client-chosen: keep the label set bounded
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// Event counts one audit event.
func (m *Metrics) Event(name string) { m.events.WithLabelValues(name).Inc() }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
