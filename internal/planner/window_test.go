package planner_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/planner"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/duckdb"
)

// TestRelativeRangesAreExact: a relative range D asked at any instant is
// exactly [now − D, now), on both paths. The clock is set to many
// instants (the minute, its first and last second, the hour, midnight),
// and points sit just inside and just outside every edge; counts, sums
// and buckets are compared with a reference computed here, and quantiles
// of the rollup path with the raw path.
func TestRelativeRangesAreExact(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := duckdb.Open(ctx, duckdb.Options{Dir: dir, MemoryLimit: "512MB", Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The clock moves from 22:58 through midnight to 01:05.
	base := time.Date(2026, 11, 27, 22, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(base.UnixMilli())
	nowFn := func() time.Time { return time.UnixMilli(clock.Load()).UTC() }
	pl, err := planner.Open(ctx, st, planner.Options{Dir: filepath.Join(dir, "rollups"), Now: nowFn, KeepMinutes: 3 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close(ctx)
	eng := &query.Engine{Exec: pl, Schemas: st.Schema, Now: nowFn}

	ms := func(h, m, s, milli int) int64 {
		return base.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second + time.Duration(milli)*time.Millisecond).UnixMilli()
	}
	clocks := []int64{
		ms(0, 58, 0, 0),    // 22:58:00.000, a whole minute
		ms(0, 59, 0, 1),    // 22:59:00.001
		ms(0, 59, 59, 999), // 22:59:59.999
		ms(1, 0, 0, 0),     // 23:00:00.000, a whole hour
		ms(1, 1, 0, 0),     // 23:01
		ms(1, 29, 31, 250), // 23:29:31.250
		ms(1, 59, 59, 999), // 23:59:59.999
		ms(2, 0, 0, 0),     // midnight
		ms(2, 0, 0, 1),     // just after midnight
		ms(2, 3, 12, 345),  // 00:03:12.345
		ms(3, 5, 30, 0),    // 01:05:30
	}
	ranges := []time.Duration{time.Minute, 15 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour}

	// Background points over 8 days before the first clock up to a few
	// minutes after the last (future points are allowed up to 5 min), then
	// points just inside and outside every edge of every (clock, range).
	rng := rand.New(rand.NewPCG(3, 9))
	endpoints := []string{"/a", "/b", "/c"}
	var pts []point.Point
	mk := func(ts int64) point.Point {
		w := uint32(1)
		if rng.IntN(5) == 0 {
			w = 2
		}
		return point.Point{Dataset: "requests", Timestamp: ts, Index: endpoints[rng.IntN(len(endpoints))], SampleInterval: w,
			Blobs: []string{"u", "GET", "web"}, Doubles: []float64{float64(1 + rng.IntN(2000)), 200}}
	}
	lo, hi := clocks[0]-8*24*3_600_000, clocks[len(clocks)-1]+4*60_000
	for range 40_000 {
		pts = append(pts, mk(lo+rng.Int64N(hi-lo)))
	}
	for _, c := range clocks {
		for _, d := range ranges {
			from := c - d.Milliseconds()
			for _, ts := range []int64{from - 1, from, from + 1, c - 1, c, c + 1} {
				pts = append(pts, mk(ts))
			}
		}
	}
	// Write oldest first, as live traffic would arrive.
	sort.Slice(pts, func(i, j int) bool { return pts[i].Timestamp < pts[j].Timestamp })
	for len(pts) > 0 {
		k := min(len(pts), 1000)
		if err := pl.Append(ctx, []store.Batch{{Project: 1, Points: pts[:k]}}); err != nil {
			t.Fatal(err)
		}
		pts = pts[k:]
	}
	pl.Maintain(ctx, false)
	var stored []point.Point
	for _, day := range st.Days() {
		if err := st.ScanDay(ctx, day, 1, "requests", func(_ int64, p *point.Point) error {
			stored = append(stored, point.Point{Timestamp: p.Timestamp, Index: p.Index, SampleInterval: p.SampleInterval, Doubles: []float64{p.Doubles[0]}})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	type ref struct {
		n, sum  float64
		byEP    map[string]float64
		buckets map[int64]float64
	}
	reference := func(from, to, interval int64) ref {
		r := ref{byEP: map[string]float64{}, buckets: map[int64]float64{}}
		for _, p := range stored {
			if p.Timestamp < from || p.Timestamp >= to {
				continue
			}
			w := float64(p.Weight())
			r.n += w
			r.sum += w * p.Doubles[0]
			r.byEP[p.Index] += w
			r.buckets[p.Timestamp-((p.Timestamp%interval)+interval)%interval] += w
		}
		return r
	}
	fmtMs := func(x int64) string { return time.UnixMilli(x).UTC().Format("2006-01-02T15:04:05.000Z") }
	run := func(body, src string) *query.Response {
		t.Helper()
		resp, err := eng.Run(ctx, 1, []byte(fmt.Sprintf(`{"source":%q,%s`, src, body[1:])))
		if err != nil {
			t.Fatalf("%s (%s): %v", body, src, err)
		}
		return resp
	}
	num := func(r query.Row, key string) float64 {
		v, _ := r.Get(key)
		f, _ := v.(float64)
		return f
	}
	mixed := 0
	for _, c := range clocks {
		clock.Store(c)
		for _, d := range ranges {
			dm := d.Milliseconds()
			from, to := c-dm, c
			interval := int64(60_000)
			if d > 2*time.Hour {
				interval = 3_600_000
			}
			want := reference(from, to, interval)
			rng := fmt.Sprintf("%dm", dm/60_000)
			what := fmt.Sprintf("at %s range %s", fmtMs(c), rng)
			for _, src := range []string{"auto", "raw"} {
				total := run(`{"dataset":"requests","range":"`+rng+`","aggregations":{"n":{"type":"count"},"s":{"type":"sum","field":"duration"},"q":{"type":"quantile","field":"duration","q":0.9}}}`, src)
				if got, want := total.Meta.From+".."+total.Meta.To, time.UnixMilli(from).UTC().Format(time.RFC3339Nano)+".."+time.UnixMilli(to).UTC().Format(time.RFC3339Nano); got != want {
					t.Errorf("%s (%s): meta %s; want %s", what, src, got, want)
				}
				if n, s := num(total.Rows[0], "n"), num(total.Rows[0], "s"); n != want.n || s != want.sum {
					t.Errorf("%s (%s): count %v, sum %v; want %v, %v", what, src, n, s, want.n, want.sum)
				}
				// A minute that does not start on a minute holds no whole
				// bucket: raw points answer it.
				noWhole := d == time.Minute && c%60_000 != 0
				switch {
				case src == "raw" && total.Meta.Source != "raw",
					src == "auto" && !noWhole && !fromRollups(total.Meta.Source),
					src == "auto" && noWhole && total.Meta.Source != "raw":
					t.Errorf("%s (%s): source %q", what, src, total.Meta.Source)
				}
				if total.Meta.Source == "mixed" {
					mixed++
				}
				if src == "auto" {
					raw := run(`{"dataset":"requests","range":"`+rng+`","aggregations":{"q":{"type":"quantile","field":"duration","q":0.9}}}`, "raw")
					if a, b := num(total.Rows[0], "q"), num(raw.Rows[0], "q"); !close(a, b, 0.01) {
						t.Errorf("%s: p90 from rollups %v, raw %v", what, a, b)
					}
				}
				byEP := run(`{"dataset":"requests","range":"`+rng+`","groupBy":["endpoint"],"aggregations":{"n":{"type":"count"}}}`, src)
				got := map[string]float64{}
				for _, r := range byEP.Rows {
					ep, _ := r.Get("endpoint")
					got[ep.(string)] = num(r, "n")
				}
				if fmt.Sprint(got) != fmt.Sprint(want.byEP) {
					t.Errorf("%s (%s): by endpoint %v; want %v", what, src, got, want.byEP)
				}
				// An explicit range with both edges where minutes are
				// compacted, at odd milliseconds (a previous period).
				ef, et := c-30*3_600_000-17*60_000-3500, c-7*3_600_000-41*60_000-250
				ex := run(fmt.Sprintf(`{"dataset":"requests","range":{"from":%d,"to":%d},"groupBy":["endpoint"],"aggregations":{"n":{"type":"count"},"s":{"type":"sum","field":"duration"}}}`, ef, et), src)
				wantEx := reference(ef, et, interval)
				gotEx := map[string]float64{}
				for _, r := range ex.Rows {
					ep, _ := r.Get("endpoint")
					gotEx[ep.(string)] = num(r, "n")
				}
				if fmt.Sprint(gotEx) != fmt.Sprint(wantEx.byEP) || (src == "auto" && !fromRollups(ex.Meta.Source)) {
					t.Errorf("%s (%s): explicit range %s..%s by endpoint %v from %s; want %v", what, src, fmtMs(ef), fmtMs(et), gotEx, ex.Meta.Source, wantEx.byEP)
				}
				series := run(fmt.Sprintf(`{"dataset":"requests","range":"%s","interval":"%dm","aggregations":{"n":{"type":"count"}}}`, rng, interval/60_000), src)
				gotB := map[int64]float64{}
				for _, r := range series.Rows {
					tv, _ := r.Get("t")
					ts, err := time.Parse(time.RFC3339Nano, tv.(string))
					if err != nil {
						t.Fatal(err)
					}
					if ts.UnixMilli()%interval != 0 {
						t.Errorf("%s (%s): bucket %s is not a multiple of the interval", what, src, tv)
					}
					gotB[ts.UnixMilli()] = num(r, "n")
				}
				if fmt.Sprint(gotB) != fmt.Sprint(want.buckets) {
					t.Errorf("%s (%s): buckets %v; want %v", what, src, gotB, want.buckets)
				}
			}
		}
	}
	if mixed == 0 {
		t.Error("no answer combined rollups and raw edges: the test misses the mixed path")
	}

	// Concurrent queries share the kept hours' cells and their merges.
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			c := clocks[g%len(clocks)]
			from, to := c-31*3_600_000-7*60_000-123, c-3*3_600_000-59*60_000-7
			want := reference(from, to, 3_600_000)
			for range 3 {
				resp, err := eng.Run(ctx, 1, []byte(fmt.Sprintf(`{"range":{"from":%d,"to":%d},"dataset":"requests","aggregations":{"n":{"type":"count"}}}`, from, to)))
				if err != nil {
					t.Error(err)
					return
				}
				if got := num(resp.Rows[0], "n"); got != want.n {
					t.Errorf("concurrent query %s..%s: count %v; want %v", fmtMs(from), fmtMs(to), got, want.n)
				}
			}
		})
	}
	wg.Wait()

	// A late point into an hour whose cells the edges keep: the next
	// answer counts it.
	c := clocks[5]
	clock.Store(c)
	q := `{"dataset":"requests","range":"24h","aggregations":{"n":{"type":"count"}}}`
	before := num(run(q, "auto").Rows[0], "n")
	late := mk(c - 24*3_600_000 + 60_000)
	if err := pl.Append(ctx, []store.Batch{{Project: 1, Points: []point.Point{late}}}); err != nil {
		t.Fatal(err)
	}
	after := run(q, "auto")
	if got := num(after.Rows[0], "n"); got != before+float64(late.Weight()) || !fromRollups(after.Meta.Source) {
		t.Errorf("after a late point in the range's first hour: count %v from %s; want %v", got, after.Meta.Source, before+float64(late.Weight()))
	}

	// The hour after that edge was read ahead (in the background): a late
	// point into it, then the clock an hour on, its start in that hour.
	time.Sleep(300 * time.Millisecond)
	late = mk(c - 23*3_600_000 + 120_000)
	if err := pl.Append(ctx, []store.Batch{{Project: 1, Points: []point.Point{late}}}); err != nil {
		t.Fatal(err)
	}
	clock.Store(c + 3_600_000)
	for _, q := range []string{q, `{"dataset":"requests","range":"24h","groupBy":["endpoint"],"aggregations":{"n":{"type":"count"},"s":{"type":"sum","field":"duration"}}}`} {
		auto, raw := run(q, "auto"), run(q, "raw")
		if fmt.Sprint(auto.Rows) != fmt.Sprint(raw.Rows) || !fromRollups(auto.Meta.Source) {
			t.Errorf("an hour on, after a late point in the hour read ahead: %v from %s; raw points say %v", auto.Rows, auto.Meta.Source, raw.Rows)
		}
	}
}
