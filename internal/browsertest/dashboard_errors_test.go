//go:build browser

package browsertest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// erSentryEvent is a sentry-go error event of the tutoring API: a timeout
// of the AI provider raised in (*Chat).Send, with breadcrumbs and tags.
func erSentryEvent(release string, ago time.Duration, user int) map[string]any {
	ts := float64(time.Now().Add(-ago).UnixMilli()) / 1000
	return map[string]any{
		"timestamp": ts, "level": "error", "platform": "go", "release": release, "environment": "production",
		"transaction": "POST /api/chat", "server_name": "api-1", "user": map[string]any{"id": fmt.Sprintf("u%d", user)},
		"tags": map[string]string{"region": "eu-west"},
		"breadcrumbs": []map[string]any{
			{"timestamp": ts - 3, "category": "http", "message": "GET /api/me"},
			{"timestamp": ts - 2, "category": "db", "message": "SELECT lessons", "level": "info"},
			{"timestamp": ts - 1, "category": "ai", "message": "openai timeout", "level": "warning"},
		},
		"exception": []map[string]any{{
			"type": "*url.Error", "value": "context deadline exceeded", "mechanism": map[string]any{"type": "generic", "handled": true},
			"stacktrace": map[string]any{"frames": []map[string]any{
				{"function": "main", "module": "main", "filename": "main.go", "lineno": 40, "in_app": true},
				{"function": "(*Server).ServeHTTP", "module": "net/http", "filename": "server.go", "lineno": 3210, "in_app": false},
				{"function": "(*Chat).Send", "module": "tutor/internal/chat", "filename": "chat.go", "lineno": 88, "in_app": true,
					"pre_context": []string{"\tdefer cancel()"}, "context_line": "\tresp, err := c.ai.Complete(ctx, req)", "post_context": []string{"\tif err != nil {"}},
			}},
		}},
	}
}

type erGroup struct {
	ID        int64  `json:"id"`
	Title     string `json:"title"`
	Status    string `json:"status"`
	Count     int64  `json:"count"`
	Users     int64  `json:"users"`
	Regressed bool   `json:"regressed"`
}

func erGroups(t *testing.T, e *env, p project, query string) []erGroup {
	t.Helper()
	var a struct{ Groups []erGroup }
	if code, body, err := e.alidade.call("GET", "/api/v1/error-groups?"+query, p.keys["read"], nil, &a); err != nil || code != 200 {
		t.Fatalf("GET /api/v1/error-groups?%s = %d %s %v", query, code, body, err)
	}
	return a.Groups
}

