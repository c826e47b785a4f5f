package bench

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return v
}

func TestComparison(t *testing.T) {
	raw := `{"requests": 1000, "latency": 12.5, "latencyPercentiles": {"p50": 10, "p95": 40, "p99": null},
		"errorRateByEndpoint": [{"endpoint": "/a", "requests": 600, "latencyPercentiles": {"p50": 8, "p95": 30, "p99": 50}},
		                        {"endpoint": "/b", "requests": 400, "latencyPercentiles": {"p50": 12, "p95": 44, "p99": 70}}],
		"meta": {"source": "raw", "elapsedMs": 900}}`
	// The same figures, rows in another order, quantiles off by < 1 %.
	rollup := `{"requests": 1000, "latency": 12.500000000001, "latencyPercentiles": {"p50": 10.05, "p95": 40, "p99": null},
		"errorRateByEndpoint": [{"endpoint": "/b", "requests": 400, "latencyPercentiles": {"p50": 12, "p95": 44.2, "p99": 70.7}},
		                        {"endpoint": "/a", "requests": 600, "latencyPercentiles": {"p50": 8, "p95": 30, "p99": 50}}],
		"meta": {"source": "rollup", "elapsedMs": 3}}`
	var c comparison
	c.compare("overview", decodeJSON(t, raw), decodeJSON(t, rollup))
	if len(c.mismatches) != 0 {
		t.Errorf("mismatches %q; want none", c.mismatches)
	}
	if len(c.quantiles) != 8 {
		t.Fatalf("%d quantiles compared; want 8: %+v", len(c.quantiles), c.quantiles)
	}
	q := quantileError(c.quantiles)
	if q.Compared != 8 || math.Abs(q.MaxRel-0.01) > 1e-9 || !strings.HasPrefix(q.MaxAt, "overview.errorRateByEndpoint[/b].latencyPercentiles.p99: rollup 70.7, raw 70") {
		t.Errorf("quantileError = %+v", q)
	}
	if q.MedianRel != 0 {
		t.Errorf("median relative error %v; want 0 (5 of 8 exact)", q.MedianRel)
	}
	if quantileError(nil) != nil {
		t.Error("quantileError(nil) is not nil")
	}

	for _, tc := range []struct{ rollup, want string }{
		{`{"requests": 999, "latency": 12.5, "latencyPercentiles": {"p50": 10, "p95": 40, "p99": null}, "errorRateByEndpoint": []}`, "overview.requests: raw has 1000, rollup 999"},
		{`{"requests": 1000, "latency": 12.5, "latencyPercentiles": {"p50": 10, "p95": 40, "p99": 5}, "errorRateByEndpoint": []}`, "overview.latencyPercentiles.p99: raw has null, rollup 5"},
		{`{"requests": 1000, "latency": 12.5, "latencyPercentiles": {"p50": 10, "p95": 40, "p99": null}, "errorRateByEndpoint": [{"endpoint": "/a", "requests": 600, "latencyPercentiles": {"p50": 8, "p95": 30, "p99": 50}}]}`, "overview.errorRateByEndpoint[/b]: only in the raw answer"},
		{`{"requests": 1000, "latency": 12.5, "latencyPercentiles": {"p50": 10, "p95": 40, "p99": null}, "errorRateByEndpoint": "x"}`, "overview.errorRateByEndpoint: raw has a list, rollup \"x\""},
	} {
		var c comparison
		c.compare("overview", decodeJSON(t, raw), decodeJSON(t, tc.rollup))
		if !strings.Contains(strings.Join(c.mismatches, "\n"), tc.want) {
			t.Errorf("mismatches %q; want one with %q", c.mismatches, tc.want)
		}
	}

	// Rows without a naming field are matched by position; the
	// disagreements kept are bounded.
	var many comparison
	for i := range maxMismatches + 5 {
		many.compare("q", decodeJSON(t, `[{"n": 1}]`), decodeJSON(t, `[{"n": 2}]`))
		_ = i
	}
	if len(many.mismatches) != maxMismatches || many.dropped != 5 || many.mismatches[0] != "q[0].n: raw has 1, rollup 2" {
		t.Errorf("mismatches %d (%q), dropped %d", len(many.mismatches), many.mismatches[0], many.dropped)
	}
}

