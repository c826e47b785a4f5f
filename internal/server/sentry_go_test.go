package server_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"

	"github.com/alidade/alidade/internal/meta"
)

// The real sentry-go client, configured by DSN only, against a real
// Alidade: errors, a recovered panic, messages, a transaction and a log.

// groupAnswer is an error group as the API answers it.
type groupAnswer struct {
	ID               int64     `json:"id"`
	Title            string    `json:"title"`
	Culprit          string    `json:"culprit"`
	Level            string    `json:"level"`
	Status           string    `json:"status"`
	Count            int64     `json:"count"`
	Users            int64     `json:"users"`
	FirstSeen        time.Time `json:"firstSeen"`
	LastSeen         time.Time `json:"lastSeen"`
	Fingerprint      string    `json:"fingerprint"`
	Regressed        bool      `json:"regressed"`
	Releases         []string  `json:"releases"`
	Environments     []string  `json:"environments"`
	RegressedRelease string    `json:"regressedRelease"`
	Regressions      int64     `json:"regressions"`
	ResolvedRelease  string    `json:"resolvedRelease"`
	LatestEvent      *struct {
		ID        string `json:"id"`
		Level     string `json:"level"`
		Release   string `json:"release"`
		Exception []struct {
			Type       string `json:"type"`
			Value      string `json:"value"`
			Stacktrace *struct {
				Frames []struct {
					Function string `json:"function"`
					Module   string `json:"module"`
					Lineno   int    `json:"lineno"`
					InApp    *bool  `json:"in_app"`
					AbsPath  string `json:"abs_path"`
				} `json:"frames"`
			} `json:"stacktrace"`
		} `json:"exception"`
		Breadcrumbs []struct {
			Message  string `json:"message"`
			Category string `json:"category"`
		} `json:"breadcrumbs"`
		Tags []struct {
			Key, Value string
		} `json:"tags"`
		Contexts map[string]any `json:"contexts"`
		User     *struct {
			ID string `json:"id"`
		} `json:"user"`
		Grouping struct {
			Method string `json:"method"`
		} `json:"grouping"`
	} `json:"latestEvent"`
	Error struct{ Code, Message string } `json:"error"`
}

// projectDSN reads project 1's DSN from GET /api/v1/projects.
func (e *env) projectDSN() string {
	e.t.Helper()
	var out struct {
		Projects []struct {
			ID  int64   `json:"id"`
			DSN *string `json:"dsn"`
		} `json:"projects"`
	}
	if code := e.call("GET", "/api/v1/projects", rootKey, nil, nil, &out); code != 200 || len(out.Projects) == 0 || out.Projects[0].DSN == nil {
		e.t.Fatalf("GET /api/v1/projects = %d %+v; want project 1 with a dsn", code, out)
	}
	return *out.Projects[0].DSN
}

func (e *env) groups(query string) []groupAnswer {
	e.t.Helper()
	var out struct {
		Groups []groupAnswer `json:"groups"`
		Error  struct{ Code, Message string }
	}
	if code := e.call("GET", "/api/v1/error-groups"+query, e.keys[meta.KindRead], nil, nil, &out); code != 200 {
		e.t.Fatalf("GET /api/v1/error-groups%s = %d %+v", query, code, out.Error)
	}
	return out.Groups
}

func (e *env) group(id int64) groupAnswer {
	e.t.Helper()
	var g groupAnswer
	if code := e.call("GET", fmt.Sprintf("/api/v1/error-groups/%d", id), e.keys[meta.KindRead], nil, nil, &g); code != 200 {
		e.t.Fatalf("GET error group %d = %d %+v", id, code, g.Error)
	}
	return g
}

// sentryHub makes a hub of a real sentry-go client for the DSN.
func sentryHub(t *testing.T, dsn, release string) (*sentry.Hub, *sentry.Client) {
	t.Helper()
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn, Release: release, Environment: "staging",
		EnableTracing: true, TracesSampleRate: 1, EnableLogs: true, ServerName: "test-host"})
	if err != nil {
		t.Fatal(err)
	}
	hub := sentry.NewHub(client, sentry.NewScope())
	t.Cleanup(func() { client.Close() })
	return hub, client
}

