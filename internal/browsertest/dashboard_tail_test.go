//go:build browser

package browsertest

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

const (
	tlLive   = `document.querySelector('[data-testid=tl-conn]')?.dataset.state === 'live'`
	tlRowsJS = `[...document.querySelectorAll('[data-testid=tl-list] details')].map(d => d.dataset.dataset + ' ' + d.querySelector('summary').textContent)`
)

// waitTailAnswer waits for an answer to GET /api/v1/tail after the first
// `since` the tab saw, with status and exactly the query want, and returns
// how many answers the tab has seen: a stream the page opened has been
// subscribed on the server once its headers arrived.
func waitTailAnswer(b *browser, since int, status int64, want url.Values) int {
	b.t.Helper()
	deadline := time.Now().Add(actionTimeout)
	for {
		b.mu.Lock()
		seen := slices.Clone(b.tails)
		b.mu.Unlock()
		for i := since; i < len(seen); i++ {
			u, err := url.Parse(seen[i].url)
			if err == nil && seen[i].status == status && u.Query().Encode() == want.Encode() {
				return len(seen)
			}
		}
		if time.Now().After(deadline) {
			var got []string
			for _, a := range seen[since:] {
				got = append(got, fmt.Sprintf("%d %s", a.status, a.url))
			}
			b.t.Fatalf("no answer %d to GET /api/v1/tail?%s; answers since #%d: %v", status, want.Encode(), since, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The live tail page against GET /api/v1/tail of a real server: records
// written through the API appear as they are accepted, filtered by the
// URL's dataset and status, then by a search and field conditions set in
// the page (every operator the endpoint takes is offered); a row opens to
// its fields by schema name; pause holds records back and counts them;
// clear empties the list; a lost connection is shown and comes back by
// itself when the server restarts. On a server with a low --tail-max-rate
// a burst brings the sampling banner, and past --tail-max-clients the page
// shows the server's refusal.
func TestDashboardTail(t *testing.T) {
	e := setup(t)
	p := e.alidade.newProject(t, "tail-ui")
	write := func(s *server, key, dataset string, pts ...string) {
		t.Helper()
		if code, body, err := s.call("POST", "/api/v1/datasets/"+dataset+"/points", key, "["+strings.Join(pts, ",")+"]", nil); err != nil || code != 200 {
			t.Fatalf("write %s = %d %s %v", dataset, code, body, err)
		}
	}
	req := func(method, path string, duration, status int) string {
		return fmt.Sprintf(`{"timestamp":%d,"indexes":[%q],"blobs":[%q,%q,"web"],"doubles":[%d,%d]}`,
			time.Now().UnixMilli(), method+" "+path, path, method, duration, status)
	}
	rows := func(b *browser) []string { return eval[[]string](b, tlRowsJS) }
	hasRow := func(text string) string {
		return fmt.Sprintf(`[...document.querySelectorAll('[data-testid=tl-list] details summary')].some(s => s.textContent.includes(%s))`, jsString(text))
	}

	b := newBrowser(t, e)
	signInAt(t, b, p.keys["read"], "/tail?dataset=requests&status=error")
	b.waitFor(tlLive)
	seen := waitTailAnswer(b, 0, 200, url.Values{"dataset": {"requests"}, "status": {"error"}})
	if n := eval[int](b, `document.querySelectorAll('[data-testid=tl-notice]').length`); n != 0 {
		t.Errorf("%d banners on a quiet stream: %q", n, eval[string](b, `[...document.querySelectorAll('[data-testid=tl-notice]')].map(n => n.textContent).join('; ')`))
	}

	// 1. Only the requests dataset's error: not the 200, not the other
	// dataset's 503. One stream carries them in order, so once the last
	// written shows, the others would have too.
	write(e.alidade, p.keys["write"], "requests", req("GET", "/api/lessons/7", 42, 200))
	write(e.alidade, p.keys["write"], "api_calls", `{"indexes":["GET /api/other"],"blobs":["/api/other","GET","/x"],"doubles":[12,503]}`)
	write(e.alidade, p.keys["write"], "requests", req("POST", "/api/chat", 812, 503))
	b.waitFor(`document.querySelectorAll('[data-testid=tl-list] details[data-dataset=requests]').length === 1`)
	if r := rows(b); len(r) != 1 || !strings.Contains(r[0], "503") || !strings.Contains(r[0], "POST /api/chat") {
		t.Errorf("rows = %q; want the one 503 of requests (POST /api/chat)", r)
	}

	// 2. The row opens to its fields, by the dataset's schema names.
	b.click(`[data-testid=tl-list] details summary`)
	b.waitFor(`document.querySelector('[data-testid=tl-list] details[open] .tl-fields tr') !== null`)
	fields := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('.tl-fields tr')].map(r => [r.querySelector('th').textContent, r.querySelector('td').textContent]))`)
	for k, v := range map[string]string{"endpoint": "POST /api/chat", "url": "/api/chat", "method": "POST", "service": "web", "duration": "812", "status": "503"} {
		if fields[k] != v {
			t.Errorf("field %s = %q; want %q (all: %v)", k, fields[k], v, fields)
		}
	}
	if _, ok := fields["timestamp"]; !ok {
		t.Errorf("no timestamp among the fields %v", fields)
	}
	for k := range fields {
		if strings.HasPrefix(k, "blob") || strings.HasPrefix(k, "double") || k == "dataset" {
			t.Errorf("field %q shown; want the schema's names only", k)
		}
	}

	// 3. The operators are the endpoint's; a search (Enter) and two field
	// conditions reconnect the stream with them.
	ops := eval[[]string](b, `[...document.querySelectorAll('[data-testid=tl-f-op] option')].map(o => o.value)`)
	if want := []string{"!=", "!contains", "<", "<=", "=", ">", ">=", "contains"}; !slices.Equal(slices.Sorted(slices.Values(ops)), want) {
		t.Errorf("the field filter's operators = %q; the endpoint takes %q", ops, want)
	}
	setText(b, `[data-testid=tl-search]`, "/api/lessons")
	b.do(chromedp.SendKeys(chromedp.CSS(`[data-testid=tl-search]`), kb.Enter))
	b.waitFor(`new URLSearchParams(location.search).get('search') === '/api/lessons'`)
	addField := func(name, op, value string) {
		setText(b, `[data-testid=tl-f-name]`, name)
		setSelect(b, `[data-testid=tl-f-op]`, op)
		setText(b, `[data-testid=tl-f-value]`, value)
		b.click(`[data-testid=tl-f-add]`)
	}
	addField("duration", ">", "100")
	addField("url", "!contains", "/admin")
	b.waitFor(`new URLSearchParams(location.search).get('field') === 'duration:>:100\nurl:!contains:/admin'`)
	want := url.Values{"dataset": {"requests"}, "status": {"error"}, "search": {"/api/lessons"}, "field": {"duration:>:100", "url:!contains:/admin"}}
	seen = waitTailAnswer(b, seen, 200, want)
	b.waitFor(tlLive)
	if chips := eval[[]string](b, `[...document.querySelectorAll('.tl-chips code')].map(c => c.textContent)`); !slices.Equal(chips, []string{"duration > 100", "url !contains /admin"}) {
		t.Errorf("the conditions shown = %q", chips)
	}
	write(e.alidade, p.keys["write"], "requests",
		req("GET", "/api/lessons/8", 50, 503),      // too fast
		req("GET", "/api/quiz/3", 900, 503),        // no /api/lessons
		req("GET", "/api/lessons/admin", 300, 503), // /admin
		req("GET", "/api/lessons/9", 250, 503))     // the one
	b.waitFor(hasRow("GET /api/lessons/9"))
	if r := rows(b); len(r) != 2 {
		t.Errorf("rows = %q; want GET /api/lessons/9 above the earlier POST /api/chat", r)
	}

	// 4. Paused: a record is counted, not drawn, until resumed; clear.
	b.click(`[data-testid=tl-pause]`)
	b.waitFor(`document.querySelector('[data-testid=tl-pause]').getAttribute('aria-pressed') === 'true'`)
	write(e.alidade, p.keys["write"], "requests", req("PUT", "/api/lessons/10", 300, 500))
	b.waitFor(`document.querySelector('[data-testid=tl-count]').textContent.includes('1 new while paused')`)
	if r := rows(b); len(r) != 2 {
		t.Errorf("rows while paused = %q; want the 2 of before", r)
	}
	b.click(`[data-testid=tl-pause]`)
	b.waitFor(hasRow("PUT /api/lessons/10") + ` && !document.querySelector('[data-testid=tl-count]').textContent.includes('paused')`)
	if r := rows(b); len(r) != 3 || !strings.Contains(r[0], "PUT /api/lessons/10") {
		t.Errorf("rows after resuming = %q; want 3, PUT /api/lessons/10 on top", r)
	}
	b.click(`[data-testid=tl-clear]`)
	b.waitFor(`document.querySelector('[data-testid=tl-list]') === null && document.querySelector('[data-testid=tl-count]').textContent.startsWith('0 records')`)

	// The README's screenshot: every dataset, a few kinds of record, one
	// opened.
	// (With the dashboard's range in the URL, as TestDashboard opens every
	// page: the tail is not sent it, which the endpoint would refuse.)
	b.open(e.alidade.url+"/tail?range=7d", "")
	b.waitFor(tlLive + ` && document.querySelector('header.top h1')?.textContent === 'Live tail' && !document.querySelector('main').textContent.includes('Loading…')`)
	if f := eval[string](b, `[...document.querySelectorAll('.failure')].map(e => e.textContent).join('; ')`); f != "" {
		t.Errorf("/tail shows a failure: %s", f)
	}
	write(e.alidade, p.keys["write"], "requests",
		req("GET", "/api/lessons/7", 38, 200), req("POST", "/api/chat", 1240, 200), req("GET", "/api/courses", 18, 304),
		req("POST", "/api/grade", 95, 422), req("POST", "/api/chat", 30012, 504), req("GET", "/api/lessons/12", 41, 200))
	write(e.alidade, p.keys["write"], "ai_usage", `{"indexes":["gpt-4o-mini"],"blobs":["gpt-4o-mini","chat","openai"],"doubles":[1830,1204]}`)
	write(e.alidade, p.keys["write"], "requests", req("GET", "/api/lessons/7/quiz", 64, 200))
	b.waitFor(`document.querySelectorAll('[data-testid=tl-list] details').length === 8`)
	b.click(`[data-testid=tl-list] details:nth-of-type(4) summary`)
	b.waitFor(`document.querySelector('[data-testid=tl-list] details[open] .tl-fields') !== null`)
	t.Logf("live tail: %s", b.screenshot("dashboard-tail.png"))
	if errs := tlErrors(b); len(errs) > 0 {
		t.Errorf("console errors:\n  %s", strings.Join(errs, "\n  "))
	}

	// A server of the test's own, which sends a tail 5 records a second
	// and has room for one tail.
	bin, dir, smallArgs := filepath.Join(tmpRoot, "alidade"), t.TempDir(), []string{"--tail-max-rate", "5", "--tail-max-clients", "1"}
	small, err := startServer(bin, dir, smallArgs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { small.stop() })
	se := *e
	se.alidade = small
	sb := newBrowser(t, &se)
	signInAt(t, sb, small.keys["read"], "/tail?dataset=requests")
	sb.waitFor(tlLive)
	sseen := waitTailAnswer(sb, 0, 200, url.Values{"dataset": {"requests"}})

	// 5. The connection lost (the server restarts): the page says so, and
	// reconnects by itself.
	keys := small.keys
	small.stop()
	sb.waitFor(`document.querySelector('[data-testid=tl-conn]')?.dataset.state === 'waiting'`)
	if small, err = startServerAt(bin, strings.TrimPrefix(small.url, "http://"), dir, smallArgs...); err != nil {
		t.Fatal(err)
	}
	small.keys = keys // printed on first start only
	sseen = waitTailAnswer(sb, sseen, 200, url.Values{"dataset": {"requests"}})
	sb.waitFor(tlLive)
	write(small, small.keys["write"], "requests", req("DELETE", "/api/lessons/11", 400, 502))
	sb.waitFor(hasRow("DELETE /api/lessons/11"))

	// 6. Sampling.
	// The hub decides each second from the second before: write bursts
	// until it says it samples.
	burst := make([]string, 40)
	for i := range burst {
		burst[i] = req("GET", fmt.Sprintf("/api/burst/%d", i), 10, 200)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !eval[bool](sb, `document.querySelector('[data-testid=tl-notice]') !== null`) {
		if time.Now().After(deadline) {
			t.Fatalf("no sampling banner after 10 s of bursts; rows: %d", len(rows(sb)))
		}
		write(small, small.keys["write"], "requests", burst...)
		time.Sleep(300 * time.Millisecond) // the pace of the bursts, not a wait for the page
	}
	if n := eval[string](sb, `document.querySelector('[data-testid=tl-notice]').textContent`); !strings.Contains(n, "%") {
		t.Errorf("the sampling banner = %q; want the share sent", n)
	}

	// The page leaves; another tail takes the one place; the page, back,
	// shows the server's refusal, and connects once the place is free.
	sb.open(small.url+"/settings", "")
	var other *http.Response
	eventually(t, 10*time.Second, "the other tail", func() []string {
		r, _ := http.NewRequest("GET", small.url+"/api/v1/tail", nil)
		r.Header.Set("Authorization", "Bearer "+small.keys["read"])
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			return []string{err.Error()}
		}
		if resp.StatusCode != 200 {
			resp.Body.Close()
			return []string{resp.Status}
		}
		other = resp
		return nil
	})
	sb.open(small.url+"/tail?dataset=requests", "")
	sseen = waitTailAnswer(sb, sseen, http.StatusTooManyRequests, url.Values{"dataset": {"requests"}})
	sb.waitFor(`document.querySelector('[data-testid=tl-refused]') !== null`)
	if msg := eval[string](sb, `document.querySelector('[data-testid=tl-refused]').textContent`); !strings.Contains(msg, "429") || !strings.Contains(msg, "--tail-max-clients") {
		t.Errorf("the refusal shown = %q; want the 429 and the server's message", msg)
	}
	other.Body.Close()
	sb.click(`[data-testid=tl-retry]`)
	waitTailAnswer(sb, sseen, 200, url.Values{"dataset": {"requests"}})
	sb.waitFor(tlLive + ` && document.querySelector('[data-testid=tl-refused]') === null`)
	if errs := tlErrors(sb); len(errs) > 0 {
		t.Errorf("console errors of the small server's page:\n  %s", strings.Join(errs, "\n  "))
	}
}

// tlErrors are the console's errors but the 429 and the refused
// and cut connections (a server restarting) the test causes on purpose.
func tlErrors(b *browser) []string {
	var out []string
	for _, m := range pageErrors(b, http.StatusTooManyRequests) {
		// The streams the restart cut (ended mid-chunk, or reset when the
		// process went before closing them: which one depends on timing),
		// and the attempts while it was down.
		if !strings.Contains(m, "ERR_CONNECTION_REFUSED") && !strings.Contains(m, "ERR_INCOMPLETE_CHUNKED_ENCODING") &&
			!strings.Contains(m, "ERR_CONNECTION_RESET") {
			out = append(out, m)
		}
	}
	return out
}
