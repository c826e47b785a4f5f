package rollup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
)

var (
	idx = point.Field{Kind: point.KindIndex, Pos: 1}
	tsF = point.Field{Kind: point.KindTimestamp}
	siF = point.Field{Kind: point.KindSampleInterval}
)

func b(n int) point.Field { return blob(n) }
func d(n int) point.Field { return double(n) }

func flt(f point.Field, op query.Op, v any) query.Filter {
	return query.Filter{Field: f, Op: op, Value: v}
}

var scenarioOnce = sync.OnceValues(func() ([]ppoint, *Rollup) {
	pts := genPoints(200_000, 1)
	return pts, buildScenario(pts)
})

// buildScenario rolls pts up the way a server would: points arrive in
// rough time order (jittered by up to two minutes); after the first two
// days it seals and compacts the first day's minutes into hours; then the
// rest arrives, with a tenth of the first two days' points arriving late
// (into compacted minutes, sealed hours and sealed days); it seals all but
// the last 90 minutes.
func buildScenario(pts []ppoint) *Rollup {
	r := New(Options{CoverFrom: T0})
	rng := rand.New(rand.NewPCG(7, 7))
	type arrival struct {
		at int64
		i  int
	}
	var first, second []arrival
	for i := range pts {
		ts := pts[i].p.Timestamp
		a := arrival{at: ts + rng.Int64N(2*minuteMs), i: i}
		if ts < T0+2*dayMs && rng.IntN(10) != 0 {
			first = append(first, a)
		} else {
			if ts < T0+2*dayMs {
				a.at = T0 + 2*dayMs + rng.Int64N(dayMs) // late
			}
			second = append(second, a)
		}
	}
	for _, batch := range [][]arrival{first, second} {
		sort.Slice(batch, func(i, j int) bool { return batch[i].at < batch[j].at })
		for k := 0; k < len(batch); {
			// Alternate single adds and batches of one project.
			if k%3 == 0 {
				r.Add(pts[batch[k].i].project, &pts[batch[k].i].p)
				k++
				continue
			}
			proj := pts[batch[k].i].project
			var ps []point.Point
			for ; k < len(batch) && len(ps) < 50 && pts[batch[k].i].project == proj; k++ {
				ps = append(ps, pts[batch[k].i].p)
			}
			r.AddBatch(proj, ps)
		}
		if len(second) > 0 && &batch[0] == &first[0] {
			r.Seal(T0 + 2*dayMs - 10*minuteMs)
			r.Compact(T0 + dayMs)
		}
	}
	r.Seal(T0 + 3*dayMs - 90*minuteMs)
	return r
}

type tcase struct {
	name string
	sub  query.Sub
}

