package telemetry

import (
	"math"
	"strings"
	"testing"
)

func TestExposition(t *testing.T) {
	r := &Registry{}
	c := r.NewCounter("x_total", "Xs.", "")
	c.Add(3)
	l := r.NewCounter("y_total", "Ys by reason.", "reason")
	l.AddWith("bad \"utf8\"", 2)
	l.AddWith("index", 1)
	r.NewGaugeFunc("q_bytes", "Queue.", func() float64 { return 42 })
	h := r.NewHistogram("lat_seconds", "Latency.", "", []float64{0.1, 1})
	h.Observe(0.05)
	h.Observe(0.5)
	h.Observe(5)
	var b strings.Builder
	r.Write(&b)
	want := `# HELP x_total Xs.
# TYPE x_total counter
x_total 3
# HELP y_total Ys by reason.
# TYPE y_total counter
y_total{reason="bad \"utf8\""} 2
y_total{reason="index"} 1
# HELP q_bytes Queue.
# TYPE q_bytes gauge
q_bytes 42
# HELP lat_seconds Latency.
# TYPE lat_seconds histogram
lat_seconds_bucket{le="0.1"} 1
lat_seconds_bucket{le="1"} 2
lat_seconds_bucket{le="+Inf"} 3
lat_seconds_sum 5.55
lat_seconds_count 3
`
	if b.String() != want {
		t.Fatalf("exposition =\n%s\nwant\n%s", b.String(), want)
	}
	if c.Value() != 3 || l.ValueWith("index") != 1 || l.ValueWith("none") != 0 {
		t.Errorf("values = %d %d %d", c.Value(), l.ValueWith("index"), l.ValueWith("none"))
	}
	if q := h.Quantile(0.5); q != 1 {
		t.Errorf("Quantile(0.5) = %v; want 1", q)
	}
	if q := h.Quantile(0.99); !math.IsInf(q, 1) {
		t.Errorf("Quantile(0.99) = %v; want +Inf", q)
	}
}

func TestLabelledHistogram(t *testing.T) {
	r := &Registry{}
	h := r.NewHistogram("d_seconds", "D.", "route", []float64{1})
	h.ObserveWith("GET /a", 0.5)
	var b strings.Builder
	r.Write(&b)
	for _, want := range []string{`d_seconds_bucket{route="GET /a",le="1"} 1`, `d_seconds_sum{route="GET /a"} 0.5`, `d_seconds_count{route="GET /a"} 1`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("exposition lacks %q:\n%s", want, b.String())
		}
	}
}
