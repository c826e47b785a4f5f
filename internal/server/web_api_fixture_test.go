package server_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/web"
)

// The fixture of the web analytics tests: a model of a site's browser
// events, posted through the beacon, and the answers of /api/v1/web
// computed from it.

// webClock is the server's settable clock: the beacon stamps its points
// with it and /api/v1/web ends a relative range at it.
type webClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *webClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *webClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// webAgent is a browser the test posts as, with what the enrichment step
// derives from its User-Agent.
type webAgent struct{ ua, browser, os, device string }

var webAgents = []webAgent{
	{"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox", "Linux", "desktop"},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "Safari", "iOS", "mobile"},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome", "Windows", "desktop"},
}

// webClient is one browser: an address (taken from X-Forwarded-For with
// --trust-proxy), a country (CF-IPCountry) and an agent.
type webClient struct {
	ip, country string
	agent       webAgent
}

// The model of what the test posts: every event as the stored point must
// read, with the visit fields the enrichment must derive.
type (
	wPageView struct {
		ts                               int64
		path, refHost, utmS, utmM, utmC  string
		client                           int
		visitor                          string // client and UTC day of the post: the salt's day
		session, rank                    int
		entry, bounce, since             float64
		country, device, browser, osName string
		ref                              string
	}
	wVital struct {
		ts                 int64
		name, path, rating string
		value              float64
	}
	wAPI struct {
		ts       int64
		endpoint string
		duration float64
		status   float64
	}
	wError struct {
		ts        int64
		path, typ string
	}
	wAction struct {
		ts       int64
		action   string
		duration float64
	}
	wSocket struct {
		ts            int64
		kind          string
		code, attempt float64
	}
)

// webModel is everything posted, by kind.
type webModel struct {
	pvs     []wPageView
	vitals  []wVital
	apis    []wAPI
	errs    []wError
	actions []wAction
	sockets []wSocket
}

// webPost is one beacon request: a visit's events, posted at the time of
// its last event.
type webPost struct {
	at     int64
	client webClient
	events []map[string]any
}

var (
	webPaths     = []string{"/", "/lessons/7", "/chat", "/pricing", "/lessons/8", "/blog/" + strings.Repeat("x", 120)}
	webReferrers = []string{"", "", "https://www.google.com/search?q=tutor", "https://news.ycombinator.com/item?id=1", "https://duckduckgo.com/"}
	webUTMs      = []string{"", "", "?utm_source=news&utm_medium=email&utm_campaign=fall", "?utm_source=twitter&utm_medium=social", "?ref=producthunt"}
	webEndpoints = []string{"GET /api/lessons/:id", "POST /api/chat", "GET /api/me"}
	webActions   = []string{"chat/send", "lesson/open", "quiz/answer"}
	webErrTypes  = []string{"TypeError", "ReferenceError"}
)

func webRefHost(ref string) string {
	switch {
	case strings.Contains(ref, "google.com"):
		return "google.com"
	case strings.Contains(ref, "ycombinator"):
		return "news.ycombinator.com"
	case strings.Contains(ref, "duckduckgo"):
		return "duckduckgo.com"
	}
	return ""
}

func webUTM(q string) (src, medium, campaign string) {
	switch q {
	case "?utm_source=news&utm_medium=email&utm_campaign=fall":
		return "news", "email", "fall"
	case "?utm_source=twitter&utm_medium=social":
		return "twitter", "social", ""
	case "?ref=producthunt":
		return "producthunt", "", ""
	}
	return "", "", ""
}

