//go:build browser

package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// dashboardPages are the dashboard's pages, as its navigation lists them.
var dashboardPages = []struct{ path, title string }{
	{"/", "Overview"}, {"/backend", "Backend"}, {"/ai", "AI"}, {"/frontend", "Frontend"}, {"/performance", "Performance"},
	{"/errors", "Errors"}, {"/explore", "Explore"}, {"/tail", "Live tail"}, {"/alerts", "Alerts"}, {"/settings", "Settings"},
}

// demoProject is a project filled by `alidade demo` (two days at a small
// scale), shared by the dashboard tests.
func demoProject(t *testing.T, e *env) project {
	t.Helper()
	demoOnce.Do(func() {
		p := e.alidade.newProject(t, "demo")
		cmd := exec.Command(filepath.Join(tmpRoot, "alidade"), "demo", "--url", e.alidade.url, "--key", p.keys["admin"], "--days", "2", "--scale", "20")
		if out, err := cmd.CombinedOutput(); err != nil {
			demoErr = fmt.Errorf("alidade demo: %v\n%s", err, out)
			return
		}
		demo = p
	})
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	return demo
}

var (
	demoOnce sync.Once
	demo     project
	demoErr  error
)

// signIn opens the dashboard, which sends the browser to the sign-in
// form, and signs in with key.
func signIn(t testing.TB, b *browser, key string) {
	t.Helper()
	b.open(b.alidade+"/", "")
	if p := eval[string](b, `location.pathname`); p != "/login" {
		t.Fatalf("GET / without a session landed on %s; want /login", p)
	}
	b.do(chromedp.SendKeys(chromedp.CSS(`input[name=key]`), key))
	// The form's answer redirects to the dashboard: wait for its load.
	b.clickAndLoad(`form button[type=submit], form input[type=submit]`)
	b.waitFor(`location.pathname === "/" && document.querySelector('[data-testid=requests] .value') !== null`)
}

// clickAndLoad clicks an element that loads another page and waits for
// that page's load event.
func (b *browser) clickAndLoad(css string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(css)))); err != nil {
		b.t.Fatalf("click %s and wait for the next page: %v", css, err)
	}
}

// consoleErrors are the page's console messages of level error.
func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		if strings.HasPrefix(strings.ToLower(m), "error") {
			out = append(out, m)
		}
	}
	return out
}

func TestDashboardPages(t *testing.T) {
	e := setup(t)
	p := demoProject(t, e)
	b := newBrowser(t, e)
	signIn(t, b, p.keys["admin"])

	// The overview's numbers are /api/v1/metrics' over the same range.
	to := time.Now().UTC().Truncate(time.Minute)
	from := to.Add(-24 * time.Hour)
	q := url.Values{"range": {"custom"}, "from": {from.Format("2006-01-02T15:04")}, "to": {to.Format("2006-01-02T15:04")}}
	b.open(b.alidade+"/?"+q.Encode(), "")
	b.waitFor(`document.querySelector('[data-testid=requests] .value')?.dataset.value > 0`)
	var m struct {
		Requests  float64 `json:"requests"`
		Latency   float64 `json:"latency"`
		ErrorRate float64 `json:"errorRate"`
		AIUsage   struct{ Tokens, Cost float64 }
	}
	api := fmt.Sprintf("/api/v1/metrics?from=%s&to=%s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	if code, body, err := e.alidade.call("GET", api, p.keys["read"], nil, &m); err != nil || code != 200 {
		t.Fatalf("GET %s = %d %s %v", api, code, body, err)
	}
	for id, want := range map[string]float64{"requests": m.Requests, "latency": m.Latency, "errorRate": m.ErrorRate, "aiTokens": m.AIUsage.Tokens, "aiCost": m.AIUsage.Cost} {
		got := eval[string](b, fmt.Sprintf(`document.querySelector('[data-testid=%s] .value').dataset.value`, id))
		if f, err := strconv.ParseFloat(got, 64); err != nil || !near(f, want) {
			t.Errorf("overview %s = %q; /api/v1/metrics says %v", id, got, want)
		}
	}
	t.Logf("overview: %s", b.screenshot("dashboard-overview.png"))

	// The range picker changes the query.
	before := eval[string](b, `document.querySelector('[data-testid=requests] .value').dataset.value`)
	b.do(chromedp.SetValue(chromedp.CSS(`[data-testid=range]`), "7d"))
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid=range]').dispatchEvent(new Event('change', {bubbles: true}))`))
	b.waitFor(`new URLSearchParams(location.search).get('range') === '7d'`)
	// The figures are asked for over 7 days (ending at the end of the hour).
	b.waitFor(`performance.getEntriesByType('resource').some(r => {
		if (!r.name.includes('/api/v1/metrics')) return false;
		const q = new URL(r.name).searchParams;
		return Date.parse(q.get('to')) - Date.parse(q.get('from')) === 7 * 86400e3;
	})`)
	b.waitFor(fmt.Sprintf(`document.querySelector('[data-testid=requests] .value').dataset.value !== %q`, before))

	// Every page renders without a console error or a failure shown.
	for _, pg := range dashboardPages {
		b.open(b.alidade+pg.path+"?range=7d", "")
		b.waitFor(fmt.Sprintf(`document.querySelector('header.top h1')?.textContent === %q && document.querySelector('main')?.children.length > 0`, pg.title))
		// The page's requests answered: nothing says it is loading.
		b.waitFor(`!document.querySelector('main').textContent.includes('Loading…') && !document.querySelector('main .loading, main [aria-busy=true]')`)
		if f := eval[string](b, `[...document.querySelectorAll('.failure')].map(e => e.textContent).join('; ')`); f != "" {
			t.Errorf("%s shows a failure: %s", pg.path, f)
		}
		t.Logf("%s: %s", pg.title, b.screenshot("dashboard"+strings.ReplaceAll(strings.TrimSuffix(pg.path, "/"), "/", "-")+".png"))
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n  %s", strings.Join(errs, "\n  "))
	}
}

