//go:build cluster

package clickhouse_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/duckdb"
	"github.com/alidade/alidade/internal/testinfra"
)

// nasty are index and blob values that a printer must quote right: quotes,
// backslashes, SQL, control characters, every ASCII character and some
// beyond, and a prefix of another.
var nasty = func() []string {
	var all strings.Builder
	for c := 1; c < 128; c++ {
		all.WriteByte(byte(c))
	}
	all.WriteString("\u00e9\u2028\U0001F642")
	return []string{"'", `\`, `\'`, "a'); DROP TABLE points; --", "tab\there\nnew\rline\x00nul", all.String(), "é🙂", "/api", "/api/v2", ""}
}()

// diffPoints makes n points of dataset "d" over 3 days from day0 with
// weights 1 to 20, latencies that repeat, and the nasty strings.
func diffPoints(r *rand.Rand, n int) []point.Point {
	weights := []uint32{0, 1, 1, 1, 5, 20}
	pts := make([]point.Point, n)
	for i := range pts {
		pts[i] = point.Point{
			Dataset:        "d",
			Timestamp:      day0 + r.Int64N(3*store.DayMs),
			Index:          nasty[r.IntN(len(nasty))],
			Blobs:          []string{[]string{"GET", "POST", "PUT"}[r.IntN(3)], nasty[r.IntN(len(nasty))]},
			Doubles:        []float64{math.Round(math.Exp(3+r.NormFloat64())*10) / 10, float64(200 + 100*r.IntN(4)), r.NormFloat64() * 1e-310},
			SampleInterval: weights[r.IntN(len(weights))],
		}
	}
	return pts
}