func flush(t *testing.T, c *sentry.Client) {
	t.Helper()
	if !c.Flush(10 * time.Second) {
		t.Fatal("sentry-go did not deliver within 10 s")
	}
}

var errDBDown = errors.New("database is down")

// raiseBugA reports the same bug from two call sites on different lines.
func raiseBugA(hub *sentry.Hub, site int) {
	if site == 1 {
		hub.CaptureException(errDBDown)
		return
	}
	hub.CaptureException(errDBDown)
}

func raiseBugB(hub *sentry.Hub) {
	_, err := strconv.Atoi("forty-two")
	hub.CaptureException(fmt.Errorf("parse lesson id: %w", err))
}

func panicky(hub *sentry.Hub) {
	defer func() {
		if r := recover(); r != nil {
			hub.Recover(r)
		}
	}()
	fmt.Println(lessonByID(7).Title) // a nil pointer dereference panics
}

type lesson struct{ Title string }

func lessonByID(int) *lesson { return nil }

func withUser(hub *sentry.Hub, id string, f func()) {
	hub.WithScope(func(s *sentry.Scope) {
		s.SetUser(sentry.User{ID: id, Email: id + "@example.com"})
		s.SetTag("course", "bio")
		s.SetContext("lesson", sentry.Context{"id": 7})
		f()
	})
}

