package planner_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/planner"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/store/duckdb"
)

// now is the tests' clock: mid-morning, so the data spans three UTC days
// and part of a fourth.
var now = time.Date(2026, 11, 27, 10, 30, 0, 0, time.UTC)

// checkoutSchema is a custom dataset whose schema declares its rollup.
var checkoutSchema = point.Schema{
	Index: "shop", Blobs: []string{"country", "plan", "sku"}, Doubles: []string{"amount", "items"},
	Rollup: &point.RollupSchema{Dimensions: []string{"country", "plan"}, Distributions: []string{"amount"}},
}

type env struct {
	t   *testing.T
	dir string
	st  *duckdb.Store
	pl  *planner.Planner
	eng *query.Engine
}

func open(t *testing.T, dir string, mut func(*planner.Options)) *env {
	t.Helper()
	ctx := context.Background()
	st, err := duckdb.Open(ctx, duckdb.Options{Dir: dir, MemoryLimit: "512MB", Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetSchema(ctx, 1, "checkout", &checkoutSchema); err != nil {
		t.Fatal(err)
	}
	opts := planner.Options{Dir: filepath.Join(dir, "rollups"), Spec: planner.SchemaSpec(st.Schema), Now: func() time.Time { return now }}
	if mut != nil {
		mut(&opts)
	}
	pl, err := planner.Open(ctx, st, opts)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, st: st, pl: pl}
	e.eng = &query.Engine{Exec: pl, Schemas: st.Schema, Now: func() time.Time { return now }}
	return e
}

func (e *env) close() {
	e.t.Helper()
	if err := e.pl.Close(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.Close(); err != nil {
		e.t.Fatal(err)
	}
}

// gen makes n points per dataset over [from, to), in time order.
func gen(seed uint64, n int, from, to int64) []store.Batch {
	rng := rand.New(rand.NewPCG(seed, 7))
	endpoints := []string{"/api/chat", "/api/login", "/api/courses", "/api/grade", "/api/search", "/health"}
	methods := []string{"GET", "POST", "PUT"}
	models := []string{"gpt-4o", "gpt-4o-mini", "claude-sonnet", "@cf/meta/llama"}
	countries := []string{"US", "DE", "FR", "JP", "BR"}
	var pts []point.Point
	for i := range n {
		ts := from + int64(float64(to-from)*float64(i)/float64(n)) + rng.Int64N(1000)
		ts = min(ts, to-1)
		status := 200.0
		switch r := rng.IntN(20); {
		case r == 0:
			status = 500
		case r < 3:
			status = 404
		}
		pts = append(pts, point.Point{Dataset: "requests", Timestamp: ts, Index: endpoints[rng.IntN(len(endpoints))],
			Blobs:   []string{fmt.Sprintf("https://x/%d", rng.IntN(500)), methods[rng.IntN(len(methods))], "web"},
			Doubles: []float64{math.Round(rng.ExpFloat64()*120*100) / 100, status, float64(rng.IntN(5000))}})
		model := models[rng.IntN(len(models))]
		ttft := 0.0
		if rng.IntN(3) > 0 {
			ttft = 50 + rng.Float64()*400
		}
		in, out := float64(50+rng.IntN(2000)), float64(10+rng.IntN(800))
		pts = append(pts, point.Point{Dataset: "ai_usage", Timestamp: ts, Index: model,
			Blobs:   []string{model, []string{"tutor", "grader", "search"}[rng.IntN(3)], "openai"},
			Doubles: []float64{in + out, 200 + rng.ExpFloat64()*900, in, out, ttft, (in + out) / 1e5, 0, 0, 1}})
		if i%2 == 0 {
			pts = append(pts, point.Point{Dataset: "checkout", Timestamp: ts, Index: fmt.Sprintf("shop%d", rng.IntN(4)),
				Blobs:          []string{countries[rng.IntN(len(countries))], []string{"free", "pro"}[rng.IntN(2)], fmt.Sprintf("sku%d", rng.IntN(1000))},
				Doubles:        []float64{math.Round(rng.Float64()*20000) / 100, float64(1 + rng.IntN(5))},
				SampleInterval: uint32(1 + rng.IntN(3))})
		}
	}
	var out []store.Batch
	for len(pts) > 0 {
		k := min(len(pts), 2000)
		out = append(out, store.Batch{Project: 1, Points: pts[:k]})
		pts = pts[k:]
	}
	return out
}

func (e *env) append(batches []store.Batch) {
	e.t.Helper()
	for _, b := range batches {
		if err := e.pl.Append(context.Background(), []store.Batch{b}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// queries are structured queries rollups must answer exactly like raw
// points. Columns whose name starts with q are quantiles.
var queries = []string{
	`{"dataset":"requests","range":"72h","aggregations":{"n":{"type":"count"},"sum":{"type":"sum","field":"duration"},"avg":{"type":"avg","field":"duration"},"min":{"type":"min","field":"duration"},"max":{"type":"max","field":"duration"},"q":{"type":"quantiles","field":"duration","qs":[0.5,0.95,0.99]}}}`,
	`{"dataset":"requests","range":"72h","groupBy":["endpoint"],"aggregations":{"n":{"type":"count"},"err":{"type":"percentage","filter":{"field":"status","op":">=","value":400}},"q95":{"type":"quantile","field":"duration","q":0.95}}}`,
	`{"dataset":"requests","range":"24h","interval":"1h","aggregations":{"n":{"type":"count"},"avg":{"type":"avg","field":"duration"},"q50":{"type":"quantile","field":"duration","q":0.5}}}`,
	`{"dataset":"requests","range":"6h","interval":"5m","groupBy":["method"],"filter":[{"field":"status","op":"<","value":400}],"aggregations":{"n":{"type":"count"},"bytes":{"type":"sum","field":"response_bytes"}}}`,
	`{"dataset":"requests","range":"72h","interval":"1d","filter":[{"field":"endpoint","op":"in","value":["/api/chat","/api/grade"]}],"aggregations":{"n":{"type":"count"},"u":{"type":"uniq","field":"method"},"max":{"type":"max","field":"status"}}}`,
	`{"dataset":"requests","range":"72h","filter":[{"field":"endpoint","op":"starts_with","value":"/api/"},{"field":"status","op":"!=","value":404}],"groupBy":["endpoint","status"],"aggregations":{"n":{"type":"count"}}}`,
	`{"dataset":"ai_usage","range":"72h","groupBy":["model"],"aggregations":{"tokens":{"type":"sum","field":"tokens"},"qlat":{"type":"quantiles","field":"latency","qs":[0.5,0.99]},"qttft":{"type":"quantiles","field":"ttft","qs":[0.5,0.95],"filter":{"field":"ttft","op":">","value":0}},"nttft":{"type":"count","filter":{"field":"ttft","op":"!=","value":0}},"avgttft":{"type":"avg","field":"ttft","filter":{"field":"ttft","op":"!=","value":0}}}}`,
	`{"dataset":"ai_usage","range":"48h","interval":"6h","filter":[{"field":"feature","op":"=","value":"tutor"}],"aggregations":{"n":{"type":"count"},"cost":{"type":"sum","field":"cost"}}}`,
	`{"dataset":"checkout","range":"72h","groupBy":["country"],"aggregations":{"n":{"type":"count"},"revenue":{"type":"sum","field":"amount"},"qamount":{"type":"quantile","field":"amount","q":0.9}}}`,
	`{"dataset":"checkout","range":"36h","interval":"3h","filter":[{"field":"plan","op":"=","value":"pro"}],"aggregations":{"n":{"type":"count"},"avg":{"type":"avg","field":"amount"}}}`,
	// Two datasets in one query.
	`{"range":"24h","aggregations":{"req":{"type":"count","dataset":"requests"},"tokens":{"type":"sum","field":"tokens","dataset":"ai_usage"}}}`,
}

// run answers body with source forced to src.
func (e *env) run(body, src string) (*query.Response, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		e.t.Fatal(err)
	}
	m["source"] = src
	b, _ := json.Marshal(m)
	return e.eng.Run(context.Background(), 1, b)
}

// keyed turns rows into maps keyed by their group values and bucket.
func keyed(t *testing.T, resp *query.Response) map[string]map[string]any {
	t.Helper()
	b, err := json.Marshal(resp.Rows)
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, r := range rows {
		var k []string
		for name, v := range r {
			if _, isNum := v.(float64); name == "t" || !isNum && !strings.HasPrefix(name, "q") {
				k = append(k, fmt.Sprintf("%s=%v", name, v))
			}
		}
		sort.Strings(k)
		out[strings.Join(k, ",")] = r
	}
	return out
}

// same requires equal answers: counts and sums to 1e-9 relative, columns
// named q* (quantiles) within the sketches' 1% relative error.
func same(t *testing.T, what string, raw, rolled *query.Response) {
	t.Helper()
	a, b := keyed(t, raw), keyed(t, rolled)
	if len(a) != len(b) {
		t.Errorf("%s: raw has %d rows, rollup %d", what, len(a), len(b))
	}
	for k, ra := range a {
		rb, ok := b[k]
		if !ok {
			t.Errorf("%s: rollup lacks row %s", what, k)
			continue
		}
		for col, va := range ra {
			tol := 1e-9
			if strings.HasPrefix(col, "q") {
				tol = 0.01
			}
			if !close(va, rb[col], tol) {
				t.Errorf("%s: row %s column %s: raw %v, rollup %v", what, k, col, va, rb[col])
			}
		}
	}
}

func close(a, b any, tol float64) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && math.Abs(x-y) <= tol*math.Max(1e-9, math.Abs(x))+1e-9
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !close(x[k], y[k], tol) {
				return false
			}
		}
		return true
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// equivalent runs every query both ways and compares; it returns the
// total count the first query saw.
func (e *env) equivalent(what string) {
	e.t.Helper()
	for i, q := range queries {
		raw, err := e.run(q, "raw")
		if err != nil {
			e.t.Fatalf("%s: query %d raw: %v", what, i, err)
		}
		rolled, err := e.run(q, "rollup")
		if err != nil {
			e.t.Fatalf("%s: query %d rollup: %v", what, i, err)
		}
		// A relative range starts at now − D: where minutes are compacted
		// the part of its first hour inside the range is read raw.
		if raw.Meta.Source != "raw" || !fromRollups(rolled.Meta.Source) {
			e.t.Errorf("%s: query %d sources %q and %q", what, i, raw.Meta.Source, rolled.Meta.Source)
		}
		if len(raw.Rows) == 0 {
			e.t.Errorf("%s: query %d has no rows: the test data misses it", what, i)
		}
		same(e.t, fmt.Sprintf("%s: query %d", what, i), raw, rolled)
		auto, err := e.run(q, "auto")
		if err != nil || !fromRollups(auto.Meta.Source) {
			e.t.Errorf("%s: query %d auto: source %v, err %v; want rollup or mixed", what, i, auto, err)
		}
	}
}

// fromRollups says an answer's source used rollups: alone, or for the
// whole buckets of a range whose edges were read raw.
func fromRollups(src string) bool { return src == query.SourceRollup || src == query.SourceMixed }

func (e *env) count(dataset, src string) float64 {
	e.t.Helper()
	resp, err := e.run(fmt.Sprintf(`{"dataset":%q,"range":"96h","aggregations":{"n":{"type":"count"}}}`, dataset), src)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(resp.Rows) == 0 {
		return 0
	}
	return resp.Rows[0].Values[0].(float64)
}

func TestRollupsAnswerLikeRawPoints(t *testing.T) {
	dir := t.TempDir()
	e := open(t, dir, nil)
	e.append(gen(1, 20000, now.Add(-74*time.Hour).UnixMilli(), now.UnixMilli()))
	e.pl.Maintain(context.Background(), false)
	e.equivalent("live")

	// A query rollups cannot answer (a filter on a free-text blob) goes
	// raw under auto, and fails under rollup with the reason.
	q := `{"dataset":"requests","range":"24h","filter":[{"field":"url","op":"=","value":"https://x/1"}],"aggregations":{"n":{"type":"count"}}}`
	if resp, err := e.run(q, "auto"); err != nil || resp.Meta.Source != "raw" {
		t.Errorf("uncovered query under auto: %+v, %v; want source raw", resp, err)
	}
	if _, err := e.run(q, "rollup"); err == nil || !strings.Contains(err.Error(), "blob1") {
		t.Errorf("uncovered query under rollup: %v; want an error naming blob1", err)
	}
	e.close()

	// Restarted: every day comes back from its snapshot, none from raw.
	e = open(t, dir, nil)
	if ls := e.pl.Loaded(); ls.DaysLoaded != 4 || ls.DaysRebuilt != 0 {
		t.Errorf("after a clean stop: %+v; want 4 days loaded, none rebuilt", ls)
	}
	e.equivalent("reloaded")
	e.close()
}

func TestRollupsRebuiltWhenTheStoreHasMore(t *testing.T) {
	dir := t.TempDir()
	e := open(t, dir, nil)
	e.append(gen(2, 8000, now.Add(-50*time.Hour).UnixMilli(), now.UnixMilli()))
	e.close()

	// Points committed to the store behind the rollups' back (as when the
	// process dies between the commit and the snapshot), and a day's
	// snapshot lost: both days are rebuilt from raw points at start.
	st, err := duckdb.Open(context.Background(), duckdb.Options{Dir: dir, MemoryLimit: "512MB"})
	if err != nil {
		t.Fatal(err)
	}
	extra := gen(3, 3000, now.Add(-30*time.Hour).UnixMilli(), now.Add(-20*time.Hour).UnixMilli())
	if err := st.Append(context.Background(), extra); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := os.Remove(filepath.Join(dir, "rollups", "2026-11-27.rollup")); err != nil {
		t.Fatal(err)
	}
	e = open(t, dir, nil)
	defer e.close()
	if ls := e.pl.Loaded(); ls.DaysLoaded != 1 || ls.DaysRebuilt != 2 || ls.PointsRead == 0 {
		t.Errorf("after a crash: %+v; want 1 day loaded and 2 rebuilt", ls)
	}
	e.equivalent("rebuilt")
	if raw, rolled := e.count("requests", "raw"), e.count("requests", "rollup"); raw != 11000 || rolled != raw {
		t.Errorf("requests: raw %v, rollup %v; want 11000 both", raw, rolled)
	}
}

func TestRebuildWhileCommitsGoOn(t *testing.T) {
	e := open(t, t.TempDir(), nil)
	defer e.close()
	e.append(gen(4, 10000, now.Add(-70*time.Hour).UnixMilli(), now.UnixMilli()))

	// Late points (old timestamps) keep arriving while checkout is rebuilt.
	late := gen(5, 6000, now.Add(-60*time.Hour).UnixMilli(), now.Add(-1*time.Hour).UnixMilli())
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, b := range late {
			if err := e.pl.Append(context.Background(), []store.Batch{b}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 3 {
		rep, err := e.pl.Rebuild(context.Background(), 1, "checkout", nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Days < 3 || rep.Points == 0 {
			t.Errorf("rebuild report %+v; want 3 or more days", rep)
		}
	}
	wg.Wait()
	e.equivalent("after rebuilds")
	if raw, rolled := e.count("checkout", "raw"), e.count("checkout", "rollup"); raw == 0 || raw != rolled {
		t.Errorf("checkout: raw %v, rollup %v; want equal", raw, rolled)
	}
}

func TestSchemaChangeReachesHistoryByRebuild(t *testing.T) {
	e := open(t, t.TempDir(), nil)
	defer e.close()
	e.append(gen(6, 6000, now.Add(-40*time.Hour).UnixMilli(), now.UnixMilli()))
	bySKU := `{"dataset":"checkout","range":"36h","filter":[{"field":"sku","op":"=","value":"sku7"}],"aggregations":{"n":{"type":"count"}}}`
	if _, err := e.run(bySKU, "rollup"); err == nil {
		t.Fatal("sku is no dimension yet, and rollups answered")
	}
	s := checkoutSchema
	s.Rollup = &point.RollupSchema{Dimensions: []string{"country", "plan", "sku"}, Distributions: []string{"amount", "items"}}
	if err := e.st.SetSchema(context.Background(), 1, "checkout", &s); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pl.Rebuild(context.Background(), 1, "checkout", nil); err != nil {
		t.Fatal(err)
	}
	raw, err := e.run(bySKU, "raw")
	if err != nil {
		t.Fatal(err)
	}
	rolled, err := e.run(bySKU, "rollup")
	if err != nil {
		t.Fatalf("after the rebuild: %v", err)
	}
	same(t, "by sku", raw, rolled)
}

func TestSampledStoreRollupsCountEveryPoint(t *testing.T) {
	// A sampler that keeps every 4th requests point with weight 4 (and
	// the rest of a run with the remainder's weight).
	keep4 := func(batches []store.Batch, _ time.Time) []store.Batch {
		var out []store.Batch
		for _, b := range batches {
			var kept []point.Point
			n := 0
			for _, p := range b.Points {
				if p.Dataset != "requests" {
					kept = append(kept, p)
					continue
				}
				if n%4 == 0 {
					p.SampleInterval = 4
					kept = append(kept, p)
				}
				n++
			}
			out = append(out, store.Batch{Project: b.Project, Points: kept})
		}
		return out
	}
	e := open(t, t.TempDir(), func(o *planner.Options) { o.Sample = keep4 })
	defer e.close()
	// 2000 requests points per batch: a multiple of 4, so weights add up.
	e.append(gen(7, 8000, now.Add(-30*time.Hour).UnixMilli(), now.UnixMilli()))
	if rolled := e.count("requests", "rollup"); rolled != 8000 {
		t.Errorf("rollup count %v; want every one of 8000 points", rolled)
	}
	if raw := e.count("requests", "raw"); raw != 8000 {
		t.Errorf("raw weighted count %v; want 8000", raw)
	}
	counts, err := e.st.DayCounts(context.Background(), now.Truncate(24*time.Hour).UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if n := counts[store.TableDay{Project: 1, Dataset: "requests", Day: now.Truncate(24 * time.Hour).UnixMilli()}]; n == 0 || n > 2000 {
		t.Errorf("stored requests rows today = %d; want about a quarter", n)
	}
}

func TestRetentionDropsRollupsWithTheirDays(t *testing.T) {
	dir := t.TempDir()
	e := open(t, dir, func(o *planner.Options) { o.Retention = 72 * time.Hour })
	defer e.close()
	e.append(gen(8, 12000, now.Add(-5*24*time.Hour).UnixMilli(), now.UnixMilli()))
	if err := e.pl.Close(context.Background()); err != nil { // writes every day's snapshot
		t.Fatal(err)
	}
	snaps := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, "rollups", "*.rollup"))
		for i := range m {
			m[i] = filepath.Base(m[i])
		}
		return m
	}
	if got := snaps(); len(got) != 6 {
		t.Fatalf("snapshots before retention: %v; want 6 days", got)
	}
	e.pl.Expire(context.Background())
	// 72h before 2026-11-27T10:30 is 11-24T10:30: the store keeps the day
	// files from 11-24 on, whole, and so do the rollups.
	if got := snaps(); len(got) != 4 || got[0] != "2026-11-24.rollup" {
		t.Errorf("snapshots after retention: %v; want 2026-11-24 to 2026-11-27", got)
	}
	e.equivalent("after retention")
	q := `{"dataset":"requests","range":{"from":"2026-11-23T00:00:00Z","to":"2026-11-27T00:00:00Z"},"aggregations":{"n":{"type":"count"}}}`
	if _, err := e.run(q, "rollup"); err == nil || !strings.Contains(err.Error(), "covers from 2026-11-24") {
		t.Errorf("a range before the rollups' retention: %v; want refused, naming where they start", err)
	}
	raw, err := e.run(strings.Replace(q, "2026-11-23", "2026-11-24", 1), "raw")
	if err != nil {
		t.Fatal(err)
	}
	rolled, err := e.run(strings.Replace(q, "2026-11-23", "2026-11-24", 1), "rollup")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "the oldest day kept", raw, rolled)

	// A dataset with a shorter retention of its own loses rows before its
	// cutoff in the store, and whole days in the rollups.
	if err := e.st.SetRetention(context.Background(), 1, "ai_usage", 36*time.Hour); err != nil {
		t.Fatal(err)
	}
	e.pl.Expire(context.Background())
	aiQ := `{"dataset":"ai_usage","range":{"from":"2026-11-26T00:00:00Z","to":"2026-11-27T10:00:00Z"},"aggregations":{"n":{"type":"count"},"tok":{"type":"sum","field":"tokens"}}}`
	raw, err = e.run(aiQ, "raw")
	if err != nil {
		t.Fatal(err)
	}
	rolled, err = e.run(aiQ, "rollup")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "ai_usage after its own retention", raw, rolled)
	if _, err := e.run(strings.Replace(aiQ, "2026-11-26", "2026-11-25", 1), "rollup"); err == nil {
		t.Error("the rollups answered for a day the store trimmed")
	}
}

// TestUpkeepCheckpointsIdleDays checks that Run's ticks checkpoint the day
// files that stopped receiving writes, with rollups on and off.
func TestUpkeepCheckpointsIdleDays(t *testing.T) {
	for _, off := range []bool{false, true} {
		dir := t.TempDir()
		e := open(t, dir, func(o *planner.Options) { o.Disabled, o.CheckpointIdle = off, time.Millisecond })
		e.append(gen(5, 3000, now.Add(-50*time.Hour).UnixMilli(), now.Add(-30*time.Hour).UnixMilli()))
		wal := filepath.Join(dir, "points", now.Add(-48*time.Hour).Format("2006-01-02")+".duckdb.wal")
		if fi, err := os.Stat(wal); err != nil || fi.Size() == 0 {
			t.Fatalf("rollups off=%v: no write-ahead log %s after the writes (%v): the test cannot tell a checkpoint", off, wal, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { e.pl.Run(ctx, 10*time.Millisecond, time.Hour) })
		deadline := time.Now().Add(20 * time.Second)
		for {
			if fi, err := os.Stat(wal); err != nil || fi.Size() == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("rollups off=%v: %s still holds its log 20 s into upkeep", off, wal)
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		wg.Wait()
		e.close()
	}
}

// TestBackfillSealsBehindTheFrontier checks that points written oldest
// first, days faster than the clock, are sealed and compacted behind the
// newest one as they come: only the last KeepMinutes keep minute cells.
func TestBackfillSealsBehindTheFrontier(t *testing.T) {
	e := open(t, t.TempDir(), func(o *planner.Options) { o.KeepMinutes = 7 * time.Hour })
	defer e.close()
	e.append(gen(6, 20000, now.Add(-72*time.Hour).UnixMilli(), now.UnixMilli()))
	// Three datasets, each with minute cells for at most the 7 hours kept
	// (the queries need 6), the hour the cut falls in and the 5 minutes
	// left unsealed: about 3 × 485 buckets, against 3 × 4320 for 72 hours.
	const most = 3 * 500
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := e.pl.Stats()
		if st.Buckets[0] <= most && st.Buckets[1] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30 s after a 72-hour backfill the rollups hold %d minute buckets; want at most %d (%s)", st.Buckets[0], most, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.equivalent("backfilled")
}

// failSecondDay is the DuckDB store whose appends commit only the first
// day of a write and then fail, as a crash or a full disk between two day
// files' commits leaves them.
type failSecondDay struct {
	*duckdb.Store
}

func (f failSecondDay) AppendAt(ctx context.Context, batches []store.Batch, pos store.LogPos) error {
	return f.AppendAtLog(ctx, batches, store.MainLog, pos)
}

func (f failSecondDay) AppendAtLog(ctx context.Context, batches []store.Batch, log int, pos store.LogPos) error {
	var first int64 = math.MaxInt64
	for _, b := range batches {
		for _, p := range b.Points {
			first = min(first, store.DayStart(p.Timestamp))
		}
	}
	var keep []store.Batch
	for _, b := range batches {
		var pts []point.Point
		for _, p := range b.Points {
			if store.DayStart(p.Timestamp) == first {
				pts = append(pts, p)
			}
		}
		keep = append(keep, store.Batch{Project: b.Project, Points: pts})
	}
	if err := f.Store.AppendAtLog(ctx, keep, log, pos); err != nil {
		return err
	}
	return &store.PartialCommitError{Committed: []int64{first}, Err: fmt.Errorf("commit of the second day failed")}
}

// TestPartialCommitRollsUpCommittedDays: when the store commits some days
// of a write and fails on a later one, the rollups take the committed
// days' points (and only those): they agree with raw points.
func TestPartialCommitRollsUpCommittedDays(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := duckdb.Open(ctx, duckdb.Options{Dir: dir, MemoryLimit: "512MB", Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pl, err := planner.Open(ctx, failSecondDay{st}, planner.Options{Dir: filepath.Join(dir, "rollups"), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close(ctx)
	day := now.UnixMilli() - now.UnixMilli()%store.DayMs
	var pts []point.Point
	for i := range 30 {
		ts := day - store.DayMs + 3_600_000 + int64(i)*60_000 // yesterday
		if i%3 == 0 {
			ts = day + int64(i)*60_000 // today
		}
		pts = append(pts, point.Point{Dataset: "requests", Timestamp: ts, Index: "/a", Blobs: []string{"/a", "GET"}, Doubles: []float64{float64(i), 200}})
	}
	var pe *store.PartialCommitError
	if err := pl.Append(ctx, []store.Batch{{Project: 1, Points: pts}}); !errors.As(err, &pe) {
		t.Fatalf("Append = %v; want the store's partial commit", err)
	}
	eng := &query.Engine{Exec: pl, Schemas: st.Schema, Now: func() time.Time { return now }}
	for _, src := range []string{"raw", "rollup"} {
		body := fmt.Sprintf(`{"dataset":"requests","range":{"from":%d,"to":%d},"source":%q,"aggregations":{"n":{"type":"count"},"s":{"type":"sum","field":"double1"}}}`,
			day-2*store.DayMs, day+store.DayMs, src)
		res, err := eng.Run(ctx, 1, []byte(body))
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		b, _ := json.Marshal(res.Rows)
		var rows []map[string]float64
		if err := json.Unmarshal(b, &rows); err != nil || len(rows) != 1 {
			t.Fatalf("%s: rows %s", src, b)
		}
		// Yesterday's 20 points (i%3 != 0): their i sum to 435 - 135.
		if n, s := rows[0]["n"], rows[0]["s"]; n != 20 || s != 300 {
			t.Errorf("source %s: count %v, sum %v; want the 20 committed points summing to 300", src, n, s)
		}
	}
}