// The Errors page lists the groups the API lists (filters and sort in the
// URL), shows a regression, a group's events over the range, its latest
// event's stack trace, breadcrumbs and tags, and changes statuses for an
// admin session only; with no errors it teaches the DSN.
func TestDashboardErrors(t *testing.T) {
	e := setup(t)
	p := e.alidade.newProject(t, "errors")
	store := func(ev map[string]any) {
		t.Helper()
		path := fmt.Sprintf("/api/%d/store/?sentry_key=%s", p.id, url.QueryEscape(p.keys["public"]))
		if code, body, err := e.alidade.call("POST", path, "", ev, nil); err != nil || code != 200 {
			t.Fatalf("POST %s = %d %s %v", path, code, body, err)
		}
	}
	for i := range 5 {
		store(erSentryEvent("tutor@1.0.0", time.Duration(30+i)*time.Minute, i))
	}
	for i := range 3 {
		store(map[string]any{"timestamp": float64(time.Now().Add(-time.Duration(10+i)*time.Minute).UnixMilli()) / 1000, "level": "warning",
			"platform": "go", "release": "tutor@1.0.0", "message": "LMS roster sync slow"})
	}
	feBeacon(t, e, p, []map[string]any{{"type": "error", "errorType": "TypeError", "message": "x is undefined",
		"stack": "TypeError: x is undefined\n    at render (https://tutor.example.com/static/app.js:10:5)", "url": "https://tutor.example.com/lessons/7"}})
	var chat erGroup
	eventually(t, 10*time.Second, "three error groups", func() []string {
		gs := erGroups(t, e, p, "status=all")
		for _, g := range gs {
			if strings.HasPrefix(g.Title, "*url.Error") {
				chat = g
			}
		}
		if len(gs) != 3 {
			return []string{fmt.Sprintf("%d groups", len(gs))}
		}
		return nil
	})
	// Resolved in 1.0.0, it comes back in 1.1.0: a regression.
	if code, body, err := e.alidade.call("PATCH", fmt.Sprintf("/api/v1/error-groups/%d", chat.ID), p.keys["admin"], map[string]string{"status": "resolved"}, nil); err != nil || code != 200 {
		t.Fatalf("resolve = %d %s %v", code, body, err)
	}
	store(erSentryEvent("tutor@1.1.0", 2*time.Minute, 9))
	store(erSentryEvent("tutor@1.1.0", time.Minute, 10))
	list := erGroups(t, e, p, "status=unresolved")
	for _, g := range list {
		if g.ID == chat.ID {
			chat = g
		}
	}
	if !chat.Regressed || chat.Count != 7 {
		t.Fatalf("the chat group after 1.1.0's events: %+v; want regressed with 7 events", chat)
	}

	b := newBrowser(t, e)
	bn := feSignIn(t, b, p.keys["admin"])
	b.open(b.alidade+"/errors?range=24h&live=0", "")
	b.waitFor(`document.querySelectorAll('table[aria-label="Error groups"] tbody tr').length > 0 && ![...document.querySelectorAll('.er-trend .num')].some(e => e.textContent === '…')`)
	if n := eval[int](b, `document.querySelectorAll('table[aria-label="Error groups"] tbody tr').length`); n != len(list) {
		t.Errorf("the list shows %d groups; the API lists %d unresolved", n, len(list))
	}
	row := fmt.Sprintf(`[data-testid=group-%d]`, chat.ID)
	if !eval[bool](b, fmt.Sprintf(`document.querySelector('%s .er-regressed') !== null`, row)) {
		t.Error("the regressed group has no regression badge in the list")
	}
	if got := eval[string](b, fmt.Sprintf(`document.querySelector('%s .er-trend .num').textContent`, row)); got != "7" {
		t.Errorf("the chat group's events in range = %q; want 7", got)
	}

	// Filters and sort are the URL's, and the API's answer.
	b.click(`th[aria-sort] button[title^="Sort by events"]`)
	b.waitFor(`new URLSearchParams(location.search).get('sort') === 'count'`)
	byCount := erGroups(t, e, p, "status=unresolved&sort=count")
	b.waitFor(fmt.Sprintf(`document.querySelector('table[aria-label="Error groups"] tbody tr')?.dataset.testid === 'group-%d'`, byCount[0].ID))
	b.open(b.alidade+"/errors?range=24h&live=0&level=warning", "")
	warnings := erGroups(t, e, p, "status=unresolved&level=warning")
	b.waitFor(fmt.Sprintf(`document.querySelectorAll('table[aria-label="Error groups"] tbody tr').length === %d`, len(warnings)))

	// The group's page: the regression, its figures, its latest event.
	b.open(b.alidade+fmt.Sprintf("/errors/%d?range=24h&live=0", chat.ID), "")
	b.waitFor(`document.querySelector('[data-testid=regression]') !== null && document.querySelector('[data-testid=event]') !== null && document.querySelector('[data-testid=group-in-range] .value').dataset.value !== ''`)
	if s := eval[string](b, `document.querySelector('[data-testid=regression]').textContent`); !strings.Contains(s, "tutor@1.1.0") || !strings.Contains(s, "tutor@1.0.0") {
		t.Errorf("the regression banner says %q; want both releases", s)
	}
	for id, want := range map[string]string{"group-count": "7", "group-users": fmt.Sprint(chat.Users), "group-in-range": "7"} {
		if got := eval[string](b, fmt.Sprintf(`document.querySelector('[data-testid=%s] .value').dataset.value`, id)); got != want {
			t.Errorf("%s = %q; want %s", id, got, want)
		}
	}
	if fns := eval[[]string](b, `[...document.querySelectorAll('.er-frame .er-fn')].map(e => e.textContent)`); strings.Join(fns, ",") != "(*Chat).Send,main" {
		t.Errorf("in-app frames shown, newest first: %v; want [(*Chat).Send main]", fns)
	}
	if n := eval[int](b, `document.querySelectorAll('table[aria-label="Breadcrumbs, newest first"] tbody tr').length`); n != 3 {
		t.Errorf("%d breadcrumbs shown; want 3", n)
	}
	if tags := eval[string](b, `document.querySelector('.er-tags').textContent`); !strings.Contains(tags, "regioneu-west") || !strings.Contains(tags, "releasetutor@1.1.0") {
		t.Errorf("tags = %q", tags)
	}
	if n := eval[int](b, `document.querySelectorAll('.er-events tbody tr').length`); n != 7 {
		t.Errorf("%d events listed; want 7", n)
	}
	// Another event, then the status.
	b.click(`.er-events tbody tr:last-child a`)
	b.waitFor(`new URLSearchParams(location.search).get('event') !== null && document.querySelector('#er-event-title')?.textContent.includes(new URLSearchParams(location.search).get('event'))`)
	t.Logf("error group: %s", b.screenshot("dashboard-errors-group.png"))
	b.click(`[data-testid=set-resolved]`)
	eventually(t, 5*time.Second, "the group resolved", func() []string {
		for _, g := range erGroups(t, e, p, "status=resolved") {
			if g.ID == chat.ID {
				return nil
			}
		}
		return []string{"not resolved"}
	})
	b.waitFor(`document.querySelector('[data-testid=set-resolved]').getAttribute('aria-pressed') === 'true'`)

	// Bulk: select the warning group in the list and ignore it.
	warn := warnings[0].ID
	b.open(b.alidade+"/errors?range=24h&live=0&status=all", "")
	b.waitFor(fmt.Sprintf(`document.querySelector('[data-testid=group-%d] input[type=checkbox]') !== null`, warn))
	b.click(fmt.Sprintf(`[data-testid=group-%d] input[type=checkbox]`, warn))
	b.waitFor(`document.querySelector('.er-bulk .meta').textContent === '1 selected'`)
	b.click(`.er-bulk button:nth-of-type(2)`) // Ignore
	eventually(t, 5*time.Second, "the warning group ignored", func() []string {
		for _, g := range erGroups(t, e, p, "status=ignored") {
			if g.ID == warn {
				return nil
			}
		}
		return []string{"not ignored"}
	})
	t.Logf("errors: %s", b.screenshot("dashboard-errors-list.png"))
	feConsoleErrors(t, b, bn, "admin session")

	// A read session sees no working status controls; the server refuses it anyway.
	rbn := feSignIn(t, b, p.keys["read"])
	b.open(b.alidade+fmt.Sprintf("/errors/%d?live=0", chat.ID), "")
	b.waitFor(`document.querySelector('[data-testid=status-readonly]') !== null`)
	if n := eval[int](b, `document.querySelectorAll('[data-testid^=set-], .er-bulk').length`); n != 0 {
		t.Errorf("a read session sees %d status controls", n)
	}
	b.open(b.alidade+"/errors?live=0&status=all", "")
	b.waitFor(`document.querySelectorAll('table[aria-label="Error groups"] tbody tr').length > 0`)
	if n := eval[int](b, `document.querySelectorAll('table[aria-label="Error groups"] input[type=checkbox]').length`); n != 0 {
		t.Errorf("a read session sees %d selection boxes", n)
	}

	// No errors yet: the DSN, as GET /api/v1/projects/{id} gives it.
	empty := e.alidade.newProject(t, "errors-empty")
	var info struct{ DSN string }
	if code, body, err := e.alidade.call("GET", fmt.Sprintf("/api/v1/projects/%d", empty.id), empty.keys["admin"], nil, &info); err != nil || code != http.StatusOK || info.DSN == "" {
		t.Fatalf("GET /api/v1/projects/%d = %d %s %v", empty.id, code, body, err)
	}
	feConsoleErrors(t, b, rbn, "read session")
	patch := fmt.Sprintf(`fetch('/api/v1/error-groups/%d', {method: 'PATCH', credentials: 'same-origin', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content}, body: '{"status":"ignored"}'}).then(r => r.status)`, chat.ID)
	if code := eval[int](b, patch); code != http.StatusForbidden {
		t.Errorf("a read session's PATCH of a group's status = %d; want 403", code)
	}
	ebn := feSignIn(t, b, empty.keys["admin"])
	b.open(b.alidade+"/errors?live=0", "")
	b.waitFor(`document.querySelector('.empty pre code')?.textContent.includes('ald_public_') && !document.querySelector('.empty pre code').textContent.includes('…')`)
	if s := eval[string](b, `document.querySelector('.empty pre code').textContent`); s != fmt.Sprintf(`Sentry.init({ dsn: %q });`, info.DSN) {
		t.Errorf("the empty state's snippet is %q; want the DSN %s", s, info.DSN)
	}
	t.Logf("errors, empty: %s", b.screenshot("dashboard-errors-empty.png"))
	feConsoleErrors(t, b, ebn, "admin session, no errors")
}
