package bench

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// consistentAnswers builds answers that agree with each other and with the
// returned expectation: 12 endpoints, endpoint i having 100·(i+1) points and
// an error rate of i %.
func consistentAnswers() (map[string]*queryAnswer, expectation) {
	var eps []string
	for i := range 12 {
		eps = append(eps, fmt.Sprintf("/e%d", i))
	}
	exp := expectation{Endpoints: eps, Top8: eps[:8], From: testFrom, To: testTo}
	all := &queryAnswer{}
	top := &queryAnswer{}
	worst := &queryAnswer{}
	var latSum float64
	for i, ep := range eps {
		n := float64(100 * (i + 1))
		row := map[string]any{"index1": ep, "n": n, "avg": 10.0 + float64(i), "p50": 8.0, "p95": 30.0, "p99": 60.0, "err": float64(i)}
		all.Rows = append(all.Rows, row)
		if i < 8 {
			top.Rows = append(top.Rows, row)
		}
		exp.Written.Points += int64(n)
		exp.Written.Errors5xx += int64(n * float64(i) / 100)
		latSum += n * (10 + float64(i))
	}
	exp.Written.LatencySum = latSum
	exp.Total = exp.Written.Points
	for i := 11; i >= 2; i-- {
		worst.Rows = append(worst.Rows, map[string]any{"index1": eps[i], "err": float64(i)})
	}
	ts := &queryAnswer{}
	buckets := exp.Total / 100
	for b := range buckets {
		t := testFrom + b*300_000
		ts.Rows = append(ts.Rows, map[string]any{"t": formatRFC3339(t), "n": 100.0, "p95": 40.0})
	}
	overview := &queryAnswer{Rows: []map[string]any{{"n": float64(exp.Total), "avg": latSum / float64(exp.Total)}}}
	return map[string]*queryAnswer{
		"overview_count": overview, "by_endpoint_8": top, "by_endpoint_all": all,
		"timeseries_5m": ts, "error_rate_by_endpoint": worst,
	}, exp
}

func formatRFC3339(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}

func TestCheckAnswers(t *testing.T) {
	ans, exp := consistentAnswers()
	if err := checkAnswers(ans, exp); err != nil {
		t.Fatalf("consistent answers: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(a map[string]*queryAnswer, e *expectation)
		want   string
	}{
		{"count", func(a map[string]*queryAnswer, e *expectation) {
			a["overview_count"].Rows[0]["n"] = float64(e.Total - 1)
		}, "overview_count: count is"},
		{"avg", func(a map[string]*queryAnswer, e *expectation) { a["overview_count"].Rows[0]["avg"] = 1.0 }, "avg latency"},
		{"group sum", func(a map[string]*queryAnswer, e *expectation) {
			a["by_endpoint_all"].Rows = a["by_endpoint_all"].Rows[1:]
		}, "sum to"},
		{"quantile order", func(a map[string]*queryAnswer, e *expectation) { a["by_endpoint_all"].Rows[3]["p95"] = 100.0 }, "implausible"},
		{"top8 disagrees", func(a map[string]*queryAnswer, e *expectation) {
			r := map[string]any{}
			for k, v := range a["by_endpoint_8"].Rows[2] {
				r[k] = v
			}
			r["p99"] = 61.0
			a["by_endpoint_8"].Rows[2] = r
		}, "disagrees with by_endpoint_all"},
		{"top8 missing", func(a map[string]*queryAnswer, e *expectation) { a["by_endpoint_8"].Rows = a["by_endpoint_8"].Rows[:7] }, "7 groups, want 8"},
		{"5xx", func(a map[string]*queryAnswer, e *expectation) { e.Written.Errors5xx += 5 }, "status >= 500"},
		{"buckets", func(a map[string]*queryAnswer, e *expectation) {
			rows := a["timeseries_5m"].Rows
			rows[0], rows[1] = rows[1], rows[0]
		}, "follows"},
		{"order", func(a map[string]*queryAnswer, e *expectation) { slices.Reverse(a["error_rate_by_endpoint"].Rows) }, "not in descending order"},
		{"top 10", func(a map[string]*queryAnswer, e *expectation) {
			a["error_rate_by_endpoint"].Rows[9] = map[string]any{"index1": "/e0", "err": 0.0}
		}, "missing from the top 10"},
		{"not a number", func(a map[string]*queryAnswer, e *expectation) { a["overview_count"].Rows[0]["n"] = nil }, "not a number"},
	} {
		ans, exp := consistentAnswers()
		tc.mutate(ans, &exp)
		err := checkAnswers(ans, exp)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: checkAnswers = %v; want an error with %q", tc.name, err, tc.want)
		}
	}
	// With points there before the run, only the totals are checked.
	ans, exp = consistentAnswers()
	exp.Baseline, exp.Written.Points, exp.Written.LatencySum = 100, exp.Total-100, 0
	if err := checkAnswers(ans, exp); err != nil {
		t.Errorf("with a baseline: %v", err)
	}
}

func TestQuerySet(t *testing.T) {
	top8 := NewGenerator(1, testFrom, testTo).Top(8)
	qs := querySet(testFrom, testTo, top8)
	if len(qs) != len(QueryNames) {
		t.Fatalf("%d queries; want %d", len(qs), len(QueryNames))
	}
	for _, name := range QueryNames {
		var q map[string]any
		if err := json.Unmarshal(qs[name], &q); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rng, _ := q["range"].(map[string]any)
		if q["dataset"] != Dataset || rng["from"] != float64(testFrom) || rng["to"] != float64(testTo) {
			t.Errorf("%s: dataset %v, range %v", name, q["dataset"], q["range"])
		}
	}
	var q8 struct {
		Filter []struct {
			Field, Op string
			Value     []string
		}
		GroupBy      []string
		Aggregations map[string]map[string]any
	}
	if err := json.Unmarshal(qs["by_endpoint_8"], &q8); err != nil {
		t.Fatal(err)
	}
	if len(q8.Filter) != 1 || q8.Filter[0].Field != "index1" || q8.Filter[0].Op != "in" || !slices.Equal(q8.Filter[0].Value, top8) {
		t.Errorf("by_endpoint_8 filter = %+v", q8.Filter)
	}
	var types []string
	for name, a := range q8.Aggregations {
		types = append(types, fmt.Sprintf("%s:%v %v", name, a["type"], a["q"]))
	}
	slices.Sort(types)
	want := []string{"avg:avg <nil>", "err:percentage <nil>", "n:count <nil>", "p50:quantile 0.5", "p95:quantile 0.95", "p99:quantile 0.99"}
	if !slices.Equal(types, want) {
		t.Errorf("by_endpoint_8 aggregations = %v; want %v", types, want)
	}
}
