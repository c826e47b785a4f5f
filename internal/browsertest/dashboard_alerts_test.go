//go:build browser

package browsertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// hook is a webhook receiver on loopback: it keeps every body it is sent
// and answers 200 "received".
type hook struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		data, _ := io.ReadAll(r.Body)
		if json.Unmarshal(data, &b) == nil {
			h.mu.Lock()
			h.bodies = append(h.bodies, b)
			h.mu.Unlock()
		}
		io.WriteString(w, "received")
	}))
	t.Cleanup(h.Close)
	return h
}

// states are the "state" of the bodies received so far.
func (h *hook) states() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var s []string
	for _, b := range h.bodies {
		st, _ := b["state"].(string)
		s = append(s, st)
	}
	return s
}

// setSelect chooses a <select>'s option as a user would (a change event).
func setSelect(b *browser, css, value string) {
	b.t.Helper()
	b.do(chromedp.SetValue(chromedp.CSS(css), value))
	sel, _ := json.Marshal(css)
	b.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).dispatchEvent(new Event('change', {bubbles: true}))`, sel)))
}

// The alerts pages as an admin: a rule created through the form (the
// API's 400 shown beside it first) whose webhook is a listener of the
// test, listed, opened, test-sent (the target's answer shown), driven into
// breach by points written through the API until the page says firing,
// then deleted after a confirmation; as a read session: the rules and no
// control that changes them.
func TestDashboardAlerts(t *testing.T) {
	e := setup(t)
	p := e.alidade.newProject(t, "alerts-ui")
	h := newHook(t)

	b := newBrowser(t, e)
	signInAt(t, b, p.keys["admin"], "/alerts")
	b.waitFor(`document.querySelector('main .empty') !== null && document.querySelector('[data-testid=al-new]') !== null`)

	// The form: a percentage of 5xx over the last minute, every second.
	b.click(`[data-testid=al-new]`)
	b.waitFor(`location.pathname === '/alerts/new' && document.querySelector('[data-testid=al-form]') !== null`)
	setText(b, `[data-testid=al-f-name]`, "ui errors")
	setText(b, `[data-testid=al-f-dataset]`, "requests")
	setSelect(b, `[data-testid=al-f-agg]`, "percentage")
	setText(b, `[data-testid=al-f-pct-field]`, "status")
	setSelect(b, `[data-testid=al-f-pct-op]`, ">=")
	setText(b, `[data-testid=al-f-pct-value]`, "500")
	setText(b, `[data-testid=al-f-range]`, "1m")
	setSelect(b, `[data-testid=al-f-op]`, ">")
	setText(b, `[data-testid=al-f-value]`, "5")
	setText(b, `[data-testid=al-f-for]`, "0s")
	setText(b, `[data-testid=al-f-url-0]`, h.URL+"/hook")

	// every below 1 s: the server's 400, beside the form, as it says it.
	setText(b, `[data-testid=al-f-every]`, "500ms")
	b.click(`[data-testid=al-f-save]`)
	b.waitFor(`document.querySelector('[data-testid=al-form-error]') !== null`)
	if msg := eval[string](b, `document.querySelector('[data-testid=al-form-error]').textContent`); !strings.Contains(msg, "every") || !strings.Contains(msg, "1s") {
		t.Errorf("the form's error = %q; want the server's message about every", msg)
	}
	setText(b, `[data-testid=al-f-every]`, "1s")
	b.click(`[data-testid=al-f-save]`)
	b.waitFor(`/^\/alerts\/\d+$/.test(location.pathname) && document.querySelector('[data-testid=al-title]') !== null`)
	id := eval[string](b, `location.pathname.split('/')[2]`)

	// The rule is the JSON the form showed.
	var rule struct {
		Name  string `json:"name"`
		Every string `json:"every"`
		For   string `json:"for"`
		Query struct {
			Dataset      string                    `json:"dataset"`
			Range        string                    `json:"range"`
			Aggregations map[string]map[string]any `json:"aggregations"`
		} `json:"query"`
		Condition struct {
			Op    string
			Value float64
		} `json:"condition"`
		Notify []struct{ Type, URL string } `json:"notify"`
	}
	if code, body, err := e.alidade.call("GET", "/api/v1/alerts/"+id, p.keys["admin"], nil, &rule); err != nil || code != 200 {
		t.Fatalf("GET /api/v1/alerts/%s = %d %s %v", id, code, body, err)
	}
	if rule.Name != "ui errors" || rule.Every != "1s" || rule.For != "0s" || rule.Query.Dataset != "requests" || rule.Query.Range != "1m" ||
		rule.Condition.Op != ">" || rule.Condition.Value != 5 || len(rule.Notify) != 1 || rule.Notify[0].URL != h.URL+"/hook" || rule.Notify[0].Type != "webhook" {
		t.Errorf("the rule created = %+v", rule)
	}
	if a := rule.Query.Aggregations["pct"]; a["type"] != "percentage" || fmt.Sprintf("%#v", a["filter"]) != `map[string]interface {}{"field":"status", "op":">=", "value":500}` {
		t.Errorf("the rule's aggregations = %#v; want pct: a percentage of status >= 500 (a number)", rule.Query.Aggregations)
	}

	// Listed, and opened from the list.
	b.click(`.al-back a`)
	b.waitFor(fmt.Sprintf(`document.querySelector('[data-testid=al-rule-%s]')?.textContent === 'ui errors'`, id))
	if s := eval[string](b, fmt.Sprintf(`document.querySelector('[data-testid=al-state-%s] [data-state]').dataset.state`, id)); s != "ok" && s != "pending" {
		t.Errorf("the new rule's state in the list = %q; want ok", s)
	}
	b.click(fmt.Sprintf(`[data-testid=al-rule-%s]`, id))
	b.waitFor(`document.querySelector('[data-testid=al-title]')?.textContent === 'ui errors'`)

	// Send test: the target's answer is shown, and the body it got.
	b.click(`[data-testid=al-test]`)
	b.waitFor(`document.querySelector('[data-testid=al-test-0]') !== null`)
	if row := eval[string](b, `document.querySelector('[data-testid=al-test-0]').textContent`); !strings.Contains(row, "delivered") || !strings.Contains(row, "200") || !strings.Contains(row, "received") {
		t.Errorf("the test's result row = %q; want delivered, 200 and the answer", row)
	}
	if s := h.states(); len(s) != 1 || s[0] != "test" {
		t.Errorf("the webhook received states %v; want [test]", s)
	}

	// Points with status 500: the rule fires, and the page says so.
	now := time.Now().UnixMilli()
	var pts []string
	for i := range 5 {
		pts = append(pts, fmt.Sprintf(`{"timestamp":%d,"indexes":["POST /api/chat"],"blobs":["/api/chat","POST","web"],"doubles":[40,500]}`, now-int64(i)*100))
	}
	if code, body, err := e.alidade.call("POST", "/api/v1/datasets/requests/points", p.keys["write"], "["+strings.Join(pts, ",")+"]", nil); err != nil || code != 200 {
		t.Fatalf("write = %d %s %v", code, body, err)
	}
	b.waitFor(`document.querySelector('[data-testid=al-detail-state] [data-state]')?.dataset.state === 'firing'`)
	if v := eval[string](b, `document.querySelector('[data-testid=al-detail-value]').textContent`); v != "100" {
		t.Errorf("the value shown = %q; want 100 (%% of 5xx)", v)
	}
	b.waitFor(`[...document.querySelectorAll('[data-testid=al-history] tr[data-kind=transition]')].some(r => r.textContent.includes('firing'))`)
	eventually(t, 10*time.Second, "the firing notification", func() []string {
		for _, s := range h.states() {
			if s == "firing" {
				return nil
			}
		}
		return []string{fmt.Sprintf("states received %v", h.states())}
	})
	b.waitFor(`[...document.querySelectorAll('[data-testid=al-history] tr[data-kind=notification]')].some(r => r.textContent.includes('delivered') && r.textContent.includes('HTTP 200'))`)
	t.Logf("alert rule: %s", b.screenshot("dashboard-alert.png"))

	// The list with more rules, for the README's screenshot.
	for _, r := range []string{
		`{"name":"p95 latency","query":{"dataset":"requests","range":"5m","aggregations":{"p95":{"type":"quantile","field":"duration","q":0.95}}},"condition":{"op":">","value":2000},"every":"2s"}`,
		`{"name":"no lesson traffic for 10 min","query":{"dataset":"requests","range":"10m","filter":[{"field":"endpoint","op":"=","value":"GET /api/lessons"}],"aggregations":{"n":{"type":"count"}}},"condition":{"op":"==","value":0},"for":"2s","every":"1s"}`,
		`{"name":"AI cost today","query":{"dataset":"ai_usage","range":"today","aggregations":{"cost":{"type":"sum","field":"cost"}}},"condition":{"op":">","value":50},"every":"2s","timezone":"Europe/Paris"}`,
	} {
		if code, body, err := e.alidade.call("POST", "/api/v1/alerts", p.keys["admin"], r, nil); err != nil || code != http.StatusCreated {
			t.Fatalf("POST /api/v1/alerts = %d %s %v", code, body, err)
		}
	}
	b.click(`.al-back a`)
	b.waitFor(`document.querySelectorAll('[data-testid=al-list] tbody tr').length === 4 && ![...document.querySelectorAll('[data-testid=al-list] tbody tr')].some(r => r.textContent.includes('not yet'))`)
	b.waitFor(`[...document.querySelectorAll('[data-testid=al-list] [data-state]')].map(s => s.dataset.state).sort().join() === 'firing,ok,ok,pending' || [...document.querySelectorAll('[data-testid=al-list] [data-state]')].map(s => s.dataset.state).sort().join() === 'firing,firing,ok,ok'`)
	t.Logf("alerts: %s", b.screenshot("dashboard-alerts.png"))

	// Deleted after a confirmation.
	b.click(fmt.Sprintf(`[data-testid=al-rule-%s]`, id))
	b.waitFor(`document.querySelector('[data-testid=al-title]')?.textContent === 'ui errors'`)
	// Edited: the form opens with the rule as it is; saving PUTs it whole
	// and its state restarts.
	b.click(`[data-testid=al-edit]`)
	b.waitFor(`document.querySelector('[data-testid=al-f-pct-value]')?.value === '500' && document.querySelector('[data-testid=al-f-url-0]')?.value !== ''`)
	setText(b, `[data-testid=al-f-value]`, "200")
	b.click(`[data-testid=al-f-save]`)
	b.waitFor(`!new URLSearchParams(location.search).has('edit') && document.querySelector('[data-testid=al-detail-state] [data-state]')?.dataset.state === 'ok' && document.querySelector('main').textContent.includes('> 200')`)
	var edited struct {
		Condition struct{ Value float64 } `json:"condition"`
		Notify    []struct{ URL string }  `json:"notify"`
	}
	e.alidade.call("GET", "/api/v1/alerts/"+id, p.keys["admin"], nil, &edited)
	if edited.Condition.Value != 200 || len(edited.Notify) != 1 || edited.Notify[0].URL != h.URL+"/hook" {
		t.Errorf("the edited rule = %+v; want the threshold 200 and the same target", edited)
	}
	b.click(`[data-testid=al-delete]`)
	b.click(`[data-testid=al-delete-yes]`)
	b.waitFor(fmt.Sprintf(`location.pathname === '/alerts' && document.querySelectorAll('[data-testid=al-list] tbody tr').length === 3 && !document.querySelector('[data-testid=al-rule-%s]')`, id))
	if code, _, _ := e.alidade.call("GET", "/api/v1/alerts/"+id, p.keys["read"], nil, nil); code != http.StatusNotFound {
		t.Errorf("GET the deleted rule = %d; want 404", code)
	}
	if errs := pageErrors(b, http.StatusBadRequest); len(errs) > 0 {
		t.Errorf("console errors:\n  %s", strings.Join(errs, "\n  "))
	}
	b.mu.Lock()
	b.console = nil
	b.mu.Unlock()

	// A read session: the rules, their targets cut to the host, and no
	// control that changes them.
	b.clickAndLoad(`header.top button:last-of-type`) // Sign out
	rb := b
	signInAt(t, rb, p.keys["read"], "/alerts")
	rb.waitFor(`document.querySelectorAll('[data-testid=al-list] tbody tr').length === 3`)
	if n := eval[int](rb, `document.querySelectorAll('[data-testid=al-new]').length`); n != 0 {
		t.Error("a read session sees New rule")
	}
	rb.click(`[data-testid=al-list] tbody tr a`)
	rb.waitFor(`document.querySelector('[data-testid=al-title]') !== null && document.querySelector('[data-testid=al-history], .al-history, main .panel') !== null`)
	if n := eval[int](rb, `document.querySelectorAll('[data-testid=al-edit], [data-testid=al-test], [data-testid=al-delete], main form').length`); n != 0 {
		t.Errorf("a read session sees %d controls that change the rule", n)
	}
	rb.open(e.alidade.url+"/alerts/new", "")
	rb.waitFor(`document.querySelector('[data-testid=al-read-note]') !== null`)
	if errs := pageErrors(rb); len(errs) > 0 {
		t.Errorf("console errors of the read session:\n  %s", strings.Join(errs, "\n  "))
	}
}
