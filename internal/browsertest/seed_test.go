//go:build browser

package browsertest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSeedAnalyticsService runs the seed's AnalyticsService verbatim
// (sdk/js/test/fixtures/seed.ts, written for Zaraz) in a page that carries
// only Alidade's script tag, with the global `store` it reads stubbed by a
// real Redux store, and asserts that its page views, API calls and custom
// events are stored with their properties.
func TestSeedAnalyticsService(t *testing.T) {
	e := setup(t)
	p := e.alidade.newProject(t, fmt.Sprintf("seed-%d", time.Now().UnixNano()))
	s := startSite(t, e, e.alidade.url, p.keys["public"])
	b := newBrowser(t, e)
	host := strings.TrimPrefix(s.url, "http://")

	b.open(s.url+"/seed", "")
	b.waitFor(`window.seedReady && window.zaraz && window.alidade && alidade.enabled`)
	before := time.Now().Add(-time.Minute)
	eval[chromedp.Void](b, `(() => {
		analytics.trackEvent('chat_message', {course: 'bio', length: 42});
		analytics.trackEvent('assessment_completed', {assessment: 'quiz-3', score: 0.8, passed: true});
		analytics.trackPageView('/lessons/7');
		analytics.trackApiCall('/api/chat', 84, 200);
		analytics.trackApiCall('/api/grades', 312, 503);
		alidade.flush();
	})()`)

	q := func(dataset, cols string) []row {
		return e.alidade.sql(t, p, fmt.Sprintf("SELECT %s FROM %s WHERE host = '%s' ORDER BY timestamp", cols, dataset, host))
	}
	var pv, calls, events []row
	eventually(t, 30*time.Second, "the seed's events", func() (missing []string) {
		pv = q("pageviews", "path, browser, os, device")
		calls = q("api_calls", "endpoint, duration, status, success, path, browser")
		events = q("events", "event_name, props, path, browser")
		if len(pv) < 2 {
			missing = append(missing, fmt.Sprintf("2 page views (have %v)", col(pv, "path")))
		}
		if len(calls) < 2 {
			missing = append(missing, fmt.Sprintf("2 API calls (have %v)", col(calls, "endpoint")))
		}
		if len(events) < 2 {
			missing = append(missing, fmt.Sprintf("2 events (have %v)", col(events, "event_name")))
		}
		return missing
	})

	// trackPageView(location.pathname) at load is the page the SDK had
	// just counted: once. trackPageView('/lessons/7') is a page view.
	if got := col(pv, "path"); !slices.Equal(got, []string{"/seed", "/lessons/7"}) {
		t.Errorf("page views %v; want [/seed /lessons/7] (the landing page once)", got)
	}
	// trackApiCall → api_calls with the seed's duration_ms, status_code and
	// success.
	wantCalls := map[string][3]float64{"/api/chat": {84, 200, 1}, "/api/grades": {312, 503, 0}}
	if len(calls) != 2 {
		t.Errorf("API calls %v; want 2", col(calls, "endpoint"))
	}
	for _, r := range calls {
		w, ok := wantCalls[r.str("endpoint")]
		if !ok || r.num("duration") != w[0] || r.num("status") != w[1] || r.num("success") != w[2] || r.str("path") != "/seed" {
			t.Errorf("API call %s: duration %v, status %v, success %v, page %q; want %v (duration, status, success), /seed",
				r.str("endpoint"), r.num("duration"), r.num("status"), r.num("success"), r.str("path"), w)
		}
	}
	// trackEvent → events, with the app's props and the seed's timestamp,
	// user_id and session_id (from the Redux store); page_view and
	// api_call never land here.
	// (Tracked in the same millisecond: their order is not defined.)
	if got := col(events, "event_name"); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"assessment_completed", "chat_message"}) {
		t.Errorf("events %v; want chat_message and assessment_completed", got)
	}
	wantProps := map[string]map[string]any{
		"chat_message":         {"course": "bio", "length": 42.0},
		"assessment_completed": {"assessment": "quiz-3", "score": 0.8, "passed": true},
	}
	for _, r := range events {
		var props map[string]any
		if err := json.Unmarshal([]byte(r.str("props")), &props); err != nil {
			t.Errorf("event %s props %q: %v", r.str("event_name"), r.str("props"), err)
			continue
		}
		for k, v := range wantProps[r.str("event_name")] {
			if props[k] != v {
				t.Errorf("event %s prop %s = %v; want %v (props %s)", r.str("event_name"), k, props[k], v, r.str("props"))
			}
		}
		if props["user_id"] != "u-42" || props["session_id"] != "s-7f3a" {
			t.Errorf("event %s user_id, session_id = %v, %v; want u-42, s-7f3a from the Redux store", r.str("event_name"), props["user_id"], props["session_id"])
		}
		ts, _ := props["timestamp"].(string)
		if at, err := time.Parse(time.RFC3339, ts); err != nil || at.Before(before) || at.After(time.Now()) {
			t.Errorf("event %s timestamp %q; want the ISO time it was tracked at", r.str("event_name"), ts)
		}
		if r.str("path") != "/seed" {
			t.Errorf("event %s on page %q; want /seed", r.str("event_name"), r.str("path"))
		}
	}
	for _, rows := range [][]row{pv, calls, events} {
		for _, r := range rows {
			if r.str("browser") != "Chrome" {
				t.Errorf("point %v: browser %q; want Chrome", r, r.str("browser"))
			}
		}
	}
}
