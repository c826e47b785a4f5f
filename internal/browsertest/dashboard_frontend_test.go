//go:build browser

package browsertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// feSignIn signs in with key on the sign-in form (dropping the session
// the browser had) and waits for the dashboard; it returns how many console messages there were by then,
// for feConsoleErrors.
func feSignIn(t *testing.T, b *browser, key string) int {
	t.Helper()
	if _, err := chromedp.Call(b.ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatalf("Network.clearBrowserCookies: %v", err)
	}
	signIn(t, b, key)
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.console)
}

// feConsoleErrors fails the test with the console errors after the first
// n messages (the sign-in page's own, such as its favicon, are not the
// dashboard's).
func feConsoleErrors(t *testing.T, b *browser, n int, what string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console[min(n, len(b.console)):] {
		if strings.HasPrefix(strings.ToLower(m), "error") {
			out = append(out, m)
		}
	}
	if len(out) > 0 {
		t.Errorf("console errors (%s):\n  %s", what, strings.Join(out, "\n  "))
	}
}

// feBeacon posts browser events to the beacon with the project's public
// key, as a desktop Chrome (the beacon drops bots' requests).
func feBeacon(t *testing.T, e *env, p project, events []map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"key": p.keys["public"], "sentAt": time.Now().UnixMilli(), "events": events})
	req, _ := http.NewRequest("POST", e.alidade.url+"/api/v1/events", bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("User-Agent", fmt.Sprintf(desktopUA, e.major))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		Accepted int   `json:"accepted"`
		Rejected []any `json:"rejected"`
	}
	json.NewDecoder(resp.Body).Decode(&a)
	if resp.StatusCode != http.StatusAccepted || a.Accepted != len(events) {
		t.Fatalf("beacon = %d, accepted %d of %d, rejected %v", resp.StatusCode, a.Accepted, len(events), a.Rejected)
	}
}

// feTraffic is an hour and a half of one browser's visits: page views with
// referrers, Web Vitals, API calls, Redux actions and a few errors.
func feTraffic(now int64) []map[string]any {
	pages := []string{"/", "/lessons/7", "/chat", "/pricing"}
	var ev []map[string]any
	for i := range 60 {
		ts := now - 60_000 - int64(i)*90_000
		url := "https://tutor.example.com" + pages[i%len(pages)]
		ref := ""
		if i%3 == 0 {
			ref = "https://www.google.com/search"
		}
		status := 200
		if i%7 == 0 {
			status = 500
		}
		ev = append(ev,
			map[string]any{"type": "pageview", "url": url, "referrer": ref, "timestamp": ts},
			map[string]any{"type": "vital", "name": "LCP", "value": 900 + 70*i, "url": url, "timestamp": ts + 500},
			map[string]any{"type": "vital", "name": "CLS", "value": 0.01 * float64(i%30), "url": url, "timestamp": ts + 600},
			map[string]any{"type": "api_call", "endpoint": "GET /api/lessons/:id", "url": url, "duration": 40 + i, "status": status, "timestamp": ts + 700},
			map[string]any{"type": "action", "action": "quiz/answer", "duration": 5 + i%10, "url": url, "timestamp": ts + 800},
		)
		if i%10 == 0 {
			ev = append(ev, map[string]any{"type": "error", "errorType": "TypeError", "message": "x is undefined",
				"stack": "TypeError: x is undefined\n    at render (https://tutor.example.com/static/app.js:10:5)", "url": url, "timestamp": ts + 900})
		}
	}
	return ev
}

