//go:build browser

package browsertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// signInAt signs in with key, then opens path.
func signInAt(t *testing.T, b *browser, key, path string) {
	t.Helper()
	signIn(t, b, key)
	b.open(b.alidade+path, "")
}

// pageErrors are the console's errors but the failed requests a test
// makes on purpose (the browser logs every 4xx answer).
func pageErrors(b *browser, expected ...int) []string {
	var out []string
next:
	for _, m := range b.consoleErrors() {
		for _, code := range expected {
			if strings.Contains(m, fmt.Sprintf("Failed to load resource: the server responded with a status of %d ", code)) {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

// setText replaces a textarea's or an input's text as typing would (the
// page listens to input events).
func setText(b *browser, css, text string) {
	b.t.Helper()
	js, _ := json.Marshal(text)
	sel, _ := json.Marshal(css)
	b.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		el.focus();
		el.value = %s;
		el.dispatchEvent(new Event('input', {bubbles: true}));
	})()`, sel, js)))
}

// Explore runs the SQL of the editor (Ctrl+Enter), shows the SQL API's
// answer as a table and a chart, keeps the query in the URL, shows the
// server's error with its position, and saves queries for the project.
func TestDashboardExplore(t *testing.T) {
	e := setup(t)
	p := demoProject(t, e)
	b := newBrowser(t, e)
	signInAt(t, b, p.keys["admin"], "/explore?live=0")

	// A past window, so that the page and the API read the same points.
	to := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	from := to.Add(-24 * time.Hour)
	query := fmt.Sprintf(`SELECT toStartOfInterval(timestamp, INTERVAL '2' HOUR) AS t, model, SUM(cost) AS usd, count() AS calls
FROM ai_usage
WHERE timestamp >= toDateTime('%s') AND timestamp < toDateTime('%s')
GROUP BY t, model
ORDER BY t, model`, from.Format("2006-01-02 15:04:05"), to.Format("2006-01-02 15:04:05"))
	want := e.alidade.sql(t, p, query)
	if len(want) < 2 {
		t.Fatalf("the demo project has %d rows of AI cost; want some", len(want))
	}

	// Typed in the editor and run with Ctrl+Enter: the URL takes the query.
	b.waitFor(`document.querySelector('[data-testid=ex-sql]') !== null`)
	setText(b, `[data-testid=ex-sql]`, query)
	b.do(chromedp.Focus(chromedp.CSS(`[data-testid=ex-sql]`)), chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	b.waitFor(fmt.Sprintf(`new URLSearchParams(location.search).get('q') === %s`, jsString(query)))
	b.waitFor(`document.querySelectorAll('[data-testid=ex-table] tbody tr').length > 0`)

	// The table is the API's answer, row for row.
	if n := eval[int](b, `document.querySelectorAll('[data-testid=ex-table] tbody tr').length`); n != len(want) {
		t.Errorf("the table has %d rows; the SQL API answers %d", n, len(want))
	}
	heads := eval[[]string](b, `[...document.querySelectorAll('[data-testid=ex-table] thead th button')].map(e => e.textContent)`)
	if strings.Join(heads, ",") != "t,model,usd,calls" {
		t.Errorf("columns = %v", heads)
	}
	first := eval[[]string](b, `[...document.querySelectorAll('[data-testid=ex-table] tbody tr:first-child td')].map(e => e.title || e.textContent)`)
	if len(first) != 4 || first[0] != want[0].str("t") || first[1] != want[0].str("model") || first[3] != want[0].str("calls") ||
		!near(parseF(first[2]), want[0].num("usd")) {
		t.Errorf("first row = %v; the API says %v", first, want[0])
	}
	if s := eval[string](b, `document.querySelector('[data-testid=ex-summary]').textContent`); !strings.HasPrefix(s, fmt.Sprintf("%d rows", len(want))) {
		t.Errorf("summary = %q; want %d rows", s, len(want))
	}

	// The chart: one line per model (at most 8), over the time column.
	models := map[string]bool{}
	for _, r := range want {
		models[r.str("model")] = true
	}
	b.waitFor(`document.querySelector('[data-testid=ex-chart] canvas') !== null`)
	lines := eval[int](b, `document.querySelectorAll('[data-testid=ex-chart] .u-legend .u-series').length - 1`)
	if w := min(len(models), 8); lines != w {
		t.Errorf("the chart has %d lines; want %d (one per model)", lines, w)
	}
	t.Logf("explore: %s", b.screenshot("dashboard-explore.png"))

	// The link shares the query: a fresh load runs it again.
	b.open(b.alidade+"/explore?live=0&q="+url.QueryEscape(query), "")
	b.waitFor(fmt.Sprintf(`document.querySelectorAll('[data-testid=ex-table] tbody tr').length === %d`, len(want)))
	if got := eval[string](b, `document.querySelector('[data-testid=ex-sql]').value`); got != query {
		t.Errorf("the editor after a load of the link = %q", got)
	}

	// WITH TOTALS: the totals row is the table's footer; its calls are every
	// row's, its key column the default (empty) value.
	totalsQuery := fmt.Sprintf(`SELECT model, count() AS calls FROM ai_usage WHERE timestamp >= toDateTime('%s') AND timestamp < toDateTime('%s') GROUP BY model WITH TOTALS ORDER BY model`,
		from.Format("2006-01-02 15:04:05"), to.Format("2006-01-02 15:04:05"))
	byModel := e.alidade.sql(t, p, totalsQuery)
	calls := 0.0
	for _, r := range byModel {
		calls += r.num("calls")
	}
	b.open(b.alidade+"/explore?live=0&q="+url.QueryEscape(totalsQuery), "")
	b.waitFor(`document.querySelector('[data-testid=ex-totals]') !== null`)
	if n := eval[int](b, `document.querySelectorAll('[data-testid=ex-table] tbody tr').length`); n != len(byModel) {
		t.Errorf("the totals query's table has %d rows; the SQL API answers %d", n, len(byModel))
	}
	foot := eval[[]string](b, `[...document.querySelectorAll('[data-testid=ex-totals] td')].map(e => e.textContent)`)
	if len(foot) != 2 || strings.TrimSpace(foot[0]) != "Totals" || parseF(foot[1]) != calls {
		t.Errorf("totals footer = %q; want [Totals %v]", foot, calls)
	}

	// A bad query: the server's message, with its position.
	bad := "SELECT count() FROM requests WHERE"
	var apiErr struct {
		Error struct{ Message string } `json:"error"`
	}
	code, body, _ := e.alidade.call("POST", "/api/v1/sql", p.keys["read"], bad, nil)
	if code != http.StatusBadRequest || json.Unmarshal(body, &apiErr) != nil || !strings.Contains(apiErr.Error.Message, "line 1, column") {
		t.Fatalf("SQL %q = %d %s", bad, code, body)
	}
	setText(b, `[data-testid=ex-sql]`, bad)
	b.click(`[data-testid=ex-run]`)
	b.waitFor(`document.querySelector('[data-testid=ex-error] .failure') !== null`)
	if got := eval[string](b, `document.querySelector('[data-testid=ex-error] .failure').textContent`); got != apiErr.Error.Message {
		t.Errorf("the error shown = %q; the server says %q", got, apiErr.Error.Message)
	}
	if eval[int](b, `document.querySelectorAll('[data-testid=ex-table]').length`) != 0 {
		t.Error("the previous query's table is still shown under the error")
	}
	t.Logf("explore error: %s", b.screenshot("dashboard-explore-error.png"))

	// Saved: named, listed, in the API, then deleted.
	setText(b, `[data-testid=ex-sql]`, query)
	setText(b, `[data-testid=ex-save-name]`, "AI cost by model")
	b.click(`[data-testid=ex-save]`)
	b.waitFor(`[...document.querySelectorAll('[data-testid=ex-saved] li button')].some(e => e.textContent === 'AI cost by model')`)
	var saved struct {
		Queries []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
			SQL  string `json:"sql"`
		} `json:"queries"`
	}
	if code, body, err := e.alidade.call("GET", "/api/v1/saved-queries", p.keys["read"], nil, &saved); err != nil || code != 200 {
		t.Fatalf("GET /api/v1/saved-queries = %d %s %v", code, body, err)
	}
	if len(saved.Queries) != 1 || saved.Queries[0].Name != "AI cost by model" || saved.Queries[0].SQL != query {
		t.Fatalf("saved queries = %+v", saved.Queries)
	}
	id := saved.Queries[0].ID
	if got := eval[string](b, `new URLSearchParams(location.search).get('saved')`); got != fmt.Sprint(id) {
		t.Errorf("?saved= %q after saving; want %d", got, id)
	}

	// A read session lists it and may not change it.
	rb := newBrowser(t, e)
	signInAt(t, rb, p.keys["read"], "/explore?live=0")
	rb.waitFor(`[...document.querySelectorAll('[data-testid=ex-saved] li button')].some(e => e.textContent === 'AI cost by model')`)
	if n := eval[int](rb, `document.querySelectorAll('[data-testid=ex-save], [data-testid^=ex-delete]').length`); n != 0 {
		t.Errorf("a read session sees %d save or delete controls", n)
	}
	rb.click(`[data-testid=ex-saved] li button`)
	rb.waitFor(fmt.Sprintf(`document.querySelectorAll('[data-testid=ex-table] tbody tr').length === %d`, len(want)))
	if errs := pageErrors(rb); len(errs) > 0 {
		t.Errorf("console errors of the read session:\n  %s", strings.Join(errs, "\n  "))
	}

	b.click(fmt.Sprintf(`[data-testid=ex-delete-%d]`, id))
	b.click(fmt.Sprintf(`[data-testid=ex-delete-%d-yes]`, id))
	b.waitFor(`document.querySelector('[data-testid=ex-saved-empty]') !== null`)
	if code, _, _ := e.alidade.call("GET", "/api/v1/saved-queries", p.keys["read"], nil, &saved); code != 200 || len(saved.Queries) != 0 {
		t.Errorf("after the delete: %d %+v", code, saved.Queries)
	}
	if errs := pageErrors(b, http.StatusBadRequest); len(errs) > 0 {
		t.Errorf("console errors:\n  %s", strings.Join(errs, "\n  "))
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func parseF(s string) float64 {
	var f float64
	fmt.Sscan(s, &f)
	return f
}
