package rollup

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
)

// benchPoints returns a time-ordered stream of requests points at the rate
// of a 100M-point month (about 2300 a minute) over 50 endpoints, each with
// its method and service and four statuses (200 series, about 11 points per
// series and minute), with unique URLs and lognormal durations. With
// spread, every point picks its method, service and status at random (1200
// series, about 2 points per series and minute: a new cell for most points).
func benchPoints(n int, spread bool) []point.Point {
	rng := rand.New(rand.NewPCG(5, 6))
	pts := make([]point.Point, n)
	methods := []string{"GET", "GET", "GET", "POST", "PUT"}
	services := []string{"api", "api", "web"}
	statuses := []float64{200, 200, 200, 200, 200, 200, 201, 404, 500}
	for i := range pts {
		ep := rng.IntN(50)
		method, service := methods[ep%5], services[ep%3]
		if spread {
			method, service = methods[rng.IntN(5)], services[rng.IntN(3)]
		}
		status := statuses[rng.IntN(9)]
		if !spread && status == 201 {
			status = 200
		}
		pts[i] = point.Point{Dataset: "requests", Timestamp: T0 + int64(i)*26, Index: "/api/endpoint/" + strconv.Itoa(ep),
			Blobs:   []string{"https://example.test/api/endpoint/" + strconv.Itoa(ep) + "?id=" + strconv.Itoa(rng.IntN(1e6)), method, service},
			Doubles: []float64{math.Exp(3 + float64(ep%5)/2 + rng.NormFloat64()), status, float64(rng.IntN(50000))}}
	}
	return pts
}

