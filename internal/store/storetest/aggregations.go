package storetest

import (
	"testing"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
)

// allAggs is every aggregation type, each with and without a filter of its
// own (percentage always has one: it is its numerator).
func allAggs() []query.Agg {
	return []query.Agg{
		{Type: query.AggCount},
		{Type: query.AggCount, Filter: []query.Filter{filter(fStatus, query.OpEq, 200.0)}},
		{Type: query.AggSum, Field: fLatency},
		{Type: query.AggSum, Field: fLatency, Filter: []query.Filter{filter(fMethod, query.OpIn, []string{"GET", "PUT"})}},
		{Type: query.AggSum, Field: fStatus},
		{Type: query.AggAvg, Field: fLatency},
		{Type: query.AggAvg, Field: fLatency, Filter: []query.Filter{filter(fRegion, query.OpStartsWith, "eu")}},
		{Type: query.AggMin, Field: fLatency},
		{Type: query.AggMin, Field: fLatency, Filter: []query.Filter{filter(fStatus, query.OpGe, 404.0)}},
		{Type: query.AggMax, Field: fLatency},
		{Type: query.AggMax, Field: fLatency, Filter: []query.Filter{filter(fIndex, query.OpContains, "order")}},
		{Type: query.AggMin, Field: fTS},
		{Type: query.AggMax, Field: fTS},
		{Type: query.AggPercentage, Filter: []query.Filter{filter(fStatus, query.OpGe, 500.0)}},
		{Type: query.AggPercentage, Filter: []query.Filter{filter(fMethod, query.OpEq, "POST"), filter(fLatency, query.OpGt, 50.0)}},
		{Type: query.AggQuantile, Field: fLatency, Q: 0.5},
		{Type: query.AggQuantile, Field: fLatency, Q: 0.95, Filter: []query.Filter{filter(fMethod, query.OpEq, "GET")}},
		{Type: query.AggQuantiles, Field: fLatency, Qs: []float64{0.01, 0.25, 0.5, 0.75, 0.99}},
		{Type: query.AggQuantiles, Field: fLatency, Qs: []float64{0.5, 0.9}, Filter: []query.Filter{filter(fStatus, query.OpNe, 200.0)}},
		{Type: query.AggUniq, Field: fIndex},
		{Type: query.AggUniq, Field: fRegion, Filter: []query.Filter{filter(fStatus, query.OpEq, 500.0)}},
		{Type: query.AggUniq, Field: fLatency},
		{Type: query.AggUniq, Field: fStatus},
		{Type: query.AggUniq, Field: fTS, Filter: []query.Filter{filter(fLatency, query.OpLt, 10.0)}},
	}
}

// someAggs is a cheaper set for the filter table.
func someAggs() []query.Agg {
	return []query.Agg{
		{Type: query.AggCount},
		{Type: query.AggSum, Field: fLatency},
		{Type: query.AggUniq, Field: fIndex},
		{Type: query.AggQuantile, Field: fLatency, Q: 0.9},
	}
}