// webGen makes the visits of clients between start and end (Unix ms): each
// client's visits are an hour or more apart, so that each is one visit
// (30 minutes without an event end one).
func webGen(rng *rand.Rand, clients []webClient, start, end int64) (webModel, []webPost) {
	var m webModel
	var posts []webPost
	session := 0
	for ci, c := range clients {
		t := start + rng.Int64N(3_600_000)
		for {
			pages := 1
			if rng.IntN(100) >= 35 {
				pages = 2 + rng.IntN(3)
			}
			// A visit lasts at most 4 pages × (4 min + events): stop in time.
			if t+20*60_000 >= end {
				break
			}
			session++
			post := webPost{client: c}
			first := len(m.pvs)
			var prevPath string
			var prevTs int64
			ref, q := webReferrers[rng.IntN(len(webReferrers))], webUTMs[rng.IntN(len(webUTMs))]
			at := t
			for rank := 1; rank <= pages; rank++ {
				path := webPaths[rng.IntN(len(webPaths))]
				pv := wPageView{ts: at, path: path, client: ci, session: session, rank: rank,
					country: c.country, device: c.agent.device, browser: c.agent.browser, osName: c.agent.os}
				url := "https://site.example" + path
				if rank == 1 {
					pv.entry, pv.bounce = 1, 1
					pv.ref, pv.refHost = ref, webRefHost(ref)
					pv.utmS, pv.utmM, pv.utmC = webUTM(q)
					url += q
				} else {
					pv.ref = "https://site.example" + prevPath
					pv.since = float64(at - prevTs)
					if rank == 2 {
						pv.bounce = -1
					}
				}
				ev := map[string]any{"type": "pageview", "url": url, "timestamp": at}
				if pv.ref != "" {
					ev["referrer"] = pv.ref
				}
				post.events = append(post.events, ev)
				// The page's other events, 100 ms apart after the view.
				et := at
				next := func() int64 { et += 100; return et }
				for _, vm := range []struct {
					name     string
					min, max float64
				}{{"LCP", 300, 6000}, {"CLS", 0, 0.4}, {"INP", 20, 800}, {"TTFB", 50, 2500}} {
					if rng.IntN(100) < 15 {
						continue
					}
					v := vm.min + rng.Float64()*(vm.max-vm.min)
					if vm.name != "CLS" {
						v = math.Round(v)
					} else {
						v = math.Round(v*1000) / 1000
					}
					vt := wVital{ts: next(), name: vm.name, path: path, value: v}
					e := map[string]any{"type": "vital", "name": vm.name, "value": v, "url": url, "timestamp": vt.ts}
					// One sample in four comes without a rating: rated from its value.
					if rng.IntN(4) > 0 {
						vt.rating = web.Rate(vm.name, v)
						e["rating"] = vt.rating
					}
					m.vitals = append(m.vitals, vt)
					post.events = append(post.events, e)
				}
				for range rng.IntN(3) {
					a := wAPI{ts: next(), endpoint: webEndpoints[rng.IntN(len(webEndpoints))], duration: float64(20 + rng.IntN(900)), status: 200}
					if rng.IntN(10) == 0 {
						a.status = 500
					}
					m.apis = append(m.apis, a)
					post.events = append(post.events, map[string]any{"type": "api_call", "endpoint": a.endpoint, "duration": a.duration, "status": a.status, "url": url, "timestamp": a.ts})
				}
				if rng.IntN(8) == 0 {
					e := wError{ts: next(), path: path, typ: webErrTypes[rng.IntN(len(webErrTypes))]}
					m.errs = append(m.errs, e)
					post.events = append(post.events, map[string]any{"type": "error", "errorType": e.typ, "message": "boom", "url": url, "timestamp": e.ts})
				}
				if rng.IntN(2) == 0 {
					a := wAction{ts: next(), action: webActions[rng.IntN(len(webActions))], duration: float64(rng.IntN(4000)) / 100}
					m.actions = append(m.actions, a)
					post.events = append(post.events, map[string]any{"type": "action", "action": a.action, "duration": a.duration, "url": url, "timestamp": a.ts})
				}
				if path == "/chat" {
					// Connect, maybe drop and reconnect, then close.
					ws := []wSocket{{kind: "open"}}
					switch rng.IntN(4) {
					case 0:
						ws = append(ws, wSocket{kind: "close", code: 1006}, wSocket{kind: "error"}, wSocket{kind: "open", attempt: 1}, wSocket{kind: "close", code: 1000})
					case 1:
						ws = append(ws, wSocket{kind: "close", code: 1001})
					case 2:
						ws = append(ws, wSocket{kind: "close", code: 4000}, wSocket{kind: "reconnect"}, wSocket{kind: "open", attempt: 2})
					}
					for _, w := range ws {
						w.ts = next()
						m.sockets = append(m.sockets, w)
						e := map[string]any{"type": "websocket", "kind": w.kind, "channel": "chat", "url": url, "timestamp": w.ts}
						if w.code != 0 {
							e["code"] = w.code
						}
						if w.attempt != 0 {
							e["attempt"] = w.attempt
						}
						post.events = append(post.events, e)
					}
				}
				m.pvs = append(m.pvs, pv)
				prevPath, prevTs = path, at
				post.at = et
				at = et + 10_000 + rng.Int64N(240_000)
			}
			// The visitor id hashes the client with the salt of the day of
			// the post.
			for i := first; i < len(m.pvs); i++ {
				m.pvs[i].visitor = fmt.Sprintf("%d@%s", ci, time.UnixMilli(post.at).UTC().Format(time.DateOnly))
			}
			posts = append(posts, post)
			t = post.at + 45*60_000 + rng.Int64N(4*3_600_000)
		}
	}
	return m, posts
}

