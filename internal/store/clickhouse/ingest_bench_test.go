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
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/clickhouse"
	"github.com/alidade/alidade/internal/testinfra"
)

// BenchmarkIngestRollups measures what the rollups cost a cluster's
// ingest and disk: the same requests points appended to two databases on
// one 2-shard 18.16 cluster (replicated tables, as make test-cluster runs
// them), one with rollups and one without, in alternating rounds (which
// goes first alternates too), then both tables' bytes on disk after
// OPTIMIZE FINAL:
//
//	go test -tags cluster -run XXX -bench IngestRollups -benchtime 1x -v ./internal/store/clickhouse/
//
// Each round appends ingestRound points in batches of ingestBatch (~10k
// points per INSERT, what a busy node's commit is) over 12 endpoints × 3
// methods × 3 services × 4 statuses (432 series), of three kinds: "live"
// batches each stamp their points within 10 seconds after the previous
// batch's (a node's ingest as it happens: the 432 series' minute rows
// take ~23 points each), "hour" batches over a whole hour (~1.3 points
// each), "week" batches over a week (late points: 7 day partitions an
// INSERT, ~1 point a minute row, as BenchmarkExecute's data).
func BenchmarkIngestRollups(b *testing.B) {
	ctx := context.Background()
	c := testinfra.StartClickHouseCluster(b, 2)
	dbs := []struct {
		name, query string
		s           *clickhouse.Store
		pps         map[string][]float64
	}{{name: "rollups", query: "rollups=on"}, {name: "plain", query: "rollups=off"}}
	for i := range dbs {
		u := chURL(c.Shards[0], "ingest_"+dbs[i].name, "cluster="+c.Name+"&"+dbs[i].query)
		s, err := clickhouse.Open(ctx, clickhouse.Options{URL: u, Rollups: true})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		dbs[i].s, dbs[i].pps = s, map[string][]float64{}
	}
	const ingestRound, ingestBatch, rounds = 200_000, 10_000, 3
	endpoints := []string{"/", "/api/users", "/api/orders", "/api/cart", "/login", "/logout", "/search", "/api/v2/items",
		"/api/v2/checkout", "/static/app.js", "/health", "/admin"}
	// gen makes a round's points: batch j's within [from + j·step, + span).
	gen := func(r *rand.Rand, from, step, span int64) []point.Point {
		pts := make([]point.Point, ingestRound)
		for i := range pts {
			pts[i] = point.Point{
				Dataset:   "requests",
				Timestamp: from + int64(i/ingestBatch)*step + r.Int64N(span),
				Index:     endpoints[r.IntN(len(endpoints))],
				Blobs: []string{"https://x/" + strconv.Itoa(r.IntN(1000)), []string{"GET", "POST", "PUT"}[r.IntN(3)],
					[]string{"web", "api", "jobs"}[r.IntN(3)]},
				Doubles:        []float64{math.Round(math.Exp(3.2+0.9*r.NormFloat64())*10) / 10, float64(200 + 100*r.IntN(4)), float64(r.IntN(50000)), float64(r.IntN(2000))},
				SampleInterval: 1,
			}
		}
		return pts
	}
	kinds := []string{"live", "hour", "week"}
	r := rand.New(rand.NewPCG(21, 22))
	n := 0
	for round := range rounds {
		for _, kind := range kinds {
			var pts []point.Point
			switch kind {
			case "live":
				pts = gen(r, day0+9*store.DayMs+int64(round)*3_600_000, 10_000, 10_000)
			case "hour":
				pts = gen(r, day0+int64(round)*3_600_000, 0, 3_600_000)
			default:
				pts = gen(r, day0+store.DayMs, 0, 7*store.DayMs)
			}
			n += len(pts)
			order := []int{0, 1}
			if round%2 == 1 {
				order = []int{1, 0}
			}
			for _, i := range order {
				start := time.Now()
				for j := 0; j < len(pts); j += ingestBatch {
					if err := dbs[i].s.Append(ctx, []store.Batch{{Project: 1, Points: pts[j : j+ingestBatch]}}); err != nil {
						b.Fatal(err)
					}
				}
				took := time.Since(start)
				dbs[i].pps[kind] = append(dbs[i].pps[kind], float64(len(pts))/took.Seconds())
				b.Logf("round %d %s %s: %d points in %v (%.0f points/s)", round, kind, dbs[i].name, len(pts), took.Round(time.Millisecond), float64(len(pts))/took.Seconds())
			}
		}
	}
	median := func(x []float64) float64 {
		x = slices.Clone(x)
		slices.Sort(x)
		if len(x)%2 == 1 {
			return x[len(x)/2]
		}
		return (x[len(x)/2-1] + x[len(x)/2]) / 2
	}
	for _, kind := range kinds {
		with, without := median(dbs[0].pps[kind]), median(dbs[1].pps[kind])
		b.Logf("%s: median points/s with rollups %.0f, without %.0f: ×%.2f slower (%d rounds)", kind, with, without, without/with, rounds)
	}

	// Disk: every table's parts on both shards after OPTIMIZE FINAL.
	var bytesPerPoint [2]float64
	for i, db := range dbs {
		var report strings.Builder
		var total int64
		for _, ch := range c.Shards {
			// (18.16 fails OPTIMIZE of an empty replicated table.)
			tables, err := ch.Query("SELECT DISTINCT table FROM system.parts WHERE database = 'ingest_" + db.name + "' AND active")
			if err != nil {
				b.Fatal(err)
			}
			for _, t := range strings.Fields(tables) {
				if _, err := ch.Query("OPTIMIZE TABLE ingest_" + db.name + "." + t + " FINAL"); err != nil {
					b.Fatal(err)
				}
			}
			out, err := ch.Query("SELECT table, sum(rows), sum(bytes_on_disk) FROM system.parts WHERE database = 'ingest_" + db.name + "' AND active GROUP BY table ORDER BY table")
			if err != nil {
				b.Fatal(err)
			}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				f := strings.Split(line, "\t")
				if len(f) != 3 {
					continue
				}
				nb, _ := strconv.ParseInt(f[2], 10, 64)
				total += nb
				fmt.Fprintf(&report, "  shard %s %s: %s rows, %s bytes\n", ch.URL, f[0], f[1], f[2])
			}
		}
		bytesPerPoint[i] = float64(total) / float64(n)
		b.Logf("database %s after OPTIMIZE FINAL: %d bytes, %.1f bytes/point\n%s", db.name, total, bytesPerPoint[i], report.String())
	}
	b.Logf("disk: %.1f bytes/point with rollups, %.1f without: ×%.2f", bytesPerPoint[0], bytesPerPoint[1], bytesPerPoint[0]/bytesPerPoint[1])
	for b.Loop() {
	}
	b.ReportMetric(bytesPerPoint[0], "rollups-bytes/point")
	b.ReportMetric(bytesPerPoint[1], "plain-bytes/point")
}