func TestSentryGoClient(t *testing.T) {
	e := newEnv(t, envOptions{})
	dsn := e.projectDSN()
	hub, client := sentryHub(t, dsn, "tutor@1.0.0")

	hub.AddBreadcrumb(&sentry.Breadcrumb{Category: "auth", Message: "user signed in"}, nil)
	withUser(hub, "u1", func() { raiseBugA(hub, 1) })
	withUser(hub, "u2", func() { raiseBugA(hub, 2) })
	withUser(hub, "u2", func() { raiseBugB(hub) })
	panicky(hub)
	hub.CaptureMessage("cache miss for lesson 42")
	hub.CaptureMessage("cache miss for lesson 7")

	ctx := sentry.SetHubOnContext(context.Background(), hub)
	tx := sentry.StartTransaction(ctx, "GET /api/lessons/:id", sentry.WithOpName("http.server"))
	child := tx.StartChild("db.query", sentry.WithDescription("SELECT * FROM lessons WHERE id = ?"))
	time.Sleep(5 * time.Millisecond)
	child.Finish()
	tx.Status = sentry.SpanStatusOK
	tx.Finish()
	sentry.NewLogger(ctx).Info().String("lesson", "7").Emit("lesson served")
	flush(t, client)

	groups := e.groups("?sort=count&limit=100")
	if len(groups) != 4 {
		t.Fatalf("%d groups; want 4 (bug A, bug B, the panic, the message): %+v", len(groups), groups)
	}
	byTitle := map[string]groupAnswer{}
	for _, g := range groups {
		byTitle[g.Title] = g
		if g.Status != "unresolved" || g.Fingerprint == "" || g.FirstSeen.IsZero() || g.LastSeen.Before(g.FirstSeen) {
			t.Errorf("group %+v: want unresolved with a fingerprint and first <= last seen", g)
		}
	}
	a, ok := byTitle["*errors.errorString: database is down"]
	if !ok || a.Count != 2 || a.Users != 2 || a.Level != "error" {
		t.Fatalf("bug A = %+v (ok %v); want one group of 2 events by 2 users, level error: %+v", a, ok, groups)
	}
	if groups[0].Count != 2 || groups[len(groups)-1].Count != 1 {
		t.Errorf("sort=count: %+v; want the groups of 2 events first", groups)
	}
	b, ok := byTitle["*fmt.wrapError: parse lesson id: strconv.Atoi: parsing \"forty-two\": invalid syntax"]
	if !ok || b.Count != 1 || b.Users != 1 || b.ID == a.ID {
		t.Errorf("bug B = %+v (ok %v); want a group of its own", b, ok)
	}
	var panicGroup, msgGroup groupAnswer
	for _, g := range groups {
		switch {
		case g.Level == "fatal":
			panicGroup = g
		case g.Title == "cache miss for lesson 42" || g.Title == "cache miss for lesson 7":
			msgGroup = g
		}
	}
	if panicGroup.ID == 0 || panicGroup.Count != 1 {
		t.Errorf("recovered panic: no fatal group of 1 event: %+v", groups)
	}
	if msgGroup.ID == 0 || msgGroup.Count != 2 {
		t.Errorf("messages with different numbers: want one group of 2 events: %+v", groups)
	}

	// The group's latest event, its frames, breadcrumbs, tags and contexts.
	d := e.group(a.ID)
	ev := d.LatestEvent
	if ev == nil || len(ev.Exception) != 1 || ev.Exception[0].Stacktrace == nil || ev.Release != "tutor@1.0.0" {
		t.Fatalf("group A detail = %+v; want its latest event with a stack trace", d)
	}
	frames := ev.Exception[0].Stacktrace.Frames
	last := frames[len(frames)-1]
	if last.Function != "raiseBugA" || last.Lineno == 0 || last.InApp == nil || !*last.InApp || last.Module == "" {
		t.Errorf("last frame = %+v; want raiseBugA, in app, with its line", last)
	}
	if len(ev.Breadcrumbs) == 0 || ev.Breadcrumbs[0].Message != "user signed in" {
		t.Errorf("breadcrumbs = %+v", ev.Breadcrumbs)
	}
	if !hasTag(ev.Tags, "course", "bio") || ev.Contexts["lesson"] == nil || ev.User == nil || ev.User.ID != "u2" || ev.Grouping.Method != "stacktrace" {
		t.Errorf("event tags %+v contexts %v user %+v grouping %+v", ev.Tags, ev.Contexts, ev.User, ev.Grouping)
	}
	if len(d.Releases) != 1 || d.Releases[0] != "tutor@1.0.0" || len(d.Environments) != 1 || d.Environments[0] != "staging" {
		t.Errorf("releases %v environments %v", d.Releases, d.Environments)
	}
	var evs struct {
		Events []struct{ ID, User string }
	}
	if code := e.call("GET", fmt.Sprintf("/api/v1/error-groups/%d/events", a.ID), e.keys[meta.KindRead], nil, nil, &evs); code != 200 || len(evs.Events) != 2 {
		t.Fatalf("group A events = %d %+v; want 2", code, evs)
	}
	for _, path := range []string{"/api/v1/error-groups?limit=1001", fmt.Sprintf("/api/v1/error-groups/%d/events?limit=0", a.ID)} {
		var bad struct {
			Error struct{ Code, Message string }
		}
		if code := e.call("GET", path, e.keys[meta.KindRead], nil, nil, &bad); code != 400 || bad.Error.Code != "bad_limit" || !strings.Contains(bad.Error.Message, "1 to 1000") {
			t.Errorf("GET %s = %d %+v; want 400 bad_limit naming 1 to 1000", path, code, bad)
		}
	}
	var one struct {
		ID      string
		GroupID int64 `json:"groupId"`
	}
	if code := e.call("GET", "/api/v1/events/"+evs.Events[1].ID, e.keys[meta.KindRead], nil, nil, &one); code != 200 || one.GroupID != a.ID {
		t.Errorf("GET event = %d %+v", code, one)
	}

	// Filters.
	if gs := e.groups("?level=fatal"); len(gs) != 1 || gs[0].ID != panicGroup.ID {
		t.Errorf("level=fatal: %+v", gs)
	}
	if gs := e.groups("?environment=staging&release=tutor@1.0.0"); len(gs) != 4 {
		t.Errorf("environment and release filters: %d groups", len(gs))
	}
	if gs := e.groups("?environment=production"); len(gs) != 0 {
		t.Errorf("environment=production: %+v", gs)
	}
	if gs := e.groups("?query=DATABASE"); len(gs) != 1 || gs[0].ID != a.ID {
		t.Errorf("query=DATABASE: %+v", gs)
	}
	if gs := e.groups("?sort=users"); gs[0].Users != 2 {
		t.Errorf("sort=users: %+v", gs)
	}

	// The datasets: every event, the transaction, its span and the log.
	count := func(q string) int {
		t.Helper()
		rows := e.sql(e.keys[meta.KindRead], q)
		n, _ := strconv.Atoi(fmt.Sprint(rows[0]["n"]))
		return n
	}
	if n := count("SELECT count() AS n FROM errors"); n != 6 {
		t.Errorf("errors points = %d; want 6", n)
	}
	if n := count(fmt.Sprintf("SELECT count() AS n FROM errors WHERE group_id = %d AND fingerprint = '%s'", a.ID, a.Fingerprint)); n != 2 {
		t.Errorf("errors points of group A = %d; want 2", n)
	}
	if n := count("SELECT count() AS n FROM transactions WHERE name = 'GET /api/lessons/:id' AND op = 'http.server' AND status = 'ok' AND duration >= 5"); n != 1 {
		t.Errorf("transactions points = %d; want 1 with op, status and a duration", n)
	}
	if n := count("SELECT count() AS n FROM spans WHERE op = 'db.query' AND transaction = 'GET /api/lessons/:id'"); n != 1 {
		t.Errorf("spans points = %d; want 1", n)
	}
	if n := count("SELECT count() AS n FROM logs WHERE message = 'lesson served' AND level = 'info' AND environment = 'staging'"); n != 1 {
		t.Errorf("logs points = %d; want 1", n)
	}

	// Status changes: the admin key only.
	if code := e.call("PATCH", fmt.Sprintf("/api/v1/error-groups/%d", a.ID), e.keys[meta.KindRead], `{"status":"resolved"}`, nil, nil); code != 403 {
		t.Errorf("PATCH with the read key = %d; want 403", code)
	}
	var patched groupAnswer
	if code := e.call("PATCH", fmt.Sprintf("/api/v1/error-groups/%d", a.ID), e.keys[meta.KindAdmin], `{"status":"resolved"}`, nil, &patched); code != 200 || patched.Status != "resolved" {
		t.Fatalf("PATCH resolved = %d %+v", code, patched)
	}
	if gs := e.groups("?status=resolved"); len(gs) != 1 || gs[0].ID != a.ID {
		t.Errorf("status=resolved: %+v", gs)
	}
	// The release it was resolved in does not reopen it (a server not
	// yet upgraded)...
	withUser(hub, "u3", func() { raiseBugA(hub, 1) })
	flush(t, client)
	if g := e.group(a.ID); g.Status != "resolved" || g.Count != 3 {
		t.Errorf("after an event of the resolved release: %+v; want still resolved, 3 events", g)
	}
	// ...a newer release does, and says so.
	hub2, client2 := sentryHub(t, dsn, "tutor@1.1.0")
	withUser(hub2, "u1", func() { raiseBugA(hub2, 2) })
	flush(t, client2)
	g := e.group(a.ID)
	if g.Status != "unresolved" || !g.Regressed || g.RegressedRelease != "tutor@1.1.0" || g.Regressions != 1 || g.Count != 4 || g.ResolvedRelease != "tutor@1.0.0" {
		t.Errorf("after an event of a newer release: %+v; want unresolved, regressed in tutor@1.1.0", g)
	}
	if n := count(fmt.Sprintf("SELECT sum(regressed) AS n FROM errors WHERE group_id = %d", a.ID)); n != 1 {
		t.Errorf("regressed points = %d; want 1", n)
	}
	if code := e.call("PATCH", fmt.Sprintf("/api/v1/error-groups/%d", a.ID), e.keys[meta.KindAdmin], `{"status":"ignored"}`, nil, &patched); code != 200 || patched.Status != "ignored" || patched.Regressed {
		t.Errorf("PATCH ignored = %d %+v", code, patched)
	}
	if code := e.call("PATCH", fmt.Sprintf("/api/v1/error-groups/%d", a.ID), e.keys[meta.KindAdmin], `{"status":"gone"}`, nil, nil); code != 400 {
		t.Errorf("PATCH a bad status = %d; want 400", code)
	}
	if code := e.call("PATCH", "/api/v1/error-groups/99999", e.keys[meta.KindAdmin], `{"status":"resolved"}`, nil, nil); code != 404 {
		t.Errorf("PATCH an unknown group = %d; want 404", code)
	}
}

func hasTag(tags []struct{ Key, Value string }, k, v string) bool {
	for _, t := range tags {
		if t.Key == k && t.Value == v {
			return true
		}
	}
	return false
}