// The Frontend page shows /api/v1/web's figures (big numbers, Web Vitals
// p75, the tables), keeps its tabs in the URL, and teaches the script tag
// with the project's public key when there is nothing to show.
func TestDashboardFrontend(t *testing.T) {
	e := setup(t)
	p := e.alidade.newProject(t, "frontend")
	feBeacon(t, e, p, feTraffic(time.Now().UnixMilli()))

	var web struct {
		Summary struct{ Visitors, Visits, PageViews, JSErrors float64 }
		Pages   []struct{ Page string }
		Vitals  struct {
			Metrics []struct {
				Metric  string
				Samples float64
				P75     *float64
			}
			ByPage []struct {
				Page    string
				Metrics []struct {
					Metric  string
					Samples float64
				}
			}
		}
		APICalls []struct{ Endpoint string }
		Actions  []struct{ Action string }
	}
	eventually(t, 10*time.Second, "the beacon's points", func() []string {
		if code, body, err := e.alidade.call("GET", "/api/v1/web?range=24h&top=20", p.keys["read"], nil, &web); err != nil || code != 200 {
			t.Fatalf("GET /api/v1/web = %d %s %v", code, body, err)
		}
		if web.Summary.PageViews != 60 || web.Summary.JSErrors != 6 {
			return []string{fmt.Sprintf("page views %v (want 60), JS errors %v (want 6)", web.Summary.PageViews, web.Summary.JSErrors)}
		}
		return nil
	})

	b := newBrowser(t, e)
	bn := feSignIn(t, b, p.keys["admin"])
	b.open(b.alidade+"/frontend?range=24h&live=0", "")
	b.waitFor(`document.querySelector('[data-testid=pageViews] .value')?.dataset.value > 0 && document.querySelectorAll('.uplot').length >= 2`)

	for id, want := range map[string]float64{"visitors": web.Summary.Visitors, "visits": web.Summary.Visits, "pageViews": web.Summary.PageViews, "jsErrors": web.Summary.JSErrors} {
		if got := feNum(eval[string](b, fmt.Sprintf(`document.querySelector('[data-testid=%s] .value').dataset.value`, id))); got != want {
			t.Errorf("%s = %v; /api/v1/web says %v", id, got, want)
		}
	}
	for _, m := range web.Vitals.Metrics {
		if m.Metric != "LCP" && m.Metric != "CLS" {
			continue
		}
		got := feNum(eval[string](b, fmt.Sprintf(`document.querySelector('[data-testid=vital-%s] .fe-vital-value').dataset.value`, m.Metric)))
		if m.P75 == nil || math.Abs(got-*m.P75) > 0.01*math.Abs(*m.P75) {
			t.Errorf("%s p75 = %v; /api/v1/web says %v", m.Metric, got, m.P75)
		}
	}
	lcpPages := 0
	for _, pg := range web.Vitals.ByPage {
		for _, m := range pg.Metrics {
			if m.Metric == "LCP" && m.Samples > 0 {
				lcpPages++
			}
		}
	}
	rows := func(label string) int {
		return eval[int](b, fmt.Sprintf(`document.querySelectorAll('table[aria-label=%q] tbody tr').length`, label))
	}
	for label, want := range map[string]int{"LCP p75 by page": lcpPages, "Top pages": len(web.Pages), "API calls seen by browsers": len(web.APICalls), "Redux actions": len(web.Actions)} {
		if got := rows(label); got != want || want == 0 {
			t.Errorf("table %q has %d rows; /api/v1/web has %d", label, got, want)
		}
	}
	if got := eval[string](b, `document.querySelector('table[aria-label="Top pages"] tbody tr td').textContent`); got != web.Pages[0].Page {
		t.Errorf("the top page is %q; /api/v1/web says %q", got, web.Pages[0].Page)
	}

	// Tabs live in the URL: the exit pages, and the CLS of each page.
	b.click(`[role=tab][id$=-exit]`)
	b.waitFor(`new URLSearchParams(location.search).get('pages') === 'exit' && document.querySelector('table[aria-label="Exit pages"]') !== null`)
	b.click(`[role=tablist][aria-label="Vital by page"] [role=tab][id$=-CLS]`)
	b.waitFor(`new URLSearchParams(location.search).get('vital') === 'CLS' && document.querySelector('table[aria-label="CLS p75 by page"]') !== null`)
	t.Logf("frontend: %s", b.screenshot("dashboard-frontend-data.png"))
	feConsoleErrors(t, b, bn, "admin session")

	// Nothing sent yet: the script tag, with the public key for an admin
	// session and a placeholder for a read session.
	empty := e.alidade.newProject(t, "frontend-empty")
	ebn := feSignIn(t, b, empty.keys["admin"])
	b.open(b.alidade+"/frontend?live=0", "")
	b.waitFor(`document.querySelector('.empty pre code')?.textContent.includes('data-key="ald_public_') && !document.querySelector('.empty pre code').textContent.includes('…')`)
	snippet := eval[string](b, `document.querySelector('.empty pre code').textContent`)
	if want := fmt.Sprintf(`<script defer src="%s/sdk.js" data-key="%s"></script>`, b.alidade, empty.keys["public"]); snippet != want {
		t.Errorf("the empty state's snippet is %q; want %q", snippet, want)
	}
	t.Logf("frontend, empty: %s", b.screenshot("dashboard-frontend-empty.png"))
	feConsoleErrors(t, b, ebn, "admin session, no data")
	rbn := feSignIn(t, b, empty.keys["read"])
	b.open(b.alidade+"/frontend?live=0", "")
	b.waitFor(`document.querySelector('.empty pre code') !== null`)
	if s := eval[string](b, `document.querySelector('.empty pre code').textContent`); strings.Contains(s, empty.keys["public"]) || !strings.Contains(s, "ald_public_…") {
		t.Errorf("a read session's snippet is %q; want the placeholder key", s)
	}
	feConsoleErrors(t, b, rbn, "read session, no data")
}

// feNum reads a number the page shows in a data-value ("" reads as NaN).
func feNum(s string) float64 {
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		return math.NaN()
	}
	return f
}