// webPostAll posts the visits in time order, each at its last event's time.
func webPostAll(t *testing.T, e *env, clk *webClock, key string, posts []webPost) {
	t.Helper()
	slices.SortStableFunc(posts, func(a, b webPost) int { return cmp.Compare(a.at, b.at) })
	for _, p := range posts {
		clk.set(time.UnixMilli(p.at).UTC())
		body, err := json.Marshal(map[string]any{"key": key, "sentAt": p.at, "events": p.events})
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest("POST", e.url+"/api/v1/events", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("User-Agent", p.client.agent.ua)
		req.Header.Set("X-Forwarded-For", p.client.ip)
		req.Header.Set("CF-IPCountry", p.client.country)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var a struct {
			Accepted int `json:"accepted"`
		}
		_ = json.Unmarshal(data, &a)
		if resp.StatusCode != 202 || a.Accepted != len(p.events) {
			t.Fatalf("POST /api/v1/events at %s = %d %s; want 202 with %d accepted", time.UnixMilli(p.at).UTC(), resp.StatusCode, data, len(p.events))
		}
	}
}

// webQuantile is DuckDB's quantile_cont: linear interpolation between
// order statistics; nil over no values.
func webQuantile(xs []float64, q float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	r := q * float64(len(s)-1)
	lo := int(math.Floor(r))
	hi := min(lo+1, len(s)-1)
	v := s[lo] + (r-float64(lo))*(s[hi]-s[lo])
	return &v
}

func webPct(a, b float64) *float64 {
	if b == 0 {
		return nil
	}
	v := 100 * a / b
	return &v
}

func webQuot(a, b float64) *float64 {
	if b == 0 {
		return nil
	}
	v := a / b
	return &v
}

// webPageKey is the pageviews index of a path: a path over 96 bytes is cut to
// 93 and marked with "…" (the test's paths are ASCII).
func webPageKey(p string) string {
	if len(p) <= 96 {
		return p
	}
	return p[:93] + "…"
}

func webIn(ts, from, to int64) bool { return ts >= from && ts < to }

// webSortDesc orders by keys descending, then by name, as the answers do.
func webSortDesc[T any](list []T, name func(T) string, keys ...func(T) float64) {
	slices.SortStableFunc(list, func(a, b T) int {
		for _, k := range keys {
			if c := cmp.Compare(k(b), k(a)); c != 0 {
				return c
			}
		}
		return cmp.Compare(name(a), name(b))
	})
}

func webTop[T any](list []T, n int) []T {
	if list == nil {
		return []T{}
	}
	return list[:min(len(list), n)]
}

// webRefSummary computes the headline figures of [from, to) from the model.
func webRefSummary(m *webModel, from, to int64) web.Summary {
	var s web.Summary
	var bounces, since float64
	visitors := map[string]bool{}
	for _, pv := range m.pvs {
		if !webIn(pv.ts, from, to) {
			continue
		}
		s.PageViews++
		s.Visits += pv.entry
		bounces += pv.bounce
		since += pv.since
		visitors[pv.visitor] = true
	}
	s.Visitors = float64(len(visitors))
	for _, e := range m.errs {
		if webIn(e.ts, from, to) {
			s.JSErrors++
		}
	}
	s.ViewsPerVisit = webQuot(s.PageViews, s.Visits)
	s.BounceRate = webPct(bounces, s.Visits)
	s.VisitDuration = webQuot(since, s.Visits)
	s.JSErrorRate = webPct(s.JSErrors, s.PageViews)
	return s
}

// webRefVital computes one metric's figures over samples.
func webRefVital(name string, samples []wVital) web.Vital {
	th, _ := web.Thresholds(name)
	v := web.Vital{Metric: name, Thresholds: th}
	var xs []float64
	var by [3]float64
	for _, s := range samples {
		xs = append(xs, s.value)
		r := s.rating
		if r == "" {
			r = web.Rate(name, s.value)
		}
		by[slices.Index([]string{web.RatingGood, web.RatingNeedsImprovement, web.RatingPoor}, r)]++
	}
	v.Samples = float64(len(xs))
	v.P75 = webQuantile(xs, 0.75)
	n := by[0] + by[1] + by[2]
	v.Good, v.NeedsImprovement, v.Poor = webPct(by[0], n), webPct(by[1], n), webPct(by[2], n)
	return v
}

var webMetrics = []string{"LCP", "INP", "CLS", "FCP", "TTFB", "FID"}

// webRefReport computes the answer over [from, to) (and its previous period)
// from the model, with n rows a list at most.
func webRefReport(m *webModel, from, to int64, n int) web.Report {
	var r web.Report
	r.Summary = webRefSummary(m, from, to)
	r.Previous = webRefSummary(m, 2*from-to, from)

	views, entries, bounces := map[string]float64{}, map[string]float64{}, map[string]float64{}
	last := map[int]wPageView{}
	// A bounce is a visit that began in the range on its entry page and
	// saw no other page view in it.
	type visit struct {
		first wPageView
		views int
	}
	visits := map[int]visit{}
	type agg struct{ visits, views float64 }
	groups := map[string]map[string]*agg{}
	add := func(list, name string, pv wPageView) {
		if groups[list] == nil {
			groups[list] = map[string]*agg{}
		}
		a := groups[list][name]
		if a == nil {
			a = &agg{}
			groups[list][name] = a
		}
		a.visits += pv.entry
		a.views++
	}
	for _, pv := range m.pvs {
		if !webIn(pv.ts, from, to) {
			continue
		}
		page := webPageKey(pv.path)
		views[page]++
		entries[page] += pv.entry
		if l, ok := last[pv.session]; !ok || pv.ts > l.ts || pv.ts == l.ts && pv.rank > l.rank {
			last[pv.session] = pv
		}
		v := visits[pv.session]
		if v.views == 0 || pv.rank < v.first.rank {
			v.first = pv
		}
		v.views++
		visits[pv.session] = v
		add("referrers", pv.refHost, pv)
		add("utm.sources", pv.utmS, pv)
		add("utm.mediums", pv.utmM, pv)
		add("utm.campaigns", pv.utmC, pv)
		add("devices", pv.device, pv)
		add("browsers", pv.browser, pv)
		add("os", pv.osName, pv)
		add("countries", pv.country, pv)
	}
	for _, v := range visits {
		if v.views == 1 && v.first.entry == 1 {
			bounces[webPageKey(v.first.path)]++
		}
	}
	for page, v := range views {
		r.Pages = append(r.Pages, web.PageViews{Page: page, PageViews: v, Entries: entries[page]})
		if entries[page] > 0 {
			r.EntryPages = append(r.EntryPages, web.EntryPage{Page: page, Entries: entries[page], Bounces: bounces[page], BounceRate: webPct(bounces[page], entries[page])})
		}
	}
	webSortDesc(r.Pages, func(x web.PageViews) string { return x.Page }, func(x web.PageViews) float64 { return x.PageViews })
	webSortDesc(r.EntryPages, func(x web.EntryPage) string { return x.Page }, func(x web.EntryPage) float64 { return x.Entries })
	r.Pages, r.EntryPages = webTop(r.Pages, n), webTop(r.EntryPages, n)
	exits := map[string]float64{}
	for _, pv := range last {
		exits[webPageKey(pv.path)]++
	}
	for page, e := range exits {
		r.ExitPages = append(r.ExitPages, web.ExitPage{Page: page, Exits: e, PageViews: views[page], ExitRate: webPct(e, views[page])})
	}
	webSortDesc(r.ExitPages, func(x web.ExitPage) string { return x.Page }, func(x web.ExitPage) float64 { return x.Exits })
	r.ExitPages = webTop(r.ExitPages, n)
	list := func(name string) []web.Breakdown {
		var out []web.Breakdown
		for k, a := range groups[name] {
			out = append(out, web.Breakdown{Name: k, Visits: a.visits, PageViews: a.views})
		}
		webSortDesc(out, func(x web.Breakdown) string { return x.Name },
			func(x web.Breakdown) float64 { return x.Visits }, func(x web.Breakdown) float64 { return x.PageViews })
		return webTop(out, n)
	}
	r.Referrers = list("referrers")
	r.UTM = web.UTM{Sources: list("utm.sources"), Mediums: list("utm.mediums"), Campaigns: list("utm.campaigns")}
	r.Devices, r.Browsers, r.OS, r.Countries = list("devices"), list("browsers"), list("os"), list("countries")

	// Vitals, overall and on the top pages.
	byMetric := map[string][]wVital{}
	byPage := map[string]map[string][]wVital{}
	for _, v := range m.vitals {
		if !webIn(v.ts, from, to) {
			continue
		}
		byMetric[v.name] = append(byMetric[v.name], v)
		// The vitals of a page are those of the paths its key stands for.
		page := webPageKey(v.path)
		if byPage[page] == nil {
			byPage[page] = map[string][]wVital{}
		}
		byPage[page][v.name] = append(byPage[page][v.name], v)
	}
	r.Vitals.Metrics = []web.Vital{}
	for _, name := range webMetrics {
		r.Vitals.Metrics = append(r.Vitals.Metrics, webRefVital(name, byMetric[name]))
	}
	r.Vitals.ByPage = []web.PageVitals{}
	for _, pg := range r.Pages {
		if byPage[pg.Page] == nil {
			continue
		}
		pv := web.PageVitals{Page: pg.Page, Metrics: []web.Vital{}}
		for _, name := range webMetrics {
			if s := byPage[pg.Page][name]; len(s) > 0 {
				pv.Metrics = append(pv.Metrics, webRefVital(name, s))
			}
		}
		r.Vitals.ByPage = append(r.Vitals.ByPage, pv)
	}

	// Errors.
	r.Errors = web.Errors{Errors: r.Summary.JSErrors, PageViews: r.Summary.PageViews, ErrorRate: r.Summary.JSErrorRate}
	errPage, errType := map[string]float64{}, map[string]float64{}
	for _, e := range m.errs {
		if webIn(e.ts, from, to) {
			errPage[e.path]++
			errType[e.typ]++
		}
	}
	for p, c := range errPage {
		r.Errors.ByPage = append(r.Errors.ByPage, web.PageErrors{Page: p, Errors: c, PageViews: views[webPageKey(p)], ErrorRate: webPct(c, views[webPageKey(p)])})
	}
	webSortDesc(r.Errors.ByPage, func(x web.PageErrors) string { return x.Page },
		func(x web.PageErrors) float64 { return x.Errors }, func(x web.PageErrors) float64 { return *x.ErrorRate })
	for ty, c := range errType {
		r.Errors.ByType = append(r.Errors.ByType, web.TypeErrors{Type: ty, Errors: c})
	}
	webSortDesc(r.Errors.ByType, func(x web.TypeErrors) string { return x.Type }, func(x web.TypeErrors) float64 { return x.Errors })
	r.Errors.ByPage, r.Errors.ByType = webTop(r.Errors.ByPage, n), webTop(r.Errors.ByType, n)

	// API calls and actions.
	apis := map[string][]wAPI{}
	for _, a := range m.apis {
		if webIn(a.ts, from, to) {
			apis[a.endpoint] = append(apis[a.endpoint], a)
		}
	}
	for ep, calls := range apis {
		var xs []float64
		var failures float64
		for _, c := range calls {
			xs = append(xs, c.duration)
			if c.status >= 400 {
				failures++
			}
		}
		nc := float64(len(calls))
		r.APICalls = append(r.APICalls, web.APICall{Endpoint: ep, Calls: nc, Failures: failures, FailureRate: webPct(failures, nc),
			P50: webQuantile(xs, 0.5), P95: webQuantile(xs, 0.95)})
	}
	webSortDesc(r.APICalls, func(x web.APICall) string { return x.Endpoint }, func(x web.APICall) float64 { return x.Calls })
	r.APICalls = webTop(r.APICalls, n)
	acts := map[string][]float64{}
	for _, a := range m.actions {
		if webIn(a.ts, from, to) {
			acts[a.action] = append(acts[a.action], a.duration)
		}
	}
	for name, xs := range acts {
		r.Actions = append(r.Actions, web.Action{Action: name, Count: float64(len(xs)), P50: webQuantile(xs, 0.5), P95: webQuantile(xs, 0.95)})
	}
	webSortDesc(r.Actions, func(x web.Action) string { return x.Action }, func(x web.Action) float64 { return x.Count })
	r.Actions = webTop(r.Actions, n)

	// WebSocket stability.
	ws := &r.WebSocket
	for _, s := range m.sockets {
		if !webIn(s.ts, from, to) {
			continue
		}
		switch s.kind {
		case "open":
			ws.Opens++
			if s.attempt >= 1 {
				ws.Reconnects++
			}
		case "close":
			ws.Closes++
			if s.code != 0 && s.code != 1000 && s.code != 1001 {
				ws.AbnormalCloses++
			}
		case "error":
			ws.Errors++
		case "reconnect":
			ws.Reconnects++
		}
	}
	ws.DropRate = webPct(ws.AbnormalCloses, ws.Opens)
	return r
}

// webCompareJSON compares an answer with its reference as JSON values: keys
// of want only, numbers exactly (to rounding) except quantiles (keys p50,
// p75, p95), which must be within tol of the exact value (rollups' sketches
// are within 0.5%).
func webCompareJSON(t *testing.T, path string, got, want any, tol float64) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s = %v; want an object", path, got)
			return
		}
		for k, wv := range w {
			webCompareJSON(t, path+"."+k, g[k], wv, tol)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s = %v; want %v", path, got, want)
			return
		}
		for i := range w {
			webCompareJSON(t, fmt.Sprintf("%s[%d]", path, i), g[i], w[i], tol)
		}
	case float64:
		g, ok := got.(float64)
		rel := 1e-9
		if k := path[strings.LastIndex(path, ".")+1:]; k == "p50" || k == "p75" || k == "p95" {
			rel = tol
		}
		if !ok || math.Abs(g-w) > rel*math.Max(math.Abs(w), 1e-9) {
			t.Errorf("%s = %v; want %v", path, got, want)
		}
	default:
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v; want %v", path, got, want)
		}
	}
}

