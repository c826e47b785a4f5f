package rollup

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
)

// refExecutor answers Subs with the reference evaluator, as a raw-points
// backend would.
type refExecutor struct{ pts []ppoint }

func (x refExecutor) Execute(_ context.Context, sub *query.Sub) (*query.SubResult, error) {
	rows, scanned := refExecute(x.pts, sub)
	res := &query.SubResult{RowsScanned: scanned}
	for _, r := range rows {
		if r.n == 0 && (len(sub.GroupBy) > 0 || sub.Interval > 0) {
			continue
		}
		res.Rows = append(res.Rows, query.SubRow{Groups: r.groups, Bucket: r.bucket, Values: r.values})
	}
	return res, nil
}

// TestThroughEngine runs structured queries through query.Engine with the
// rollup as its Executor, and with the reference as a raw backend: the
// rollup's SubResults must satisfy the engine's contract and the responses
// must agree (quantiles within 1%).
func TestThroughEngine(t *testing.T) {
	pts, r := scenarioOnce()
	var proj1 []ppoint
	for _, p := range pts {
		if p.project == 1 {
			proj1 = append(proj1, p)
		}
	}
	now := time.UnixMilli(T0 + 3*dayMs).UTC()
	schemas := func(_ int64, ds string) *point.Schema { return point.Builtin(ds) }
	rollupEngine := &query.Engine{Exec: r, Schemas: schemas, Now: func() time.Time { return now }}
	rawEngine := &query.Engine{Exec: refExecutor{proj1}, Schemas: schemas, Now: func() time.Time { return now }}
	bodies := []string{
		`{"dataset": "requests", "range": "24h",
		 "filter": [{"field": "status", "op": ">=", "value": 400}],
		 "groupBy": ["index1"], "interval": "1h",
		 "aggregations": {
		   "requestCount": {"type": "count"},
		   "avgLatency":   {"type": "avg", "field": "duration"},
		   "p95":          {"type": "quantile", "field": "duration", "q": 0.95},
		   "ps":           {"type": "quantiles", "field": "duration", "qs": [0.5, 0.99]},
		   "errorRate":    {"type": "percentage", "filter": {"field": "status", "operator": ">=", "value": 500}},
		   "tokens":       {"type": "sum", "field": "tokens", "dataset": "ai_usage", "filter": {"model": "gpt-x"}}},
		 "orderBy": [{"by": "requestCount", "desc": true}], "limit": 1000}`,
		`{"dataset": "requests", "range": {"from": "2025-03-01T00:00:00Z", "to": "2025-03-04T00:00:00Z"},
		 "aggregations": {"n": {"type": "count"}, "p99": {"type": "quantile", "field": "duration", "q": 0.99},
		   "methods": {"type": "uniq", "field": "method"}, "maxStatus": {"type": "max", "field": "status"}}}`,
		`{"dataset": "ai_usage", "range": "48h", "interval": "6h", "groupBy": ["provider", "priced"],
		 "aggregations": {"calls": {"type": "count"}, "lat": {"type": "quantiles", "field": "latency", "qs": [0.5, 0.9]}}}`,
	}
	for i, body := range bodies {
		got, err := rollupEngine.Run(context.Background(), 1, []byte(body))
		if err != nil {
			t.Fatalf("body %d: rollup: %v", i, err)
		}
		want, err := rawEngine.Run(context.Background(), 1, []byte(body))
		if err != nil {
			t.Fatalf("body %d: reference: %v", i, err)
		}
		if got.Meta.RowsScanned != want.Meta.RowsScanned || len(got.Rows) != len(want.Rows) || len(got.Rows) == 0 {
			t.Fatalf("body %d: %d rows from %d points, want %d rows from %d points", i, len(got.Rows), got.Meta.RowsScanned, len(want.Rows), want.Meta.RowsScanned)
		}
		for j := range got.Rows {
			if msg := closeValues(got.Rows[j].Values, want.Rows[j].Values); msg != "" {
				t.Errorf("body %d row %d: %s\n got %v\nwant %v", i, j, msg, got.Rows[j].Values, want.Rows[j].Values)
			}
		}
	}
}

// closeValues compares response values: strings exactly, numbers within
// 1% (quantiles; everything else is far closer), objects recursively.
func closeValues(a, b []any) string {
	if len(a) != len(b) {
		return "lengths differ"
	}
	for i := range a {
		switch x := a[i].(type) {
		case float64:
			y, ok := b[i].(float64)
			if !ok || math.Abs(x-y) > 0.01*math.Abs(y)+1e-9 {
				return fmt.Sprintf("value %d: %v vs %v", i, a[i], b[i])
			}
		case query.Object:
			y, ok := b[i].(query.Object)
			if !ok {
				return fmt.Sprintf("value %d: %T vs %T", i, a[i], b[i])
			}
			if msg := closeValues(x.Values, y.Values); msg != "" {
				return msg
			}
		default:
			if a[i] != b[i] {
				return fmt.Sprintf("value %d: %v vs %v", i, a[i], b[i])
			}
		}
	}
	return ""
}
