package server_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
)

// A Chrome error as window.onerror sees it.
const chromeStack = "TypeError: Cannot read properties of undefined (reading 'name')\n" +
	"    at renderLesson (https://site.example/assets/index-3f2a9c1b.js:12:3456)\n" +
	"    at HTMLButtonElement.<anonymous> (https://site.example/assets/index-3f2a9c1b.js:40:17)\n" +
	"    at https://cdn.example.net/npm/lib@1.2.3/lib.min.js:9:100"

func beaconError(typ, msg, stack string) string {
	ev, _ := json.Marshal(map[string]any{"type": "error", "errorType": typ, "message": msg, "stack": stack,
		"url": "https://site.example/lessons/7", "user": "5f1c0ad2e3b4a6c8d9e0f1a2b3c4d5e6"})
	return string(ev)
}

func TestBeaconErrorsTracked(t *testing.T) {
	e := newEnv(t, envOptions{})
	P := e.keys[meta.KindPublic]
	send := func(events ...string) {
		t.Helper()
		body := "["
		for i, ev := range events {
			if i > 0 {
				body += ","
			}
			body += ev
		}
		code, a, _ := e.post("POST", "/api/v1/events", beaconBody(P, body+"]"), map[string]string{"User-Agent": uaChrome})
		if code != 202 || a.Accepted != len(events) {
			t.Fatalf("beacon: %d %+v", code, a)
		}
	}
	send(beaconError("TypeError", "Cannot read properties of undefined (reading 'name')", chromeStack),
		`{"type":"pageview","url":"https://site.example/lessons/7"}`)

	gs := e.groups("")
	if len(gs) != 1 {
		t.Fatalf("groups = %+v; want 1", gs)
	}
	g := e.group(gs[0].ID)
	if g.Title != "TypeError: Cannot read properties of undefined (reading 'name')" || g.Count != 1 || g.Users != 1 || g.Level != "error" {
		t.Fatalf("group = %+v", g)
	}
	if g.LatestEvent == nil || len(g.LatestEvent.Exception) != 1 || g.LatestEvent.Exception[0].Stacktrace == nil {
		t.Fatalf("latest event = %+v", g.LatestEvent)
	}
	frames := g.LatestEvent.Exception[0].Stacktrace.Frames // oldest first
	type fr struct {
		fn    string
		line  int
		inApp bool
	}
	want := []fr{{"", 9, false}, {"HTMLButtonElement.<anonymous>", 40, true}, {"renderLesson", 12, true}}
	if len(frames) != len(want) {
		t.Fatalf("frames = %+v", frames)
	}
	for i, w := range want {
		f := frames[i]
		if f.Function != w.fn || f.Lineno != w.line || f.InApp == nil || *f.InApp != w.inApp {
			t.Errorf("frame %d = %+v; want %+v", i, f, w)
		}
	}
	if g.LatestEvent.User == nil || g.LatestEvent.User.ID != "5f1c0ad2e3b4a6c8d9e0f1a2b3c4d5e6" || g.LatestEvent.Grouping.Method != "stacktrace" {
		t.Errorf("latest event user %+v, grouping %+v", g.LatestEvent.User, g.LatestEvent.Grouping)
	}
	if b, _ := g.LatestEvent.Contexts["browser"].(map[string]any); b == nil || b["name"] != "Chrome" {
		t.Errorf("contexts = %v; want the browser from the User-Agent", g.LatestEvent.Contexts)
	}

	// The same bug from another line: the same group. Another bug: another.
	send(beaconError("TypeError", "Cannot read properties of undefined (reading 'name')",
		"TypeError: Cannot read properties of undefined (reading 'name')\n    at renderLesson (https://site.example/assets/index-3f2a9c1b.js:13:99)\n"+
			"    at HTMLButtonElement.<anonymous> (https://site.example/assets/index-3f2a9c1b.js:40:17)\n    at https://cdn.example.net/npm/lib@1.2.3/lib.min.js:9:100"))
	send(beaconError("ReferenceError", "x is not defined",
		"x@https://site.example/assets/index-3f2a9c1b.js:7:1\n@https://site.example/assets/index-3f2a9c1b.js:50:3\n"))
	gs = e.groups("?sort=count")
	if len(gs) != 2 || gs[0].ID != g.ID || gs[0].Count != 2 || gs[1].Count != 1 || gs[1].Title != "ReferenceError: x is not defined" {
		t.Fatalf("groups = %+v; want the TypeError twice and the ReferenceError once", gs)
	}

	// client_errors is the beacon's alone (not written twice), with the
	// group's fingerprint; errors has one point an event, naming its group.
	count := func(q string) string { return fmt.Sprint(e.one(q)["n"]) }
	if n := count("SELECT count() AS n FROM client_errors"); n != "3" {
		t.Errorf("client_errors points = %s; want 3", n)
	}
	if n := count(fmt.Sprintf("SELECT count() AS n FROM client_errors WHERE fingerprint = '%s' AND browser != ''", g.Fingerprint)); n != "2" {
		t.Errorf("client_errors points of the group = %s; want 2", n)
	}
	if n := count(fmt.Sprintf("SELECT count() AS n FROM errors WHERE group_id = %d AND platform = 'javascript' AND type = 'TypeError'", g.ID)); n != "2" {
		t.Errorf("errors points of the group = %s; want 2", n)
	}
	if n := count("SELECT count() AS n FROM errors"); n != "3" {
		t.Errorf("errors points = %s; want 3", n)
	}

	// @sentry/browser's event of the same error joins the group.
	sentryEvent := fmt.Sprintf(`{"event_id":%q,"timestamp":%.3f,"platform":"javascript","level":"error",
	 "exception":{"values":[{"type":"TypeError","value":"Cannot read properties of undefined (reading 'name')","mechanism":{"type":"onerror","handled":false},
	   "stacktrace":{"frames":[{"filename":"https://cdn.example.net/npm/lib@1.2.3/lib.min.js","function":"?","lineno":9,"colno":100,"in_app":false},
	     {"filename":"https://site.example/assets/index-3f2a9c1b.js","function":"HTMLButtonElement.<anonymous>","lineno":40,"colno":17,"in_app":true},
	     {"filename":"https://site.example/assets/index-3f2a9c1b.js","function":"renderLesson","lineno":12,"colno":3456,"in_app":true}]}}]},
	 "request":{"url":"https://site.example/lessons/7"},"sdk":{"name":"sentry.javascript.browser","version":"9.1.0"}}`,
		eventID(900), float64(time.Now().UnixMilli())/1000)
	code, a, _ := e.sentryPost("/api/1/envelope/?sentry_key="+P, envelope(`{}`, false, [2]string{"event", sentryEvent}), nil)
	if code != 200 {
		t.Fatalf("sentry envelope: %d %+v", code, a)
	}
	if g2 := e.group(g.ID); g2.Count != 3 {
		t.Errorf("group after the Sentry event: count %d; want 3", g2.Count)
	}
}

