//go:build browser

package browsertest

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bkQ is a figure's p50, p95 and p99 as /api/v1/metrics answers them.
type bkQ struct{ P50, P95, P99 *float64 }

// bkMetrics is the part of /api/v1/metrics the Backend and AI pages show.
type bkMetrics struct {
	Requests            float64
	ErrorRate           float64
	LatencyPercentiles  bkQ
	ErrorRateByEndpoint []struct {
		Endpoint string
		Requests float64
	}
	DBQueries struct {
		Queries float64
		Latency bkQ
		ByQuery []struct{ Query string }
	}
	Websocket struct {
		OpenConnections float64
		AbnormalCloses  float64
	}
	GradePassback struct {
		SuccessRate *float64
		ByPlatform  []struct{ Platform string }
	}
	AI struct {
		Calls, Tokens, Cost, UnpricedCalls float64
		Latency, TimeToFirstToken          bkQ
		ByModel                            []struct{ Model string }
		UnpricedModels                     []struct{ Model string }
	}
	Embeddings   struct{ Calls float64 }
	VectorSearch struct{ Searches float64 }
	Intent       struct {
		Accuracy *float64
		ByIntent []struct{ Intent string }
	}
}

func bkOpt(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}

// The Backend and AI pages show /api/v1/metrics' figures over the view's
// range, with per-endpoint trends and per-model series from one structured
// query each, and teach the SDK calls on an empty project.
func TestDashboardBackendAI(t *testing.T) {
	e := setup(t)
	p := demoProject(t, e)
	b := newBrowser(t, e)
	signIn(t, b, p.keys["admin"])

	to := time.Now().UTC().Truncate(time.Minute)
	from := to.Add(-24 * time.Hour)
	q := url.Values{"range": {"custom"}, "from": {from.Format("2006-01-02T15:04")}, "to": {to.Format("2006-01-02T15:04")}, "live": {"0"}}
	var m bkMetrics
	api := fmt.Sprintf("/api/v1/metrics?from=%s&to=%s&top=25", from.Format(time.RFC3339), to.Format(time.RFC3339))
	if code, body, err := e.alidade.call("GET", api, p.keys["read"], nil, &m); err != nil || code != 200 {
		t.Fatalf("GET %s = %d %s %v", api, code, body, err)
	}
	if m.Requests == 0 || len(m.ErrorRateByEndpoint) == 0 || m.AI.Calls == 0 || len(m.AI.UnpricedModels) == 0 {
		t.Fatalf("the demo project has no requests, endpoints, AI calls or unpriced models: %+v", m)
	}
	stat := func(id string) float64 {
		t.Helper()
		got := eval[string](b, fmt.Sprintf(`document.querySelector('[data-testid=%s] .value').dataset.value`, id))
		f, err := strconv.ParseFloat(got, 64)
		if err != nil {
			t.Fatalf("%s data-value = %q", id, got)
		}
		return f
	}
	checkStats := func(page string, want map[string]float64) {
		t.Helper()
		for id, w := range want {
			if got := stat(id); !near(got, w) {
				t.Errorf("%s %s = %v; /api/v1/metrics says %v", page, id, got, w)
			}
		}
	}
	noFailure := func(page string) {
		t.Helper()
		if f := eval[string](b, `[...document.querySelectorAll('.failure')].map(e => e.textContent).join('; ')`); f != "" {
			t.Errorf("%s shows a failure: %s", page, f)
		}
	}
	queries := `performance.getEntriesByType('resource').filter(r => r.name.includes('/api/v1/query')).length`

	// Backend.
	b.open(b.alidade+"/backend?"+q.Encode(), "")
	rows := len(m.ErrorRateByEndpoint)
	b.waitFor(fmt.Sprintf(`document.querySelector('[data-testid=bk-rate] .value')?.dataset.value > 0 && document.querySelectorAll('table[aria-label=Endpoints] .bk-trend svg path').length === %d`, rows))
	checkStats("backend", map[string]float64{
		"bk-rate": m.Requests, "bk-p95": bkOpt(m.LatencyPercentiles.P95), "bk-errorRate": m.ErrorRate,
		"bk-db-p95": bkOpt(m.DBQueries.Latency.P95), "bk-ws-open": m.Websocket.OpenConnections,
		"bk-grade": bkOpt(m.GradePassback.SuccessRate), "bk-ws-drops": m.Websocket.AbnormalCloses,
	})
	var want []string
	for _, r := range m.ErrorRateByEndpoint {
		want = append(want, r.Endpoint)
	}
	sort.Strings(want)
	got := eval[[]string](b, `[...document.querySelectorAll('table[aria-label=Endpoints] tbody tr td:first-child')].map(td => td.textContent).sort((a, b) => a < b ? -1 : a > b ? 1 : 0)`)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("endpoints table lists %q; /api/v1/metrics lists %q", got, want)
	}
	// Sorting by Requests puts the busiest endpoint first.
	busiest := m.ErrorRateByEndpoint[0]
	for _, r := range m.ErrorRateByEndpoint {
		if r.Requests > busiest.Requests {
			busiest = r
		}
	}
	eval[bool](b, `[...document.querySelectorAll('table[aria-label=Endpoints] th button')].find(b => b.textContent === 'Requests').click() || true`)
	b.waitFor(`document.querySelector('table[aria-label=Endpoints] th[aria-sort=descending]')?.textContent === 'Requests'`)
	if first := eval[string](b, `document.querySelector('table[aria-label=Endpoints] tbody tr td').textContent`); first != busiest.Endpoint {
		t.Errorf("sorted by requests, the first endpoint is %q; want %q", first, busiest.Endpoint)
	}
	if n := eval[int](b, `document.querySelectorAll('table[aria-label="Database queries by name"] tbody tr').length`); n != len(m.DBQueries.ByQuery) {
		t.Errorf("database queries table has %d rows; /api/v1/metrics lists %d", n, len(m.DBQueries.ByQuery))
	}
	if n := eval[int](b, `document.querySelectorAll('table[aria-label="Grade passback success by platform"] tbody tr').length`); n != len(m.GradePassback.ByPlatform) {
		t.Errorf("grade passback table has %d rows; /api/v1/metrics lists %d", n, len(m.GradePassback.ByPlatform))
	}
	if n := eval[int](b, queries); n != 1 {
		t.Errorf("the Backend page made %d structured queries; want 1 (one for every endpoint's trend)", n)
	}
	noFailure("backend")
	t.Logf("backend: %s", b.screenshot("dashboard-backend-page.png"))

	// AI.
	b.open(b.alidade+"/ai?"+q.Encode(), "")
	b.waitFor(`document.querySelector('[data-testid=ai-calls] .value')?.dataset.value > 0 && document.querySelectorAll('section[aria-label="Tokens and cost by model"] .uplot').length === 2`)
	checkStats("ai", map[string]float64{
		"ai-calls": m.AI.Calls, "ai-tokens": m.AI.Tokens, "ai-cost": m.AI.Cost, "ai-p95": bkOpt(m.AI.Latency.P95),
		"ai-ttft": bkOpt(m.AI.TimeToFirstToken.P95), "ai-unpriced": m.AI.UnpricedCalls,
		"ai-emb-calls": m.Embeddings.Calls, "ai-vs-searches": m.VectorSearch.Searches, "ai-intent-accuracy": bkOpt(m.Intent.Accuracy),
	})
	legend := eval[string](b, `document.querySelector('section[aria-label="Tokens and cost by model"]').textContent`)
	for i, r := range m.AI.ByModel {
		if i < 6 && !strings.Contains(legend, r.Model) {
			t.Errorf("the tokens and cost chart has no line for %q", r.Model)
		}
	}
	unpriced := eval[string](b, `document.querySelector('table[aria-label="Unpriced models"]').textContent`)
	for _, r := range m.AI.UnpricedModels {
		if !strings.Contains(unpriced, r.Model) {
			t.Errorf("unpriced models table lacks %q: %s", r.Model, unpriced)
		}
	}
	if n := eval[int](b, `document.querySelectorAll('table[aria-label="Intent accuracy by intent"] tbody tr').length`); n != len(m.Intent.ByIntent) {
		t.Errorf("intent table has %d rows; /api/v1/metrics lists %d", n, len(m.Intent.ByIntent))
	}
	if n := eval[int](b, queries); n != 1 {
		t.Errorf("the AI page made %d structured queries; want 1 (one for every model's series)", n)
	}
	noFailure("ai")
	t.Logf("ai: %s", b.screenshot("dashboard-ai-page.png"))

	// An empty project: every panel teaches the SDK call that fills it.
	ep := e.alidade.newProject(t, "bk-empty")
	eb := newBrowser(t, e)
	signIn(t, eb, ep.keys["read"])
	for _, pg := range []struct {
		path  string
		calls []string
	}{
		{"/backend", []string{"alidade.Middleware", "TrackDBQuery", "TrackWebSocket", "TrackGradePassback"}},
		{"/ai", []string{"TrackAIUsage", "TrackEmbedding", "TrackVectorSearch", "TrackIntent", "LabelIntent"}},
	} {
		eb.open(eb.alidade+pg.path+"?range=24h&live=0", "")
		eb.waitFor(`document.querySelectorAll('.empty pre').length > 0`)
		text := eval[string](eb, `[...document.querySelectorAll('.empty pre')].map(e => e.textContent).join('\n')`)
		for _, c := range pg.calls {
			if !strings.Contains(text, c) {
				t.Errorf("empty %s does not teach %s:\n%s", pg.path, c, text)
			}
		}
		if strings.Contains(text, ep.keys["write"]) || strings.Contains(text, ep.keys["read"]) {
			t.Errorf("empty %s shows a key", pg.path)
		}
		t.Logf("empty %s: %s", pg.path, eb.screenshot("dashboard"+strings.ReplaceAll(pg.path, "/", "-")+"-empty.png"))
	}

	for _, br := range []*browser{b, eb} {
		if errs := br.consoleErrors(); len(errs) > 0 {
			t.Errorf("console errors:\n  %s", strings.Join(errs, "\n  "))
		}
	}
}
