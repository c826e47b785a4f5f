//go:build cluster

package clickhouse_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/clickhouse"
	"github.com/alidade/alidade/internal/store/duckdb"
	"github.com/alidade/alidade/internal/testinfra"
)

// BenchmarkExecute answers the same Subs from the same 1M points on the
// ClickHouse store (one local server) from raw points and from its rollup
// table, and on the DuckDB store (raw), alternating them twice:
//
//	go test -tags cluster -run XXX -bench Execute -benchtime 3s ./internal/store/clickhouse/
//
// The points are a week of requests over 12 endpoints; one in ten stands
// for 10 (sampled), so both stores compute weighted quantiles: DuckDB
// repeats such points, ClickHouse sorts (value, weight) pairs.
func BenchmarkExecute(b *testing.B) {
	ctx := context.Background()
	ch := testinfra.StartClickHouse(b, testinfra.ClickHouseOptions{})
	c, err := clickhouse.Open(ctx, clickhouse.Options{URL: chURL(ch, "bench", "rollups=on"), Rollups: true})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	// The same points in a database without rollups: what ingest costs
	// without their views, and the raw answers.
	plain, err := clickhouse.Open(ctx, clickhouse.Options{URL: chURL(ch, "bench_raw", "")})
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()
	d, err := duckdb.Open(ctx, duckdb.Options{Dir: b.TempDir(), MemoryLimit: "1GB"})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()

	const n, batch = 1_000_000, 100_000
	const week = 7 * store.DayMs
	r := rand.New(rand.NewPCG(13, 14))
	endpoints := []string{"/", "/api/users", "/api/orders", "/api/cart", "/login", "/logout", "/search", "/api/v2/items",
		"/api/v2/checkout", "/static/app.js", "/health", "/admin"}
	var chIns, plainIns, duckIns time.Duration
	for done := 0; done < n; done += batch {
		pts := make([]point.Point, batch)
		for i := range pts {
			si := uint32(1)
			if r.IntN(10) == 0 {
				si = 10
			}
			pts[i] = point.Point{
				Dataset:        "requests",
				Timestamp:      day0 + r.Int64N(week),
				Index:          endpoints[r.IntN(len(endpoints))],
				Blobs:          []string{[]string{"GET", "POST", "PUT"}[r.IntN(3)], []string{"us", "eu", "ap"}[r.IntN(3)]},
				Doubles:        []float64{math.Round(math.Exp(3.2+0.9*r.NormFloat64())*10) / 10, float64(200 + 100*r.IntN(4))},
				SampleInterval: si,
			}
		}
		bs := []store.Batch{{Project: 1, Points: pts}}
		start := time.Now()
		if err := c.Append(ctx, bs); err != nil {
			b.Fatal(err)
		}
		chIns += time.Since(start)
		start = time.Now()
		if err := plain.Append(ctx, bs); err != nil {
			b.Fatal(err)
		}
		plainIns += time.Since(start)
		start = time.Now()
		if err := d.Append(ctx, bs); err != nil {
			b.Fatal(err)
		}
		duckIns += time.Since(start)
	}
	b.Logf("appended %d points in batches of %d: ClickHouse with rollups %v, without %v, DuckDB %v", n, batch,
		chIns.Round(time.Millisecond), plainIns.Round(time.Millisecond), duckIns.Round(time.Millisecond))
	if _, err := ch.Query("OPTIMIZE TABLE bench.points FINAL"); err != nil {
		b.Fatal(err)
	}
	for _, t := range []string{"points_rollup", "points_rollup_hour", "points_rollup_day"} {
		if _, err := ch.Query("OPTIMIZE TABLE bench." + t + " FINAL"); err != nil {
			b.Fatal(err)
		}
	}
	disk, err := ch.Query("SELECT database, table, sum(rows), sum(bytes_on_disk) FROM system.parts WHERE database LIKE 'bench%' AND active GROUP BY database, table ORDER BY database, table")
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("tables after OPTIMIZE FINAL (table, rows, bytes on disk):\n%s", disk)

	lat := point.Field{Kind: point.KindDouble, Pos: 1}
	aggs := []query.Agg{{Type: query.AggCount}, {Type: query.AggAvg, Field: lat}, {Type: query.AggQuantile, Field: lat, Q: 0.95}}
	subs := []struct {
		name string
		sub  query.Sub
	}{
		{"grouped", query.Sub{Project: 1, Dataset: "requests", From: day0, To: day0 + week, MaxGroups: 10000,
			GroupBy: []point.Field{{Kind: point.KindIndex, Pos: 1}}, Aggs: aggs}},
		{"hourly", query.Sub{Project: 1, Dataset: "requests", From: day0, To: day0 + week, MaxGroups: 10000,
			Interval: 3600 * 1000, Aggs: aggs}},
		// What the quantile costs: the grouped Sub without it.
		{"grouped-no-p95", query.Sub{Project: 1, Dataset: "requests", From: day0, To: day0 + week, MaxGroups: 10000,
			GroupBy: []point.Field{{Kind: point.KindIndex, Pos: 1}}, Aggs: aggs[:2]}},
		// A range ending "now": its edges are not whole minutes.
		{"grouped-edges", query.Sub{Project: 1, Dataset: "requests", From: day0 + 17_001, To: day0 + week - 13_003, MaxGroups: 10000,
			GroupBy: []point.Field{{Kind: point.KindIndex, Pos: 1}}, Aggs: aggs}},
	}
	backends := []struct {
		name string
		ex   func(*query.Sub) (*query.SubResult, error)
	}{
		{"clickhouse", func(s *query.Sub) (*query.SubResult, error) { return plain.Execute(ctx, s) }},
		{"clickhouse-rollup", func(s *query.Sub) (*query.SubResult, error) { return c.Execute(ctx, s) }},
		{"duckdb", func(s *query.Sub) (*query.SubResult, error) { return d.Execute(ctx, s) }},
	}
	for round := range 2 {
		for _, s := range subs {
			for _, be := range backends {
				b.Run(fmt.Sprintf("%s/%s", s.name, be.name), func(b *testing.B) {
					var res *query.SubResult
					for b.Loop() {
						var err error
						if res, err = be.ex(&s.sub); err != nil {
							b.Fatal(err)
						}
					}
					if res.RowsScanned != n && s.sub.From == day0 {
						b.Fatalf("RowsScanned = %d; want %d", res.RowsScanned, n)
					}
					if round == 0 {
						b.ReportMetric(float64(len(res.Rows)), "rows")
					}
				})
			}
		}
	}
}