func TestBeaconErrorsRateLimited(t *testing.T) {
	e := newEnv(t, envOptions{})
	P := e.keys[meta.KindPublic]
	if code := e.call("PATCH", "/api/v1/projects/1", rootKey, map[string]any{"errorRateLimit": map[string]any{"events": 1, "window": "1h"}}, nil, nil); code != 200 {
		t.Fatalf("PATCH errorRateLimit = %d", code)
	}
	for i := range 3 {
		// Each error counts, also several of one request.
		evs := "[" + beaconError("Error", fmt.Sprintf("boom %d", i), "") + "," + beaconError("Error", fmt.Sprintf("bang %d", i), "") + "]"
		code, a, _ := e.post("POST", "/api/v1/events", beaconBody(P, evs), nil)
		if code != 202 || a.Accepted != 2 {
			t.Fatalf("beacon %d: %d %+v; want 202 (the beacon's points are kept over the limit)", i, code, a)
		}
	}
	if gs := e.groups(""); len(gs) != 1 || gs[0].Count != 1 || gs[0].Title != "Error: boom 0" {
		t.Fatalf("groups = %+v; want one event tracked (the limit)", gs)
	}
	if n := fmt.Sprint(e.one("SELECT count() AS n FROM client_errors")["n"]); n != "6" {
		t.Errorf("client_errors points = %s; want 6", n)
	}
}