// coveredCases returns Subs the scenario's rollup covers.
func coveredCases() []tcase {
	type rng struct {
		name           string
		from, to, step int64
	}
	ranges := []rng{
		{"3d", T0, T0 + 3*dayMs, 0},
		{"compacted-hours-to-minutes", T0 + 5*hourMs, T0 + 2*dayMs + 7*hourMs + 13*minuteMs, 0},
		{"minutes", T0 + 2*dayMs + 3*minuteMs, T0 + 2*dayMs + 17*hourMs + 41*minuteMs, 0},
		{"1m", T0 + 2*dayMs + 10*hourMs, T0 + 2*dayMs + 12*hourMs, minuteMs},
		{"5m", T0 + 2*dayMs + 7*minuteMs, T0 + 3*dayMs, 5 * minuteMs},
		{"1h", T0, T0 + 3*dayMs, hourMs},
		{"6h-compacted", T0 + 3*hourMs, T0 + 3*dayMs - 5*minuteMs, 6 * hourMs},
		{"1d", T0, T0 + 3*dayMs, dayMs},
		{"7m-recent", T0 + 2*dayMs + 20*hourMs + 1*minuteMs, T0 + 3*dayMs, 7 * minuteMs},
		{"empty-future", T0 + 4*dayMs, T0 + 5*dayMs, 0},
	}
	reqAggs := []query.Agg{
		{Type: query.AggCount},
		{Type: query.AggSum, Field: d(1)},
		{Type: query.AggAvg, Field: d(1)},
		{Type: query.AggMin, Field: d(1)},
		{Type: query.AggMax, Field: d(1)},
		{Type: query.AggPercentage, Filter: []query.Filter{flt(d(2), query.OpGe, 500.0)}},
		{Type: query.AggQuantile, Field: d(1), Q: 0.5},
		{Type: query.AggQuantiles, Field: d(1), Qs: []float64{0.01, 0.5, 0.9, 0.95, 0.99, 0.999}},
		{Type: query.AggUniq, Field: idx},
		{Type: query.AggUniq, Field: b(2)},
		{Type: query.AggUniq, Field: d(2)},
		{Type: query.AggCount, Filter: []query.Filter{flt(b(2), query.OpEq, "GET")}},
		{Type: query.AggSum, Field: d(3)},
		{Type: query.AggMin, Field: d(3)},
		{Type: query.AggMax, Field: d(4)},
		{Type: query.AggAvg, Field: d(4), Filter: []query.Filter{flt(b(3), query.OpNe, "api")}},
		{Type: query.AggQuantile, Field: d(1), Q: 0.99, Filter: []query.Filter{flt(d(2), query.OpGe, 400.0)}},
		{Type: query.AggMin, Field: d(7)},
		{Type: query.AggSum, Field: d(2), Filter: []query.Filter{flt(idx, query.OpStartsWith, "/api/e1")}},
		{Type: query.AggPercentage, Filter: []query.Filter{flt(b(2), query.OpIn, []string{"POST", "PUT"}), flt(d(2), query.OpLt, 300.0)}},
	}
	filters := [][]query.Filter{
		nil,
		{flt(b(2), query.OpEq, "GET")},
		{flt(b(2), query.OpNe, "GET")},
		{flt(b(3), query.OpLt, "web")},
		{flt(b(3), query.OpLe, "web")},
		{flt(b(3), query.OpGt, "api")},
		{flt(b(3), query.OpGe, "web")},
		{flt(b(2), query.OpIn, []string{"GET", "PUT"})},
		{flt(b(2), query.OpNotIn, []string{"GET"})},
		{flt(idx, query.OpContains, "e1")},
		{flt(idx, query.OpStartsWith, "/api/e2")},
		{flt(idx, query.OpEq, "/api/e0")},
		{flt(idx, query.OpIn, []string{"/api/e1", "/api/e3", "/api/e5"})},
		{flt(d(2), query.OpGe, 400.0)},
		{flt(d(2), query.OpLt, 300.0)},
		{flt(d(2), query.OpEq, 404.0)},
		{flt(d(2), query.OpNe, 200.0)},
		{flt(d(2), query.OpLe, 201.0)},
		{flt(d(2), query.OpGt, 204.0)},
		{flt(d(2), query.OpIn, []float64{500, 503})},
		{flt(d(2), query.OpNotIn, []float64{200})},
		{flt(b(2), query.OpEq, "GET"), flt(d(2), query.OpGe, 400.0), flt(b(3), query.OpNe, "worker")},
	}
	groups := [][]point.Field{nil, {idx}, {b(2)}, {d(2)}, {idx, b(3)}, {b(2), d(2)}}
	var out []tcase
	add := func(name string, s query.Sub) {
		s.MaxGroups = query.MaxGroups
		out = append(out, tcase{name, s})
	}
	for ri, rg := range ranges {
		for proj := int64(1); proj <= 3; proj++ {
			// Every aggregation, every filter op, every grouping, spread
			// over the ranges so that each range meets several of each.
			for fi, f := range filters {
				if (fi+ri+int(proj))%3 != 0 {
					continue
				}
				g := groups[(fi+ri)%len(groups)]
				if rg.step == minuteMs && len(g) > 1 {
					g = g[:1]
				}
				add(fmt.Sprintf("requests/%s/p%d/f%d/g%d", rg.name, proj, fi, len(g)),
					query.Sub{Project: proj, Dataset: "requests", From: rg.from, To: rg.to, Interval: rg.step, Filter: f, GroupBy: g, Aggs: reqAggs})
			}
			add(fmt.Sprintf("ai_usage/%s/p%d", rg.name, proj), query.Sub{Project: proj, Dataset: "ai_usage", From: rg.from, To: rg.to, Interval: rg.step,
				GroupBy: [][]point.Field{{b(1)}, {b(3), d(9)}, nil}[ri%3],
				Aggs: []query.Agg{
					{Type: query.AggCount}, {Type: query.AggSum, Field: d(1)}, {Type: query.AggSum, Field: d(6)},
					{Type: query.AggQuantiles, Field: d(2), Qs: []float64{0.5, 0.95, 0.99}},
					{Type: query.AggQuantile, Field: d(5), Q: 0.9}, {Type: query.AggQuantile, Field: d(1), Q: 0.75},
					{Type: query.AggAvg, Field: d(3)}, {Type: query.AggMax, Field: d(4)}, {Type: query.AggMin, Field: d(9)},
					{Type: query.AggPercentage, Filter: []query.Filter{flt(d(9), query.OpEq, 1.0)}},
					{Type: query.AggUniq, Field: b(2)},
				}})
			add(fmt.Sprintf("vector_search/%s/p%d", rg.name, proj), query.Sub{Project: proj, Dataset: "vector_search", From: rg.from, To: rg.to, Interval: rg.step,
				Filter: [][]query.Filter{nil, {flt(b(1), query.OpEq, "knn")}}[ri%2],
				Aggs: []query.Agg{
					{Type: query.AggCount}, {Type: query.AggQuantiles, Field: d(3), Qs: []float64{0.05, 0.3, 0.5, 0.9}},
					{Type: query.AggQuantile, Field: d(4), Q: 0.5}, {Type: query.AggMin, Field: d(3)}, {Type: query.AggSum, Field: d(1)},
				}})
			add(fmt.Sprintf("custom_ds/%s/p%d", rg.name, proj), query.Sub{Project: proj, Dataset: "custom_ds", From: rg.from, To: rg.to, Interval: rg.step,
				GroupBy: [][]point.Field{nil, {idx}}[ri%2],
				Aggs: []query.Agg{
					{Type: query.AggCount}, {Type: query.AggSum, Field: d(1)}, {Type: query.AggAvg, Field: d(2)},
					{Type: query.AggMin, Field: d(1)}, {Type: query.AggMax, Field: d(1)}, {Type: query.AggUniq, Field: idx},
				}})
		}
	}
	add("requests/no-such-project", query.Sub{Project: 99, Dataset: "requests", From: T0, To: T0 + dayMs, Aggs: reqAggs})
	add("never-written-dataset", query.Sub{Project: 1, Dataset: "pageviews", From: T0, To: T0 + dayMs, Interval: hourMs, Aggs: reqAggs[:3]})
	return out
}

