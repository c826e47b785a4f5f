package web

// Ratings are web-vitals' ratings, as the beacon stores them (web_vitals
// rating, blob2).
const (
	RatingGood             = "good"
	RatingNeedsImprovement = "needs-improvement"
	RatingPoor             = "poor"
)

var ratings = []string{RatingGood, RatingNeedsImprovement, RatingPoor}

// metric is one Core Web Vital and Google's thresholds for it: a value up
// to good is good, above poor is poor, in between needs improvement
// (web-vitals rates exactly so).
type metric struct {
	name       string
	good, poor float64
}

// metrics are the vitals the beacon takes, in the order the answer lists
// them. Values are ms, CLS is unitless.
var metrics = []metric{
	{"LCP", 2500, 4000},
	{"INP", 200, 500},
	{"CLS", 0.1, 0.25},
	{"FCP", 1800, 3000},
	{"TTFB", 800, 1800},
	{"FID", 100, 300},
}

// metricNames lists the names of metrics.
func metricNames() []string {
	out := make([]string, len(metrics))
	for i, m := range metrics {
		out[i] = m.name
	}
	return out
}

// Rate rates a value of a metric with Google's thresholds: "good",
// "needs-improvement" or "poor"; "" for an unknown metric.
func Rate(name string, value float64) string {
	for _, m := range metrics {
		if m.name != name {
			continue
		}
		switch {
		case value <= m.good:
			return RatingGood
		case value <= m.poor:
			return RatingNeedsImprovement
		}
		return RatingPoor
	}
	return ""
}

// Thresholds returns Google's thresholds of a metric (good up to [0], poor
// above [1]); ok is false for an unknown metric.
func Thresholds(name string) (t [2]float64, ok bool) {
	for _, m := range metrics {
		if m.name == name {
			return [2]float64{m.good, m.poor}, true
		}
	}
	return t, false
}

// tally counts one metric's samples by rating.
type tally struct {
	samples float64
	p75     *float64
	by      [3]float64 // good, needs-improvement, poor
}

func (t *tally) vital(m metric) Vital {
	v := Vital{Metric: m.name, Samples: t.samples, P75: t.p75, Thresholds: [2]float64{m.good, m.poor}}
	rated := t.by[0] + t.by[1] + t.by[2]
	v.Good, v.NeedsImprovement, v.Poor = ratio(t.by[0], rated), ratio(t.by[1], rated), ratio(t.by[2], rated)
	return v
}
