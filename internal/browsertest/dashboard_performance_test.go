//go:build browser

package browsertest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The Performance page as an admin: web vitals written through the beacon
// for /lessons/7, /lessons/8 and / show as two pages, /lessons/:id first
// (by impact) with its LCP needing improvement and its CLS poor; its
// detail names img.hero and draws the trend; an http check against a
// loopback site is created through the form (the API's 400 shown first),
// run now and up with a response time, then down with the site's 503; a
// page check is unavailable (no Lighthouse in the test server) with its
// reason, and deleted. As a read session: the same, without a control that changes a
// check.
func TestDashboardPerformance(t *testing.T) {
	e := setup(t)
	p := e.alidade.newProject(t, "performance-ui")

	var failing atomic.Bool
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "down for maintenance")
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(site.Close)

	// Real users' vitals, through the beacon: /lessons/7 and /lessons/8
	// (one page, LCP 3.2 s and CLS 0.3), and / (all good).
	var ev []string
	for i := range 6 {
		for _, path := range []string{"/lessons/7", "/lessons/8"} {
			u := "https://app.example.com" + path
			ev = append(ev,
				fmt.Sprintf(`{"type":"pageview","url":%q}`, u),
				fmt.Sprintf(`{"type":"vital","name":"LCP","value":%d,"rating":"needs-improvement","url":%q,"attribution":"img.hero"}`, 3100+10*i, u),
				fmt.Sprintf(`{"type":"vital","name":"INP","value":%d,"rating":"good","url":%q,"attribution":"button.send"}`, 120+i, u),
				fmt.Sprintf(`{"type":"vital","name":"CLS","value":0.3,"rating":"poor","url":%q}`, u),
				fmt.Sprintf(`{"type":"vital","name":"TTFB","value":%d,"rating":"good","url":%q}`, 300+i, u),
				fmt.Sprintf(`{"type":"api_call","endpoint":"GET /api/lessons/:id","url":%q,"duration":%d,"status":200}`, u, 1200+20*i),
			)
		}
		ev = append(ev,
			`{"type":"pageview","url":"https://app.example.com/"}`,
			`{"type":"vital","name":"LCP","value":1200,"rating":"good","url":"https://app.example.com/","attribution":"h1"}`,
			`{"type":"vital","name":"CLS","value":0.01,"rating":"good","url":"https://app.example.com/"}`)
	}
	body := fmt.Sprintf(`{"key":%q,"events":[%s]}`, p.keys["public"], strings.Join(ev, ","))
	// A browser's User-Agent: the beacon drops bots' events.
	req, _ := http.NewRequest("POST", e.alidade.url+"/api/v1/events", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(answer), `"accepted":`+fmt.Sprint(len(ev))) {
		t.Fatalf("POST /api/v1/events = %d %s; want all %d accepted", resp.StatusCode, answer, len(ev))
	}
	eventually(t, 15*time.Second, "the insights of /lessons/:id", func() []string {
		var a struct {
			Pages []struct {
				Page  string
				Views float64
			}
		}
		code, b, err := e.alidade.call("GET", "/api/v1/insights?range=1h", p.keys["read"], nil, &a)
		if err != nil || code != 200 {
			return []string{fmt.Sprintf("GET /api/v1/insights = %d %s %v", code, b, err)}
		}
		for _, pg := range a.Pages {
			if pg.Page == "/lessons/:id" && pg.Views == 12 {
				return nil
			}
		}
		return []string{fmt.Sprintf("/lessons/:id with 12 views (have %+v)", a.Pages)}
	})

	// A page check: this server has no Lighthouse.
	var pageCheck struct{ ID int64 }
	if code, b, err := e.alidade.call("POST", "/api/v1/checks", p.keys["admin"],
		fmt.Sprintf(`{"name":"lesson page","type":"page","url":%q,"every":"24h"}`, site.URL+"/lessons/7"), &pageCheck); err != nil || code != http.StatusCreated {
		t.Fatalf("POST /api/v1/checks (page) = %d %s %v", code, b, err)
	}

	b := newBrowser(t, e)
	signInAt(t, b, p.keys["admin"], "/performance?range=1h")
	rows := `[...document.querySelectorAll('[data-testid=pf-pages] tbody tr')]`
	b.waitFor(rows + `.length === 2`)
	if first := eval[string](b, rows+`[0].querySelector('[data-testid=pf-page]').textContent`); first != "/lessons/:id" {
		t.Errorf("the first page by impact = %q; want /lessons/:id", first)
	}
	lessons := rows + `.find(r => r.textContent.includes('/lessons/:id'))`
	for metric, want := range map[string]string{"LCP": "needs-improvement", "INP": "good", "CLS": "poor", "TTFB": "good"} {
		if got := eval[string](b, fmt.Sprintf(`%s.querySelector('[data-metric=%s] [data-rating]')?.dataset.rating ?? ''`, lessons, metric)); got != want {
			t.Errorf("/lessons/:id %s rating = %q; want %q", metric, got, want)
		}
	}
	if n := eval[int](b, rows+`.filter(r => /\/lessons\/\d/.test(r.textContent)).length`); n != 0 {
		t.Errorf("%d rows of unfolded /lessons/N pages", n)
	}
	if v := eval[string](b, lessons+`.children[1].textContent`); v != "12" {
		t.Errorf("/lessons/:id views = %q; want 12", v)
	}

	// The page check: unavailable, and why.
	b.waitFor(fmt.Sprintf(`document.querySelector('[data-testid=pf-state-%d] [data-state]')?.dataset.state === 'unavailable'`, pageCheck.ID))
	if why := eval[string](b, fmt.Sprintf(`document.querySelector('[data-testid=pf-why-%d]').textContent`, pageCheck.ID)); !strings.Contains(why, "Lighthouse") {
		t.Errorf("the page check's reason = %q; want what to install", why)
	}

	// A page's detail: its element and its trend.
	b.click(`[data-testid=pf-pages] [data-testid=pf-page]`)
	b.waitFor(`location.pathname === '/performance/page' && document.querySelector('[data-testid=pf-page-title]')?.textContent === '/lessons/:id'`)
	b.waitFor(`document.querySelector('[data-testid=pf-lcp-elements]')?.textContent.includes('img.hero') && document.querySelector('[data-testid=pf-trend] canvas') !== null`)
	if r := eval[string](b, `document.querySelector('[data-testid=pf-vital-LCP]').dataset.rating`); r != "needs-improvement" {
		t.Errorf("the LCP card's rating = %q", r)
	}
	if n := eval[int](b, `document.querySelectorAll('[data-testid=pf-recs] li').length`); n < 2 {
		t.Errorf("%d recommendations; want LCP, CLS (and the slow API call)", n)
	}
	if s := eval[string](b, `document.querySelector('[data-testid=pf-trend]').textContent`); !strings.Contains(s, "12 LCP samples") || !strings.Contains(s, "lab run") {
		t.Errorf("the trend says %q; want 12 LCP samples and the page check's lab runs", s)
	}
	t.Logf("page: %s", b.screenshot("dashboard-performance-page.png"))

	// An http check through the form: every 5s is the server's 400.
	b.click(`.al-back a`)
	// the list page itself (under load the old page may still be there)
	b.waitFor(`location.pathname === '/performance' && document.querySelector('.al-back') === null && document.querySelector('[data-testid=pf-new]') !== null`)
	b.click(`[data-testid=pf-new]`)
	b.waitFor(`location.pathname === '/performance/checks/new' && document.querySelector('[data-testid=pf-form]') !== null`)
	setText(b, `[data-testid=pf-f-name]`, "site health")
	setText(b, `[data-testid=pf-f-url]`, site.URL+"/health")
	setText(b, `[data-testid=pf-f-status]`, "200")
	setText(b, `[data-testid=pf-f-contains]`, "ok")
	setText(b, `[data-testid=pf-f-every]`, "5s")
	b.click(`[data-testid=pf-f-save]`)
	b.waitFor(`document.querySelector('[data-testid=pf-form-error]') !== null`)
	if msg := eval[string](b, `document.querySelector('[data-testid=pf-form-error]').textContent`); !strings.Contains(msg, "every") || !strings.Contains(msg, "10s") {
		t.Errorf("the form's error = %q; want the server's message about every", msg)
	}
	setText(b, `[data-testid=pf-f-every]`, "10s")
	b.click(`[data-testid=pf-f-save]`)
	b.waitFor(`/^\/performance\/checks\/\d+$/.test(location.pathname) && document.querySelector('[data-testid=pf-check-title]')?.textContent === 'site health'`)
	id := eval[string](b, `location.pathname.split('/')[3]`)
	var made struct {
		Every  string
		Expect struct {
			Status   []int
			Contains string
		}
	}
	if code, body, err := e.alidade.call("GET", "/api/v1/checks/"+id, p.keys["read"], nil, &made); err != nil || code != 200 || made.Every != "10s" ||
		len(made.Expect.Status) != 1 || made.Expect.Status[0] != 200 || made.Expect.Contains != "ok" {
		t.Errorf("GET /api/v1/checks/%s = %d %s %v: %+v", id, code, body, err, made)
	}

	// Run now: up, with its response time.
	b.click(`[data-testid=pf-run]`)
	b.waitFor(`document.querySelector('[data-testid=pf-detail-state] [data-state]')?.dataset.state === 'up' && /\d( ms| s)$/.test(document.querySelector('[data-testid=pf-detail-time]').textContent)`)
	if s := eval[string](b, `document.querySelector('[data-testid=pf-detail-last]').textContent`); !strings.HasPrefix(s, "200 · ") {
		t.Errorf("the last run = %q; want 200 and its time", s)
	}
	b.waitFor(`document.querySelectorAll('[data-testid=pf-runs] tbody tr').length >= 1 && document.querySelector('main figure.chart canvas') !== null`)

	// The site fails: down, with the error.
	failing.Store(true)
	b.click(`[data-testid=pf-run]`)
	b.waitFor(`document.querySelector('[data-testid=pf-detail-state] [data-state]')?.dataset.state === 'down'`)
	if s := eval[string](b, `document.querySelector('[data-testid=pf-detail-last]').textContent`); !strings.Contains(s, "status 503, expected 200") {
		t.Errorf("the last run = %q; want status 503, expected 200", s)
	}
	b.waitFor(`[...document.querySelectorAll('[data-testid=pf-runs] tbody tr')].some(r => r.textContent.includes('status 503'))`)
	failing.Store(false)
	b.click(`[data-testid=pf-run]`)
	b.waitFor(`document.querySelector('[data-testid=pf-detail-state] [data-state]')?.dataset.state === 'up'`)

	// The list: both checks, the history of up, down, up.
	b.click(`.al-back a`)
	b.waitFor(fmt.Sprintf(`document.querySelector('[data-testid=pf-state-%s] [data-state]')?.dataset.state === 'up' && document.querySelectorAll('[data-testid=pf-checks] tbody tr').length === 2`, id))
	b.waitFor(`document.querySelector('[data-testid=pf-checks] .pf-history .fail') !== null && document.querySelectorAll('main figure.chart canvas').length >= 1`)
	t.Logf("performance: %s", b.screenshot("dashboard-performance.png"))

	// The page check's own page says why it cannot run; it is deleted
	// after a confirmation.
	b.click(fmt.Sprintf(`[data-testid=pf-check-%d]`, pageCheck.ID))
	b.waitFor(`document.querySelector('[data-testid=pf-unavailable]')?.textContent.includes('Lighthouse')`)
	b.click(`[data-testid=pf-delete]`)
	b.click(`[data-testid=pf-delete-yes]`)
	b.waitFor(fmt.Sprintf(`location.pathname === '/performance' && document.querySelectorAll('[data-testid=pf-checks] tbody tr').length === 1 && !document.querySelector('[data-testid=pf-check-%d]')`, pageCheck.ID))
	if code, _, _ := e.alidade.call("GET", fmt.Sprintf("/api/v1/checks/%d", pageCheck.ID), p.keys["read"], nil, nil); code != http.StatusNotFound {
		t.Errorf("GET the deleted check = %d; want 404", code)
	}
	if errs := pageErrors(b, http.StatusBadRequest); len(errs) > 0 {
		t.Errorf("console errors:\n  %s", strings.Join(errs, "\n  "))
	}
	b.mu.Lock()
	b.console = nil
	b.mu.Unlock()

	// A read session: the pages and checks, no control that changes one.
	b.clickAndLoad(`header.top button:last-of-type`) // Sign out
	signInAt(t, b, p.keys["read"], "/performance?range=1h")
	b.waitFor(rows + `.length === 2 && document.querySelectorAll('[data-testid=pf-checks] tbody tr').length === 1`)
	if n := eval[int](b, `document.querySelectorAll('[data-testid=pf-new]').length`); n != 0 {
		t.Error("a read session sees New check")
	}
	b.click(`[data-testid=pf-check-` + id + `]`)
	b.waitFor(`document.querySelector('[data-testid=pf-check-title]')?.textContent === 'site health'`)
	if n := eval[int](b, `document.querySelectorAll('[data-testid=pf-run], [data-testid=pf-edit], [data-testid=pf-delete], main form').length`); n != 0 {
		t.Errorf("a read session sees %d controls that change the check", n)
	}
	b.open(e.alidade.url+"/performance/checks/new", "")
	b.waitFor(`document.querySelector('[data-testid=pf-read-note]') !== null`)
	if errs := pageErrors(b); len(errs) > 0 {
		t.Errorf("console errors of the read session:\n  %s", strings.Join(errs, "\n  "))
	}
}
