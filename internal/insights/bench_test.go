package insights_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/enrich"
	"github.com/alidade/alidade/internal/insights"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/server/servertest"
	"github.com/alidade/alidade/internal/store"
)

// benchSite writes n web vitals points (and a page view per 3 of them, an
// API call per 5, an error per 200) over the last 14 days into a real
// server over a real DuckDB store, as the beacon and the enrichment step
// fill them: 24 page templates (/lessons/:id over 200 lessons, /courses/:id/quiz,
// …), 3 LCP elements and 8 INP targets per template, 3 devices, 2
// navigation types. Points go straight to the planner (store and
// rollups), an hour at a time, oldest first.
func benchSite(b *testing.B, n int) *servertest.Env {
	b.Helper()
	env := servertest.Start(b, servertest.Options{RootKey: "bench-root-key-0123456789"})
	const hour = int64(3_600_000)
	now := time.Now().UnixMilli()
	start := now - 14*24*hour
	rng := rand.New(rand.NewPCG(3, 4))
	pos := func(ds, name string) int {
		f, err := point.Builtin(ds).Resolve(name)
		if err != nil {
			b.Fatal(err)
		}
		return f.Pos - 1
	}
	var (
		vName, vRating, vPath, vNav, vAttr, vDevice = pos("web_vitals", "name"), pos("web_vitals", "rating"), pos("web_vitals", "path"),
			pos("web_vitals", "navigation_type"), pos("web_vitals", "attribution"), pos("web_vitals", "device")
		vValue         = pos("web_vitals", "value")
		pvPath, pvDev  = pos("pageviews", "path"), pos("pageviews", "device")
		acPath, acDur  = pos("api_calls", "path"), pos("api_calls", "duration")
		cePath, ceType = pos("client_errors", "path"), pos("client_errors", "type")
	)
	templates := []string{"/lessons/%d", "/courses/%d/quiz", "/chat/%d", "/u/%d/settings",
		"/", "/about", "/pricing", "/chat", "/login", "/signup", "/dashboard", "/courses", "/help", "/blog",
		"/blog/rollups", "/blog/vitals", "/status", "/docs", "/docs/sdk", "/docs/api", "/careers", "/terms", "/privacy", "/contact"}
	path := func(t int) string {
		if t < 4 {
			return fmt.Sprintf(templates[t], 1+rng.IntN(200))
		}
		return templates[t]
	}
	lcpEls := []string{"img.hero", "h1.title", "div.card>p"}
	inpEls := []string{"button.send", "#busy", "a.next", "input.answer", "button.submit", "li.choice", "#menu", "textarea.msg"}
	devices := []string{"desktop", "mobile", "tablet"}
	navs := []string{"navigate", "navigate", "navigate", "reload", "back-forward"}
	type vital struct {
		name       string
		lo, hi     float64
		good, poor float64
	}
	vitals := []vital{{"LCP", 400, 6000, 2500, 4000}, {"INP", 20, 800, 200, 500}, {"CLS", 0, 0.4, 0.1, 0.25}, {"FCP", 200, 4000, 1800, 3000}, {"TTFB", 50, 2500, 800, 1800}}
	rate := func(v vital, x float64) string {
		switch {
		case x <= v.good:
			return "good"
		case x <= v.poor:
			return "needs-improvement"
		}
		return "poor"
	}
	mk := func(ds, index string, ts int64) point.Point {
		s := point.Builtin(ds)
		return point.Point{Dataset: ds, Timestamp: ts, Index: index, Blobs: make([]string, len(s.Blobs)), Doubles: make([]float64, len(s.Doubles))}
	}
	perHour := n / (14 * 24)
	var batch []point.Point
	written := 0
	for h := start; h < now-hour && written < n; h += hour {
		for range perHour {
			ts := h + rng.Int64N(hour)
			t := min(rng.IntN(len(templates)), rng.IntN(len(templates))) // a few templates get most views
			p, dev := path(t), devices[rng.IntN(len(devices))]
			v := vitals[rng.IntN(len(vitals))]
			x := v.lo + rng.Float64()*(v.hi-v.lo)*(1+float64(t%4))/4
			q := mk("web_vitals", v.name, ts)
			q.Blobs[vName], q.Blobs[vRating], q.Blobs[vPath], q.Blobs[vNav], q.Blobs[vDevice] = v.name, rate(v, x), p, navs[rng.IntN(len(navs))], dev
			switch v.name {
			case "LCP":
				q.Blobs[vAttr] = lcpEls[min(rng.IntN(3), rng.IntN(3))]
			case "INP":
				q.Blobs[vAttr] = inpEls[rng.IntN(len(inpEls))]
			}
			q.Doubles[vValue] = x
			batch = append(batch, q)
			written++
			if written%3 == 0 {
				q := mk("pageviews", p, ts)
				q.Blobs[pvPath], q.Blobs[pvDev] = p, dev
				batch = append(batch, q)
			}
			if written%5 == 0 {
				q := mk("api_calls", []string{"GET /api/lessons/:id", "POST /api/chat", "GET /api/me"}[rng.IntN(3)], ts)
				q.Blobs[acPath], q.Doubles[acDur] = p, 20+rng.Float64()*1500
				batch = append(batch, q)
			}
			if written%200 == 0 {
				q := mk("client_errors", "TypeError", ts)
				q.Blobs[cePath], q.Blobs[ceType] = p, "TypeError"
				batch = append(batch, q)
			}
		}
		enrich.Routes(batch)
		slices.SortFunc(batch, func(a, b point.Point) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
		for len(batch) > 0 {
			k := min(len(batch), 50_000)
			if err := env.Planner.Append(context.Background(), []store.Batch{{Project: env.Boot.Project.ID, Points: batch[:k]}}); err != nil {
				b.Fatal(err)
			}
			batch = batch[k:]
		}
		batch = batch[:0]
	}
	// Seal, compact and write the snapshots now, as the server's upkeep
	// would in its next ticks: else the first sub-benchmark measures
	// alongside that work.
	env.Planner.Maintain(context.Background(), true)
	return env
}

// BenchmarkInsights measures GET /api/v1/insights?range=7d over HTTP
// against a real server holding 10M web vitals points over 14 days
// (ALIDADE_INSIGHTS_BENCH_POINTS sets another number) with their page
// views, API calls and errors: the first answer is reported as cold-ms,
// then each iteration is a refresh; median-ms is the median iteration.
func BenchmarkInsights(b *testing.B) {
	n := 10_000_000
	if s := os.Getenv("ALIDADE_INSIGHTS_BENCH_POINTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 10_000 {
			b.Fatalf("ALIDADE_INSIGHTS_BENCH_POINTS=%q: want a number of points, at least 10000", s)
		}
		n = v
	}
	t0 := time.Now()
	env := benchSite(b, n)
	b.Logf("wrote %d web vitals points (and their page views, API calls and errors) in %v", n, time.Since(t0).Round(time.Second))
	key := env.Keys[meta.KindRead]
	get := func(params string) insights.Report {
		req, err := http.NewRequest("GET", env.URL+"/api/v1/insights?"+params, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			b.Fatalf("GET /api/v1/insights?%s = %d %s", params, resp.StatusCode, data)
		}
		var r insights.Report
		if err := json.Unmarshal(data, &r); err != nil {
			b.Fatal(err)
		}
		return r
	}
	// range=7d ends now: its edges are parts of hours, which raw points
	// answer; a range on whole hours is answered from rollups alone.
	hourEnd := time.Now().Truncate(time.Hour)
	whole := fmt.Sprintf("from=%d&to=%d", hourEnd.Add(-7*24*time.Hour).UnixMilli(), hourEnd.UnixMilli())
	for _, params := range []string{"range=7d", whole} {
		b.Run(params, func(b *testing.B) {
			t := time.Now()
			r := get(params)
			cold := time.Since(t)
			if len(r.Pages) == 0 || r.Pages[0].Views == 0 {
				b.Fatalf("no pages: %+v", r)
			}
			b.Logf("%s: cold %v (server %.1f ms), %d pages, first %s (%v views), source %s, sources %v, warnings %v",
				params, cold.Round(time.Millisecond), r.Meta.ElapsedMs, len(r.Pages), r.Pages[0].Page, r.Pages[0].Views, r.Meta.Source, r.Meta.Sources, r.Meta.Warnings)
			var laps []time.Duration
			b.ResetTimer()
			for b.Loop() {
				t := time.Now()
				get(params)
				laps = append(laps, time.Since(t))
			}
			slices.Sort(laps)
			b.ReportMetric(float64(laps[len(laps)/2].Microseconds())/1000, "median-ms")
			b.ReportMetric(float64(cold.Microseconds())/1000, "cold-ms")
		})
	}
}
