package storetest

import (
	"testing"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
)

// testEmpty checks Subs that see no points: without groupBy and interval
// one row (count 0, sum 0, every other aggregation nil); with either, no row.
// A backend may reach "no points" in several ways (no data at all, no
// storage for the range, storage with no matching points), and each must
// answer the same.
func testEmpty(t *testing.T, open Opener) {
	b := openBackend(t, open, t.TempDir())
	project := createProject(t, b, "empty")
	other := createProject(t, b, "other")
	ref := &reference{}
	g := newGen(5)
	nowMs := now.UnixMilli()
	// Points at the start and end of one day, of this project and another.
	day := (nowMs/dayMs - 1) * dayMs
	appendPoints(t, b, ref,
		store.Batch{Project: project, Points: []point.Point{g.request(day + 1000), g.request(day + dayMs - 1000)}},
		store.Batch{Project: other, Points: g.requests(100, day+2*hourMs, day+3*hourMs)},
	)

	aggs := allAggs()
	want := make([]any, len(aggs))
	for i, a := range aggs {
		if a.Type == query.AggCount || a.Type == query.AggSum {
			want[i] = 0.0
		}
	}
	cases := []struct {
		name     string
		dataset  string
		from, to int64
		filter   []query.Filter
	}{
		{"dataset never written", "nothing", 0, nowMs + dayMs, nil},
		{"range with no storage", "requests", day - 5*dayMs, day - 4*dayMs, nil},
		{"range inside a stored day", "requests", day + hourMs, day + 5*hourMs, nil},
		{"another project's points only", "requests", day + 2*hourMs, day + 3*hourMs, nil},
		{"filter matches nothing", "requests", day, day + dayMs, []query.Filter{filter(fMethod, query.OpEq, "TRACE")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sub := query.Sub{Project: project, Dataset: c.dataset, From: c.from, To: c.to, Filter: c.filter, MaxGroups: 100, Aggs: aggs}
			res := execute(t, b, &sub)
			if len(res.Rows) != 1 || res.RowsScanned != 0 {
				t.Fatalf("Execute(%v) = %d rows, RowsScanned %d; want 1 row, RowsScanned 0", describeSub(&sub), len(res.Rows), res.RowsScanned)
			}
			r := res.Rows[0]
			if len(r.Groups) != 0 || r.Bucket != 0 || len(r.Values) != len(aggs) {
				t.Fatalf("Execute(%v) = %+v; want no groups, bucket 0 and %d values", describeSub(&sub), r, len(aggs))
			}
			for i, a := range aggs {
				if msg := compareValue(a, r.Values[i], want[i], nil); msg != "" {
					t.Errorf("Execute(%v): %s = %s", describeSub(&sub), describeAgg(a), msg)
				}
			}
			// The reference agrees.
			compareResult(t, &sub, res, ref.execute(&sub))

			for _, grouped := range []func(s *query.Sub){
				func(s *query.Sub) { s.GroupBy = []point.Field{fIndex} },
				func(s *query.Sub) { s.Interval = hourMs },
				func(s *query.Sub) { s.GroupBy = []point.Field{fStatus}; s.Interval = dayMs },
			} {
				g := sub
				grouped(&g)
				if res := execute(t, b, &g); len(res.Rows) != 0 || res.RowsScanned != 0 {
					t.Errorf("Execute(%v) = %+v; want no rows", describeSub(&g), res)
				}
			}
		})
	}

	t.Run("aggregation filters that match nothing", func(t *testing.T) {
		// Points are seen, but each aggregation's own filter excludes them
		// all: count and sum 0, the rest nil.
		none := []query.Filter{filter(fIndex, query.OpEq, "/nowhere")}
		var aggs []query.Agg
		for _, a := range allAggs() {
			if a.Type != query.AggPercentage {
				a.Filter = none
				aggs = append(aggs, a)
			}
		}
		for _, groupBy := range [][]point.Field{nil, {fMethod}} {
			sub := query.Sub{Project: project, Dataset: "requests", From: day, To: day + dayMs, GroupBy: groupBy, MaxGroups: 100, Aggs: aggs}
			res := execute(t, b, &sub)
			if len(res.Rows) == 0 || res.RowsScanned != 2 {
				t.Fatalf("Execute(%v) = %d rows, RowsScanned %d; want rows, RowsScanned 2", describeSub(&sub), len(res.Rows), res.RowsScanned)
			}
			for _, r := range res.Rows {
				for i, a := range aggs {
					var want any
					if a.Type == query.AggCount || a.Type == query.AggSum {
						want = 0.0
					}
					if msg := compareValue(a, r.Values[i], want, nil); msg != "" {
						t.Errorf("Execute(%v): %s = %s", describeSub(&sub), describeAgg(a), msg)
					}
				}
			}
		}
	})
}