func benchAdd(b *testing.B, pts []point.Point) {
	span := pts[len(pts)-1].Timestamp - pts[0].Timestamp + 26
	r := New(Options{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		k := i & (len(pts) - 1)
		if k == 0 && i > 0 {
			for j := range pts {
				pts[j].Timestamp += span
			}
		}
		r.Add(1, &pts[k])
	}
	st := r.Stats()
	b.ReportMetric(float64(b.N)/float64(st.Cells[tierMinute]), "points/cell")
}

// BenchmarkAdd measures Add per point on a live stream.
func BenchmarkAdd(b *testing.B) {
	b.Run("realistic", func(b *testing.B) { benchAdd(b, benchPoints(1<<16, false)) })
	b.Run("high-cardinality", func(b *testing.B) { benchAdd(b, benchPoints(1<<16, true)) })
}

// BenchmarkAddBatch is Add through AddBatch, 512 points a batch.
func BenchmarkAddBatch(b *testing.B) {
	pts := benchPoints(1<<16, false)
	span := pts[len(pts)-1].Timestamp - pts[0].Timestamp + 26
	r := New(Options{})
	b.ReportAllocs()
	const batch = 512
	for i := 0; i < b.N; i += batch {
		k := i & (len(pts) - 1)
		if k == 0 && i > 0 {
			for j := range pts {
				pts[j].Timestamp += span
			}
		}
		r.AddBatch(1, pts[k:k+batch])
	}
}

// BenchmarkAddAIUsage: the widest built-in spec (4 dimensions, 9 doubles,
// 5 sketches).
func BenchmarkAddAIUsage(b *testing.B) {
	rng := rand.New(rand.NewPCG(8, 9))
	pts := make([]point.Point, 1<<16)
	for i := range pts {
		m := []string{"gpt-4o", "claude-sonnet", "llama-70b", "gemini-pro"}[rng.IntN(4)]
		tok := math.Round(math.Exp(6 + rng.NormFloat64()))
		pts[i] = point.Point{Dataset: "ai_usage", Timestamp: T0 + int64(i)*26, Index: m,
			Blobs:   []string{m, []string{"chat", "search", "summary"}[rng.IntN(3)], "provider" + strconv.Itoa(rng.IntN(3))},
			Doubles: []float64{tok, math.Exp(6.5 + rng.NormFloat64()), tok / 2, tok / 2, math.Exp(5 + rng.NormFloat64()), tok * 1e-6, 0, 0, 1}}
	}
	span := pts[len(pts)-1].Timestamp - pts[0].Timestamp + 26
	r := New(Options{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		k := i & (len(pts) - 1)
		if k == 0 && i > 0 {
			for j := range pts {
				pts[j].Timestamp += span
			}
		}
		r.Add(1, &pts[k])
	}
}

// month is a rollup of a realistic 100M-point month of requests: 50
// endpoints × 3 (method, status) series, about 15 points per series and
// minute, 30 days and 13.5 hours, sealed up to two minutes ago and with
// minutes compacted after 48 hours, as a server keeps it. Its cells are
// made directly from a pool of template cells (read-only, shared).
type month struct {
	r      *Rollup
	now    int64
	points uint64
}

var monthOnce = sync.OnceValue(func() *month {
	rng := rand.New(rand.NewPCG(11, 12))
	start := T0
	now := start + 30*dayMs + 13*hourMs + 27*minuteMs
	r := New(Options{CoverFrom: start})
	t := r.table(1, "requests")
	type combo struct {
		method string
		status float64
	}
	combos := []combo{{"GET", 200}, {"POST", 201}, {"GET", 500}}
	var sids []uint32
	for ep := range 50 {
		for _, c := range combos {
			p := point.Point{Dataset: "requests", Index: "/api/endpoint/" + strconv.Itoa(ep), Blobs: []string{"", c.method, "api"}, Doubles: []float64{0, c.status}}
			sids = append(sids, t.intern(&p))
		}
	}
	// Template cells: per latency class (endpoint % 5) and status.
	const perClass = 64
	templates := make([][]cell, 5*len(combos))
	for class := range templates {
		for range perClass {
			c := cell{sk: make([]sketch, 1)}
			n := 12 + rng.IntN(20)
			if class%3 == 2 {
				n = 1 + rng.IntN(2) // errors are rarer
			}
			for range n {
				p := point.Point{Doubles: []float64{math.Exp(3 + float64(class/3)/2 + rng.NormFloat64()), combos[class%3].status, float64(rng.IntN(50000))}}
				c.addPoint(&p, 1, 3, []int{1})
			}
			c.sk[0].freeze()
			templates[class] = append(templates[class], c)
		}
	}
	t.width = 3
	m := &month{r: r, now: now}
	for minute := start; minute < now; minute += minuteMs {
		b := t.bucket(tierMinute, minute)
		b.cells = make([]cell, 0, len(sids))
		for i, sid := range sids {
			tm := &templates[(i/3%5)*3+i%3][rng.IntN(perClass)]
			c := *tm
			c.sid = sid
			b.cells = append(b.cells, c)
			m.points += c.n
		}
		if (minute-start)%hourMs == hourMs-minuteMs {
			t.seal(minute + minuteMs)
			t.compact(min(minute+minuteMs, now-2*dayMs))
		}
	}
	t.seal(now - 2*minuteMs)
	t.compact(now - 2*dayMs)
	runtime.GC()
	return m
})

func overviewAggs() []query.Agg {
	return []query.Agg{
		{Type: query.AggCount},
		{Type: query.AggAvg, Field: d(1)},
		{Type: query.AggQuantiles, Field: d(1), Qs: []float64{0.5, 0.95, 0.99}},
		{Type: query.AggPercentage, Filter: []query.Filter{flt(d(2), query.OpGe, 500.0)}},
	}
}

func benchExecute(b *testing.B, sub query.Sub) {
	m := monthOnce()
	sub.Project, sub.Dataset, sub.MaxGroups = 1, "requests", query.MaxGroups
	if ok, why := m.r.Covers(&sub); !ok {
		b.Fatal(why)
	}
	b.ResetTimer()
	var res *query.SubResult
	for b.Loop() {
		var err error
		if res, err = m.r.Execute(context.Background(), &sub); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	b.ReportMetric(float64(res.RowsScanned), "points")
	b.ReportMetric(float64(len(res.Rows)), "rows")
}

// BenchmarkExecute30Days times dashboard queries over the month: the
// overview (count, avg, p50/p95/p99, error rate over 30 days, no groups;
// the budget is 50 ms), the same for 8 endpoints grouped by endpoint, the
// overview filtered on a dimension (which cannot use bucket totals), the
// overview as an hourly chart, and the last 24 hours by minute.
func BenchmarkExecute30Days(b *testing.B) {
	m := monthOnce()
	from := floorTo(m.now-30*dayMs, hourMs)
	eight := []string{}
	for ep := range 8 {
		eight = append(eight, "/api/endpoint/"+strconv.Itoa(ep*6))
	}
	b2 := blob(2)
	b.Run("overview", func(b *testing.B) {
		benchExecute(b, query.Sub{From: from, To: m.now, Aggs: overviewAggs()})
	})
	b.Run("8-endpoints", func(b *testing.B) {
		benchExecute(b, query.Sub{From: from, To: m.now, Aggs: overviewAggs(),
			Filter: []query.Filter{flt(idx, query.OpIn, eight)}, GroupBy: []point.Field{idx}})
	})
	b.Run("overview-filtered", func(b *testing.B) {
		// A filter on a dimension: no bucket totals, 100 series' sketches
		// merged per bucket.
		benchExecute(b, query.Sub{From: from, To: m.now, Aggs: overviewAggs(),
			Filter: []query.Filter{flt(b2, query.OpEq, "GET")}})
	})
	b.Run("overview-hourly", func(b *testing.B) {
		benchExecute(b, query.Sub{From: from, To: m.now, Interval: hourMs, Aggs: overviewAggs()})
	})
	b.Run("24h-by-minute", func(b *testing.B) {
		benchExecute(b, query.Sub{From: m.now - dayMs, To: m.now, Interval: minuteMs, Aggs: overviewAggs()})
	})
}

// TestMonthFixture reports the month's size and checks it is what the
// benchmark claims: about 100M points in day, hour and minute cells.
func TestMonthFixture(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("builds a month of cells")
	}
	m := monthOnce()
	st := m.r.Stats()
	t.Logf("month: %d points; %s", m.points, st)
	if m.points < 90e6 || m.points > 110e6 {
		t.Errorf("%d points, want about 100M", m.points)
	}
	sub := query.Sub{Project: 1, Dataset: "requests", From: floorTo(m.now-30*dayMs, hourMs), To: m.now, MaxGroups: 10, Aggs: overviewAggs()}
	res, err := m.r.Execute(context.Background(), &sub)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("overview: %v over %d points", res.Rows[0].Values, res.RowsScanned)
}

// TestMemoryRealistic adds two days of a 100M-point month's stream (about
// 6.6M points, 200 series) through Add, seals and compacts as a server
// would, and reports the measured heap per cell next to Stats' estimate.
func TestMemoryRealistic(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("adds 6.6M points")
	}
	pts := benchPoints(1<<16, false)
	span := pts[len(pts)-1].Timestamp - pts[0].Timestamp + 26
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := New(Options{})
	const n = 100 << 16
	for i := range n {
		k := i & (len(pts) - 1)
		if k == 0 && i > 0 {
			for j := range pts {
				pts[j].Timestamp += span
			}
			r.Seal(pts[0].Timestamp - 2*minuteMs)
			r.Compact(pts[0].Timestamp - 24*hourMs)
		}
		r.Add(1, &pts[k])
	}
	r.Seal(pts[len(pts)-1].Timestamp - 2*minuteMs)
	runtime.GC()
	runtime.ReadMemStats(&after)
	st := r.Stats()
	cells := st.Cells[0] + st.Cells[1] + st.Cells[2]
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d points over %.1f days: %s", n, float64(n*26)/float64(dayMs), st)
	t.Logf("measured heap %.1f MB, %.0f B/cell (estimate %.0f B/cell)", float64(heap)/(1<<20), float64(heap)/float64(cells), st.BytesPerCell())
	runtime.KeepAlive(r)
}

// BenchmarkBackfill measures Add, Seal and Compact per point as a server
// runs them while a month is backfilled oldest first at the density of the
// issue's data set over 1,200 series (about 2 points per series and
// minute): most points make a cell, and every cell is merged into an hour
// and a day.
func BenchmarkBackfill(b *testing.B) {
	pts := benchPoints(1<<16, true)
	for i := range pts {
		pts[i].Timestamp = T0 + int64(i)*26 // 100M points a month
	}
	span := int64(len(pts)) * 26
	r := New(Options{})
	b.ReportAllocs()
	next := T0 + 10*minuteMs
	for i := 0; i < b.N; i++ {
		k := i & (len(pts) - 1)
		if k == 0 && i > 0 {
			for j := range pts {
				pts[j].Timestamp += span
			}
		}
		p := &pts[k]
		if p.Timestamp >= next {
			// Upkeep, as the planner runs it behind the newest point.
			r.Seal(p.Timestamp - 2*minuteMs)
			r.Compact(p.Timestamp - 6*hourMs)
			next += 10 * minuteMs
		}
		r.Add(1, p)
	}
	st := r.Stats()
	b.ReportMetric(float64(st.Bytes)/float64(b.N), "rollup-B/point")
}
