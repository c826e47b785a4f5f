//go:build browser

package browsertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSentryBrowser runs the official @sentry/browser (from npm, bundled
// into a page of the test site, another origin than Alidade) with a
// project's DSN: a thrown error and an unhandled rejection become two
// error groups with their in-app frames and the page's request; the
// envelope endpoint's CORS lets the SDK's POST through and its answers'
// Sentry headers be read; and a 429 of the project's error rate limit
// reaches the SDK, which stops sending errors.
func TestSentryBrowser(t *testing.T) {
	e := setup(t)
	js := sentryBundle(t, e)
	srv := e.alidade

	// A project of its own, with its DSN.
	var p struct {
		ID   int64             `json:"id"`
		Keys map[string]string `json:"keys"`
		DSN  string            `json:"dsn"`
	}
	code, body, err := srv.call("POST", "/api/v1/projects", rootKey, map[string]string{"name": fmt.Sprintf("sentry-%d", time.Now().UnixNano())}, &p)
	if err != nil || code != http.StatusCreated || p.DSN == "" || p.Keys["read"] == "" || p.Keys["admin"] == "" {
		t.Fatalf("POST /api/v1/projects = %d %s %v; want 201 with a dsn", code, body, err)
	}
	host := strings.TrimPrefix(srv.url, "http://")
	if want := fmt.Sprintf("http://%s@%s/%d", p.Keys["public"], host, p.ID); p.DSN != want {
		t.Errorf("dsn = %q; want %q", p.DSN, want)
	}
	envelopeURL := fmt.Sprintf("%s/api/%d/envelope/", srv.url, p.ID)

	site := startSentrySite(t, js, p.DSN)
	b := newBrowser(t, e)
	b.open(site+"/lessons/7?tab=grades", "")
	b.waitFor(`window.sentry && sentry.ready`)

	// CORS, as the browser enforces it. A page's own POST with Sentry's
	// headers needs a preflight, which must allow it; its answer is
	// readable; a refusal's X-Sentry-Error is exposed to the page.
	type probe struct {
		Status      int    `json:"status"`
		SentryError string `json:"sentryError"`
		Body        string `json:"body"`
		Error       string `json:"error"`
	}
	auth := func(key string) string { return "Sentry sentry_version=7, sentry_client=probe/1.0, sentry_key=" + key }
	pr := eval[probe](b, fmt.Sprintf(`probe(%q, %q)`, envelopeURL, auth(p.Keys["public"])))
	if pr.Status != http.StatusOK || !strings.Contains(pr.Body, `"id"`) {
		t.Errorf("the page's POST with X-Sentry-Auth (preflighted) from %s = %+v; want 200 {\"id\":…}", site, pr)
	}
	pr = eval[probe](b, fmt.Sprintf(`probe(%q, %q)`, envelopeURL, auth("ald_public_unknown0123456789")))
	if pr.Status != http.StatusUnauthorized || pr.SentryError == "" {
		t.Errorf("the page's POST with an unknown key = %+v; want 401 with X-Sentry-Error readable by the page", pr)
	}
	checkSentryCORS(t, envelopeURL, site)

	// A thrown error and an unhandled rejection, each in its own envelope,
	// answered 200 to the page.
	b.click("#throw")
	b.click("#reject")
	b.waitFor(`sentry.sent.filter((s) => s.events > 0 && s.status == 200).length >= 2`)

	type frame struct {
		Function string `json:"function"`
		Filename string `json:"filename"`
		AbsPath  string `json:"abs_path"`
		Lineno   int    `json:"lineno"`
		InApp    *bool  `json:"in_app"`
	}
	type event struct {
		ID        string `json:"id"`
		GroupID   int64  `json:"groupId"`
		Level     string `json:"level"`
		Platform  string `json:"platform"`
		Title     string `json:"title"`
		Release   string `json:"release"`
		Env       string `json:"environment"`
		Exception []struct {
			Type       string         `json:"type"`
			Value      string         `json:"value"`
			Mechanism  map[string]any `json:"mechanism"`
			Stacktrace struct {
				Frames []frame `json:"frames"`
			} `json:"stacktrace"`
		} `json:"exception"`
		Request  map[string]any `json:"request"`
		Contexts map[string]any `json:"contexts"`
		SDK      map[string]any `json:"sdk"`
	}
	type group struct {
		ID          int64  `json:"id"`
		Title       string `json:"title"`
		Culprit     string `json:"culprit"`
		Level       string `json:"level"`
		Status      string `json:"status"`
		Count       int    `json:"count"`
		Fingerprint string `json:"fingerprint"`
		LatestEvent *event `json:"latestEvent"`
	}
	groups := func() []group {
		var a struct {
			Groups []group `json:"groups"`
		}
		code, body, err := srv.call("GET", "/api/v1/error-groups?sort=first_seen", p.Keys["read"], nil, &a)
		if err != nil || code != http.StatusOK {
			t.Fatalf("GET /api/v1/error-groups = %d %s %v", code, body, err)
		}
		return a.Groups
	}
	find := func(gs []group, title string) *group {
		for i := range gs {
			if strings.HasPrefix(gs[i].Title, title) {
				return &gs[i]
			}
		}
		return nil
	}
	const thrownTitle, rejectedTitle, quotaTitle = `TypeError: score is not a number: "abc"`, "Error: lesson 7 failed to load", "RangeError: quota exceeded #"
	var gs []group
	eventually(t, 10*time.Second, "the two error groups", func() []string {
		gs = groups()
		if find(gs, thrownTitle) == nil || find(gs, rejectedTitle) == nil {
			var titles []string
			for _, g := range gs {
				titles = append(titles, g.Title)
			}
			return []string{fmt.Sprintf("groups %q and %q (have %q)", thrownTitle, rejectedTitle, titles)}
		}
		return nil
	})
	if len(gs) != 2 {
		t.Errorf("%d error groups; want 2: %+v", len(gs), gs)
	}

	ua := fmt.Sprintf(desktopUA, e.major)
	for _, c := range []struct {
		title     string
		functions []string // in-app frames that must be there, outermost first
		mechanism string   // a substring of mechanism.type
	}{
		{thrownTitle, []string{"gradeLesson", "parseScore"}, ""},
		{rejectedTitle, []string{"loadLesson"}, "onunhandledrejection"},
	} {
		g := find(gs, c.title)
		if g.Level != "error" || g.Status != "unresolved" || g.Count != 1 || len(g.Fingerprint) != 16 {
			t.Errorf("group %q: level %q, status %q, count %d, fingerprint %q; want error, unresolved, 1, 16 hex digits",
				g.Title, g.Level, g.Status, g.Count, g.Fingerprint)
		}
		if fn := c.functions[len(c.functions)-1]; !strings.Contains(g.Culprit, fn) || !strings.Contains(g.Culprit, "sentry-app.js") {
			t.Errorf("group %q: culprit %q; want the bundle's file and %s", g.Title, g.Culprit, fn)
		}
		var d group
		path := fmt.Sprintf("/api/v1/error-groups/%d", g.ID)
		if code, body, err := srv.call("GET", path, p.Keys["read"], nil, &d); err != nil || code != http.StatusOK || d.LatestEvent == nil {
			t.Errorf("GET %s = %d %s %v; want the group with its latest event", path, code, body, err)
			continue
		}
		var ev event
		path = "/api/v1/events/" + d.LatestEvent.ID
		if code, body, err := srv.call("GET", path, p.Keys["read"], nil, &ev); err != nil || code != http.StatusOK {
			t.Errorf("GET %s = %d %s %v", path, code, body, err)
			continue
		}
		if ev.GroupID != g.ID || ev.Level != "error" || ev.Platform != "javascript" || ev.Release != "tutor@1.4.0" || ev.Env != "browsertest" {
			t.Errorf("event %s: group %d, level %q, platform %q, release %q, environment %q; want %d, error, javascript, tutor@1.4.0, browsertest",
				ev.ID, ev.GroupID, ev.Level, ev.Platform, ev.Release, ev.Env, g.ID)
		}
		if name, _ := ev.SDK["name"].(string); name != "sentry.javascript.browser" {
			t.Errorf("event %s: sdk %v; want sentry.javascript.browser", ev.ID, ev.SDK)
		}
		if len(ev.Exception) == 0 {
			t.Errorf("event %s: no exception", ev.ID)
			continue
		}
		ex := ev.Exception[len(ev.Exception)-1]
		if c.mechanism != "" {
			if mt, _ := ex.Mechanism["type"].(string); !strings.Contains(mt, c.mechanism) || ex.Mechanism["handled"] != false {
				t.Errorf("event %s: mechanism %v; want %s, not handled", ev.ID, ex.Mechanism, c.mechanism)
			}
		} else if ex.Mechanism["handled"] != false {
			t.Errorf("event %s: mechanism %v; want an unhandled error", ev.ID, ex.Mechanism)
		}
		var inApp []string
		for _, f := range ex.Stacktrace.Frames {
			if f.InApp != nil && *f.InApp && strings.HasSuffix(f.Filename, "/sentry-app.js") && f.Lineno > 0 {
				inApp = append(inApp, f.Function)
			}
		}
		// Frames are oldest first: the wanted ones in order, the throwing one last.
		at := -1
		for _, fn := range c.functions {
			i := slices.Index(inApp[at+1:], fn)
			if i < 0 {
				t.Errorf("event %s: in-app frames of sentry-app.js %q; want %q among them, in this order (all frames: %+v)", ev.ID, inApp, c.functions, ex.Stacktrace.Frames)
				break
			}
			at += i + 1
		}
		if len(inApp) > 0 && inApp[len(inApp)-1] != c.functions[len(c.functions)-1] {
			t.Errorf("event %s: innermost in-app frame %q; want %q", ev.ID, inApp[len(inApp)-1], c.functions[len(c.functions)-1])
		}
		// The page's request: its URL and the browser's User-Agent.
		if u, _ := ev.Request["url"].(string); u != site+"/lessons/7?tab=grades" {
			t.Errorf("event %s: request %v; want url %s/lessons/7?tab=grades", ev.ID, ev.Request, site)
		}
		// Headers come back as a list of pairs, as Sentry's API has them.
		var headers []Pair
		if b, err := json.Marshal(ev.Request["headers"]); err == nil {
			json.Unmarshal(b, &headers)
		}
		got := ""
		for _, h := range headers {
			if h[0] == "User-Agent" {
				got = h[1]
			}
		}
		if got != ua {
			t.Errorf("event %s: request headers %v; want User-Agent %q", ev.ID, headers, ua)
			for _, s := range eval[[]sent](b, `sentry.sent`) {
				if strings.Contains(s.Body, ev.ID) {
					t.Logf("what the SDK sent: %s", s.Body)
				}
			}
		}
		t.Logf("group %d %q (culprit %q): in-app frames %q; contexts %v", g.ID, g.Title, g.Culprit, inApp, ev.Contexts)
	}

	// The browser events also feed client_errors, enriched from the
	// browser's request as the beacon's are (browser, OS, device).
	proj := project{id: p.ID, keys: p.Keys}
	siteHost := strings.TrimPrefix(site, "http://")
	var ce []row
	eventually(t, 10*time.Second, "the client_errors points", func() []string {
		ce = srv.sql(t, proj, "SELECT error_type, message, browser, os, device, host, path, fingerprint FROM client_errors ORDER BY timestamp")
		if len(ce) < 2 {
			return []string{fmt.Sprintf("2 client_errors points (have %v)", ce)}
		}
		return nil
	})
	for i, want := range []struct{ typ, title string }{{"TypeError", thrownTitle}, {"Error", rejectedTitle}} {
		r := ce[i]
		if j := slices.IndexFunc(ce, func(r row) bool { return r.str("error_type") == want.typ }); j >= 0 {
			r = ce[j] // the two envelopes race: match by type
		}
		g := find(gs, want.title)
		if r.str("error_type") != want.typ || r.str("browser") != "Chrome" || r.str("os") != "Linux" || r.str("device") != "desktop" ||
			r.str("path") != "/lessons/7" || r.str("fingerprint") != g.Fingerprint {
			t.Errorf("client_errors point %d = %v; want %s from Chrome on Linux, desktop, path /lessons/7, fingerprint %s", i, r, want.typ, g.Fingerprint)
		}
		expect(t, "sentry-client-errors-host", r.str("host") == siteHost,
			"client_errors point %d of a Sentry event: host %q; want the page's host %s (from request.url), as the beacon's points have it", i, r.str("host"), siteHost)
	}

	// The rate limit: one error event a day for the key. The first is
	// taken, the second answered 429 with Sentry's headers — which the page
	// reads — and the SDK sends no error after it.
	rateLimited0 := metricValue(t, srv, `alidade_sentry_items_total{item="event/rate_limited"}`)
	backoff0 := metricValue(t, srv, `alidade_sentry_client_discarded_total{what="error/ratelimit_backoff"}`)
	path := fmt.Sprintf("/api/v1/projects/%d", p.ID)
	if code, body, err := srv.call("PATCH", path, p.Keys["admin"], map[string]any{"errorRateLimit": map[string]any{"events": 1, "window": "24h"}}, nil); err != nil || code != http.StatusOK {
		t.Fatalf("PATCH %s errorRateLimit = %d %s %v", path, code, body, err)
	}
	b.click("#quota")
	b.waitFor(`sentry.sent.filter((s) => s.events > 0).length == 3`)
	b.click("#quota")
	b.waitFor(`sentry.sent.filter((s) => s.events > 0).length == 4`)
	var withEvents []sent
	for _, s := range eval[[]sent](b, `sentry.sent`) {
		if s.Events > 0 {
			withEvents = append(withEvents, s)
		}
	}
	for i, s := range withEvents[:3] {
		if s.Status != http.StatusOK {
			t.Errorf("envelope %d with an error event answered %d %s; want 200", i+1, s.Status, s.Error)
		}
	}
	last := withEvents[3]
	rl, ra := "", ""
	if last.RateLimits != nil {
		rl = *last.RateLimits
	}
	if last.RetryAfter != nil {
		ra = *last.RetryAfter
	}
	if n, err := strconv.Atoi(ra); last.Status != http.StatusTooManyRequests || err != nil || n < 1 || n > 86400 || rl != ra+":default;error;security:key" {
		t.Fatalf("the error over the limit: the page saw %d, X-Sentry-Rate-Limits %q, Retry-After %q; want 429, \"<s>:default;error;security:key\" and <s> in 1..86400", last.Status, rl, ra)
	}
	// Two more errors: the SDK, rate-limited for the error category, drops
	// them without a request.
	b.click("#quota")
	b.click("#quota")
	b.waitFor(`sentry.quota == 4`)
	time.Sleep(time.Second)
	if all := eval[[]sent](b, `sentry.sent`); countEvents(all) != 4 {
		t.Errorf("after the 429, the page sent %d envelopes with error events in all (%+v); want 4: @sentry/browser must honour X-Sentry-Rate-Limits", countEvents(all), all)
	}
	if d := metricValue(t, srv, `alidade_sentry_items_total{item="event/rate_limited"}`) - rateLimited0; d != 1 {
		t.Errorf("alidade_sentry_items_total{item=\"event/rate_limited\"} grew by %v; want 1 (the SDK sends nothing more)", d)
	}
	// Leaving the page, the SDK reports what it dropped in a client report.
	b.leave()
	eventually(t, 10*time.Second, "the SDK's client report", func() []string {
		if d := metricValue(t, srv, `alidade_sentry_client_discarded_total{what="error/ratelimit_backoff"}`) - backoff0; d != 2 {
			return []string{fmt.Sprintf("2 error events discarded with ratelimit_backoff (have %v)", d)}
		}
		return nil
	})
	g := find(groups(), quotaTitle)
	if g == nil || g.Count != 1 {
		t.Errorf("the quota group: %+v; want one event (the one under the limit)", g)
	}
}

// Pair is a header of an event's request.
type Pair [2]string

// sent is one envelope the Sentry test page's transport sent, as the page
// saw its answer.
type sent struct {
	Body       string   `json:"body"`
	Status     int      `json:"status"`
	Events     int      `json:"events"`
	Items      []string `json:"items"`
	RateLimits *string  `json:"rateLimits"`
	RetryAfter *string  `json:"retryAfter"`
	Error      string   `json:"error"`
}

// countEvents is the number of envelopes with an error event.
func countEvents(all []sent) int {
	n := 0
	for _, s := range all {
		if s.Events > 0 {
			n++
		}
	}
	return n
}

// checkSentryCORS checks the preflight and a POST's answer of the envelope
// endpoint as Relay answers them, for a request from origin.
func checkSentryCORS(t *testing.T, url, origin string) {
	t.Helper()
	req, _ := http.NewRequest("OPTIONS", url, nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,x-sentry-auth")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode/100 != 2 || h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "x-sentry-auth") ||
		!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "content-type") {
		t.Errorf("preflight of %s from %s = %d %v; want 2xx allowing POST with content-type and x-sentry-auth from any origin", url, origin, resp.StatusCode, h)
	}
	req, _ = http.NewRequest("POST", url+"?sentry_key=ald_public_unknown0123456789", strings.NewReader("{}\n"))
	req.Header.Set("Origin", origin)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	expose := strings.ToLower(resp.Header.Get("Access-Control-Expose-Headers"))
	for _, want := range []string{"x-sentry-rate-limits", "retry-after", "x-sentry-error"} {
		if !slices.Contains(strings.Split(strings.ReplaceAll(expose, " ", ""), ","), want) {
			t.Errorf("POST %s from %s = %d with Access-Control-Expose-Headers %q; want %s among them", url, origin, resp.StatusCode, expose, want)
		}
	}
}

// metricValue reads one sample of the server's /metrics (0 when absent).
func metricValue(t *testing.T, s *server, sample string) float64 {
	t.Helper()
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

var (
	sentryOnce sync.Once
	sentryJS   []byte
	sentryErr  error
)

// sentryBundle bundles testdata/sentry/app.ts with @sentry/browser (a dev
// dependency of sdk/js, never in the SDK's bundle) by sdk/js's esbuild:
// not minified, so the frames keep the functions' names.
func sentryBundle(t *testing.T, e *env) []byte {
	t.Helper()
	sentryOnce.Do(func() {
		sdk, err := filepath.Abs("../../sdk/js")
		if err != nil {
			sentryErr = err
			return
		}
		out := filepath.Join(e.js, "sentry-app.js")
		cmd := exec.Command(filepath.Join(sdk, "node_modules", ".bin", "esbuild"),
			filepath.Join("testdata", "sentry", "app.ts"),
			"--bundle", "--format=iife", "--target=es2022", "--log-level=warning",
			"--outfile="+out)
		cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(sdk, "node_modules"))
		if b, err := cmd.CombinedOutput(); err != nil {
			sentryErr = fmt.Errorf("esbuild testdata/sentry/app.ts (is @sentry/browser installed in sdk/js?): %v\n%s", err, b)
			return
		}
		sentryJS, sentryErr = os.ReadFile(out)
	})
	if sentryErr != nil {
		t.Fatal(sentryErr)
	}
	return sentryJS
}

// startSentrySite serves the Sentry test page (any path) and its script
// on a loopback port of its own, and returns its URL.
func startSentrySite(t *testing.T, js []byte, dsn string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dsnJSON, _ := json.Marshal(dsn)
	page := `<!doctype html><html><head><meta charset="utf-8"><title>Sentry test page</title>
<script>window.SENTRY_DSN = ` + string(dsnJSON) + `;</script></head>
<body><h1>Lesson 7</h1>
<button id="throw">Grade</button> <button id="reject">Load</button> <button id="quota">Quota</button>
<script src="/sentry-app.js"></script></body></html>`
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sentry-app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write(js)
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, page)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}
