package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// QueryNames are the bench's queries, in the order they run and are reported.
// timeseries_1h is timeseries_5m with buckets rollups can answer once
// old minutes are compacted to hours (serve --rollup-minutes).
var QueryNames = []string{"overview_count", "by_endpoint_8", "by_endpoint_all", "timeseries_5m", "timeseries_1h", "error_rate_by_endpoint"}

// seriesIntervals are the bucket widths of the time-series queries, in ms.
var seriesIntervals = map[string]int64{"timeseries_5m": 300_000, "timeseries_1h": 3_600_000}

// QueryBudget8 is the query whose time has a budget.
const QueryBudget8 = "by_endpoint_8"

// queryAnswer is the part of a query answer the bench reads.
type queryAnswer struct {
	Rows []map[string]any `json:"rows"`
	Meta struct {
		From        string  `json:"from"`
		To          string  `json:"to"`
		RowsScanned int64   `json:"rowsScanned"`
		ElapsedMs   float64 `json:"elapsedMs"`
		// Source is "rollup", "raw" or "mixed"; "" from a server without
		// rollups.
		Source string `json:"source"`
	} `json:"meta"`
}

// expectation is what the answers must agree with.
type expectation struct {
	// Total is the count every query over the range must find: Baseline
	// (points in range before the run) plus the points written.
	Total, Baseline int64
	// Written sums the run's bodies; checked exactly only when Baseline is 0.
	Written   BodyStats
	Endpoints []string
	Top8      []string
	From, To  int64
}

// querySet returns the request bodies of QueryNames over [from, to).
func querySet(from, to int64, top8 []string) map[string][]byte {
	rng := map[string]int64{"from": from, "to": to}
	count := map[string]any{"type": "count"}
	errRate := errorRate(500)
	endpointAggs := endpointAggregations(errRate)
	qs := map[string]map[string]any{
		"overview_count": {
			"aggregations": map[string]any{"n": count, "avg": map[string]any{"type": "avg", "field": "double1"}},
		},
		"by_endpoint_8": {
			"filter":       []any{map[string]any{"field": "index1", "op": "in", "value": top8}},
			"groupBy":      []string{"index1"},
			"aggregations": endpointAggs,
		},
		"by_endpoint_all": {
			"groupBy":      []string{"index1"},
			"aggregations": endpointAggs,
			"limit":        100000, // every group, for the cross-checks
		},
		"timeseries_5m": {
			"interval": "5m",
			"limit":    100000, // every bucket of a long range
			"aggregations": map[string]any{
				"n":   count,
				"p95": map[string]any{"type": "quantile", "field": "double1", "q": 0.95},
			},
		},
		"timeseries_1h": {
			"interval": "1h",
			"limit":    100000, // every bucket of a long range
			"aggregations": map[string]any{
				"n":   count,
				"p95": map[string]any{"type": "quantile", "field": "double1", "q": 0.95},
			},
		},
		"error_rate_by_endpoint": {
			"groupBy":      []string{"index1"},
			"aggregations": map[string]any{"err": errRate},
			// Endpoints with the same rate are ordered by name, so that
			// every store picks the same ten.
			"orderBy": []any{map[string]any{"by": "err", "desc": true}, map[string]any{"by": "index1"}},
			"limit":   10,
		},
	}
	out := map[string][]byte{}
	for name, q := range qs {
		q["dataset"] = Dataset
		q["range"] = rng
		b, err := json.Marshal(q)
		if err != nil {
			panic("BUG: marshal query: " + err.Error())
		}
		out[name] = b
	}
	return out
}

// errorRate is the percentage of points with status (double2) >= status.
func errorRate(status int) map[string]any {
	return map[string]any{"type": "percentage", "filter": map[string]any{"field": "double2", "op": ">=", "value": status}}
}

// endpointAggregations are a by-endpoint query's figures: count, average
// and p50/p95/p99 latency (double1), and errRate as err.
func endpointAggregations(errRate map[string]any) map[string]any {
	return map[string]any{
		"n":   map[string]any{"type": "count"},
		"avg": map[string]any{"type": "avg", "field": "double1"},
		"p50": map[string]any{"type": "quantile", "field": "double1", "q": 0.5},
		"p95": map[string]any{"type": "quantile", "field": "double1", "q": 0.95},
		"p99": map[string]any{"type": "quantile", "field": "double1", "q": 0.99},
		"err": errRate,
	}
}

// peerQueryBody is by_endpoint_all as the peer comparison asks it, the
// structured query equal to vlStatsQuery: every endpoint over [from, to)
// with count, avg, p50, p95, p99 and the share of status >= 400.
func peerQueryBody(from, to int64) []byte {
	b, err := json.Marshal(map[string]any{
		"dataset":      Dataset,
		"range":        map[string]int64{"from": from, "to": to},
		"groupBy":      []string{"index1"},
		"aggregations": endpointAggregations(errorRate(400)),
		"limit":        100000,
	})
	if err != nil {
		panic("BUG: marshal query: " + err.Error())
	}
	return b
}