// qstats collects the quantile errors seen.
type qstats struct {
	mu     sync.Mutex
	n      int
	maxRel float64
	sumRel float64
}

func (q *qstats) add(rel float64) {
	q.mu.Lock()
	q.n++
	q.sumRel += rel
	q.maxRel = max(q.maxRel, rel)
	q.mu.Unlock()
}

type refAnswer struct {
	rows    map[string]*refRow
	scanned int64
}

// referenceAnswers are the reference's answers to coveredCases over the
// scenario's points, computed once.
var referenceAnswers = sync.OnceValue(func() []refAnswer {
	pts, _ := scenarioOnce()
	byTable := map[[2]any][]ppoint{}
	for _, p := range pts {
		k := [2]any{p.project, p.p.Dataset}
		byTable[k] = append(byTable[k], p)
	}
	cases := coveredCases()
	out := make([]refAnswer, len(cases))
	for i, c := range cases {
		out[i].rows, out[i].scanned = refExecute(byTable[[2]any{c.sub.Project, c.sub.Dataset}], &c.sub)
	}
	return out
})

// checkAgainstReference runs every case on r and compares with the
// reference over the scenario's points.
func checkAgainstReference(t *testing.T, r *Rollup, qs *qstats) {
	t.Helper()
	answers := referenceAnswers()
	for ci, c := range coveredCases() {
		sub := c.sub
		if ok, why := r.Covers(&sub); !ok {
			t.Errorf("%s: not covered: %s", c.name, why)
			continue
		}
		got, err := r.Execute(context.Background(), &sub)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		compareResult(t, c.name, &sub, got, answers[ci].rows, answers[ci].scanned, qs)
	}
}