// webAsJSON turns a value into its JSON form (maps, lists, numbers).
func webAsJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// webAnswer is an answer of /api/v1/web as JSON, with its typed meta.
type webAnswer struct {
	raw  map[string]any
	meta web.Meta
}

func (e *env) web(key, params string) (int, webAnswer) {
	e.t.Helper()
	var a webAnswer
	code := e.call("GET", "/api/v1/web?"+params, key, nil, nil, &a.raw)
	if m, ok := a.raw["meta"]; ok {
		b, _ := json.Marshal(m)
		if err := json.Unmarshal(b, &a.meta); err != nil {
			e.t.Fatal(err)
		}
	}
	return code, a
}

// webCheck compares an answer with the reference over [from, to).
func webCheck(t *testing.T, what string, a webAnswer, m *webModel, from, to int64, n int, tol float64) {
	t.Helper()
	ref := webRefReport(m, from, to, n)
	ref.Change = webChange(ref.Summary, ref.Previous)
	want := webAsJSON(t, ref).(map[string]any)
	delete(want, "meta")
	webCompareJSON(t, what, a.raw, want, tol)
	if got, w := a.meta.From, time.UnixMilli(from).UTC().Format(time.RFC3339Nano); got != w {
		t.Errorf("%s: meta.from = %s; want %s", what, got, w)
	}
	if got, w := a.meta.To, time.UnixMilli(to).UTC().Format(time.RFC3339Nano); got != w {
		t.Errorf("%s: meta.to = %s; want %s", what, got, w)
	}
	if got, w := a.meta.PreviousFrom, time.UnixMilli(2*from-to).UTC().Format(time.RFC3339Nano); got != w {
		t.Errorf("%s: meta.previousFrom = %s; want %s", what, got, w)
	}
}

