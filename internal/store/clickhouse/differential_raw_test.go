//go:build cluster

package clickhouse_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/alidade/alidade/internal/dashboard"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/clickhouse"
	"github.com/alidade/alidade/internal/store/duckdb"
	"github.com/alidade/alidade/internal/web"
)

// rowsOf is the ClickHouse store as the web analytics and the dashboard
// ask it (a cluster node's store adds QueryRows the same way).
type rowsOf struct{ *clickhouse.Store }

func (r rowsOf) QueryRows(ctx context.Context, sql string) ([][]any, int64, error) {
	res, err := r.QuerySQL(ctx, sql, nil)
	if err != nil {
		return nil, 0, err
	}
	return res.Rows, res.RowsBeforeLimit, nil
}

// testSameRawFigures: the figures only raw points answer — the web
// analytics' exit pages and entry pages' bounces, the intent accuracy —
// are the same from ClickHouse's SQL as from DuckDB's, on sampled points
// (sample intervals above 1: the weighted questions).
func testSameRawFigures(t *testing.T, c *clickhouse.Store, d *duckdb.Store) {
	ctx := context.Background()
	const project = 3
	r := rand.New(rand.NewPCG(3, 4))
	pages := []string{"/", "/a", "/b", "/c", "/d'x", ""}
	intents := []string{"ask", "hint", "submit", "chat"}
	var pts []point.Point
	for v := range 300 {
		ts := day0 + int64(v)*60_000 + r.Int64N(1000)
		w := uint32(1 + r.IntN(3))
		for i := range 1 + r.IntN(4) {
			blobs := make([]string, 16)
			blobs[0] = pages[r.IntN(len(pages))]
			blobs[8] = fmt.Sprintf("s%d", v%250) // some sessions have two visits' views
			entry := 0.0
			if i == 0 {
				entry = 1
			}
			pts = append(pts, point.Point{Dataset: "pageviews", Timestamp: ts + int64(i)*7_000, Index: blobs[0], Blobs: blobs,
				Doubles: []float64{100, entry, float64(i + 1), 0, 0}, SampleInterval: w})
		}
		id := fmt.Sprintf("p%d", v)
		pred := intents[r.IntN(len(intents))]
		pts = append(pts, point.Point{Dataset: "intent", Timestamp: ts, Index: "clf", Blobs: []string{"clf", pred, id, "prediction", ""},
			Doubles: []float64{0.5, 0}, SampleInterval: w})
		if r.IntN(5) > 0 {
			actual := pred
			if r.IntN(4) == 0 {
				actual = intents[r.IntN(len(intents))]
			}
			pts = append(pts, point.Point{Dataset: "intent", Timestamp: ts + 500 + r.Int64N(3_600_000), Index: "clf",
				Blobs: []string{"", actual, id, "label", actual}, Doubles: []float64{0, 0}, SampleInterval: 1})
		}
	}
	batches := []store.Batch{{Project: project, Points: pts}}
	if err := c.Append(ctx, batches); err != nil {
		t.Fatal(err)
	}
	if err := d.Append(ctx, batches); err != nil {
		t.Fatal(err)
	}
	from, to := int64(day0+30*60_000+123), int64(day0+250*60_000+456)

	webOf := func(opts web.Options) string {
		t.Helper()
		w, err := web.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := w.Report(ctx, web.Request{Project: project, From: from, To: to, Top: 100, Source: query.SourceRaw})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Meta.Warnings) > 0 {
			t.Errorf("web warnings: %v", rep.Meta.Warnings)
		}
		b, _ := json.Marshal([]any{rep.ExitPages, rep.EntryPages})
		return string(b)
	}
	got, want := webOf(web.Options{Exec: c, ClickHouse: rowsOf{c}}), webOf(web.Options{Exec: d, SQL: d})
	if got != want || len(got) < 200 {
		t.Errorf("exit and entry pages:\nClickHouse: %s\nDuckDB:     %s", got, want)
	}

	metricsOf := func(opts dashboard.Options) string {
		t.Helper()
		dash, err := dashboard.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		m, err := dash.Metrics(ctx, dashboard.Request{Project: project, From: from, To: to, Interval: 3_600_000, Source: query.SourceRaw})
		if err != nil {
			t.Fatal(err)
		}
		series := []any{}
		for _, b := range m.Series.Buckets {
			series = append(series, []any{b.T, b.IntentPredictions, b.IntentAccuracy})
		}
		b, _ := json.Marshal([]any{m.Intent, series})
		return string(b)
	}
	got, want = metricsOf(dashboard.Options{Exec: c, ClickHouse: rowsOf{c}}), metricsOf(dashboard.Options{Exec: d, SQL: d})
	if got != want || len(got) < 200 {
		t.Errorf("intent figures:\nClickHouse: %s\nDuckDB:     %s", got, want)
	}
	t.Logf("the same: %s", got)
}