func TestCompareQueries(t *testing.T) {
	raw, _ := consistentAnswers()
	auto, _ := consistentAnswers()
	for _, a := range auto {
		a.Meta.Source = "rollup"
	}
	auto["by_endpoint_all"].Rows[2] = map[string]any{"index1": "/e2", "n": 300.0, "avg": 12.0, "p50": 8.0, "p95": 30.3, "p99": 60.0, "err": 2.0}
	auto["timeseries_5m"].Meta.Source = "raw" // not compared
	auto["timeseries_5m"].Rows = nil
	res := &queryResults{raw: raw, auto: auto}
	var c comparison
	compareQueries(res, &c)
	if len(c.mismatches) != 0 {
		t.Errorf("mismatches %q", c.mismatches)
	}
	q := quantileError(c.quantiles)
	if q == nil || math.Abs(q.MaxRel-0.01) > 1e-9 || !strings.HasPrefix(q.MaxAt, "by_endpoint_all[/e2].p95") {
		t.Errorf("quantileError = %+v", q)
	}
}

func TestWithSource(t *testing.T) {
	for _, tc := range []struct{ body, source, want string }{
		{`{"dataset":"x"}`, "raw", `{"source":"raw","dataset":"x"}`},
		{`{}`, "rollup", `{"source":"rollup"}`},
		{`{"dataset":"x"}`, "", `{"dataset":"x"}`},
	} {
		if got := string(withSource([]byte(tc.body), tc.source)); got != tc.want {
			t.Errorf("withSource(%s, %q) = %s; want %s", tc.body, tc.source, got, tc.want)
		}
	}
}

func TestDataRange(t *testing.T) {
	at := func(s string) int64 {
		tt, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tt.UnixMilli()
	}
	for _, tc := range []struct {
		now      string
		days     int64
		from, to string
	}{
		{"2026-11-27T10:41:07.5Z", 1, "2026-11-26T10:41:07.5Z", "2026-11-27T10:41:07.5Z"},
		{"2026-11-27T10:41:07.5Z", 30, "2026-10-28T10:41:07.5Z", "2026-11-27T10:41:07.5Z"},
		{"2026-11-27T10:00:00Z", 7, "2026-11-20T10:00:00Z", "2026-11-27T10:00:00Z"},
	} {
		from, to := dataRange(at(tc.now), tc.days*86_400_000)
		if from != at(tc.from) || to != at(tc.to) {
			t.Errorf("dataRange(%s, %dd) = %s, %s; want %s, %s", tc.now, tc.days, formatMs(from), formatMs(to), tc.from, tc.to)
		}
	}
}

func TestSettleWait(t *testing.T) {
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for since, want := range map[time.Duration]time.Duration{
		10 * time.Second:  55 * time.Second,
		59 * time.Second:  6 * time.Second,
		60 * time.Second:  65 * time.Second,
		150 * time.Second: 35 * time.Second,
	} {
		if got := settleWait(start, start.Add(since)); got != want {
			t.Errorf("settleWait %v after start = %v; want %v", since, got, want)
		}
	}
}

func TestOptionsResolve(t *testing.T) {
	for _, tc := range []struct {
		points, baseline        int64
		pairs                   int
		wantBaseline            int64
		wantPairs, wantDays, in int
	}{
		{1_000_000, 0, -1, 1_000_000, 0, 1, 0},
		{100_000_000, 0, -1, DefaultBaselinePoints, DefaultBaselinePairs, 30, 30},
		{100_000_000, 2_000_000, 0, 2_000_000, 0, 7, 7},
		{20_000, 0, 2, 20_000, 2, 1, 0},
	} {
		o := DefaultOptions()
		o.Points, o.BaselinePoints, o.BaselinePairs, o.Days = tc.points, tc.baseline, tc.pairs, tc.in
		o.ServerExe = "alidade"
		if err := o.Validate(); err != nil {
			t.Fatal(err)
		}
		o.resolve()
		if o.BaselinePoints != tc.wantBaseline || o.BaselinePairs != tc.wantPairs || o.Days != tc.wantDays {
			t.Errorf("resolve(%d points, %d, %d pairs, %d days) = %d points, %d pairs, %d days; want %d, %d, %d",
				tc.points, tc.baseline, tc.pairs, tc.in, o.BaselinePoints, o.BaselinePairs, o.Days, tc.wantBaseline, tc.wantPairs, tc.wantDays)
		}
	}
	o := DefaultOptions()
	o.ServerExe = "alidade"
	for _, bad := range []func(*Options){
		func(o *Options) { o.Days = MaxDays + 1 },
		func(o *Options) { o.BaselinePairs = -2 },
		func(o *Options) { o.BaselinePoints = -1 },
	} {
		x := o
		bad(&x)
		if x.Validate() == nil {
			t.Errorf("Validate(%+v) = nil; want an error", x)
		}
	}
}