// webChange is the reference of Change: relative changes in percent,
// rates in percentage points.
func webChange(cur, prev web.Summary) web.Change {
	rel := func(a, b float64) *float64 {
		if b == 0 {
			return nil
		}
		v := 100 * (a - b) / b
		return &v
	}
	relp := func(a, b *float64) *float64 {
		if a == nil || b == nil {
			return nil
		}
		return rel(*a, *b)
	}
	diff := func(a, b *float64) *float64 {
		if a == nil || b == nil {
			return nil
		}
		v := *a - *b
		return &v
	}
	return web.Change{Visitors: rel(cur.Visitors, prev.Visitors), Visits: rel(cur.Visits, prev.Visits),
		PageViews: rel(cur.PageViews, prev.PageViews), ViewsPerVisit: relp(cur.ViewsPerVisit, prev.ViewsPerVisit),
		BounceRate: diff(cur.BounceRate, prev.BounceRate), VisitDuration: relp(cur.VisitDuration, prev.VisitDuration),
		JSErrors: rel(cur.JSErrors, prev.JSErrors), JSErrorRate: diff(cur.JSErrorRate, prev.JSErrorRate)}
}

func webParseRFC(t *testing.T, s string) int64 {
	t.Helper()
	x, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return x.UnixMilli()
}
