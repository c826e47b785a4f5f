package duckdb_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/sampling"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/duckdb"
)

func openStore(t *testing.T, dir string) *duckdb.Store {
	t.Helper()
	s, err := duckdb.Open(context.Background(), duckdb.Options{Dir: dir, MemoryLimit: "512MB"})
	if err != nil {
		t.Fatalf("Open(%q) = %v; want nil error", dir, err)
	}
	return s
}

// TestSamplingSetting checks the dataset setting: stored, validated, kept
// across restarts, and added to a data directory made before it existed.
func TestSamplingSetting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// A data directory from before the setting: the datasets table without
	// its column, and a dataset with a retention override.
	db, err := sql.Open("duckdb", filepath.Join(dir, "alidade.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE datasets (project_id BIGINT NOT NULL, name VARCHAR NOT NULL, schema_json VARCHAR NOT NULL DEFAULT '',
			retention_ms BIGINT NOT NULL DEFAULT 0, created TIMESTAMPTZ NOT NULL, PRIMARY KEY (project_id, name))`,
		`INSERT INTO datasets (project_id, name, retention_ms, created) VALUES (1, 'old', 604800000, now())`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := openStore(t, dir)
	if d := s.Dataset(1, "old"); d == nil || d.Sampling != 0 || d.Retention != 7*24*time.Hour {
		t.Fatalf("Dataset(1, old) after the migration = %+v; want retention 7d and sampling off", d)
	}
	for _, c := range []struct {
		project int64
		name    string
		pps     float64
	}{{1, "old", 250}, {1, "fresh", 1.5}, {2, "old", 1_000_000}} {
		if err := s.SetSampling(ctx, c.project, c.name, c.pps); err != nil {
			t.Fatalf("SetSampling(%d, %s, %v) = %v; want nil", c.project, c.name, c.pps, err)
		}
	}
	for _, pps := range []float64{-1, 0.5, 1_000_001, math.NaN(), math.Inf(1)} {
		err := s.SetSampling(ctx, 1, "old", pps)
		if err == nil || !strings.Contains(err.Error(), "1000000") {
			t.Errorf("SetSampling(1, old, %v) = %v; want an error naming the limit 1000000", pps, err)
		}
	}
	if err := s.SetSampling(ctx, 1, "Bad-Name", 10); err == nil {
		t.Errorf("SetSampling(1, Bad-Name, 10) = nil; want an error on the dataset name")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir)
	defer s.Close()
	for _, c := range []struct {
		project int64
		name    string
		want    float64
	}{{1, "old", 250}, {1, "fresh", 1.5}, {2, "old", 1_000_000}, {2, "fresh", 0}} {
		if got := s.Sampling(c.project, c.name); got != c.want {
			t.Errorf("after reopening, Sampling(%d, %s) = %v; want %v", c.project, c.name, got, c.want)
		}
		if d := s.Dataset(c.project, c.name); c.want != 0 && (d == nil || d.Sampling != c.want) {
			t.Errorf("after reopening, Dataset(%d, %s) = %+v; want sampling %v", c.project, c.name, d, c.want)
		}
	}
	if d := s.Dataset(1, "old"); d.Retention != 7*24*time.Hour {
		t.Errorf("Dataset(1, old).Retention = %v; want 7d kept", d.Retention)
	}
	if err := s.SetSampling(ctx, 1, "old", 0); err != nil || s.Sampling(1, "old") != 0 {
		t.Errorf("SetSampling(1, old, 0) = %v, then Sampling = %v; want nil and 0 (off)", err, s.Sampling(1, "old"))
	}
}

// sampledStream is a stream written through a Sampler into a store, with
// what arrived kept aside as the truth.
type sampledStream struct {
	store   *duckdb.Store
	project int64
	from    int64 // Unix ms, inclusive
	to      int64 // Unix ms, exclusive
	truth   []point.Point
	hot     []string // index values above the budget
	cold    []string // index values at or under it
}

const (
	samplingBudget = 100
	streamSeconds  = 12
)

// writeSampledStream writes 12 seconds of arrivals of dataset "api" at 10
// calls per second: "/hot" at 20,000 points per second, "/warm" at 600,
// seven cold index values at 1 to 100 and "/client" at 30 points carrying
// a client-side interval of 4, through a Sampler whose budget (100 points
// per second per index value) is the store's own dataset setting.
func writeSampledStream(t *testing.T) *sampledStream {
	t.Helper()
	ctx := context.Background()
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	p, err := st.CreateProject(ctx, "sampled")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetSampling(ctx, p.ID, "api", samplingBudget); err != nil {
		t.Fatal(err)
	}
	rates := map[string]int{"/hot": 20_000, "/warm": 600, "/client": 30}
	weights := map[string]uint32{"/client": 4}
	cold := []string{"/client"}
	for i, r := range []int{1, 3, 10, 25, 50, 99, 100} {
		index := fmt.Sprintf("/c%d", i)
		rates[index] = r
		cold = append(cold, index)
	}
	s := &sampledStream{store: st, project: p.ID, hot: []string{"/hot", "/warm"}, cold: cold}
	index := make([]string, 0, len(rates))
	for k := range rates {
		index = append(index, k)
	}
	slices.Sort(index)

	sampler := sampling.New(st.Sampling, sampling.DefaultOptions())
	rng := rand.New(rand.NewPCG(11, 12))
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	s.from, s.to = start.UnixMilli(), start.Add(streamSeconds*time.Second).UnixMilli()
	const callsPerSecond = 10
	for c := range streamSeconds * callsPerSecond {
		now := start.Add(time.Duration(c) * time.Second / callsPerSecond)
		var pts []point.Point
		for _, ix := range index {
			k := c % callsPerSecond
			for range rates[ix]*(k+1)/callsPerSecond - rates[ix]*k/callsPerSecond {
				method := "GET"
				if rng.Float64() < 0.3 {
					method = "POST"
				}
				status := 200.0
				if rng.Float64() < 0.1 {
					status = 500
				}
				pts = append(pts, point.Point{Dataset: "api", Index: ix, Timestamp: now.UnixMilli(),
					Blobs:          []string{method},
					Doubles:        []float64{math.Round(math.Exp(rng.NormFloat64()*0.6)*100*1000) / 1000, status},
					SampleInterval: weights[ix]})
			}
		}
		// Interleave the index values, as concurrent requests would.
		rng.Shuffle(len(pts), func(i, j int) { pts[i], pts[j] = pts[j], pts[i] })
		s.truth = append(s.truth, pts...)
		out := sampler.Sample([]store.Batch{{Project: p.ID, Points: pts}}, now)
		if err := st.Append(ctx, out); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Append(ctx, sampler.Flush()); err != nil {
		t.Fatal(err)
	}
	return s
}

// truthOf returns the arrived points of an index value ("" for all) that pass keep.
func (s *sampledStream) truthOf(index string, keep func(*point.Point) bool) []point.Point {
	var out []point.Point
	for i := range s.truth {
		p := &s.truth[i]
		if (index == "" || p.Index == index) && (keep == nil || keep(p)) {
			out = append(out, *p)
		}
	}
	return out
}

// weightedValues returns double n of pts, each repeated by its weight, sorted.
func weightedValues(pts []point.Point, n int) []float64 {
	var xs []float64
	for i := range pts {
		for range pts[i].Weight() {
			xs = append(xs, pts[i].Double(n))
		}
	}
	slices.Sort(xs)
	return xs
}

// quantileCont is the quantile of sorted xs by linear interpolation between
// order statistics (DuckDB's quantile_cont, the README's definition).
func quantileCont(xs []float64, q float64) float64 {
	q = min(max(q, 0), 1)
	h := float64(len(xs)-1) * q
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[i] + (h-lo)*(xs[i+1]-xs[i])
}

func weightOf(pts []point.Point) float64 {
	w := 0.0
	for i := range pts {
		w += float64(pts[i].Weight())
	}
	return w
}

func sumOf(pts []point.Point, n int) float64 {
	x := 0.0
	for i := range pts {
		x += float64(pts[i].Weight()) * pts[i].Double(n)
	}
	return x
}

// sdOf is the weighted population standard deviation of double n.
func sdOf(pts []point.Point, n int) float64 {
	w, mean := weightOf(pts), sumOf(pts, n)/weightOf(pts)
	v := 0.0
	for i := range pts {
		d := pts[i].Double(n) - mean
		v += float64(pts[i].Weight()) * d * d
	}
	return math.Sqrt(v / w)
}

func relClose(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// storedWeights returns, per index value, the stored rows, Σw and Σw² of
// the sampled dataset, read with SQL-API-style SQL over SQLSource.
func (s *sampledStream) storedWeights(t *testing.T) map[string][3]float64 {
	t.Helper()
	src, args, ok := s.store.SQLSource(s.project, "api", 0)
	if !ok {
		t.Fatalf("SQLSource(api) has no day file")
	}
	rows, err := s.store.QuerySQL(context.Background(),
		"SELECT index1, count(*)::DOUBLE, sum(_sample_interval)::DOUBLE, sum(_sample_interval * _sample_interval)::DOUBLE FROM "+src+" AS t GROUP BY index1", args)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][3]float64{}
	for rows.Next() {
		var ix string
		var v [3]float64
		if err := rows.Scan(&ix, &v[0], &v[1], &v[2]); err != nil {
			t.Fatal(err)
		}
		out[ix] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (s *sampledStream) execute(t *testing.T, sub query.Sub) *query.SubResult {
	t.Helper()
	sub.Project, sub.Dataset, sub.From, sub.To, sub.MaxGroups = s.project, "api", s.from, s.to, 100_000
	res, err := s.store.Execute(context.Background(), &sub)
	if err != nil {
		t.Fatalf("Execute = %v; want nil error", err)
	}
	return res
}

var (
	fIndex    = point.Field{Kind: point.KindIndex}
	fMethod   = point.Field{Kind: point.KindBlob, Pos: 1}
	fDuration = point.Field{Kind: point.KindDouble, Pos: 1}
	fStatus   = point.Field{Kind: point.KindDouble, Pos: 2}
)

// TestSampledQueries runs the structured-query and SQL paths over a sampled
// dataset and compares them with the unsampled truth: counts exact for every
// index value (per second too), every aggregation exact for the index values
// under the budget, and sums, averages, shares and quantiles of the sampled
// ones within 4 standard errors of the estimator, computed from the stored
// intervals (Σw² of the representatives).
func TestSampledQueries(t *testing.T) {
	s := writeSampledStream(t)
	stored := s.storedWeights(t)
	const sigmas = 4

	t.Run("budget", func(t *testing.T) {
		for _, ix := range s.cold {
			if got, want := stored[ix][0], float64(len(s.truthOf(ix, nil))); got != want {
				t.Errorf("%s: %v rows stored; want all %v (under the budget)", ix, got, want)
			}
		}
		// Each window after the first keeps at most budget+1; the first
		// fewer than budget·(1+log2(1+rate/budget))+1.
		limit := float64((streamSeconds-1)*(samplingBudget+1)) + samplingBudget*(1+math.Log2(1+20_000/samplingBudget)) + 1
		if got := stored["/hot"][0]; got > limit {
			t.Errorf("/hot: %v rows stored; want at most %v", got, limit)
		}
	})

	t.Run("count, sum, avg, min, max, quantiles by index", func(t *testing.T) {
		res := s.execute(t, query.Sub{GroupBy: []point.Field{fIndex}, Aggs: []query.Agg{
			{Type: query.AggCount},
			{Type: query.AggSum, Field: fDuration},
			{Type: query.AggAvg, Field: fDuration},
			{Type: query.AggMin, Field: fDuration},
			{Type: query.AggMax, Field: fDuration},
			{Type: query.AggQuantiles, Field: fDuration, Qs: []float64{0.5, 0.95}},
		}})
		if len(res.Rows) != len(s.cold)+len(s.hot) {
			t.Fatalf("Execute by index = %d rows; want %d", len(res.Rows), len(s.cold)+len(s.hot))
		}
		for _, r := range res.Rows {
			ix := r.Groups[0].(string)
			pts := s.truthOf(ix, nil)
			w := weightOf(pts)
			xs := weightedValues(pts, 1)
			count, sum, avg := r.Values[0].(float64), r.Values[1].(float64), r.Values[2].(float64)
			mn, mx, qs := r.Values[3].(float64), r.Values[4].(float64), r.Values[5].([]float64)
			if count != w {
				t.Errorf("%s: count = %v; want %v exactly", ix, count, w)
			}
			if slices.Contains(s.cold, ix) {
				want := []float64{sumOf(pts, 1), sumOf(pts, 1) / w, xs[0], xs[len(xs)-1], quantileCont(xs, 0.5), quantileCont(xs, 0.95)}
				got := []float64{sum, avg, mn, mx, qs[0], qs[1]}
				for i := range want {
					if !relClose(got[i], want[i], 1e-9) {
						t.Errorf("%s (under the budget): sum, avg, min, max, p50, p95 = %v; want %v exactly", ix, got, want)
						break
					}
				}
				continue
			}
			sumW2 := stored[ix][2]
			tolSum := sigmas * sdOf(pts, 1) * math.Sqrt(sumW2)
			if math.Abs(sum-sumOf(pts, 1)) > tolSum || math.Abs(avg-sumOf(pts, 1)/w) > tolSum/w {
				t.Errorf("%s: sum %v, avg %v; want %v ± %v, %v ± %v", ix, sum, avg, sumOf(pts, 1), tolSum, sumOf(pts, 1)/w, tolSum/w)
			}
			// A quantile of a weighted sample lies between the true
			// quantiles at q ± δ, δ = 4·sqrt(q(1-q)/n_eff), n_eff = (Σw)²/Σw².
			nEff := w * w / sumW2
			for i, q := range []float64{0.5, 0.95} {
				d := sigmas * math.Sqrt(q*(1-q)/nEff)
				if lo, hi := quantileCont(xs, q-d), quantileCont(xs, q+d); qs[i] < lo || qs[i] > hi {
					t.Errorf("%s: p%v = %v; want within [%v, %v] (the true p%v is %v)", ix, q*100, qs[i], lo, hi, q*100, quantileCont(xs, q))
				}
			}
			if mn < xs[0] || mx > xs[len(xs)-1] {
				t.Errorf("%s: min %v, max %v; want within the true [%v, %v]", ix, mn, mx, xs[0], xs[len(xs)-1])
			}
		}
	})

	t.Run("count per second", func(t *testing.T) {
		// A point never stands for one of another window, and the stream's
		// timestamps are its arrival times: counts per second are exact.
		res := s.execute(t, query.Sub{GroupBy: []point.Field{fIndex}, Interval: 1000, Aggs: []query.Agg{{Type: query.AggCount}}})
		want := map[string]float64{}
		for i := range s.truth {
			p := &s.truth[i]
			want[fmt.Sprint(p.Index, p.Timestamp/1000*1000)] += float64(p.Weight())
		}
		if len(res.Rows) != len(want) {
			t.Errorf("Execute by index and second = %d rows; want %d", len(res.Rows), len(want))
		}
		for _, r := range res.Rows {
			k := fmt.Sprint(r.Groups[0], r.Bucket)
			if r.Values[0].(float64) != want[k] {
				t.Errorf("count of %s at %d = %v; want %v", r.Groups[0], r.Bucket, r.Values[0], want[k])
			}
		}
	})

	t.Run("total", func(t *testing.T) {
		res := s.execute(t, query.Sub{Aggs: []query.Agg{{Type: query.AggCount}, {Type: query.AggAvg, Field: fDuration}}})
		all := s.truthOf("", nil)
		rows := 0.0
		for _, v := range stored {
			rows += v[0]
		}
		if len(res.Rows) != 1 || res.Rows[0].Values[0].(float64) != weightOf(all) || float64(res.RowsScanned) != rows {
			t.Fatalf("Execute total = %+v (%d rows scanned); want count %v over %v stored rows", res.Rows, res.RowsScanned, weightOf(all), rows)
		}
		stats, err := s.store.DatasetStats(context.Background(), s.project, "api")
		if err != nil || float64(stats.Points) != weightOf(all) {
			t.Errorf("DatasetStats = %+v, %v; want %v points", stats, err, weightOf(all))
		}
		if rows*20 > weightOf(all) {
			t.Errorf("%v rows stored for %v points; want at least 20 times fewer", rows, weightOf(all))
		}
	})

	t.Run("filter and percentage", func(t *testing.T) {
		isGET := func(p *point.Point) bool { return p.Blob(1) == "GET" }
		res := s.execute(t, query.Sub{GroupBy: []point.Field{fIndex},
			Filter: []query.Filter{{Field: fMethod, Op: query.OpEq, Value: "GET"}},
			Aggs: []query.Agg{{Type: query.AggCount},
				{Type: query.AggPercentage, Filter: []query.Filter{{Field: fStatus, Op: query.OpGe, Value: 500.0}}}}})
		for _, r := range res.Rows {
			ix := r.Groups[0].(string)
			get := s.truthOf(ix, isGET)
			errs := s.truthOf(ix, func(p *point.Point) bool { return isGET(p) && p.Double(2) >= 500 })
			count, pct := r.Values[0].(float64), r.Values[1].(float64)
			wantCount, wantPct := weightOf(get), 100*weightOf(errs)/weightOf(get)
			if slices.Contains(s.cold, ix) {
				if count != wantCount || !relClose(pct, wantPct, 1e-9) {
					t.Errorf("%s GET (under the budget): count %v, 5xx %v%%; want %v, %v%% exactly", ix, count, pct, wantCount, wantPct)
				}
				continue
			}
			// The share p of GET among the index value's points is
			// estimated with variance Σw²·p(1-p); the share of 5xx among
			// them likewise, on the GET part.
			all := s.truthOf(ix, nil)
			sumW2 := stored[ix][2]
			p := wantCount / weightOf(all)
			tolCount := sigmas * math.Sqrt(sumW2*p*(1-p))
			q := wantPct / 100
			tolPct := 100 * sigmas * math.Sqrt(sumW2*p*q*(1-q)) / wantCount
			if math.Abs(count-wantCount) > tolCount || math.Abs(pct-wantPct) > tolPct {
				t.Errorf("%s GET: count %v, 5xx %v%%; want %v ± %v, %v%% ± %v", ix, count, pct, wantCount, tolCount, wantPct, tolPct)
			}
		}
	})

	t.Run("SQL API", func(t *testing.T) {
		src, args, _ := s.store.SQLSource(s.project, "api", 0)
		rows, err := s.store.QuerySQL(context.Background(), `SELECT index1, sum(_sample_interval)::DOUBLE AS n,
			sum(double1 * _sample_interval) AS total, sum(double1 * _sample_interval) / sum(_sample_interval) AS mean
			FROM `+src+` AS t WHERE "timestamp" >= TIMESTAMP '2026-11-27 12:00:00' GROUP BY index1 ORDER BY n DESC`, args)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var order []string
		for rows.Next() {
			var ix string
			var n, total, mean float64
			if err := rows.Scan(&ix, &n, &total, &mean); err != nil {
				t.Fatal(err)
			}
			order = append(order, ix)
			pts := s.truthOf(ix, nil)
			w := weightOf(pts)
			if n != w {
				t.Errorf("SQL sum(_sample_interval) of %s = %v; want %v exactly", ix, n, w)
			}
			tol := 1e-9 * sumOf(pts, 1)
			if !slices.Contains(s.cold, ix) {
				tol = sigmas * sdOf(pts, 1) * math.Sqrt(stored[ix][2])
			}
			if math.Abs(total-sumOf(pts, 1)) > tol || math.Abs(mean-sumOf(pts, 1)/w) > tol/w {
				t.Errorf("SQL weighted sum, mean of %s = %v, %v; want %v, %v ± %v", ix, total, mean, sumOf(pts, 1), sumOf(pts, 1)/w, tol)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(order) != len(s.cold)+len(s.hot) || order[0] != "/hot" || order[1] != "/warm" {
			t.Errorf("SQL index values by weighted count = %v; want /hot, /warm, then the cold ones", order)
		}
	})
}