// testAggregations compares Execute with the reference over ~20k random
// points of "requests" spread over three days, for a table of Subs covering
// every aggregation, filter operator, groupBy kind and time buckets.
func testAggregations(t *testing.T, open Opener) {
	b := openBackend(t, open, t.TempDir())
	project := createProject(t, b, "main")
	decoy := createProject(t, b, "decoy")
	ref := &reference{}
	g := newGen(1)
	nowMs := now.UnixMilli()

	// The window's edges are not aligned to hours or days; points sit
	// exactly on them and one millisecond outside.
	wFrom, wTo := nowMs-2*dayMs-3*hourMs-17*minuteMs-123, nowMs-5*hourMs-1000
	// t0 and t0+1 are planted to test fractional timestamp filters.
	t0 := wFrom + 7*hourMs + 4242
	planted := []point.Point{}
	for _, ts := range []int64{wFrom - 1, wFrom, wFrom, wTo - 1, wTo, t0, t0 + 1} {
		planted = append(planted, g.request(ts))
	}
	pts := append(g.requests(20000, nowMs-3*dayMs, nowMs), planted...)
	// Several batches per call, as the ingest committer sends them.
	appendPoints(t, b, ref,
		store.Batch{Project: project, Points: pts[:7000]},
		store.Batch{Project: decoy, Points: g.requests(500, nowMs-3*dayMs, nowMs)},
		store.Batch{Project: project, Points: pts[7000:]},
	)
	other := g.requests(300, nowMs-3*dayMs, nowMs)
	for i := range other {
		other[i].Dataset = "other"
	}
	appendPoints(t, b, ref, store.Batch{Project: project, Points: other})

	// Values taken from the data, for equality filters.
	lat := pts[10].Double(1)
	lat2 := pts[20].Double(1)

	full := query.Sub{Project: project, Dataset: "requests", From: nowMs - 4*dayMs, To: nowMs + 1, MaxGroups: 100000}
	window := full
	window.From, window.To = wFrom, wTo
	with := func(base query.Sub, edit func(s *query.Sub)) query.Sub {
		s := base
		edit(&s)
		return s
	}
	byMethod := func(fs ...query.Filter) query.Sub {
		return with(window, func(s *query.Sub) {
			s.Filter = fs
			s.GroupBy = []point.Field{fMethod}
			s.Aggs = someAggs()
		})
	}
	cases := []struct {
		name string
		sub  query.Sub
	}{
		{"ungrouped full range", with(full, func(s *query.Sub) { s.Aggs = allAggs() })},
		{"ungrouped window", with(window, func(s *query.Sub) { s.Aggs = allAggs() })},
		{"by index", with(full, func(s *query.Sub) { s.GroupBy = []point.Field{fIndex}; s.Aggs = allAggs() })},
		{"by method and region", with(window, func(s *query.Sub) { s.GroupBy = []point.Field{fMethod, fRegion}; s.Aggs = allAggs() })},
		{"by status (double)", with(full, func(s *query.Sub) { s.GroupBy = []point.Field{fStatus}; s.Aggs = allAggs() })},
		{"by latency (double)", with(full, func(s *query.Sub) {
			s.GroupBy = []point.Field{fLatency}
			s.Filter = []query.Filter{filter(fIndex, query.OpEq, endpoints[0]), filter(fLatency, query.OpLt, 15.0)}
			s.Aggs = someAggs()
		})},
		{"by timestamp", with(full, func(s *query.Sub) {
			s.GroupBy = []point.Field{fTS}
			s.Filter = []query.Filter{filter(fTS, query.OpIn, []float64{float64(wFrom), float64(t0), float64(t0 + 1), float64(wTo)})}
			s.Aggs = someAggs()
		})},
		{"by sample interval", with(full, func(s *query.Sub) { s.GroupBy = []point.Field{fSI}; s.Aggs = someAggs() })},
		{"every hour", with(full, func(s *query.Sub) { s.Interval = hourMs; s.Aggs = allAggs() })},
		{"every 6 hours by index", with(full, func(s *query.Sub) { s.Interval = 6 * hourMs; s.GroupBy = []point.Field{fIndex}; s.Aggs = allAggs() })},
		{"every 7 minutes, POST only", with(full, func(s *query.Sub) {
			s.Interval = 7 * minuteMs
			s.Filter = []query.Filter{filter(fMethod, query.OpEq, "POST")}
			s.Aggs = someAggs()
		})},
		{"every day by method over the window", with(window, func(s *query.Sub) { s.Interval = dayMs; s.GroupBy = []point.Field{fMethod}; s.Aggs = allAggs() })},

		// Every operator on a string field.
		{"index =", byMethod(filter(fIndex, query.OpEq, endpoints[0]))},
		{"index !=", byMethod(filter(fIndex, query.OpNe, endpoints[0]))},
		{"index <", byMethod(filter(fIndex, query.OpLt, "/api/p"))},
		{"index <=", byMethod(filter(fIndex, query.OpLe, "/api/orders"))},
		{"index >", byMethod(filter(fIndex, query.OpGt, "/api/users"))},
		{"index >=", byMethod(filter(fIndex, query.OpGe, "/api/users"))},
		{"index in", byMethod(filter(fIndex, query.OpIn, []string{endpoints[0], endpoints[5], "/nowhere"}))},
		{"index not_in", byMethod(filter(fIndex, query.OpNotIn, []string{endpoints[0], endpoints[1]}))},
		{"index contains", byMethod(filter(fIndex, query.OpContains, "order"))},
		{"index starts_with", byMethod(filter(fIndex, query.OpStartsWith, "/api/v2/"))},
		{"index starts_with nothing", byMethod(filter(fIndex, query.OpStartsWith, "/nowhere"))},
		{"index starts_with, not at the start", byMethod(filter(fIndex, query.OpStartsWith, "api"))},
		{"index contains, not at the start", byMethod(filter(fIndex, query.OpContains, "v2/c"))},
		{"region =", byMethod(filter(fRegion, query.OpEq, "eu-west"))},
		{"region !=", byMethod(filter(fRegion, query.OpNe, "us-east"))},
		{"region <", byMethod(filter(fRegion, query.OpLt, "eu-west"))},
		{"region >=", byMethod(filter(fRegion, query.OpGe, "us"))},
		{"region in", byMethod(filter(fRegion, query.OpIn, []string{"ap-south", "eu-central"}))},
		{"region not_in", byMethod(filter(fRegion, query.OpNotIn, []string{"us-east"}))},
		{"region contains", byMethod(filter(fRegion, query.OpContains, "-west"))},
		{"method starts_with", byMethod(filter(fMethod, query.OpStartsWith, "P"))},

		// Every operator on double fields.
		{"latency =", byMethod(filter(fLatency, query.OpEq, lat))},
		{"latency !=", byMethod(filter(fLatency, query.OpNe, lat))},
		{"latency <", byMethod(filter(fLatency, query.OpLt, 20.0))},
		{"latency <=", byMethod(filter(fLatency, query.OpLe, lat))},
		{"latency >", byMethod(filter(fLatency, query.OpGt, 100.0))},
		{"latency >=", byMethod(filter(fLatency, query.OpGe, lat2))},
		{"latency in", byMethod(filter(fLatency, query.OpIn, []float64{lat, lat2, 0.05}))},
		{"latency not_in", byMethod(filter(fLatency, query.OpNotIn, []float64{lat}))},
		{"status =", byMethod(filter(fStatus, query.OpEq, 200.0))},
		{"status !=", byMethod(filter(fStatus, query.OpNe, 200.0))},
		{"status <", byMethod(filter(fStatus, query.OpLt, 404.0))},
		{"status <=", byMethod(filter(fStatus, query.OpLe, 404.0))},
		{"status >", byMethod(filter(fStatus, query.OpGt, 404.0))},
		{"status >=", byMethod(filter(fStatus, query.OpGe, 404.5))},
		{"status in", byMethod(filter(fStatus, query.OpIn, []float64{404, 500}))},
		{"status not_in", byMethod(filter(fStatus, query.OpNotIn, []float64{200}))},

		// Every operator on the timestamp, with fractional values too
		// (the query layer passes any finite number).
		{"timestamp =", byMethod(filter(fTS, query.OpEq, float64(t0)))},
		{"timestamp = fraction", byMethod(filter(fTS, query.OpEq, float64(t0)+0.5))},
		{"timestamp !=", byMethod(filter(fTS, query.OpNe, float64(t0)))},
		{"timestamp <", byMethod(filter(fTS, query.OpLt, float64(t0)))},
		{"timestamp <= fraction", byMethod(filter(fTS, query.OpLe, float64(t0)+0.5))},
		{"timestamp >", byMethod(filter(fTS, query.OpGt, float64(t0)))},
		{"timestamp >= fraction", byMethod(filter(fTS, query.OpGe, float64(t0)+0.5))},
		{"timestamp in", byMethod(filter(fTS, query.OpIn, []float64{float64(t0), float64(t0) + 0.5, float64(wFrom)}))},
		{"timestamp not_in", byMethod(filter(fTS, query.OpNotIn, []float64{float64(t0)}))},
		{"sample interval = 1", byMethod(filter(fSI, query.OpEq, 1.0))},
		{"sample interval < 1.5", byMethod(filter(fSI, query.OpLt, 1.5))},

		{"several filters", with(full, func(s *query.Sub) {
			s.Filter = []query.Filter{
				filter(fMethod, query.OpEq, "GET"),
				filter(fStatus, query.OpNe, 200.0),
				filter(fLatency, query.OpGe, 30.0),
				filter(fTS, query.OpLt, float64(nowMs-dayMs)),
			}
			s.GroupBy = []point.Field{fIndex}
			s.Interval = 12 * hourMs
			s.Aggs = allAggs()
		})},
		{"no match, grouped", with(full, func(s *query.Sub) {
			s.Filter = []query.Filter{filter(fIndex, query.OpEq, "/nowhere")}
			s.GroupBy = []point.Field{fIndex}
			s.Aggs = allAggs()
		})},
		{"no match, ungrouped", with(full, func(s *query.Sub) {
			s.Filter = []query.Filter{filter(fIndex, query.OpEq, "/nowhere")}
			s.Aggs = allAggs()
		})},
		{"other dataset", with(full, func(s *query.Sub) { s.Dataset = "other"; s.GroupBy = []point.Field{fRegion}; s.Aggs = allAggs() })},
		{"decoy project", with(full, func(s *query.Sub) { s.Project = decoy; s.GroupBy = []point.Field{fMethod}; s.Aggs = allAggs() })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkSub(t, b, ref, &c.sub)
		})
	}

	// The table must be able to tell a wrong answer from a right one: the
	// fixture has the groups and boundary points it claims.
	if n := len(ref.execute(&cases[2].sub).rows); n != len(endpoints) {
		t.Errorf("reference: %d endpoint groups; want %d", n, len(endpoints))
	}
	if n := ref.execute(&cases[1].sub).rowsScanned; n == 0 || n >= int64(len(pts)) {
		t.Errorf("reference: window holds %d of %d points; want some but not all", n, len(pts))
	}
}