// A point written while the overview is open shows without a reload.
func TestDashboardLive(t *testing.T) {
	e := setup(t)
	p := e.alidade.newProject(t, "live")
	b := newBrowser(t, e)
	signIn(t, b, p.keys["read"])
	b.open(b.alidade+"/?range=15m", "")
	b.waitFor(`document.querySelector('[data-testid=requests] .value')?.dataset.value === '0'`)
	b.do(chromedp.Evaluate[chromedp.Void](`window.__notReloaded = true`))
	body := fmt.Sprintf(`{"timestamp":%d,"indexes":["GET /live"],"blobs":["/live","GET","web"],"doubles":[12,200]}`, time.Now().UnixMilli())
	for range 3 {
		if code, out, err := e.alidade.call("POST", "/api/v1/datasets/requests/points", p.keys["write"], body, nil); err != nil || code != 200 {
			t.Fatalf("write = %d %s %v", code, out, err)
		}
	}
	b.waitFor(`document.querySelector('[data-testid=requests] .value')?.dataset.value === '3' && window.__notReloaded === true`)
}

// Sign-in and its protections as the browser meets them: CSRF, a read
// session that may not revoke a key, sign-out.
func TestDashboardAccess(t *testing.T) {
	e := setup(t)
	p := e.alidade.newProject(t, "access")
	// A key to try to revoke.
	var k struct {
		ID int64 `json:"id"`
	}
	if code, body, err := e.alidade.call("POST", "/api/v1/keys", p.keys["admin"], map[string]string{"kind": "write", "name": "victim"}, &k); err != nil || code != http.StatusCreated {
		t.Fatalf("create key = %d %s %v", code, body, err)
	}
	revoke := func(b *browser, withToken bool) int {
		token := `document.querySelector('meta[name=csrf-token]').content`
		if !withToken {
			token = `''`
		}
		return eval[int](b, fmt.Sprintf(`fetch('/api/v1/keys/%d', {method: 'DELETE', credentials: 'same-origin', headers: {'X-CSRF-Token': %s}}).then(r => r.status)`, k.ID, token))
	}
	rb := newBrowser(t, e)
	signIn(t, rb, p.keys["read"])
	if got := revoke(rb, true); got != http.StatusForbidden {
		t.Errorf("a read session revoking a key = %d; want 403", got)
	}
	ab := newBrowser(t, e)
	signIn(t, ab, p.keys["admin"])
	if got := revoke(ab, false); got != http.StatusForbidden {
		t.Errorf("revoking without the CSRF token = %d; want 403", got)
	}
	if cookies := eval[string](ab, `document.cookie`); strings.Contains(cookies, "alidade_session") {
		t.Errorf("the session cookie is readable by the page's JavaScript: %q", cookies)
	}
	if html := eval[string](ab, `document.documentElement.outerHTML`); strings.Contains(html, p.keys["admin"]) {
		t.Error("the admin key is in the page")
	}
	if got := revoke(ab, true); got/100 != 2 {
		t.Errorf("an admin session revoking a key with the token = %d; want 2xx", got)
	}
	ab.clickAndLoad(`header.top button:last-of-type`) // Sign out
	ab.waitFor(`location.pathname === "/login"`)
	if got := eval[int](ab, `fetch('/api/v1/session', {credentials: 'same-origin'}).then(r => r.status)`); got != http.StatusUnauthorized {
		t.Errorf("after sign-out GET /api/v1/session = %d; want 401", got)
	}
}

// A session left idle past --session-idle has ended: the page goes back
// to the sign-in form and the API refuses its cookie. (The expiry's exact
// edges are the Go tests', with a fake clock; this is the browser's view,
// with the shortest idle time the server takes. An open dashboard reads
// its figures every minute, which keeps its session.)
func TestDashboardSessionExpiry(t *testing.T) {
	t.Parallel()
	e := setup(t)
	srv, err := startServer(filepath.Join(tmpRoot, "alidade"), t.TempDir(), "--session-idle", "1m")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	own := *e
	own.alidade = srv
	b := newBrowser(t, &own)
	signIn(t, b, srv.keys["read"])
	if got := eval[int](b, `fetch('/api/v1/session', {credentials: 'same-origin'}).then(r => r.status)`); got != http.StatusOK {
		t.Fatalf("GET /api/v1/session right after sign-in = %d", got)
	}
	// An open dashboard reads every minute (and keeps its session): leave
	// it for a page of the same origin that uses no session.
	b.open(srv.url+"/healthz", "")
	time.Sleep(61 * time.Second)
	if got := eval[int](b, `fetch('/api/v1/session', {credentials: 'same-origin'}).then(r => r.status)`); got != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/session after 61 s idle = %d; want 401", got)
	}
	b.open(srv.url+"/", "")
	if p := eval[string](b, `location.pathname`); p != "/login" {
		t.Errorf("the dashboard after the session expired is %s; want /login", p)
	}
}

func near(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= 1e-9*max(1, b, -b)
}
