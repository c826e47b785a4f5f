package storetest

import (
	"testing"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
)

// testSampleInterval checks that a point stands for SampleInterval points:
// count = Σw, sum = Σw·x, avg and percentage weighted, quantiles weighted
// (as if each point were repeated w times), min, max and uniq unaffected,
// and RowsScanned counting stored points.
func testSampleInterval(t *testing.T, open Opener) {
	b := openBackend(t, open, t.TempDir())
	project := createProject(t, b, "sampled")
	ref := &reference{}
	nowMs := now.UnixMilli()

	t.Run("by hand", func(t *testing.T) {
		// x=1 once, x=2 standing for 5, x=3 standing for 20: 26 points.
		pts := []point.Point{
			{Dataset: "tiny", Timestamp: nowMs - 3000, Index: "a", Doubles: []float64{1}, SampleInterval: 1},
			{Dataset: "tiny", Timestamp: nowMs - 2000, Index: "b", Doubles: []float64{2}, SampleInterval: 5},
			{Dataset: "tiny", Timestamp: nowMs - 1000, Index: "c", Doubles: []float64{3}, SampleInterval: 20},
		}
		appendPoints(t, b, ref, store.Batch{Project: project, Points: pts})
		x := double(1)
		sub := query.Sub{Project: project, Dataset: "tiny", From: nowMs - dayMs, To: nowMs, MaxGroups: 1, Aggs: []query.Agg{
			{Type: query.AggCount},
			{Type: query.AggSum, Field: x},
			{Type: query.AggAvg, Field: x},
			{Type: query.AggMin, Field: x},
			{Type: query.AggMax, Field: x},
			{Type: query.AggPercentage, Filter: []query.Filter{filter(x, query.OpGe, 2.0)}},
			{Type: query.AggQuantile, Field: x, Q: 0.5},
			{Type: query.AggQuantiles, Field: x, Qs: []float64{0.02, 0.1, 0.5}},
			{Type: query.AggUniq, Field: x},
			{Type: query.AggUniq, Field: fIndex},
			{Type: query.AggCount, Filter: []query.Filter{filter(fSI, query.OpGt, 1.0)}},
		}}
		// The 26 values in order: 1, then 2 five times, then 3 twenty times.
		var sorted []float64
		sorted = append(sorted, 1, 2, 2, 2, 2, 2)
		for range 20 {
			sorted = append(sorted, 3)
		}
		want := []any{26.0, 71.0, 71.0 / 26, 1.0, 3.0, 100 * 25.0 / 26, 3.0, []float64{1.5, 2, 3}, 3.0, 3.0, 25.0}
		// With and without quantiles, since a backend may compute weighted
		// quantiles in a way of their own.
		noQuantiles := sub
		noQuantiles.Aggs = nil
		var noQuantilesWant []any
		for i, a := range sub.Aggs {
			if a.Type != query.AggQuantile && a.Type != query.AggQuantiles {
				noQuantiles.Aggs = append(noQuantiles.Aggs, a)
				noQuantilesWant = append(noQuantilesWant, want[i])
			}
		}
		for _, c := range []struct {
			sub  query.Sub
			want []any
		}{{sub, want}, {noQuantiles, noQuantilesWant}} {
			res := execute(t, b, &c.sub)
			if len(res.Rows) != 1 || res.RowsScanned != 3 {
				t.Fatalf("Execute(%v) = %d rows, RowsScanned %d; want 1 row, RowsScanned 3 (stored points, not Σw)", describeSub(&c.sub), len(res.Rows), res.RowsScanned)
			}
			for i, a := range c.sub.Aggs {
				if msg := compareValue(a, res.Rows[0].Values[i], c.want[i], sorted); msg != "" {
					t.Errorf("Execute(%v): %s = %s", describeSub(&c.sub), describeAgg(a), msg)
				}
			}
		}
		checkStats(t, b, ref, project, "tiny")
	})

	g := newGen(3)
	pts := g.requests(3000, nowMs-2*dayMs, nowMs)
	weights := []uint32{0, 1, 5, 20}
	for i := range pts {
		pts[i].Dataset = "sampled"
		pts[i].SampleInterval = weights[g.rng.IntN(len(weights))]
	}
	appendPoints(t, b, ref, store.Batch{Project: project, Points: pts})
	base := query.Sub{Project: project, Dataset: "sampled", From: nowMs - 3*dayMs, To: nowMs, MaxGroups: 100000, Aggs: allAggs()}
	siAggs := []query.Agg{
		{Type: query.AggCount},
		{Type: query.AggSum, Field: fSI},
		{Type: query.AggAvg, Field: fSI},
		{Type: query.AggMin, Field: fSI},
		{Type: query.AggMax, Field: fSI},
		{Type: query.AggQuantiles, Field: fSI, Qs: []float64{0.1, 0.5, 0.9}},
		{Type: query.AggUniq, Field: fSI},
		{Type: query.AggQuantile, Field: fLatency, Q: 0.5, Filter: []query.Filter{filter(fSI, query.OpEq, 20.0)}},
	}
	var noQuantiles []query.Agg
	for _, a := range allAggs() {
		if a.Type != query.AggQuantile && a.Type != query.AggQuantiles {
			noQuantiles = append(noQuantiles, a)
		}
	}
	cases := []struct {
		name string
		edit func(s *query.Sub)
	}{
		{"ungrouped", func(s *query.Sub) {}},
		{"ungrouped without quantiles", func(s *query.Sub) { s.Aggs = noQuantiles }},
		{"by region every 6 hours without quantiles", func(s *query.Sub) {
			s.Aggs = noQuantiles
			s.GroupBy = []point.Field{fRegion}
			s.Interval = 6 * hourMs
		}},
		{"by sample interval without quantiles", func(s *query.Sub) { s.Aggs = noQuantiles; s.GroupBy = []point.Field{fSI} }},
		{"sample interval > 4.5 without quantiles", func(s *query.Sub) {
			s.Aggs = noQuantiles
			s.Filter = []query.Filter{filter(fSI, query.OpGt, 4.5)}
		}},
		{"by method", func(s *query.Sub) { s.GroupBy = []point.Field{fMethod} }},
		{"every 6 hours by index", func(s *query.Sub) { s.Interval = 6 * hourMs; s.GroupBy = []point.Field{fIndex} }},
		{"by status, GET only", func(s *query.Sub) {
			s.GroupBy = []point.Field{fStatus}
			s.Filter = []query.Filter{filter(fMethod, query.OpEq, "GET")}
		}},
		// The sample interval itself as a field, next to a quantile (which
		// a backend may compute by repeating points).
		{"by sample interval", func(s *query.Sub) { s.GroupBy = []point.Field{fSI} }},
		{"sample interval aggregated", func(s *query.Sub) { s.Aggs = siAggs }},
		{"sample interval aggregated by region", func(s *query.Sub) { s.Aggs = siAggs; s.GroupBy = []point.Field{fRegion} }},
		{"sample interval >= 5", func(s *query.Sub) { s.Filter = []query.Filter{filter(fSI, query.OpGe, 5.0)} }},
		{"sample interval > 4.5", func(s *query.Sub) { s.Filter = []query.Filter{filter(fSI, query.OpGt, 4.5)} }},
		{"sample interval <= 4.5", func(s *query.Sub) { s.Filter = []query.Filter{filter(fSI, query.OpLe, 4.5)} }},
		{"sample interval in", func(s *query.Sub) {
			s.Filter = []query.Filter{filter(fSI, query.OpIn, []float64{1, 20})}
			s.GroupBy = []point.Field{fMethod}
		}},
		{"sample interval not_in", func(s *query.Sub) { s.Filter = []query.Filter{filter(fSI, query.OpNotIn, []float64{20})} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sub := base
			c.edit(&sub)
			checkSub(t, b, ref, &sub)
		})
	}
	t.Run("stats", func(t *testing.T) {
		checkStats(t, b, ref, project, "sampled")
	})
}