// reporter is the part of testing.T compareResult uses.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// recorder counts the errors a comparison reports.
type recorder struct{ errs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func compareResult(t reporter, name string, sub *query.Sub, got *query.SubResult, want map[string]*refRow, scanned int64, qs *qstats) {
	t.Helper()
	if got.RowsScanned != scanned {
		t.Errorf("%s: RowsScanned %d, want %d", name, got.RowsScanned, scanned)
	}
	if len(got.Rows) != len(want) {
		t.Errorf("%s: %d rows, want %d", name, len(got.Rows), len(want))
	}
	seen := map[string]bool{}
	for _, gr := range got.Rows {
		k := refKey(gr.Groups, gr.Bucket)
		if seen[k] {
			t.Errorf("%s: row %s twice", name, k)
		}
		seen[k] = true
		w := want[k]
		if w == nil {
			t.Errorf("%s: unexpected row %s", name, k)
			continue
		}
		if len(gr.Values) != len(sub.Aggs) {
			t.Errorf("%s: %d values", name, len(gr.Values))
			continue
		}
		for i, a := range sub.Aggs {
			if msg := compareValue(a, gr.Values[i], w.values[i], w.qlo[i], w.qhi[i], qs); msg != "" {
				t.Errorf("%s: row %s: agg %d (%s %s): %s", name, k, i, a.Type, column(a.Field), msg)
			}
		}
	}
}

func compareValue(a query.Agg, got, want any, lo, hi []float64, qs *qstats) string {
	if want == nil || got == nil {
		if want != nil || got != nil {
			return fmt.Sprintf("got %v, want %v", got, want)
		}
		return ""
	}
	switch a.Type {
	case query.AggCount, query.AggMin, query.AggMax, query.AggUniq:
		if got.(float64) != want.(float64) {
			return fmt.Sprintf("got %v, want exactly %v", got, want)
		}
	case query.AggPercentage:
		// Both sides compute 100·hit/all on the same integers.
		if got.(float64) != want.(float64) {
			return fmt.Sprintf("got %v, want exactly %v", got, want)
		}
	case query.AggSum, query.AggAvg:
		if g, w := got.(float64), want.(float64); math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) {
			return fmt.Sprintf("got %v, want %v (rel err %g)", g, w, math.Abs(g-w)/math.Abs(w))
		}
	case query.AggQuantile, query.AggQuantiles:
		var gs, ws []float64
		if a.Type == query.AggQuantile {
			gs, ws = []float64{got.(float64)}, []float64{want.(float64)}
		} else {
			gs, ws = got.([]float64), want.([]float64)
		}
		if len(gs) != len(ws) {
			return fmt.Sprintf("%d quantiles, want %d", len(gs), len(ws))
		}
		for i := range gs {
			if gs[i] < lo[i] || gs[i] > hi[i] {
				return fmt.Sprintf("quantile %d: got %v, want %v (within [%v, %v])", i, gs[i], ws[i], lo[i], hi[i])
			}
			// The bound is 1% of |exact| when the two order statistics
			// around the rank have one sign; only then is a relative
			// error meaningful.
			if ws[i] != 0 && (hi[i]-lo[i])/2 <= 0.01*math.Abs(ws[i])*(1+1e-9) {
				qs.add(math.Abs(gs[i]-ws[i]) / math.Abs(ws[i]))
			}
		}
	}
	return ""
}

func TestMatchesReference(t *testing.T) {
	_, r := scenarioOnce()
	st := r.Stats()
	t.Logf("rollup: %s", st)
	if st.Cells[tierMinute] == 0 || st.Cells[tierHour] == 0 || st.Cells[tierDay] == 0 {
		t.Fatalf("scenario must exercise every tier: %s", st)
	}
	var qs qstats
	checkAgainstReference(t, r, &qs)
	if qs.n < 1000 {
		t.Errorf("only %d quantiles checked", qs.n)
	}
	if qs.maxRel > RelativeAccuracy*(1+1e-9) {
		t.Errorf("quantile relative error up to %g, beyond the sketch's %g", qs.maxRel, RelativeAccuracy)
	}
	t.Logf("%d cases; %d quantiles: max relative error %.4f%%, mean %.4f%%", len(coveredCases()), qs.n, 100*qs.maxRel, 100*qs.sumRel/float64(qs.n))
}

// TestReferenceDetectsErrors makes sure the comparison can fail: a rollup
// missing a few points, a quantile 2% off, a min off by a ulp.
func TestReferenceDetectsErrors(t *testing.T) {
	pts, _ := scenarioOnce()
	var reqs []ppoint
	r := New(Options{CoverFrom: T0})
	for i := range pts {
		if pts[i].project != 2 || pts[i].p.Dataset != "requests" {
			continue
		}
		reqs = append(reqs, pts[i])
		if len(reqs)%997 != 0 {
			r.Add(2, &pts[i].p)
		}
	}
	sub := query.Sub{Project: 2, Dataset: "requests", From: T0, To: T0 + 3*dayMs, Interval: dayMs, MaxGroups: 10, Aggs: []query.Agg{
		{Type: query.AggCount}, {Type: query.AggQuantile, Field: d(1), Q: 0.5}, {Type: query.AggMin, Field: d(1)}}}
	got, err := r.Execute(context.Background(), &sub)
	if err != nil {
		t.Fatal(err)
	}
	want, scanned := refExecute(reqs, &sub)
	var rec recorder
	compareResult(&rec, "dropped", &sub, got, want, scanned, &qstats{})
	if len(rec.errs) == 0 {
		t.Error("dropped points went unnoticed")
	}
	// A complete rollup passes; then perturb its answers.
	for i := range reqs {
		if len(reqs)%997 == 0 || (i+1)%997 == 0 {
			r.Add(2, &reqs[i].p)
		}
	}
	if got, err = r.Execute(context.Background(), &sub); err != nil {
		t.Fatal(err)
	}
	rec = recorder{}
	compareResult(&rec, "complete", &sub, got, want, scanned, &qstats{})
	if len(rec.errs) != 0 {
		t.Fatalf("complete rollup disagrees: %v", rec.errs)
	}
	for _, perturb := range []func(v []any){
		func(v []any) { v[1] = v[1].(float64) * 1.02 },
		func(v []any) { v[2] = math.Nextafter(v[2].(float64), math.Inf(1)) },
		func(v []any) { v[0] = v[0].(float64) + 1 },
	} {
		bad := *got
		bad.Rows = slices.Clone(got.Rows)
		bad.Rows[0].Values = slices.Clone(got.Rows[0].Values)
		perturb(bad.Rows[0].Values)
		rec = recorder{}
		compareResult(&rec, "perturbed", &sub, &bad, want, scanned, &qstats{})
		if len(rec.errs) == 0 {
			t.Errorf("perturbed answer %v went unnoticed", bad.Rows[0].Values)
		}
	}
}

