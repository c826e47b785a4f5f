//go:build cluster

package clickhouse_test

// These tests run a real clickhouse-server 18.16 (and for the cluster a
// ZooKeeper and two shards) through internal/testinfra:
//
//	make test-cluster
//	go test -tags cluster -count=1 -v ./internal/store/clickhouse/

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/aesql"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/clickhouse"
	"github.com/alidade/alidade/internal/testinfra"
)

// chURL is the clickhouse:// URL of a test server's HTTP interface.
func chURL(ch *testinfra.ClickHouse, db, query string) string {
	u := fmt.Sprintf("clickhouse://127.0.0.1:%d/%s", ch.HTTPPort, db)
	if query != "" {
		u += "?" + query
	}
	return u
}

func open(t testing.TB, url string) *clickhouse.Store {
	t.Helper()
	s, err := clickhouse.Open(context.Background(), clickhouse.Options{URL: url})
	if err != nil {
		t.Fatalf("Open(%s) = %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// catalog is one project's datasets in the store, as the SQL API's would be.
type catalog struct {
	s        *clickhouse.Store
	project  int64
	datasets []string
}

func (c catalog) Datasets() []string          { return c.datasets }
func (c catalog) Schema(string) *point.Schema { return nil }
func (c catalog) Source(d string, argBase int) (string, []any, bool) {
	if !slices.Contains(c.datasets, d) {
		return "", nil, false
	}
	return c.s.SQLSource(c.project, d, argBase)
}

// sqlRows compiles an SQL API query for project and runs it.
func sqlRows(t *testing.T, s *clickhouse.Store, project int64, q string) [][]any {
	t.Helper()
	plan, err := aesql.CompileClickHouse(q, catalog{s, project, []string{"reqs", "other"}}, aesql.Options{})
	if err != nil {
		t.Fatalf("compile %q: %v", q, err)
	}
	res, err := s.QuerySQL(context.Background(), plan.SQL, plan.Args)
	if err != nil {
		t.Fatalf("%q: %v", q, err)
	}
	return res.Rows
}

// day0 is 2026-03-01T00:00:00Z.
const day0 = 1772323200000

// genPoints makes n points of dataset reqs over 3 days from day0.
func genPoints(r *rand.Rand, n int) []point.Point {
	routes := []string{"/", "/api", "/login", "/x\ty\nz\\"}
	pts := make([]point.Point, n)
	for i := range pts {
		pts[i] = point.Point{
			Dataset:        "reqs",
			Timestamp:      day0 + r.Int64N(3*store.DayMs),
			Index:          routes[r.IntN(len(routes))],
			Blobs:          []string{routes[r.IntN(len(routes))], []string{"GET", "POST"}[r.IntN(2)]},
			Doubles:        []float64{float64(r.IntN(100000)) / 100, float64(200 + 100*r.IntN(4))},
			SampleInterval: uint32(r.IntN(3)), // 0 reads as 1
		}
	}
	return pts
}

func TestStoreSingleServer(t *testing.T) {
	t.Parallel()
	start := time.Now()
	ch := testinfra.StartClickHouse(t, testinfra.ClickHouseOptions{})
	s := open(t, chURL(ch, "alidade", ""))
	t.Logf("server %s ready and tables created in %v", s.Version().Text, time.Since(start).Round(time.Millisecond))
	// 18.16 (what the tests run) has none of the newer features: the
	// tables are created with 18.16's DDL (TestNoNewFeaturesOn1816).
	for _, f := range s.Features().List() {
		t.Logf("feature %s (from %s): used=%v: %s", f.Name, f.Since, f.Have, f.Use)
	}
	// Opening again finds the tables and the recorded version.
	open(t, chURL(ch, "alidade", ""))
	ctx := context.Background()

	r := rand.New(rand.NewPCG(1, 2))
	p1 := genPoints(r, 3000)
	p2 := genPoints(r, 500)
	p2 = append(p2, point.Point{Dataset: "other", Timestamp: day0 + 5, Index: "only-2"})
	if err := s.Append(ctx, []store.Batch{{Project: 1, Points: p1}, {Project: 2, Points: p2}}); err != nil {
		t.Fatal(err)
	}

	// Expected answers for project 1, computed here.
	var weight uint64
	groups := map[string]uint64{}
	var lat []float64
	for _, p := range p1 {
		weight += uint64(p.Weight())
		groups[p.Blobs[1]] += uint64(p.Weight())
		lat = append(lat, p.Doubles[0])
	}
	rows := sqlRows(t, s, 1, "SELECT count() AS n, SUM(_sample_interval) AS w FROM reqs")
	if len(rows) != 1 || rows[0][0] != uint64(len(p1)) || rows[0][1] != weight {
		t.Fatalf("count, weight = %v; want %d, %d", rows, len(p1), weight)
	}
	rows = sqlRows(t, s, 1, "SELECT blob2 AS m, SUM(_sample_interval) AS w FROM reqs GROUP BY m ORDER BY m")
	if len(rows) != 2 || rows[0][0] != "GET" || rows[0][1] != groups["GET"] || rows[1][0] != "POST" || rows[1][1] != groups["POST"] {
		t.Fatalf("group by blob2 = %v; want %v", rows, groups)
	}
	sort.Float64s(lat)
	rows = sqlRows(t, s, 1, "SELECT min(double1), max(double1), quantileExact(0.5)(double1) FROM reqs")
	if rows[0][0] != lat[0] || rows[0][1] != lat[len(lat)-1] || rows[0][2] != lat[len(lat)/2] {
		t.Fatalf("min, max, median = %v; want %v, %v, %v", rows[0], lat[0], lat[len(lat)-1], lat[len(lat)/2])
	}
	// quantile (approximate, a reservoir of 8192 holds all 3000) is exact here too.
	rows = sqlRows(t, s, 1, "SELECT quantile(0.9)(double1) FROM reqs")
	if q := rows[0][0].(float64); math.Abs(q-lat[int(0.9*float64(len(lat)-1))]) > 50 {
		t.Fatalf("quantile(0.9) = %v; want about %v", q, lat[int(0.9*float64(len(lat)-1))])
	}
	// Time: per UTC day, through the DateTime column.
	perDay := map[string]uint64{}
	for _, p := range p1 {
		perDay[time.UnixMilli(p.Timestamp).UTC().Format(time.DateOnly)]++
	}
	rows = sqlRows(t, s, 1, "SELECT toDate(timestamp) AS d, count() FROM reqs GROUP BY d ORDER BY d")
	if len(rows) != 3 {
		t.Fatalf("per day = %v; want 3 days", rows)
	}
	for _, row := range rows {
		d := row[0].(time.Time).Format(time.DateOnly)
		if row[1] != perDay[d] {
			t.Fatalf("day %s: %v points; want %d", d, row[1], perDay[d])
		}
	}
	// Project isolation: project 2's points never in project 1's answers.
	if rows := sqlRows(t, s, 1, "SELECT count() FROM other"); rows[0][0] != uint64(0) {
		t.Fatalf("project 1 sees %v points of project 2's dataset other", rows[0][0])
	}
	if rows := sqlRows(t, s, 2, "SELECT count() FROM reqs"); rows[0][0] != uint64(500) {
		t.Fatalf("project 2 count = %v; want 500", rows[0][0])
	}
	if rows := sqlRows(t, s, 1, "SELECT count() FROM reqs WHERE index1 = 'only-2'"); rows[0][0] != uint64(0) {
		t.Fatal("project 1 sees project 2's point")
	}

	// ScanRange keeps milliseconds and the text as written.
	var got []point.Point
	from, to := int64(day0+store.DayMs), int64(day0+store.DayMs+6*3600*1000)
	if err := s.ScanRange(ctx, 1, "reqs", from, to, func(p *point.Point) { got = append(got, *p) }); err != nil {
		t.Fatal(err)
	}
	var want []point.Point
	for _, p := range p1 {
		if p.Timestamp >= from && p.Timestamp < to {
			p.SampleInterval = p.Weight()
			want = append(want, p)
		}
	}
	key := func(a, b point.Point) int {
		if c := a.Timestamp - b.Timestamp; c != 0 {
			return int(c)
		}
		return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
	}
	slices.SortFunc(got, key)
	slices.SortFunc(want, key)
	if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ScanRange: %d points; want %d (first got %v, want %v)", len(got), len(want), got[:min(1, len(got))], want[:min(1, len(want))])
	}

	// Bad input is refused with a reason.
	for _, p := range []point.Point{{Dataset: "reqs", Timestamp: -1}, {Timestamp: day0}} {
		if err := s.Append(ctx, []store.Batch{{Project: 1, Points: []point.Point{p}}}); err == nil {
			t.Fatalf("Append(%+v) = nil; want an error", p)
		}
	}

	// Retention: dropping days before day0+1 day removes day0 only.
	days, err := s.DropDaysBefore(ctx, time.UnixMilli(day0+store.DayMs+3600*1000))
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 1 || days[0] != day0 {
		t.Fatalf("DropDaysBefore dropped %v; want [%d]", days, day0)
	}
	left := uint64(len(p1)) - perDay[time.UnixMilli(day0).UTC().Format(time.DateOnly)]
	if rows := sqlRows(t, s, 1, "SELECT count() FROM reqs"); rows[0][0] != left {
		t.Fatalf("after retention: %v points; want %d", rows[0][0], left)
	}
	if days, err := s.DropDaysBefore(ctx, time.UnixMilli(day0+store.DayMs)); err != nil || len(days) != 0 {
		t.Fatalf("DropDaysBefore again = %v, %v; want nothing dropped", days, err)
	}
}

// TestInsertRate measures Append on the single server here: batches of 1k
// and 10k points.
func TestInsertRate(t *testing.T) {
	t.Parallel()
	ch := testinfra.StartClickHouse(t, testinfra.ClickHouseOptions{})
	s := open(t, chURL(ch, "alidade", ""))
	r := rand.New(rand.NewPCG(3, 4))
	for _, size := range []int{1000, 10000, -1000, -10000} {
		what := "over 3 days (3 parts per INSERT)"
		if size < 0 {
			size, what = -size, "of one day (1 part per INSERT)"
		}
		pts := genPoints(r, size)
		if what[0] == 'o' && what[1] == 'f' {
			for i := range pts {
				pts[i].Timestamp = day0 + pts[i].Timestamp%store.DayMs
			}
		}
		const batches = 10
		start := time.Now()
		for range batches {
			if err := s.Append(context.Background(), []store.Batch{{Project: 1, Points: pts}}); err != nil {
				t.Fatal(err)
			}
		}
		el := time.Since(start)
		t.Logf("INSERT RATE: %d batches of %d points %s in %v: %.0f points/s, %v per batch", batches, size, what, el.Round(time.Millisecond),
			float64(batches*size)/el.Seconds(), (el / batches).Round(time.Microsecond))
	}
}

func TestStoreCluster(t *testing.T) {
	t.Parallel()
	start := time.Now()
	c := testinfra.StartClickHouseCluster(t, 2)
	s1, s2 := c.Shards[0], c.Shards[1]
	s := open(t, chURL(s1, "alidade", "cluster="+c.Name))
	t.Logf("cluster ready and tables created ON CLUSTER in %v", time.Since(start).Round(time.Millisecond))

	r := rand.New(rand.NewPCG(5, 6))
	pts := genPoints(r, 2000)
	other := genPoints(r, 300)
	if err := s.Append(context.Background(), []store.Batch{{Project: 1, Points: pts}, {Project: 2, Points: other}}); err != nil {
		t.Fatal(err)
	}
	// insert_distributed_sync: the rows are on the shards when Append returns.
	var sum int
	for i, ch := range c.Shards {
		out, err := ch.Query("SELECT count() FROM alidade.points_local WHERE project = 1")
		if err != nil {
			t.Fatal(err)
		}
		var n int
		fmt.Sscan(out, &n)
		if n == 0 {
			t.Fatalf("shard %d holds none of project 1's points", i+1)
		}
		t.Logf("shard %d holds %d of project 1's points", i+1, n)
		sum += n
	}
	if sum != len(pts) {
		t.Fatalf("the shards hold %d points; want %d", sum, len(pts))
	}
	if rows := sqlRows(t, s, 1, "SELECT count() FROM reqs"); rows[0][0] != uint64(len(pts)) {
		t.Fatalf("count through the Distributed table = %v; want %d", rows[0][0], len(pts))
	}
	// Retention ON CLUSTER drops the day on both shards.
	days, err := s.DropDaysBefore(context.Background(), time.UnixMilli(day0+store.DayMs))
	if err != nil || len(days) != 1 {
		t.Fatalf("DropDaysBefore = %v, %v; want day0 dropped", days, err)
	}
	var left uint64
	for _, p := range pts {
		if p.Timestamp >= day0+store.DayMs {
			left++
		}
	}
	if rows := sqlRows(t, s, 1, "SELECT count() FROM reqs"); rows[0][0] != left {
		t.Fatalf("after retention: %v; want %d", rows[0][0], left)
	}

	// Error events and attachments on the shards (errors_test.go).
	testErrorsCluster(t, s, c)
	// A database made without rollups=on has no rollup tables and no
	// view on its points (an INSERT writes the points alone); a query
	// that asks for rollups is told how to have them.
	for i, ch := range c.Shards {
		out, err := ch.Query("SELECT count() FROM system.tables WHERE database = 'alidade' AND (engine = 'MaterializedView' OR name LIKE '%rollup%')")
		if err != nil || strings.TrimSpace(out) != "0" {
			t.Fatalf("shard %d: %q rollup tables and views in a database made without rollups=on (%v); want 0", i+1, out, err)
		}
	}
	if s.Rollups() {
		t.Fatal("Rollups() = true on a database made without rollups=on")
	}
	sub := query.Sub{Project: 1, Dataset: "reqs", From: day0, To: day0 + 3*store.DayMs, Aggs: []query.Agg{{Type: query.AggCount}}, Source: query.SourceRollup}
	if _, err := s.Execute(context.Background(), &sub); err == nil || !strings.Contains(err.Error(), "rollups=on") {
		t.Fatalf("Execute(source rollup) without rollup tables = %v; want an error saying rollups=on", err)
	}
	sub.Source = query.SourceAuto
	if res, err := s.Execute(context.Background(), &sub); err != nil || res.Source != query.SourceRaw || res.RowsScanned != int64(left) {
		t.Fatalf("Execute(source auto) without rollup tables = %+v, %v; want %d from raw points", res, err, left)
	}

	t.Run("rollup", func(t *testing.T) { testRollupCluster(t, c) })

	// Shard 2 down: an error naming it, never a smaller count.
	s2.Stop()
	plan, err := aesql.CompileClickHouse("SELECT count() FROM reqs", catalog{s, 1, []string{"reqs"}}, aesql.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.QuerySQL(context.Background(), plan.SQL, nil)
	if err == nil {
		t.Fatalf("with shard 2 down: %v; want an error", res.Rows)
	}
	if addr := fmt.Sprintf("127.0.0.1:%d", s2.TCPPort); !strings.Contains(err.Error(), addr) {
		t.Fatalf("with shard 2 down: %v; want an error naming %s", err, addr)
	}
	t.Logf("shard 2 down: %.300s", err)
	// An Append fails (insert_distributed_sync), though shard 1 may have
	// stored its share: a retry stores that share twice (see Append).
	if err := s.Append(context.Background(), []store.Batch{{Project: 1, Points: genPoints(r, 100)}}); err == nil {
		t.Fatal("with shard 2 down an Append succeeded; want an error")
	} else {
		t.Logf("with shard 2 down an Append fails: %.300s", err)
	}
}