func TestSameAnswersAsDuckDB(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ch := testinfra.StartClickHouse(t, testinfra.ClickHouseOptions{})
	c := open(t, chURL(ch, "diff", ""))
	d, err := duckdb.Open(ctx, duckdb.Options{Dir: t.TempDir(), MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r := rand.New(rand.NewPCG(7, 8))
	pts := diffPoints(r, 20000)
	// -0 and 0 are one group and one distinct value.
	pts[3].Doubles[2], pts[4].Doubles[2] = math.Copysign(0, -1), 0
	batches := []store.Batch{{Project: 1, Points: pts}, {Project: 2, Points: diffPoints(r, 1000)}}
	for _, s := range []interface {
		Append(context.Context, []store.Batch) error
	}{c, d} {
		if err := s.Append(ctx, batches); err != nil {
			t.Fatal(err)
		}
	}

	f := func(k point.FieldKind, pos int) point.Field { return point.Field{Kind: k, Pos: pos} }
	idx, method, label := f(point.KindIndex, 1), f(point.KindBlob, 1), f(point.KindBlob, 2)
	lat, status, tiny := f(point.KindDouble, 1), f(point.KindDouble, 2), f(point.KindDouble, 3)
	ts, si := f(point.KindTimestamp, 0), f(point.KindSampleInterval, 0)
	flt := func(fl point.Field, op query.Op, v any) []query.Filter {
		return []query.Filter{{Field: fl, Op: op, Value: v}}
	}
	aggs := []query.Agg{
		{Type: query.AggCount},
		{Type: query.AggSum, Field: lat},
		{Type: query.AggAvg, Field: lat, Filter: flt(method, query.OpEq, "GET")},
		{Type: query.AggMin, Field: tiny},
		{Type: query.AggMax, Field: ts},
		{Type: query.AggPercentage, Filter: flt(status, query.OpGe, 400.0)},
		{Type: query.AggUniq, Field: label},
		{Type: query.AggUniq, Field: tiny},
		{Type: query.AggQuantile, Field: lat, Q: 0.95},
		{Type: query.AggQuantiles, Field: lat, Qs: []float64{0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.99, 1}},
		{Type: query.AggQuantiles, Field: si, Qs: []float64{0.1, 0.5}, Filter: flt(idx, query.OpStartsWith, "/api")},
		{Type: query.AggQuantile, Field: tiny, Q: 0.3},
		{Type: query.AggQuantile, Field: ts, Q: 0.5, Filter: flt(label, query.OpEq, nasty[5])},
	}
	base := query.Sub{Project: 1, Dataset: "d", From: day0 + 3600*1000 + 17, To: day0 + 3*store.DayMs - 5, MaxGroups: 10000, Aggs: aggs}
	cases := map[string]func(s *query.Sub){
		"ungrouped":          func(s *query.Sub) {},
		"by index":           func(s *query.Sub) { s.GroupBy = []point.Field{idx} },
		"by label and hour":  func(s *query.Sub) { s.GroupBy = []point.Field{label}; s.Interval = 3600 * 1000 },
		"by status, 7 min":   func(s *query.Sub) { s.GroupBy = []point.Field{status}; s.Interval = 7 * 60 * 1000 },
		"by sample interval": func(s *query.Sub) { s.GroupBy = []point.Field{si} },
		"by tiny":            func(s *query.Sub) { s.GroupBy = []point.Field{tiny}; s.Filter = flt(tiny, query.OpGt, 1e-310) },
		"by tiny, zeros":     func(s *query.Sub) { s.GroupBy = []point.Field{tiny}; s.Filter = flt(tiny, query.OpLe, 0.0) },
		"label = each nasty": func(s *query.Sub) { s.GroupBy = []point.Field{method}; s.Filter = flt(label, query.OpIn, nasty) },
		"label not in":       func(s *query.Sub) { s.Filter = flt(label, query.OpNotIn, nasty[:4]) },
		"index contains":     func(s *query.Sub) { s.GroupBy = []point.Field{idx}; s.Filter = flt(idx, query.OpContains, `\'`) },
		"index <":            func(s *query.Sub) { s.GroupBy = []point.Field{idx}; s.Filter = flt(idx, query.OpLt, "/api/v") },
		"no match":           func(s *query.Sub) { s.Filter = flt(idx, query.OpEq, "'; nothing") },
		"tiny negative":      func(s *query.Sub) { s.Filter = flt(tiny, query.OpLe, -2.5e-311) },
		"ts in": func(s *query.Sub) {
			s.Filter = flt(ts, query.OpIn, []float64{float64(pts[0].Timestamp), float64(pts[1].Timestamp) + 0.5})
		},
	}
	for _, nasty := range nasty {
		cases["label = "+strconv.Quote(nasty)] = func(s *query.Sub) { s.Filter = flt(label, query.OpEq, nasty) }
	}
	names := make([]string, 0, len(cases))
	for n := range cases {
		names = append(names, n)
	}
	sort.Strings(names)
	exactQuantiles := 0
	for _, name := range names {
		sub := base
		cases[name](&sub)
		want, err := d.Execute(ctx, &sub)
		if err != nil {
			t.Fatalf("%s: DuckDB: %v", name, err)
		}
		got, err := c.Execute(ctx, &sub)
		if err != nil {
			t.Fatalf("%s: ClickHouse: %v", name, err)
		}
		exactQuantiles += compareResults(t, name, &sub, got, want)
	}
	t.Logf("%d quantile values the same as DuckDB's", exactQuantiles)
	if exactQuantiles < 100 {
		t.Errorf("only %d quantile values compared; the cases should hold more", exactQuantiles)
	}
	t.Run("RawFigures", func(t *testing.T) { testSameRawFigures(t, c, d) })
}

// compareResults fails t unless got has the rows of want, the same
// RowsScanned and the same values: equal (bit for bit, but that -0 is 0:
// which of them a group of both shows depends on the order the points are
// read in) but for sums, averages and percentages, which may be added up
// in another order (1e-12 relative).
// It returns how many quantile values it compared.
func compareResults(t *testing.T, name string, sub *query.Sub, got, want *query.SubResult) int {
	t.Helper()
	key := func(r query.SubRow) string {
		g := slices.Clone(r.Groups)
		for i, v := range g {
			if f, ok := v.(float64); ok {
				g[i] = f + 0 // -0 and 0 are one group, whichever it shows
			}
		}
		return fmt.Sprintf("%q %d", g, r.Bucket)
	}
	if got.RowsScanned != want.RowsScanned || len(got.Rows) != len(want.Rows) {
		t.Fatalf("%s: %d rows, RowsScanned %d; DuckDB %d rows, RowsScanned %d", name, len(got.Rows), got.RowsScanned, len(want.Rows), want.RowsScanned)
	}
	byKey := map[string]query.SubRow{}
	for _, r := range got.Rows {
		byKey[key(r)] = r
	}
	quantiles := 0
	for _, w := range want.Rows {
		g, ok := byKey[key(w)]
		if !ok {
			t.Fatalf("%s: no row %s (DuckDB has it)", name, key(w))
		}
		for i, a := range sub.Aggs {
			gv, wv := g.Values[i], w.Values[i]
			same := false
			switch wx := wv.(type) {
			case nil:
				same = gv == nil
			case float64:
				gx, ok := gv.(float64)
				switch a.Type {
				case query.AggSum, query.AggAvg, query.AggPercentage:
					same = ok && math.Abs(gx-wx) <= 1e-12*math.Max(math.Abs(wx), 1e-300)
				default:
					same = ok && gx == wx
				}
				if a.Type == query.AggQuantile {
					quantiles++
				}
			case []float64:
				gx, ok := gv.([]float64)
				same = ok && slices.Equal(gx, wx)
				quantiles += len(wx)
			}
			if !same {
				t.Errorf("%s: row %s: %s(%s) = %v; DuckDB %v", name, key(w), a.Type, a.Field.Column(), gv, wv)
			}
		}
	}
	return quantiles
}

// TestDays reads the same points back by day as the DuckDB store does:
// Days, DayCounts and ScanDay (of all, of one project, of one dataset).
func TestDays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ch := testinfra.StartClickHouse(t, testinfra.ClickHouseOptions{})
	c := open(t, chURL(ch, "days", ""))
	d, err := duckdb.Open(ctx, duckdb.Options{Dir: t.TempDir(), MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r := rand.New(rand.NewPCG(9, 10))
	other := diffPoints(r, 300)
	for i := range other {
		other[i].Dataset = "e"
	}
	batches := []store.Batch{{Project: 1, Points: diffPoints(r, 3000)}, {Project: 2, Points: diffPoints(r, 500)}, {Project: 1, Points: other}}
	if err := c.Append(ctx, batches); err != nil {
		t.Fatal(err)
	}
	if err := d.Append(ctx, batches); err != nil {
		t.Fatal(err)
	}
	days := c.Days()
	if want := d.Days(); !slices.Equal(days, want) || len(days) != 3 {
		t.Fatalf("Days() = %v; DuckDB %v (want 3 days)", days, want)
	}
	if got, err := c.DaysContext(ctx); err != nil || !slices.Equal(got, days) {
		t.Fatalf("DaysContext = %v, %v; want %v", got, err, days)
	}
	// read collects a scan's points as text, in order.
	read := func(scan func(fn func(int64, *point.Point) error) error) []string {
		t.Helper()
		var out []string
		err := scan(func(project int64, p *point.Point) error {
			// Trailing empty blobs and zero doubles are not stored
			// apart from absent ones.
			b, dd := p.Blobs, p.Doubles
			for len(b) > 0 && b[len(b)-1] == "" {
				b = b[:len(b)-1]
			}
			for len(dd) > 0 && dd[len(dd)-1] == 0 {
				dd = dd[:len(dd)-1]
			}
			out = append(out, fmt.Sprintf("%d %s %d %d %q %q %v", project, p.Dataset, p.Timestamp, p.Weight(), p.Index, b, dd))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(out)
		return out
	}
	total := 0
	for _, day := range days {
		gotCounts, err := c.DayCounts(ctx, day)
		if err != nil {
			t.Fatal(err)
		}
		wantCounts, err := d.DayCounts(ctx, day)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(gotCounts) != fmt.Sprint(wantCounts) {
			t.Errorf("DayCounts(%d) = %v; DuckDB %v", day, gotCounts, wantCounts)
		}
		for _, sel := range []struct {
			project int64
			dataset string
		}{{0, ""}, {1, ""}, {0, "e"}, {2, "d"}, {3, ""}} {
			got := read(func(fn func(int64, *point.Point) error) error {
				return c.ScanDay(ctx, day, sel.project, sel.dataset, fn)
			})
			want := read(func(fn func(int64, *point.Point) error) error {
				return d.ScanDay(ctx, day, sel.project, sel.dataset, fn)
			})
			if !slices.Equal(got, want) {
				t.Errorf("ScanDay(%d, project %d, %q) = %d points; DuckDB %d", day, sel.project, sel.dataset, len(got), len(want))
			}
			if sel.project == 0 && sel.dataset == "" {
				total += len(got)
			}
		}
	}
	if total != 3800 {
		t.Errorf("ScanDay of every day read %d points; want 3800", total)
	}
	// fn's error stops the scan and comes back.
	stop := fmt.Errorf("enough")
	n := 0
	err = c.ScanDay(ctx, days[0], 0, "", func(int64, *point.Point) error {
		n++
		if n == 10 {
			return stop
		}
		return nil
	})
	if n != 10 || err == nil || !strings.Contains(err.Error(), "enough") {
		t.Errorf("ScanDay with fn failing at the 10th point: %d calls, %v; want 10 and the error", n, err)
	}
	// A day without points has none.
	if got, err := c.DayCounts(ctx, days[0]-store.DayMs); err != nil || len(got) != 0 {
		t.Errorf("DayCounts of an empty day = %v, %v; want none", got, err)
	}
	// SizeBytes: cached, but not across this store's writes.
	size := c.SizeBytes()
	if size <= 0 {
		t.Fatalf("SizeBytes() = %d; want the bytes of 3 days of points", size)
	}
	if err := c.Append(ctx, []store.Batch{{Project: 1, Points: diffPoints(r, 2000)}}); err != nil {
		t.Fatal(err)
	}
	if after := c.SizeBytes(); after <= size {
		t.Errorf("SizeBytes() = %d after an Append; want more than %d", after, size)
	}
}

// TestFloatsRoundTrip: a double comes back from Append with the same bits,
// through ScanRange and as a group value of Execute: random bit patterns,
// subnormal ones, extreme exponents and -0.
func TestFloatsRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ch := testinfra.StartClickHouse(t, testinfra.ClickHouseOptions{})
	c := open(t, chURL(ch, "floats", ""))
	r := rand.New(rand.NewPCG(11, 12))
	var pts []point.Point
	want := map[int64][2]uint64{}
	for i := range 20000 {
		var v float64
		for {
			switch i % 3 {
			case 0:
				v = math.Float64frombits(r.Uint64())
			case 1:
				v = math.Float64frombits(r.Uint64() >> 12) // subnormal
			case 2:
				v = []float64{math.Copysign(0, -1), math.MaxFloat64, -math.SmallestNonzeroFloat64, 0x1p-1022, 1e308}[r.IntN(5)]
			}
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				break
			}
		}
		ts := day0 + int64(i)
		pts = append(pts, point.Point{Dataset: "f", Timestamp: ts, Doubles: []float64{v, 1}})
		want[ts] = [2]uint64{math.Float64bits(v), math.Float64bits(1)}
	}
	if err := c.Append(ctx, []store.Batch{{Project: 1, Points: pts}}); err != nil {
		t.Fatal(err)
	}
	bad := 0
	err := c.ScanRange(ctx, 1, "f", day0, day0+store.DayMs, func(p *point.Point) {
		if w := want[p.Timestamp]; len(p.Doubles) != 2 || math.Float64bits(p.Doubles[0]) != w[0] || math.Float64bits(p.Doubles[1]) != w[1] {
			if bad++; bad <= 5 {
				t.Errorf("point at %d: doubles %v; want the bits %x", p.Timestamp, p.Doubles, w)
			}
		}
		delete(want, p.Timestamp)
	})
	if err != nil || len(want) != 0 {
		t.Fatalf("ScanRange = %v, %d points not read", err, len(want))
	}
	sub := query.Sub{Project: 1, Dataset: "f", From: day0, To: day0 + store.DayMs, MaxGroups: 100000,
		GroupBy: []point.Field{{Kind: point.KindDouble, Pos: 1}}, Aggs: []query.Agg{{Type: query.AggCount}}}
	res, err := c.Execute(ctx, &sub)
	if err != nil {
		t.Fatal(err)
	}
	groups := map[uint64]bool{}
	for _, row := range res.Rows {
		groups[math.Float64bits(row.Groups[0].(float64))] = true
	}
	for _, p := range pts {
		// -0 and 0 are one group (they compare equal).
		if v := p.Doubles[0]; v != 0 && !groups[math.Float64bits(v)] {
			if bad++; bad <= 5 {
				t.Errorf("no group for %v (bits %x)", v, math.Float64bits(v))
			}
		}
	}
}
