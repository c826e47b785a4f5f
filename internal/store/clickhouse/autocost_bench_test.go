//go:build cluster

package clickhouse_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/clickhouse"
	"github.com/alidade/alidade/internal/testinfra"
)

// BenchmarkAutoCost measures what source auto's estimate weighs
// (rollupcost.go): what reading a minute rollup row costs against reading
// a point, and what one more UNION ALL branch costs, on one local 18.16
// server with 1M dense points (project 1: 12 series over a day, ~58 points
// a minute row) and 1M sparse ones (project 2: 200,000 series, about one
// point a minute row), alternating raw and rollup in rounds:
//
//	go test -tags cluster -run XXX -bench AutoCost -benchtime 1x -v ./internal/store/clickhouse/
//
// A row's cost in points is (rollup time / rollup rows) / (raw time /
// points), per query, with and without a quantile (whose sketch is most
// of a rollup row's cost).
func BenchmarkAutoCost(b *testing.B) {
	ctx := context.Background()
	ch := testinfra.StartClickHouse(b, testinfra.ClickHouseOptions{})
	s, err := clickhouse.Open(ctx, clickhouse.Options{URL: chURL(ch, "autocost", "rollups=on"), Rollups: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n, batch = 1_000_000, 100_000
	r := rand.New(rand.NewPCG(31, 32))
	for project := int64(1); project <= 2; project++ {
		for done := 0; done < n; done += batch {
			pts := make([]point.Point, batch)
			for i := range pts {
				idx := "/e" + strconv.Itoa(r.IntN(12))
				if project == 2 {
					idx = "user" + strconv.Itoa(r.IntN(200_000))
				}
				pts[i] = point.Point{Dataset: "requests", Timestamp: day0 + r.Int64N(store.DayMs), Index: idx,
					Blobs:          []string{"u", "GET", "web"},
					Doubles:        []float64{math.Round(math.Exp(3.2+0.9*r.NormFloat64())*10) / 10, 200},
					SampleInterval: 1}
			}
			if err := s.Append(ctx, []store.Batch{{Project: project, Points: pts}}); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, t := range []string{"points", "points_rollup", "points_rollup_hour", "points_rollup_day"} {
		if _, err := ch.Query("OPTIMIZE TABLE autocost." + t + " FINAL"); err != nil {
			b.Fatal(err)
		}
	}
	minuteRows := map[int64]float64{}
	for project := int64(1); project <= 2; project++ {
		out, err := ch.Query(fmt.Sprintf("SELECT count() FROM autocost.points_rollup WHERE project = %d", project))
		if err != nil {
			b.Fatal(err)
		}
		minuteRows[project], _ = strconv.ParseFloat(strings.TrimSpace(out), 64)
	}
	b.Logf("minute rollup rows: dense %.0f, sparse %.0f (of %d points each)", minuteRows[1], minuteRows[2], n)

	lat := doubleF(1)
	cases := []struct {
		name string
		aggs []query.Agg
	}{
		{"count-avg", []query.Agg{{Type: query.AggCount}, {Type: query.AggAvg, Field: lat}}},
		{"count-p95", []query.Agg{{Type: query.AggCount}, {Type: query.AggQuantile, Field: lat, Q: 0.95}}},
	}
	const rounds = 3
	took := map[string][]float64{}
	run := func(key string, sub query.Sub, source string) {
		sub.Source = source
		start := time.Now()
		res, err := s.Execute(ctx, &sub)
		if err != nil {
			b.Fatal(err)
		}
		took[key] = append(took[key], time.Since(start).Seconds())
		if source == query.SourceRollup && res.Source == query.SourceRaw {
			b.Fatalf("%s: answered from raw points", key)
		}
	}
	for round := range rounds {
		for project := int64(1); project <= 2; project++ {
			for _, c := range cases {
				// Minute buckets over the day: the minute tier alone.
				sub := query.Sub{Project: project, Dataset: "requests", From: day0, To: day0 + store.DayMs, Interval: 60_000, MaxGroups: 10_000, Aggs: c.aggs}
				for _, src := range []string{query.SourceRaw, query.SourceRollup} {
					if round%2 == 1 {
						src = map[string]string{query.SourceRaw: query.SourceRollup, query.SourceRollup: query.SourceRaw}[src]
					}
					run(fmt.Sprintf("%d/%s/%s", project, c.name, src), sub, src)
				}
			}
		}
		// A branch's cost: a minute of the dense project read as one
		// rollup branch, and with edges that are not whole minutes (one
		// rollup branch and two of points, reading ~2 points more).
		one := query.Sub{Project: 1, Dataset: "requests", From: day0 + 3_600_000, To: day0 + 3_660_000, Aggs: cases[0].aggs}
		three := one
		three.From, three.To = one.From-1, one.To+1
		run("branches/1", one, query.SourceRollup)
		run("branches/3", three, query.SourceRollup)
	}
	median := func(x []float64) float64 {
		x = slices.Clone(x)
		slices.Sort(x)
		return x[len(x)/2]
	}
	for project := int64(1); project <= 2; project++ {
		for _, c := range cases {
			raw := median(took[fmt.Sprintf("%d/%s/raw", project, c.name)])
			roll := median(took[fmt.Sprintf("%d/%s/rollup", project, c.name)])
			perPoint, perRow := raw/float64(n), roll/minuteRows[project]
			b.Logf("project %d (%s) %s: raw %.0f ms, rollup %.0f ms (medians of %d): a minute row costs %.1f points",
				project, map[int64]string{1: "dense", 2: "sparse"}[project], c.name, raw*1000, roll*1000, rounds, perRow/perPoint)
		}
	}
	one, three := median(took["branches/1"]), median(took["branches/3"])
	sparseRaw := median(took["2/count-avg/raw"]) / float64(n)
	b.Logf("one rollup branch %.1f ms, with two edge branches %.1f ms: a branch costs %.1f ms, %.0f points read raw (sparse count-avg)",
		one*1000, three*1000, (three-one)/2*1000, (three-one)/2/sparseRaw)
	for b.Loop() {
	}
}