func TestUncovered(t *testing.T) {
	_, r := scenarioOnce()
	base := query.Sub{Project: 1, Dataset: "requests", From: T0 + 2*dayMs, To: T0 + 3*dayMs, MaxGroups: 1000,
		Aggs: []query.Agg{{Type: query.AggCount}}}
	cases := []struct {
		name string
		mod  func(*query.Sub)
		want string
	}{
		{"filter on url", func(s *query.Sub) { s.Filter = []query.Filter{flt(b(1), query.OpContains, "x")} }, "filter on blob1: not a rollup dimension"},
		{"filter on duration", func(s *query.Sub) { s.Filter = []query.Filter{flt(d(1), query.OpGt, 100.0)} }, "filter on double1: not a rollup dimension"},
		{"filter on timestamp", func(s *query.Sub) { s.Filter = []query.Filter{flt(tsF, query.OpGt, float64(T0))} }, "filter on timestamp"},
		{"agg filter on url", func(s *query.Sub) {
			s.Aggs = []query.Agg{{Type: query.AggPercentage, Filter: []query.Filter{flt(b(1), query.OpEq, "x")}}}
		}, "percentage filter on blob1"},
		{"group by url", func(s *query.Sub) { s.GroupBy = []point.Field{b(1)} }, "groupBy blob1"},
		{"group by distribution", func(s *query.Sub) { s.GroupBy = []point.Field{d(1)} }, "groupBy double1"},
		{"quantile of non-distribution", func(s *query.Sub) { s.Aggs = []query.Agg{{Type: query.AggQuantile, Field: d(3), Q: 0.5}} }, "not a rollup distribution"},
		{"sum of sample interval", func(s *query.Sub) { s.Aggs = []query.Agg{{Type: query.AggSum, Field: siF}} }, "doubles only"},
		{"uniq of url", func(s *query.Sub) { s.Aggs = []query.Agg{{Type: query.AggUniq, Field: b(1)}} }, "uniq of blob1"},
		{"unaligned from", func(s *query.Sub) { s.From += 30_000 }, "not a whole minute"},
		{"unaligned to", func(s *query.Sub) { s.To -= 1 }, "not a whole minute"},
		{"interval of 90s", func(s *query.Sub) { s.Interval = 90_000 }, "whole number of minutes"},
		{"compacted range cut mid-hour", func(s *query.Sub) { s.From = T0 + 5*hourMs + 7*minuteMs }, "compacted to hours"},
		{"5m interval over compacted minutes", func(s *query.Sub) { s.From, s.Interval = T0+12*hourMs, 5*minuteMs }, "compacted to hours"},
		{"before coverage", func(s *query.Sub) { s.From = T0 - hourMs }, "covers from"},
	}
	for _, c := range cases {
		s := base
		c.mod(&s)
		ok, why := r.Covers(&s)
		if ok || !bytes.Contains([]byte(why), []byte(c.want)) {
			t.Errorf("%s: Covers = %v, %q; want false with %q", c.name, ok, why, c.want)
		}
		if _, err := r.Execute(context.Background(), &s); !errors.Is(err, ErrNotCovered) {
			t.Errorf("%s: Execute error %v, want ErrNotCovered", c.name, err)
		}
	}
	if ok, why := r.Covers(&base); !ok {
		t.Errorf("base case not covered: %s", why)
	}
}

