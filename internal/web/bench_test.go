package web_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/server/servertest"
	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/web"
)

// benchSite writes pv page views of a site (and its vitals, API calls,
// actions, errors and WebSocket events: about 5 points per page view)
// into a real server over a real DuckDB store, spread over the last 14
// days, as the beacon and the enrichment step would have filled them.
// Points go straight to the planner (store and rollups), an hour at a
// time, oldest first.
func benchSite(b testing.TB, pv int, dir string) *servertest.Env {
	b.Helper()
	env := servertest.Start(b, servertest.Options{RootKey: "bench-root-key-0123456789", Dir: dir})
	const hour = int64(3_600_000)
	now := time.Now().UnixMilli()
	start := now - 14*24*hour
	rng := rand.New(rand.NewPCG(1, 2))
	f := func(ds, name string) int {
		fl, err := point.Builtin(ds).Resolve(name)
		if err != nil || fl.Pos == 0 {
			b.Fatalf("%s.%s: %v", ds, name, err)
		}
		return fl.Pos
	}
	var (
		pPath, pRef, pCountry, pDevice, pBrowser, pUTM, pOS, pVisitor, pSession, pHost, pRefHost = f("pageviews", "path"), f("pageviews", "referrer"),
			f("pageviews", "country"), f("pageviews", "device"), f("pageviews", "browser"), f("pageviews", "utm_source"), f("pageviews", "os"),
			f("pageviews", "visitor"), f("pageviews", "session"), f("pageviews", "host"), f("pageviews", "referrer_host")
		pLoad, pEntry, pRank, pBounce, pSince = f("pageviews", "load_time"), f("pageviews", "entry"), f("pageviews", "visit_page"), f("pageviews", "bounce"), f("pageviews", "since_previous")
		vRating, vPath, vValue                = f("web_vitals", "rating"), f("web_vitals", "path"), f("web_vitals", "value")
		aPath, aDuration, aStatus, aSuccess   = f("api_calls", "path"), f("api_calls", "duration"), f("api_calls", "status"), f("api_calls", "success")
		ePath                                 = f("client_errors", "path")
		uDuration                             = f("ui_actions", "duration")
		wSide, wCode, wAttempt                = f("websocket", "side"), f("websocket", "code"), f("websocket", "attempt")
	)
	pages := make([]string, 60)
	for i := range pages {
		pages[i] = fmt.Sprintf("/lessons/%d", i)
	}
	countries := []string{"US", "DE", "FR", "GB", "IN", "BR", "JP", "NZ", "CA", "ES"}
	agents := [][3]string{{"Chrome", "Windows", "desktop"}, {"Safari", "iOS", "mobile"}, {"Firefox", "Linux", "desktop"}, {"Chrome", "Android", "mobile"}}
	refs := []string{"", "", "", "google.com", "news.ycombinator.com", "duckduckgo.com", "t.co"}
	utms := []string{"", "", "", "", "news", "twitter", "producthunt"}
	endpoints := []string{"GET /api/lessons/:id", "POST /api/chat", "GET /api/me", "POST /api/quiz/:id/answer"}
	actions := []string{"chat/send", "lesson/open", "quiz/answer", "ui/toggle"}
	type vital struct {
		name       string
		lo, hi     float64
		good, poor float64
	}
	vitals := []vital{{"LCP", 400, 7000, 2500, 4000}, {"CLS", 0, 0.5, 0.1, 0.25}, {"FCP", 200, 4000, 1800, 3000}, {"TTFB", 50, 2500, 800, 1800}, {"INP", 20, 900, 200, 500}}
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

	perHour := float64(pv) / float64(14*24)
	written, session := 0, 0
	var batch []point.Point
	flush := func() {
		slices.SortFunc(batch, func(a, b point.Point) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
		for len(batch) > 0 {
			n := min(len(batch), 50_000)
			if err := env.Planner.Append(context.Background(), []store.Batch{{Project: env.Boot.Project.ID, Points: batch[:n]}}); err != nil {
				b.Fatal(err)
			}
			batch = batch[n:]
		}
		batch = nil
	}
	for h := start; h < now && written < pv; h += hour {
		for written < pv && float64(written) < perHour*float64((h-start)/hour+1) {
			session++
			visitor := strconv.FormatUint(rng.Uint64()%uint64(pv/3+1), 16)
			sid := strconv.FormatInt(int64(session), 16)
			ag := agents[rng.IntN(len(agents))]
			country, ref, utm := countries[rng.IntN(len(countries))], refs[rng.IntN(len(refs))], utms[rng.IntN(len(utms))]
			n := 1
			for n < 6 && rng.IntN(100) < 60 {
				n++
			}
			at := h + rng.Int64N(hour)
			var prev int64
			for rank := 1; rank <= n && written < pv && at < now; rank++ {
				page := pages[min(rng.IntN(len(pages)), rng.IntN(len(pages)))]
				p := mk("pageviews", page, at)
				p.Blobs[pPath-1], p.Blobs[pCountry-1], p.Blobs[pBrowser-1], p.Blobs[pOS-1], p.Blobs[pDevice-1] = page, country, ag[0], ag[1], ag[2]
				p.Blobs[pVisitor-1], p.Blobs[pSession-1], p.Blobs[pHost-1] = visitor, sid, "site.example"
				p.Doubles[pLoad-1], p.Doubles[pRank-1] = float64(200+rng.IntN(3000)), float64(rank)
				if rank == 1 {
					p.Blobs[pRefHost-1], p.Blobs[pUTM-1] = ref, utm
					if ref != "" {
						p.Blobs[pRef-1] = "https://" + ref + "/"
					}
					p.Doubles[pEntry-1], p.Doubles[pBounce-1] = 1, 1
				} else {
					p.Doubles[pSince-1] = float64(at - prev)
					if rank == 2 {
						p.Doubles[pBounce-1] = -1
					}
				}
				batch = append(batch, p)
				written++
				et := at
				for _, v := range vitals {
					if rng.IntN(100) >= 70 || v.name == "INP" && rng.IntN(100) >= 40 {
						continue
					}
					et += 100
					x := v.lo + rng.Float64()*(v.hi-v.lo)
					q := mk("web_vitals", v.name, et)
					q.Blobs[0], q.Blobs[vRating-1], q.Blobs[vPath-1] = v.name, rate(v, x), page
					q.Doubles[vValue-1] = x
					batch = append(batch, q)
				}
				if rng.IntN(2) == 0 {
					et += 100
					q := mk("api_calls", endpoints[rng.IntN(len(endpoints))], et)
					q.Blobs[aPath-1] = page
					status := 200.0
					if rng.IntN(50) == 0 {
						status = 500
					}
					q.Doubles[aDuration-1], q.Doubles[aStatus-1], q.Doubles[aSuccess-1] = float64(20+rng.IntN(1500)), status, map[bool]float64{true: 1}[status < 400]
					batch = append(batch, q)
				}
				if rng.IntN(3) == 0 {
					et += 100
					q := mk("ui_actions", actions[rng.IntN(len(actions))], et)
					q.Doubles[uDuration-1] = rng.Float64() * 40
					batch = append(batch, q)
				}
				if rng.IntN(50) == 0 {
					et += 100
					q := mk("client_errors", "TypeError", et)
					q.Blobs[0], q.Blobs[1], q.Blobs[ePath-1] = "TypeError", "x is undefined", page
					q.Doubles[0] = 1
					batch = append(batch, q)
				}
				if rng.IntN(20) == 0 {
					for i, kind := range []string{"open", "close", "open"} {
						et += 100
						q := mk("websocket", kind, et)
						q.Blobs[0], q.Blobs[wSide-1] = kind, "browser"
						if kind == "close" {
							q.Doubles[wCode-1] = []float64{1000, 1001, 1006}[rng.IntN(3)]
						}
						if i == 2 {
							q.Doubles[wAttempt-1] = 1
						}
						batch = append(batch, q)
					}
				}
				prev = at
				at = et + 10_000 + rng.Int64N(240_000)
			}
		}
		flush()
	}
	return env
}

// BenchmarkWebReport measures GET /api/v1/web?range=7d over HTTP against a
// real server holding 1M page views over 14 days (ALIDADE_WEB_BENCH_PV
// sets another number), about 5M points in all: the first answer (cold:
// the edges' hours are read from the store) is reported as cold-ms, then
// each iteration is a dashboard refresh, with the CPU time it took
// (cpu-ms/op, the server's and DuckDB's, on every core).
func BenchmarkWebReport(b *testing.B) {
	pv := 1_000_000
	if s := os.Getenv("ALIDADE_WEB_BENCH_PV"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1000 {
			b.Fatalf("ALIDADE_WEB_BENCH_PV=%q: want a number of page views, at least 1000", s)
		}
		pv = n
	}
	// ALIDADE_WEB_BENCH_DIR keeps the data directory between runs: the
	// points are written on the first and read again on the next ones.
	dir := os.Getenv("ALIDADE_WEB_BENCH_DIR")
	var env *servertest.Env
	readKey := ""
	keysFile := filepath.Join(dir, "bench-keys.json")
	if data, err := os.ReadFile(keysFile); dir != "" && err == nil {
		env = servertest.Start(b, servertest.Options{RootKey: "bench-root-key-0123456789", Dir: dir})
		readKey = string(data)
		b.Logf("reusing the data of %s", dir)
	} else {
		t0 := time.Now()
		env = benchSite(b, pv, dir)
		readKey = env.Keys[meta.KindRead]
		b.Logf("wrote %d page views (and their other points) in %v", pv, time.Since(t0).Round(time.Millisecond))
		if dir != "" {
			if err := os.WriteFile(keysFile, []byte(readKey), 0o600); err != nil {
				b.Fatal(err)
			}
		}
	}
	get := func(params string) web.Report {
		req, err := http.NewRequest("GET", env.URL+"/api/v1/web?"+params, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+readKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			b.Fatalf("GET /api/v1/web?%s = %d %s", params, resp.StatusCode, data)
		}
		var r web.Report
		if err := json.Unmarshal(data, &r); err != nil {
			b.Fatal(err)
		}
		return r
	}
	for _, params := range []string{"range=7d", "range=7d&source=raw"} {
		b.Run(params, func(b *testing.B) {
			t := time.Now()
			r := get(params)
			cold := time.Since(t)
			if r.Summary.PageViews < float64(pv)/3 {
				b.Fatalf("page views = %v; want about half of %d", r.Summary.PageViews, pv)
			}
			b.Logf("%s: cold %v (server %.1f ms), %v page views, source %s, sources %v",
				params, cold.Round(time.Millisecond), r.Meta.ElapsedMs, r.Summary.PageViews, r.Meta.Source, r.Meta.Sources)
			// CPU time (the process's: the server and DuckDB run in it) is
			// what a request costs whatever else shares the machine.
			cpu0 := cpuTime()
			b.ResetTimer()
			for b.Loop() {
				get(params)
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(cold.Microseconds())/1000, "cold-ms")
		})
	}
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