// withSource returns a query body asking for source ("auto", "raw" or
// "rollup"); "" leaves the body as it is.
func withSource(body []byte, source string) []byte {
	if source == "" || len(body) < 2 || body[0] != '{' {
		return body
	}
	s, _ := json.Marshal(source)
	out := make([]byte, 0, len(body)+len(s)+12)
	out = append(out, `{"source":`...)
	out = append(out, s...)
	if body[1] != '}' {
		out = append(out, ',')
	}
	return append(out, body[1:]...)
}

// runQuery sends one query and returns its answer and round-trip time.
func runQuery(ctx context.Context, c *client, key string, body []byte) (*queryAnswer, time.Duration, error) {
	var ans queryAnswer
	t0 := time.Now()
	err := c.do(ctx, "POST", "/api/v1/query", key, body, nil, &ans)
	return &ans, time.Since(t0), err
}

// countInRange returns the points of the dataset in [from, to).
func countInRange(ctx context.Context, c *client, key string, from, to int64) (int64, error) {
	body, _ := json.Marshal(map[string]any{
		"dataset": Dataset, "range": map[string]int64{"from": from, "to": to},
		"aggregations": map[string]any{"n": map[string]any{"type": "count"}},
	})
	ans, _, err := runQuery(ctx, c, key, body)
	if err != nil {
		return 0, err
	}
	if len(ans.Rows) == 0 {
		return 0, nil
	}
	n, err := num(ans.Rows[0], "n")
	return int64(n), err
}

// num reads a numeric value of a row.
func num(row map[string]any, key string) (float64, error) {
	v, ok := row[key].(float64)
	if !ok {
		return 0, fmt.Errorf("row %v: %q is %v, not a number", row, key, row[key])
	}
	return v, nil
}

func str(row map[string]any, key string) (string, error) {
	v, ok := row[key].(string)
	if !ok {
		return "", fmt.Errorf("row %v: %q is %v, not a string", row, key, row[key])
	}
	return v, nil
}

// near reports whether a and b agree to a relative 1e-9 (sums of doubles
// depend on their order).
func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*max(math.Abs(a), math.Abs(b))+1e-9
}

// endpointRow is one row of a per-endpoint answer.
type endpointRow struct {
	n, avg, p50, p95, p99, err float64
}

// endpointRows reads a by-endpoint answer, checking each row's sanity.
func endpointRows(ans *queryAnswer, withLatency bool) (map[string]endpointRow, error) {
	out := map[string]endpointRow{}
	for _, row := range ans.Rows {
		ep, err := str(row, "index1")
		if err != nil {
			return nil, err
		}
		if _, dup := out[ep]; dup {
			return nil, fmt.Errorf("endpoint %q appears twice", ep)
		}
		var r endpointRow
		if r.err, err = num(row, "err"); err != nil {
			return nil, err
		}
		if r.err < 0 || r.err > 100 {
			return nil, fmt.Errorf("endpoint %q: error rate %v is outside [0, 100]", ep, r.err)
		}
		if withLatency {
			for _, f := range []struct {
				key string
				dst *float64
			}{{"n", &r.n}, {"avg", &r.avg}, {"p50", &r.p50}, {"p95", &r.p95}, {"p99", &r.p99}} {
				if *f.dst, err = num(row, f.key); err != nil {
					return nil, err
				}
			}
			if r.n <= 0 || r.avg <= 0 || r.p50 <= 0 || r.p50 > r.p95 || r.p95 > r.p99 {
				return nil, fmt.Errorf("endpoint %q: implausible n=%v avg=%v p50=%v p95=%v p99=%v", ep, r.n, r.avg, r.p50, r.p95, r.p99)
			}
		}
		out[ep] = r
	}
	return out, nil
}