func TestOverflow(t *testing.T) {
	pts := genPoints(30_000, 3)
	r := New(Options{CoverFrom: T0, MaxCellsPerMinute: 4, MaxSeries: 60})
	var reqs []ppoint
	for i := range pts {
		if pts[i].project == 1 && pts[i].p.Dataset == "requests" {
			r.Add(1, &pts[i].p)
			reqs = append(reqs, pts[i])
		}
	}
	r.Seal(T0 + 3*dayMs)
	r.Compact(T0 + 2*dayMs)
	if st := r.Stats(); st.OverflowBuckets == 0 {
		t.Fatalf("no overflow: %s", st)
	}
	// Ungrouped, unfiltered: still exact, overflow cells included.
	sub := query.Sub{Project: 1, Dataset: "requests", From: T0, To: T0 + 3*dayMs, Interval: hourMs, MaxGroups: 1000, Aggs: []query.Agg{
		{Type: query.AggCount}, {Type: query.AggSum, Field: d(1)}, {Type: query.AggQuantiles, Field: d(1), Qs: []float64{0.5, 0.99}},
		{Type: query.AggMax, Field: d(3)}}}
	got, err := r.Execute(context.Background(), &sub)
	if err != nil {
		t.Fatal(err)
	}
	want, scanned := refExecute(reqs, &sub)
	compareResult(t, "overflow/ungrouped", &sub, got, want, scanned, &qstats{})
	// Grouped: not covered.
	sub.GroupBy = []point.Field{idx}
	if ok, why := r.Covers(&sub); ok || !bytes.Contains([]byte(why), []byte("overflow")) {
		t.Errorf("grouped query over overflow: Covers = %v, %q", ok, why)
	}
	sub.GroupBy = nil
	sub.Aggs = []query.Agg{{Type: query.AggCount, Filter: []query.Filter{flt(b(2), query.OpEq, "GET")}}}
	if ok, _ := r.Covers(&sub); ok {
		t.Error("filtered aggregation over overflow is covered")
	}
}

func TestMaxGroups(t *testing.T) {
	_, r := scenarioOnce()
	sub := query.Sub{Project: 1, Dataset: "requests", From: T0, To: T0 + 3*dayMs, GroupBy: []point.Field{idx}, MaxGroups: 3,
		Aggs: []query.Agg{{Type: query.AggCount}}}
	if _, err := r.Execute(context.Background(), &sub); !errors.Is(err, query.ErrTooManyGroups) {
		t.Fatalf("err = %v, want ErrTooManyGroups", err)
	}
}

