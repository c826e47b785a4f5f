// Package telemetry owns Alidade's measurements of itself: counters, gauges
// and histograms, written in the Prometheus text exposition format for
// GET /metrics. It holds no request data and no secrets.
package telemetry

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry holds metrics in registration order.
type Registry struct {
	mu      sync.Mutex
	metrics []metric
}

type metric interface {
	write(w io.Writer)
}

// Counter is a monotonically increasing count, optionally split by one label.
type Counter struct {
	name, help, label string
	mu                sync.Mutex
	plain             atomic.Uint64
	byLabel           map[string]*atomic.Uint64
}

// NewCounter registers a counter. label may be "" for an unlabelled counter.
func (r *Registry) NewCounter(name, help, label string) *Counter {
	c := &Counter{name: name, help: help, label: label, byLabel: map[string]*atomic.Uint64{}}
	r.add(c)
	return c
}

// Add adds n.
func (c *Counter) Add(n uint64) { c.plain.Add(n) }

// AddWith adds n to the series with the label value v.
func (c *Counter) AddWith(v string, n uint64) {
	c.mu.Lock()
	x := c.byLabel[v]
	if x == nil {
		x = new(atomic.Uint64)
		c.byLabel[v] = x
	}
	c.mu.Unlock()
	x.Add(n)
}

// Value returns the unlabelled value.
func (c *Counter) Value() uint64 { return c.plain.Load() }

// ValueWith returns the value of one labelled series.
func (c *Counter) ValueWith(v string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if x := c.byLabel[v]; x != nil {
		return x.Load()
	}
	return 0
}

func (c *Counter) write(w io.Writer) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", c.name, c.help, c.name)
	if c.label == "" {
		fmt.Fprintf(w, "%s %d\n", c.name, c.plain.Load())
		return
	}
	c.mu.Lock()
	keys := make([]string, 0, len(c.byLabel))
	for k := range c.byLabel {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s{%s=%s} %d\n", c.name, c.label, quote(k), c.byLabel[k].Load())
	}
	c.mu.Unlock()
}

// GaugeFunc reports a value read at scrape time.
type GaugeFunc struct {
	name, help string
	f          func() float64
}

// NewGaugeFunc registers a gauge read from f.
func (r *Registry) NewGaugeFunc(name, help string, f func() float64) {
	r.add(&GaugeFunc{name: name, help: help, f: f})
}

func (g *GaugeFunc) write(w io.Writer) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", g.name, g.help, g.name, g.name, formatFloat(g.f()))
}

// Histogram counts observations into fixed buckets, optionally split by one label.
type Histogram struct {
	name, help, label string
	bounds            []float64
	mu                sync.Mutex
	series            map[string]*histSeries
}

type histSeries struct {
	counts []uint64 // per bucket, not cumulative; last is +Inf
	sum    float64
	n      uint64
}

// DefaultSecondsBuckets spans 100µs to 30s.
var DefaultSecondsBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// NewHistogram registers a histogram.
func (r *Registry) NewHistogram(name, help, label string, bounds []float64) *Histogram {
	h := &Histogram{name: name, help: help, label: label, bounds: bounds, series: map[string]*histSeries{}}
	r.add(h)
	return h
}

// Observe records v in the unlabelled series.
func (h *Histogram) Observe(v float64) { h.ObserveWith("", v) }

// ObserveWith records v in the series with label value lv.
func (h *Histogram) ObserveWith(lv string, v float64) {
	i := sort.SearchFloat64s(h.bounds, v)
	h.mu.Lock()
	s := h.series[lv]
	if s == nil {
		s = &histSeries{counts: make([]uint64, len(h.bounds)+1)}
		h.series[lv] = s
	}
	s.counts[i]++
	s.sum += v
	s.n++
	h.mu.Unlock()
}

// Quantile estimates the q-quantile of the unlabelled series from its buckets
// (the upper bound of the bucket holding the rank).
func (h *Histogram) Quantile(q float64) float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.series[""]
	if s == nil || s.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(s.n)))
	var cum uint64
	for i, c := range s.counts {
		cum += c
		if cum >= rank {
			if i < len(h.bounds) {
				return h.bounds[i]
			}
			return math.Inf(1)
		}
	}
	return math.Inf(1)
}

func (h *Histogram) write(w io.Writer) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", h.name, h.help, h.name)
	h.mu.Lock()
	defer h.mu.Unlock()
	keys := make([]string, 0, len(h.series))
	for k := range h.series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := h.series[k]
		lbl := ""
		if h.label != "" {
			lbl = h.label + "=" + quote(k) + ","
		}
		var cum uint64
		for i, c := range s.counts {
			cum += c
			le := "+Inf"
			if i < len(h.bounds) {
				le = formatFloat(h.bounds[i])
			}
			fmt.Fprintf(w, "%s_bucket{%sle=%q} %d\n", h.name, lbl, le, cum)
		}
		braces := ""
		if h.label != "" {
			braces = "{" + strings.TrimSuffix(lbl, ",") + "}"
		}
		fmt.Fprintf(w, "%s_sum%s %s\n%s_count%s %d\n", h.name, braces, formatFloat(s.sum), h.name, braces, s.n)
	}
}

func (r *Registry) add(m metric) {
	r.mu.Lock()
	r.metrics = append(r.metrics, m)
	r.mu.Unlock()
}

// Write writes every metric in the Prometheus text format.
func (r *Registry) Write(w io.Writer) {
	r.mu.Lock()
	ms := append([]metric(nil), r.metrics...)
	r.mu.Unlock()
	for _, m := range ms {
		m.write(w)
	}
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
