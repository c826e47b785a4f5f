package web

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/beacon"
)

// TestWebRate checks Google's thresholds at their edges: a value equal to
// the good threshold is good, one equal to the poor threshold needs
// improvement, anything above it is poor (as web-vitals rates).
func TestWebRate(t *testing.T) {
	for _, c := range []struct {
		metric string
		value  float64
		want   string
	}{
		{"LCP", 0, RatingGood}, {"LCP", 2500, RatingGood}, {"LCP", 2501, RatingNeedsImprovement},
		{"LCP", 4000, RatingNeedsImprovement}, {"LCP", 4000.5, RatingPoor},
		{"INP", 200, RatingGood}, {"INP", 500, RatingNeedsImprovement}, {"INP", 501, RatingPoor},
		{"CLS", 0.1, RatingGood}, {"CLS", 0.11, RatingNeedsImprovement}, {"CLS", 0.25, RatingNeedsImprovement}, {"CLS", 0.26, RatingPoor},
		{"FCP", 1800, RatingGood}, {"FCP", 3000, RatingNeedsImprovement}, {"FCP", 3001, RatingPoor},
		{"TTFB", 800, RatingGood}, {"TTFB", 1800, RatingNeedsImprovement}, {"TTFB", 1801, RatingPoor},
		{"FID", 100, RatingGood}, {"FID", 300, RatingNeedsImprovement}, {"FID", 301, RatingPoor},
		{"XYZ", 1, ""},
	} {
		if got := Rate(c.metric, c.value); got != c.want {
			t.Errorf("Rate(%q, %v) = %q; want %q", c.metric, c.value, got, c.want)
		}
	}
	for _, name := range metricNames() {
		if _, ok := Thresholds(name); !ok {
			t.Errorf("Thresholds(%q) is unknown", name)
		}
	}
}

// TestWebPageKey checks that pageKey cuts a path as the beacon cuts it into
// the pageviews index, through the beacon's own mapping, and that a cut key
// is known for one.
func TestWebPageKey(t *testing.T) {
	for _, path := range []string{"/", "/lessons/7", "/" + strings.Repeat("a", 95), "/" + strings.Repeat("b", 96),
		"/" + strings.Repeat("é", 80), "/" + strings.Repeat("x", 300), "/#/" + strings.Repeat("日本", 40)} {
		req, err := beacon.Decode([]byte(`{"events":[{"type":"pageview","path":"` + path + `"}]}`))
		if err != nil {
			t.Fatalf("beacon.Decode(%q): %v", path, err)
		}
		pts, _, rej := req.Points(time.Now().UnixMilli(), 0)
		if len(pts) != 1 || len(rej) != 0 {
			t.Fatalf("beacon points of %q: %v %v", path, pts, rej)
		}
		if got, want := pageKey(path), pts[0].Index; got != want {
			t.Errorf("pageKey(%q) = %q; the beacon's index is %q", path, got, want)
		}
		prefix, cut := cutPrefix(pts[0].Index)
		if cut != (len(path) > 96) || cut && !strings.HasPrefix(path, prefix) {
			t.Errorf("cutPrefix(%q) = %q, %v; want the start of %q when it is cut", pts[0].Index, prefix, cut, path)
		}
	}
}

// TestWebParseRequest checks the parameters: a relative range ends at
// now, from/to are taken as given, faults name their parameter.
func TestWebParseRequest(t *testing.T) {
	now := time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)
	r, err := ParseRequest(url.Values{"range": {"7d"}}, now)
	if err != nil || r.To != now.UnixMilli() || r.To-r.From != 7*86_400_000 || r.Top != DefaultTop {
		t.Errorf("ParseRequest(range=7d) = %+v, %v; want [now-7d, now) and top %d", r, err, DefaultTop)
	}
	to := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC).UnixMilli()
	r, err = ParseRequest(url.Values{"from": {"2026-12-01T00:00:00Z"}, "to": {strconv.FormatInt(to, 10)}, "top": {"100"}, "source": {"raw"}}, now)
	if err != nil || r.From != time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixMilli() || r.To != to || r.Top != 100 || r.Source != "raw" {
		t.Errorf("ParseRequest(from, to, top, source) = %+v, %v", r, err)
	}
	for q, param := range map[string]string{"top=101": "top", "top=0": "top", "range=3": "range", "interval=1h": "interval", "source=x": "source", "to=1": "to"} {
		v, _ := url.ParseQuery(q)
		_, err := ParseRequest(v, now)
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != param || !strings.HasPrefix(err.Error(), "web: "+param+": ") {
			t.Errorf("ParseRequest(%s) = %v; want a ParamError naming %s", q, err, param)
		}
	}
}

// TestWebChange checks the changes: relative for counts and durations,
// points for rates, null from 0 or null.
func TestWebChange(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	c := change(Summary{Visitors: 150, Visits: 10, PageViews: 0, BounceRate: f(40), VisitDuration: f(90), JSErrorRate: f(2)},
		Summary{Visitors: 100, Visits: 0, PageViews: 5, BounceRate: f(50), VisitDuration: nil, JSErrorRate: f(1.5)})
	check := func(name string, got *float64, want any) {
		t.Helper()
		switch w := want.(type) {
		case nil:
			if got != nil {
				t.Errorf("change.%s = %v; want null", name, *got)
			}
		case float64:
			if got == nil || *got != w {
				t.Errorf("change.%s = %v; want %v", name, got, w)
			}
		}
	}
	check("visitors", c.Visitors, 50.0)
	check("visits", c.Visits, nil)
	check("pageViews", c.PageViews, -100.0)
	check("bounceRate", c.BounceRate, -10.0)
	check("visitDuration", c.VisitDuration, nil)
	check("jsErrorRate", c.JSErrorRate, 0.5)
}
