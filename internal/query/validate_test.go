package query

import (
	"testing"

	"github.com/alidade/alidade/internal/point"
)

// TestValidate breaks one invariant of a parsed query at a time.
func TestValidate(t *testing.T) {
	body := `{"dataset": "requests", "groupBy": ["endpoint"], "interval": "1h", "filter": {"method": "GET"},
	  "aggregations": {"n": {"type": "count"}, "q": {"type": "quantiles", "field": "duration", "qs": [0.5]},
	  "t2": {"type": "sum", "field": "tokens", "dataset": "ai_usage"}}, "orderBy": ["-n"]}`
	for name, breakIt := range map[string]func(q *Query){
		"from after to":        func(q *Query) { q.From = q.To },
		"long range":           func(q *Query) { q.From = q.To - MaxRange.Milliseconds() - 1 },
		"short interval":       func(q *Query) { q.Interval = 999 },
		"many buckets":         func(q *Query) { q.Interval = 1000 },
		"reserved group":       func(q *Query) { q.GroupBy[0] = "t" },
		"many groups":          func(q *Query) { q.GroupBy = make([]string, 9) },
		"no subs":              func(q *Query) { q.Subs = nil },
		"bad dataset":          func(q *Query) { q.Subs[0].Dataset = "A" },
		"same dataset twice":   func(q *Query) { q.Subs[1].Dataset = "requests" },
		"sub range differs":    func(q *Query) { q.Subs[1].From++ },
		"no max groups":        func(q *Query) { q.Subs[0].MaxGroups = 0 },
		"sub groupBy count":    func(q *Query) { q.Subs[1].GroupBy = nil },
		"group kinds differ":   func(q *Query) { q.Subs[1].GroupBy[0] = double(1) },
		"bad blob":             func(q *Query) { q.Subs[0].GroupBy[0] = blob(21) },
		"bad double":           func(q *Query) { q.Subs[0].GroupBy[0] = double(0) },
		"bad kind":             func(q *Query) { q.Subs[0].GroupBy[0] = point.Field{Kind: 99} },
		"bad op":               func(q *Query) { q.Subs[0].Filter[0].Op = "~" },
		"numeric string value": func(q *Query) { q.Subs[0].Filter[0] = fc(double(1), OpEq, "x") },
		"string float value":   func(q *Query) { q.Subs[0].Filter[0] = fc(blob(1), OpEq, 1.0) },
		"contains on number":   func(q *Query) { q.Subs[0].Filter[0] = fc(double(1), OpContains, 1.0) },
		"empty in":             func(q *Query) { q.Subs[0].Filter[0] = fc(blob(1), OpIn, []string{}) },
		"in of wrong type":     func(q *Query) { q.Subs[0].Filter[0] = fc(blob(1), OpIn, []float64{1}) },
		"in of any":            func(q *Query) { q.Subs[0].Filter[0] = fc(blob(1), OpIn, []any{"a"}) },
		"nan value":            func(q *Query) { q.Subs[0].Filter[0] = fc(double(1), OpEq, nan()) },
		"no aggs":              func(q *Query) { q.Subs[1].Aggs = nil },
		"bad agg type":         func(q *Query) { q.Subs[0].Aggs[0].Type = "median" },
		"sum of string":        func(q *Query) { q.Subs[1].Aggs[0].Field = blob(1) },
		"bad q":                func(q *Query) { q.Subs[0].Aggs[1].Type, q.Subs[0].Aggs[1].Q = AggQuantile, 1 },
		"no qs":                func(q *Query) { q.Subs[0].Aggs[1].Qs = nil },
		"repeated qs":          func(q *Query) { q.Subs[0].Aggs[1].Qs = []float64{0.5, 0.5} },
		"percentage no filter": func(q *Query) { q.Subs[0].Aggs[0].Type = AggPercentage },
		"no columns":           func(q *Query) { q.Columns = nil },
		"bad column name":      func(q *Query) { q.Columns[0].Name = "1" },
		"column clash":         func(q *Query) { q.Columns[0].Name = "endpoint" },
		"repeated column":      func(q *Query) { q.Columns[1].Name = "n" },
		"column out of range":  func(q *Query) { q.Columns[0].Agg = 5 },
		"column reused":        func(q *Query) { q.Columns[1] = Column{Name: "q", Sub: 0, Agg: 0} },
		"bad order":            func(q *Query) { q.OrderBy[0].Key = "nope" },
		"repeated order":       func(q *Query) { q.OrderBy = append(q.OrderBy, q.OrderBy[0]) },
		"zero limit":           func(q *Query) { q.Limit = 0 },
		"big limit":            func(q *Query) { q.Limit = MaxLimit + 1 },
	} {
		q := mustParse(t, body)
		breakIt(q)
		if err := q.Validate(); err == nil {
			t.Errorf("Validate(query with %s) = nil; want an error", name)
		}
	}
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}