// TestSnapshotRoundTrip: Load(Snapshot(r)) answers as r does, and
// re-snapshots to the same bytes.
func TestSnapshotRoundTrip(t *testing.T) {
	_, r := scenarioOnce()
	var buf bytes.Buffer
	if err := r.Snapshot(&buf, math.MinInt64, math.MaxInt64); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	t.Logf("snapshot: %d bytes for %d cells (%.1f B/cell)", buf.Len(), st.Cells[0]+st.Cells[1]+st.Cells[2], float64(buf.Len())/float64(st.Cells[0]+st.Cells[1]+st.Cells[2]))
	r2, err := Load(bytes.NewReader(buf.Bytes()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf2 bytes.Buffer
	if err := r2.Snapshot(&buf2, math.MinInt64, math.MaxInt64); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
		t.Fatal("snapshot of a loaded snapshot differs")
	}
	checkAgainstReference(t, r2, &qstats{})
	// Any single corrupted byte is refused.
	data := buf.Bytes()
	for _, i := range []int{0, 20, len(data) / 2, len(data) - 1} {
		bad := slices.Clone(data)
		bad[i] ^= 0x40
		if _, err := Load(bytes.NewReader(bad), Options{}); err == nil {
			t.Errorf("corrupt byte %d accepted", i)
		}
	}
	if _, err := Load(bytes.NewReader(data[:len(data)-7]), Options{}); err == nil {
		t.Error("truncated snapshot accepted")
	}
}

// TestDaySnapshotsMerge: per-day snapshots, loaded and merged, answer as
// the whole.
func TestDaySnapshotsMerge(t *testing.T) {
	_, r := scenarioOnce()
	cuts := []int64{math.MinInt64, T0 + dayMs, T0 + 2*dayMs, math.MaxInt64}
	var parts []*Rollup
	for i := 0; i+1 < len(cuts); i++ {
		var buf bytes.Buffer
		if err := r.Snapshot(&buf, cuts[i], cuts[i+1]); err != nil {
			t.Fatal(err)
		}
		p, err := Load(&buf, Options{})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
	}
	// Merge newest first: each merge prepends the day before.
	m := parts[2]
	for _, p := range []*Rollup{parts[1], parts[0]} {
		if err := m.Merge(p); err != nil {
			t.Fatal(err)
		}
	}
	checkAgainstReference(t, m, &qstats{})
	// Merging an overlapping range again is refused.
	var buf bytes.Buffer
	if err := r.Snapshot(&buf, T0+dayMs, T0+2*dayMs); err != nil {
		t.Fatal(err)
	}
	again, err := Load(&buf, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Merge(again); err == nil {
		t.Error("overlapping merge accepted")
	}
}

func pointsIn(pts []ppoint, from, to int64) iter.Seq2[int64, *point.Point] {
	return func(yield func(int64, *point.Point) bool) {
		for i := range pts {
			if ts := pts[i].p.Timestamp; ts >= from && ts < to {
				if !yield(pts[i].project, &pts[i].p) {
					return
				}
			}
		}
	}
}

// TestRebuildMerge: a live rollup covering from a point in time, merged
// with a Build of the history before it, answers as one built at once.
func TestRebuildMerge(t *testing.T) {
	pts, _ := scenarioOnce()
	cut := T0 + dayMs + 7*hourMs + 23*minuteMs
	live := New(Options{CoverFrom: cut})
	for i := range pts {
		live.Add(pts[i].project, &pts[i].p) // points before cut are ignored
	}
	live.Seal(T0 + 2*dayMs + 3*hourMs)
	live.Compact(T0 + 2*dayMs)
	hist := Build(Options{}, T0, cut, pointsIn(pts, math.MinInt64, math.MaxInt64))
	hist.Compact(T0 + dayMs)
	if ok, _ := live.Covers(&query.Sub{Project: 1, Dataset: "requests", From: T0, To: T0 + dayMs, Aggs: []query.Agg{{Type: query.AggCount}}}); ok {
		t.Fatal("live rollup covers history before its CoverFrom")
	}
	if err := live.Merge(hist); err != nil {
		t.Fatal(err)
	}
	checkAgainstReference(t, live, &qstats{})
}

// TestSetSpecAndBuildTable: a spec change drops the table's history, and a
// BuildTable with the new spec brings it back.
func TestSetSpecAndBuildTable(t *testing.T) {
	pts := genPoints(20_000, 5)
	r := New(Options{CoverFrom: T0})
	var reqs []ppoint
	for i := range pts {
		if pts[i].project == 1 && pts[i].p.Dataset == "requests" {
			reqs = append(reqs, pts[i])
		}
	}
	change := T0 + dayMs + 30*1000
	newSpec := &Spec{Dimensions: []point.Field{b(2), d(2)}, Distributions: []point.Field{d(1), d(3)}}
	sub := query.Sub{Project: 1, Dataset: "requests", From: T0, To: T0 + 3*dayMs, MaxGroups: 100, GroupBy: []point.Field{b(2)},
		Aggs: []query.Agg{{Type: query.AggCount}, {Type: query.AggQuantile, Field: d(3), Q: 0.9}}}
	for _, p := range reqs {
		if p.p.Timestamp < change {
			r.Add(1, &p.p)
		}
	}
	if ok, _ := r.Covers(&sub); ok {
		t.Fatal("quantile of double3 covered under the built-in spec")
	}
	if err := r.SetSpec(1, "requests", newSpec, change); err != nil {
		t.Fatal(err)
	}
	for _, p := range reqs {
		if p.p.Timestamp >= change {
			r.Add(1, &p.p)
		}
	}
	if from, _ := r.Coverage(1, "requests"); from != T0+dayMs+minuteMs {
		t.Fatalf("coverage after SetSpec starts at %s", fmtMs(from))
	}
	if ok, why := r.Covers(&sub); ok || !bytes.Contains([]byte(why), []byte("covers from")) {
		t.Fatalf("history covered after a spec change: %v %q", ok, why)
	}
	seq := func(yield func(*point.Point) bool) {
		for i := range reqs {
			if !yield(&reqs[i].p) {
				return
			}
		}
	}
	hist := BuildTable(Options{Spec: func(int64, string) *Spec { return newSpec }}, 1, "requests", T0, T0+dayMs+minuteMs, seq)
	if err := r.Merge(hist); err != nil {
		t.Fatal(err)
	}
	got, err := r.Execute(context.Background(), &sub)
	if err != nil {
		t.Fatal(err)
	}
	want, scanned := refExecute(reqs, &sub)
	compareResult(t, "after rebuild", &sub, got, want, scanned, &qstats{})
	// Other tables keep their own coverage.
	if from, _ := r.Coverage(2, "requests"); from != T0 {
		t.Errorf("project 2 coverage moved to %s", fmtMs(from))
	}
}

func TestExpire(t *testing.T) {
	pts := genPoints(20_000, 9)
	r := New(Options{CoverFrom: T0})
	var kept []ppoint
	cut := T0 + dayMs + 5*hourMs
	for i := range pts {
		r.Add(pts[i].project, &pts[i].p)
		if pts[i].p.Timestamp >= T0+2*dayMs {
			kept = append(kept, pts[i])
		}
	}
	r.Seal(T0 + 3*dayMs)
	r.Expire(func(int64, string) int64 { return cut })
	sub := query.Sub{Project: 1, Dataset: "requests", From: T0 + dayMs, To: T0 + 3*dayMs, MaxGroups: 100,
		Aggs: []query.Agg{{Type: query.AggCount}}}
	if ok, _ := r.Covers(&sub); ok {
		t.Error("expired range covered")
	}
	sub.From = T0 + 2*dayMs
	got, err := r.Execute(context.Background(), &sub)
	if err != nil {
		t.Fatal(err)
	}
	var proj1 []ppoint
	for _, p := range kept {
		if p.project == 1 && p.p.Dataset == "requests" {
			proj1 = append(proj1, p)
		}
	}
	want, scanned := refExecute(proj1, &sub)
	compareResult(t, "after expire", &sub, got, want, scanned, &qstats{})
	for tier := range nTiers {
		for _, tb := range r.allTables() {
			for s := range tb.tiers[tier].buckets {
				if s < T0+2*dayMs {
					t.Fatalf("%s bucket at %s survived expiry", tierName[tier], fmtMs(s))
				}
			}
		}
	}
}

// TestAddDoesNotAllocate: adding to an existing cell allocates nothing.
func TestAddDoesNotAllocate(t *testing.T) {
	r := New(Options{})
	p := point.Point{Dataset: "requests", Timestamp: T0 + 5*minuteMs, Index: "/api/x",
		Blobs: []string{"https://x", "GET", "api"}, Doubles: []float64{12.5, 200, 1000}, SampleInterval: 1}
	r.Add(1, &p)
	allocs := testing.AllocsPerRun(1000, func() {
		p.Doubles[0] = 12.5 + float64(int(p.Doubles[0])%3)
		r.Add(1, &p)
	})
	if allocs != 0 {
		t.Fatalf("Add allocates %v times per point", allocs)
	}
	batch := []point.Point{p, p, p, p}
	allocs = testing.AllocsPerRun(100, func() { r.AddBatch(1, batch) })
	if allocs != 0 {
		t.Fatalf("AddBatch allocates %v times per batch", allocs)
	}
}

// TestConcurrent adds, seals and queries at once (run with -race).
func TestConcurrent(t *testing.T) {
	pts := genPoints(20_000, 11)
	r := New(Options{CoverFrom: T0})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < len(pts); i += 2 {
				r.Add(pts[i].project, &pts[i].p)
			}
		})
	}
	wg.Go(func() {
		for i := range 20 {
			r.Seal(T0 + int64(i)*3*hourMs)
		}
	})
	wg.Go(func() {
		sub := query.Sub{Project: 1, Dataset: "requests", From: T0, To: T0 + 3*dayMs, Interval: hourMs, MaxGroups: 1000,
			GroupBy: []point.Field{b(2)}, Aggs: []query.Agg{{Type: query.AggCount}, {Type: query.AggQuantile, Field: d(1), Q: 0.9}}}
		for range 20 {
			if _, err := r.Execute(context.Background(), &sub); err != nil && !errors.Is(err, ErrNotCovered) {
				t.Error(err)
			}
			_ = r.Stats()
		}
	})
	wg.Wait()
	r.Seal(T0 + 3*dayMs)
	var reqs []ppoint
	for _, p := range pts {
		if p.project == 1 && p.p.Dataset == "requests" {
			reqs = append(reqs, p)
		}
	}
	sub := query.Sub{Project: 1, Dataset: "requests", From: T0, To: T0 + 3*dayMs, Interval: hourMs, MaxGroups: 1000,
		Aggs: []query.Agg{{Type: query.AggCount}, {Type: query.AggSum, Field: d(1)}}}
	got, err := r.Execute(context.Background(), &sub)
	if err != nil {
		t.Fatal(err)
	}
	want, scanned := refExecute(reqs, &sub)
	compareResult(t, "concurrent", &sub, got, want, scanned, &qstats{})
}

