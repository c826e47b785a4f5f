package storetest

import (
	"fmt"
	"testing"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
)

// widePoints returns n points of dataset "growing" at ts, ts+1, … with nb
// blobs and nd doubles, each value naming its position.
func widePoints(g *gen, n int, ts int64, nb, nd int) []point.Point {
	pts := make([]point.Point, n)
	for i := range pts {
		p := point.Point{Dataset: "growing", Timestamp: ts + int64(i), Index: g.pick(methods, 0.5, 0.3)}
		for j := 1; j <= nb; j++ {
			p.Blobs = append(p.Blobs, fmt.Sprintf("b%d-%d", j, g.rng.IntN(3)))
		}
		for j := 1; j <= nd; j++ {
			p.Doubles = append(p.Doubles, float64(j*100+g.rng.IntN(10)))
		}
		pts[i] = p
	}
	return pts
}

// testColumnGrowth writes points with 2 blobs and 1 double, then wider points
// (5 blobs, 4 doubles) of the same dataset on the same day and on other days;
// the narrow points read "" and 0 in the columns they never had.
func testColumnGrowth(t *testing.T, open Opener) {
	dir := t.TempDir()
	b := openBackend(t, open, dir)
	project := createProject(t, b, "growth")
	ref := &reference{}
	g := newGen(4)
	nowMs := now.UnixMilli()
	today, yesterday, lastWeek := nowMs-2*hourMs, nowMs-dayMs-hourMs, nowMs-7*dayMs

	batch := func(pts []point.Point) store.Batch { return store.Batch{Project: project, Points: pts} }
	// Narrow first, on two days; then wide on one of them and on a new day;
	// then narrow again on a day first created after the dataset grew.
	appendPoints(t, b, ref, batch(widePoints(g, 200, today, 2, 1)), batch(widePoints(g, 150, yesterday, 2, 1)))
	appendPoints(t, b, ref, batch(widePoints(g, 120, today+1000, 5, 4)))
	appendPoints(t, b, ref, batch(widePoints(g, 80, lastWeek, 5, 4)))
	appendPoints(t, b, ref, batch(widePoints(g, 60, lastWeek-dayMs, 1, 0)))
	// Narrow and wide in one call on one day.
	appendPoints(t, b, ref, batch(append(widePoints(g, 30, yesterday+5000, 0, 2), widePoints(g, 40, yesterday+6000, 3, 3)...)))

	all := query.Sub{Project: project, Dataset: "growing", From: nowMs - 30*dayMs, To: nowMs, MaxGroups: 1000}
	cols := []query.Agg{
		{Type: query.AggCount},
		{Type: query.AggSum, Field: double(4)},
		{Type: query.AggMin, Field: double(4)},
		{Type: query.AggMax, Field: double(3)},
		{Type: query.AggUniq, Field: blob(5)},
		{Type: query.AggUniq, Field: blob(2)},
		{Type: query.AggQuantile, Field: double(4), Q: 0.5},
		{Type: query.AggCount, Filter: []query.Filter{filter(blob(5), query.OpEq, "")}},
		{Type: query.AggCount, Filter: []query.Filter{filter(double(4), query.OpEq, 0.0)}},
	}
	check := func(t *testing.T) {
		t.Helper()
		for _, c := range []struct {
			name string
			edit func(s *query.Sub)
		}{
			{"by blob5", func(s *query.Sub) { s.GroupBy = []point.Field{blob(5)} }},
			{"by blob5 and double4", func(s *query.Sub) { s.GroupBy = []point.Field{blob(5), double(4)} }},
			{"by blob3 every day", func(s *query.Sub) { s.GroupBy = []point.Field{blob(3)}; s.Interval = dayMs }},
			{"ungrouped", func(s *query.Sub) {}},
			{"blob5 empty", func(s *query.Sub) { s.Filter = []query.Filter{filter(blob(5), query.OpEq, "")} }},
			{"double4 zero", func(s *query.Sub) { s.Filter = []query.Filter{filter(double(4), query.OpLe, 0.0)} }},
			{"blob5 set", func(s *query.Sub) {
				s.Filter = []query.Filter{filter(blob(5), query.OpStartsWith, "b5")}
				s.GroupBy = []point.Field{blob(1)}
			}},
			// A column no point ever had reads "" and 0 too.
			{"blob20 and double20", func(s *query.Sub) {
				s.GroupBy = []point.Field{blob(20), double(20)}
				s.Aggs = []query.Agg{{Type: query.AggCount}, {Type: query.AggSum, Field: double(20)}}
			}},
		} {
			t.Run(c.name, func(t *testing.T) {
				sub := all
				sub.Aggs = cols
				c.edit(&sub)
				checkSub(t, b, ref, &sub)
			})
		}
	}
	t.Run("before reopening", func(t *testing.T) {
		check(t)
		// By hand: the "" group of blob5 holds every point narrower than 5 blobs.
		narrow := 200 + 150 + 60 + 30 + 40
		sub := all
		sub.GroupBy = []point.Field{blob(5)}
		sub.Aggs = []query.Agg{{Type: query.AggCount}}
		res := execute(t, b, &sub)
		found := false
		for _, r := range res.Rows {
			if r.Groups[0] == "" {
				found = true
				if r.Values[0] != float64(narrow) {
					t.Errorf("Execute(%v): group \"\" count = %v; want %d", describeSub(&sub), r.Values[0], narrow)
				}
			}
		}
		if !found {
			t.Errorf("Execute(%v) = %+v; want a \"\" group of %d", describeSub(&sub), res.Rows, narrow)
		}
	})

	// After reopening, the widths are read back from storage: narrow points
	// go to wide days and wide points to narrow days.
	closeBackend(t, b)
	b = openBackend(t, open, dir)
	appendPoints(t, b, ref, batch(widePoints(g, 25, today+9000, 1, 1)))
	appendPoints(t, b, ref, batch(widePoints(g, 35, lastWeek-dayMs+9000, 6, 5)))
	t.Run("after reopening", check)
}