// checkAnswers verifies the answers against each other and exp; it fails
// loudly on the first disagreement.
func checkAnswers(ans map[string]*queryAnswer, exp expectation) error {
	var errs []error
	fail := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("query %s: %s", name, fmt.Sprintf(format, args...)))
	}
	// overview_count: one row, every point.
	if a := ans["overview_count"]; len(a.Rows) != 1 {
		fail("overview_count", "%d rows, want 1", len(a.Rows))
	} else {
		n, err := num(a.Rows[0], "n")
		avg, err2 := num(a.Rows[0], "avg")
		switch {
		case err != nil || err2 != nil:
			fail("overview_count", "%v", errors.Join(err, err2))
		case int64(n) != exp.Total:
			fail("overview_count", "count is %d, want %d (%d points written + %d there before)", int64(n), exp.Total, exp.Written.Points, exp.Baseline)
		case exp.Baseline == 0 && !nearRel(avg, exp.Written.LatencySum/float64(exp.Written.Points), 1e-6):
			fail("overview_count", "avg latency is %v, want %v", avg, exp.Written.LatencySum/float64(exp.Written.Points))
		}
	}
	// by_endpoint_all: the endpoints' counts add up, error rates match.
	all, err := endpointRows(ans["by_endpoint_all"], true)
	if err != nil {
		fail("by_endpoint_all", "%v", err)
	} else {
		var n, errPts float64
		for ep, r := range all {
			n += r.n
			errPts += r.n * r.err / 100
			if exp.Baseline == 0 && !slices.Contains(exp.Endpoints, ep) {
				fail("by_endpoint_all", "unknown endpoint %q", ep)
			}
		}
		if int64(n) != exp.Total {
			fail("by_endpoint_all", "the groups' counts sum to %d, want %d", int64(n), exp.Total)
		}
		if exp.Baseline == 0 && math.Abs(errPts-float64(exp.Written.Errors5xx)) > 0.5+1e-6*errPts {
			fail("by_endpoint_all", "the error rates stand for %.1f points with status >= 500, want %d", errPts, exp.Written.Errors5xx)
		}
	}
	// by_endpoint_8: the 8 popular endpoints, agreeing with by_endpoint_all.
	top, err := endpointRows(ans["by_endpoint_8"], true)
	switch {
	case err != nil:
		fail("by_endpoint_8", "%v", err)
	case all != nil:
		want := 0
		for _, ep := range exp.Top8 {
			if _, ok := all[ep]; ok {
				want++
			}
		}
		if len(top) != want {
			fail("by_endpoint_8", "%d groups, want %d", len(top), want)
		}
		for ep, r := range top {
			a, ok := all[ep]
			switch {
			case !slices.Contains(exp.Top8, ep):
				fail("by_endpoint_8", "endpoint %q is not one of the 8 filtered", ep)
			case !ok || r.n != a.n || !near(r.avg, a.avg) || !near(r.p50, a.p50) || !near(r.p95, a.p95) || !near(r.p99, a.p99) || !near(r.err, a.err):
				fail("by_endpoint_8", "endpoint %q: %+v disagrees with by_endpoint_all's %+v", ep, r, a)
			}
		}
	}
	// timeseries_*: buckets in order, inside the range, counts add up.
	for _, name := range QueryNames {
		iv, ok := seriesIntervals[name]
		a := ans[name]
		if !ok || a == nil {
			continue
		}
		var n float64
		prev := ""
		maxBuckets := int((exp.To-exp.From)/iv) + 1
		if len(a.Rows) > maxBuckets {
			fail(name, "%d buckets, want at most %d", len(a.Rows), maxBuckets)
		}
		for _, row := range a.Rows {
			t, err := str(row, "t")
			c, err2 := num(row, "n")
			p95, err3 := num(row, "p95")
			if err := errors.Join(err, err2, err3); err != nil {
				fail(name, "%v", err)
				break
			}
			tt, perr := time.Parse(time.RFC3339Nano, t)
			switch {
			case perr != nil:
				fail(name, "bucket %q: %v", t, perr)
			case t <= prev:
				fail(name, "bucket %s follows %s", t, prev)
			case tt.UnixMilli() < exp.From-iv || tt.UnixMilli() >= exp.To:
				fail(name, "bucket %s is outside the range", t)
			case c <= 0 || p95 <= 0:
				fail(name, "bucket %s: n=%v p95=%v", t, c, p95)
			}
			prev = t
			n += c
		}
		if int64(n) != exp.Total {
			fail(name, "the buckets' counts sum to %d, want %d", int64(n), exp.Total)
		}
	}
	// error_rate_by_endpoint: the 10 worst, in order, agreeing with by_endpoint_all.
	worst, err := endpointRows(ans["error_rate_by_endpoint"], false)
	if err != nil {
		fail("error_rate_by_endpoint", "%v", err)
	} else {
		if want := min(10, len(all)); len(ans["error_rate_by_endpoint"].Rows) != want {
			fail("error_rate_by_endpoint", "%d rows, want %d", len(ans["error_rate_by_endpoint"].Rows), want)
		}
		prev := math.Inf(1)
		for _, row := range ans["error_rate_by_endpoint"].Rows {
			ep, _ := str(row, "index1")
			r := worst[ep]
			if r.err > prev {
				fail("error_rate_by_endpoint", "not in descending order: %v after %v", r.err, prev)
			}
			prev = r.err
			if a, ok := all[ep]; all != nil && (!ok || !near(a.err, r.err)) {
				fail("error_rate_by_endpoint", "endpoint %q: error rate %v disagrees with by_endpoint_all's %v", ep, r.err, a.err)
			}
		}
		// Nothing outside the 10 may be worse than the 10th.
		for ep, a := range all {
			if _, in := worst[ep]; !in && len(worst) > 0 && a.err > prev && !near(a.err, prev) {
				fail("error_rate_by_endpoint", "endpoint %q (error rate %v) is missing from the top 10", ep, a.err)
			}
		}
	}
	return errors.Join(errs...)
}

func nearRel(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*max(math.Abs(a), math.Abs(b))
}