func TestBuiltinSpecs(t *testing.T) {
	for _, name := range point.BuiltinNames() {
		s := BuiltinSpec(name)
		if s == nil {
			t.Errorf("%s: no spec", name)
			continue
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		schema := point.Builtin(name)
		for _, f := range append(slices.Clone(s.Dimensions), s.Distributions...) {
			if schema.Name(f) == "" {
				t.Errorf("%s: %s is not named in the built-in schema", name, f.Column())
			}
		}
	}
	if len(builtinSpecs) != len(point.BuiltinNames()) {
		t.Errorf("%d specs for %d built-in datasets", len(builtinSpecs), len(point.BuiltinNames()))
	}
	bad := []Spec{
		{Dimensions: []point.Field{idx}},
		{Dimensions: []point.Field{b(2), b(2)}},
		{Dimensions: []point.Field{b(21)}},
		{Distributions: []point.Field{b(1)}},
		{Distributions: []point.Field{d(1), d(1)}},
	}
	for _, s := range bad {
		if s.Validate() == nil {
			t.Errorf("%v validated", s)
		}
	}
}

func TestCancel(t *testing.T) {
	_, r := scenarioOnce()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sub := query.Sub{Project: 1, Dataset: "requests", From: T0 + 2*dayMs, To: T0 + 3*dayMs, Interval: minuteMs, MaxGroups: 10000,
		Aggs: []query.Agg{{Type: query.AggCount}}}
	if _, err := r.Execute(ctx, &sub); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}
