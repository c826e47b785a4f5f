package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/enrich"
	"github.com/alidade/alidade/internal/enrich/geotest"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/server"
	"github.com/alidade/alidade/internal/server/servertest"
)

const (
	uaFirefox   = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
	uaIPhone    = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
	uaChrome    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	uaGooglebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)

// contractEvents are the example events, one of each type.
const contractEvents = `[
 {"type":"pageview","url":"https://site.example/lessons/7?utm_source=news&utm_medium=email&utm_campaign=fall","referrer":"https://www.google.com/search?q=x"},
 {"type":"event","name":"chat_message","url":"https://site.example/chat","props":{"course":"bio"}},
 {"type":"vital","name":"LCP","value":1830,"rating":"good","delta":1830,"navigationType":"navigate","url":"https://site.example/lessons/7","attribution":"img.hero"},
 {"type":"api_call","endpoint":"GET /api/lessons/:id","url":"https://site.example/lessons/7","duration":84,"status":200},
 {"type":"error","message":"x is undefined","errorType":"TypeError","stack":"TypeError: x is undefined\n    at f (https://site.example/app.js:1:2)","url":"https://site.example/lessons/7"},
 {"type":"action","action":"chat/send","duration":3.2,"url":"https://site.example/chat"},
 {"type":"websocket","kind":"close","channel":"chat","code":1006,"duration":52000}]`

type beaconAnswer struct {
	Accepted int `json:"accepted"`
	Rejected []struct {
		Position int    `json:"position"`
		Error    string `json:"error"`
	} `json:"rejected"`
	Dropped map[string]int `json:"dropped"`
	Error   struct {
		Code, Message string
	} `json:"error"`
}

// post sends a request with a raw body and headers, and returns the status,
// the JSON answer and the answer's headers.
func (e *env) post(method, path, body string, header map[string]string) (int, beaconAnswer, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("User-Agent", uaFirefox)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var a beaconAnswer
	if len(data) > 0 {
		if err := json.Unmarshal(data, &a); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode, a, resp.Header
}

// beaconBody is a body with the key in it.
func beaconBody(key, events string) string {
	return `{"key":"` + key + `","events":` + events + `}`
}

// sql runs an AE SQL query with a read key and returns its rows.
func (e *env) sql(key, q string) []map[string]any {
	e.t.Helper()
	var out struct {
		Data  []map[string]any `json:"data"`
		Error struct{ Message string }
	}
	if code := e.call("POST", "/api/v1/sql", key, q+" FORMAT JSON", nil, &out); code != 200 {
		e.t.Fatalf("SQL %q: %d %s", q, code, out.Error.Message)
	}
	return out.Data
}

// one runs a query that must return one row.
func (e *env) one(q string) map[string]any {
	e.t.Helper()
	rows := e.sql(e.keys[meta.KindRead], q)
	if len(rows) != 1 {
		e.t.Fatalf("SQL %q: %d rows; want 1: %v", q, len(rows), rows)
	}
	return rows[0]
}

func checkRow(t *testing.T, what string, row map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got := row[k]; fmt.Sprint(got) != fmt.Sprint(v) {
			t.Errorf("%s: %s = %#v; want %#v", what, k, got, v)
		}
	}
}

func TestBeaconEventTypes(t *testing.T) {
	e := newEnv(t, envOptions{})
	start := time.Now().UnixMilli()
	code, a, _ := e.post("POST", "/api/v1/events", beaconBody(e.keys[meta.KindPublic], contractEvents),
		map[string]string{"Content-Type": "text/plain;charset=UTF-8", "User-Agent": uaIPhone})
	if code != 202 || a.Accepted != 7 || len(a.Rejected) != 0 || a.Dropped["bot"] != 0 {
		t.Fatalf("POST /api/v1/events = %d %+v; want 202 with 7 accepted", code, a)
	}
	pv := e.one("SELECT page, path, referrer, referrer_host, host, utm_source, utm_medium, utm_campaign, country, device, browser, os, " +
		"visitor, session, entry, visit_page, bounce, since_previous, toUnixTimestamp(timestamp) AS ts FROM pageviews")
	checkRow(t, "pageviews", pv, map[string]any{"page": "/lessons/7", "path": "/lessons/7", "referrer": "https://www.google.com/search",
		"referrer_host": "google.com", "host": "site.example", "utm_source": "news", "utm_medium": "email", "utm_campaign": "fall",
		"country": "", "device": "mobile", "browser": "Safari", "os": "iOS", "entry": 1, "visit_page": 1, "bounce": 1, "since_previous": 0})
	if ts, _ := pv["ts"].(float64); int64(ts) < start/1000 {
		t.Errorf("pageview stamped %v; want the receive time (>= %d)", pv["ts"], start/1000)
	}
	visitor, session := pv["visitor"].(string), pv["session"].(string)
	if len(visitor) != 16 || len(session) != 16 {
		t.Errorf("visitor %q, session %q; want 16 hex digits each", visitor, session)
	}
	same := map[string]any{"visitor": visitor, "session": session, "device": "mobile", "browser": "Safari", "os": "iOS", "host": "site.example"}
	for _, c := range []struct {
		table, cols string
		want        map[string]any
	}{
		{"events", "event_name, name, path, props, value", map[string]any{"event_name": "chat_message", "name": "chat_message", "path": "/chat", "props": `{"course":"bio"}`, "value": 0}},
		{"web_vitals", "metric, name, value, rating, delta, navigation_type, attribution, path",
			map[string]any{"metric": "LCP", "name": "LCP", "value": 1830, "rating": "good", "delta": 1830, "navigation_type": "navigate", "attribution": "img.hero", "path": "/lessons/7"}},
		{"api_calls", "endpoint, url, method, duration, status, success, path",
			map[string]any{"endpoint": "GET /api/lessons/:id", "url": "", "method": "GET", "duration": 84, "status": 200, "success": 1, "path": "/lessons/7"}},
		{"client_errors", "error_type, type, message, stack, count, path, length(fingerprint) AS fp",
			map[string]any{"error_type": "TypeError", "type": "TypeError", "message": "x is undefined", "stack": "TypeError: x is undefined\n    at f (https://site.example/app.js:1:2)",
				"count": 1, "path": "/lessons/7", "fp": "16"}},
		{"ui_actions", "action_type, action, component, duration, path", map[string]any{"action_type": "chat/send", "action": "chat/send", "component": "", "duration": 3.2, "path": "/chat"}},
		{"websocket", "event_kind, event, channel, code, duration, side", map[string]any{"event_kind": "close", "event": "close", "channel": "chat", "code": 1006, "duration": 52000, "side": "browser"}},
	} {
		row := e.one("SELECT " + c.cols + ", visitor, session, device, browser, os, host FROM " + c.table)
		checkRow(t, c.table, row, c.want)
		if c.table == "websocket" {
			checkRow(t, c.table, row, map[string]any{"visitor": visitor, "session": session, "device": "mobile", "host": ""})
			continue
		}
		checkRow(t, c.table, row, same)
	}

	// The structured query API reads them too (from rollups: device is a dimension).
	code, q := e.query(e.keys[meta.KindRead], `{"dataset":"pageviews","range":"1h","groupBy":["device","browser"],"aggregations":{"views":{"type":"count"},"visits":{"type":"sum","field":"entry"}}}`)
	if code != 200 || len(q.Rows) != 1 || q.Rows[0]["device"] != "mobile" || q.Rows[0]["views"] != 1.0 || q.Rows[0]["visits"] != 1.0 {
		t.Errorf("query = %d %+v", code, q)
	}
}

func TestBeaconZarazEvents(t *testing.T) {
	e := newEnv(t, envOptions{})
	// What the seed's AnalyticsService sends through zaraz.track, as an
	// event by name (a client without the SDK's mapping).
	events := `[{"type":"event","name":"page_view","url":"https://site.example/app","props":{"path":"/lessons/7","timestamp":"2026-12-05T10:00:00.000Z","user_id":"u-42","session_id":"s-1"}},
	 {"type":"event","name":"api_call","url":"https://site.example/app","props":{"endpoint":"/api/chat","duration_ms":412,"status_code":503,"success":false,"timestamp":"2026-12-05T10:00:01.000Z","user_id":"u-42","session_id":"s-1"}},
	 {"type":"event","name":"assessment_submitted","url":"https://site.example/app","props":{"score":7,"user_id":"u-42"},"user":"5d41402abc4b2a76b9719d911017c592"}]`
	if code, a, _ := e.post("POST", "/api/v1/events", beaconBody(e.keys[meta.KindPublic], events), nil); code != 202 || a.Accepted != 3 {
		t.Fatalf("POST = %d %+v", code, a)
	}
	checkRow(t, "pageviews", e.one("SELECT page, path FROM pageviews"), map[string]any{"page": "/lessons/7", "path": "/lessons/7"})
	checkRow(t, "api_calls", e.one("SELECT endpoint, duration, status, success FROM api_calls"),
		map[string]any{"endpoint": "/api/chat", "duration": 412, "status": 503, "success": 0})
	checkRow(t, "events", e.one("SELECT event_name, props, user FROM events"),
		map[string]any{"event_name": "assessment_submitted", "props": `{"score":7,"user_id":"u-42"}`, "user": "5d41402abc4b2a76b9719d911017c592"})
}

func TestBeaconRejectedKept(t *testing.T) {
	e := newEnv(t, envOptions{})
	events := `[{"type":"pageview","url":"https://site.example/"},
	 {"type":"click","url":"/"},
	 {"type":"event","name":"signup","url":"https://site.example/join"},
	 {"type":"event","name":"` + strings.Repeat("n", 100) + `"},
	 {"type":"api_call","endpoint":"/api/x","duration":"slow"},
	 {"type":"vital","name":"INP","value":120,"rating":"good"},
	 "not an event"]`
	code, a, _ := e.post("POST", "/api/v1/events", beaconBody(e.keys[meta.KindPublic], events), map[string]string{"Content-Type": "application/json"})
	if code != 202 || a.Accepted != 3 || len(a.Rejected) != 4 {
		t.Fatalf("POST = %d %+v; want 202, 3 accepted and 4 rejected", code, a)
	}
	for i, w := range []struct {
		pos  int
		want string
	}{{1, `unknown type "click"`}, {3, "name is 100 bytes; the limit is 96 bytes"}, {4, "field duration must be a number"}, {6, "an event is a JSON object"}} {
		if r := a.Rejected[i]; r.Position != w.pos || !strings.Contains(r.Error, w.want) {
			t.Errorf("rejected[%d] = %+v; want position %d with %q", i, r, w.pos, w.want)
		}
	}
	for table, want := range map[string]string{"pageviews": "1", "events": "1", "web_vitals": "1", "api_calls": "0"} {
		if got := e.one("SELECT count() AS n FROM " + table)["n"]; got != want {
			t.Errorf("%s holds %v points; want %s", table, got, want)
		}
	}
	// Nothing valid: 400 with the same report.
	code, a, _ = e.post("POST", "/api/v1/events", beaconBody(e.keys[meta.KindPublic], `[{"type":"x"},{}]`), nil)
	if code != 400 || a.Error.Code != "no_valid_events" || len(a.Rejected) != 2 || !strings.Contains(a.Error.Message, "position 0") {
		t.Errorf("all bad = %d %+v", code, a)
	}
}

func TestBeaconLimits(t *testing.T) {
	e := newEnv(t, envOptions{})
	pub := e.keys[meta.KindPublic]
	many := "[" + strings.TrimSuffix(strings.Repeat(`{"type":"pageview","url":"/"},`, 501), ",") + "]"
	code, a, _ := e.post("POST", "/api/v1/events", beaconBody(pub, many), nil)
	if code != 400 || a.Error.Code != "too_many_events" || !strings.Contains(a.Error.Message, "the limit is 500 events per request") {
		t.Errorf("501 events = %d %+v", code, a)
	}
	big := beaconBody(pub, `[{"type":"event","name":"x","props":{"a":"`+strings.Repeat("x", 1<<20)+`"}}]`)
	code, a, _ = e.post("POST", "/api/v1/events", big, nil)
	if code != 413 || a.Error.Code != "body_too_large" || !strings.Contains(a.Error.Message, "1 MB") {
		t.Errorf("a body over 1 MB = %d %+v", code, a)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(beaconBody(pub, `[{"type":"pageview","url":"/gz"}]`)))
	zw.Close()
	code, a, _ = e.post("POST", "/api/v1/events", gz.String(), map[string]string{"Content-Encoding": "gzip"})
	if code != 202 || a.Accepted != 1 {
		t.Errorf("gzipped = %d %+v", code, a)
	}
	for _, c := range []struct {
		body, ct  string
		code      int
		errCode   string
		inMessage string
	}{
		{beaconBody(pub, `[]`), "", 400, "no_events", "empty"},
		{`{"key":"` + pub + `","events":[`, "", 400, "bad_body", "ends early"},
		{`{"key":"` + pub + `"}`, "", 400, "bad_body", `no "events" array`},
		{beaconBody(pub, `[{"type":"pageview","url":"/"}]`), "multipart/form-data; boundary=x", 415, "unsupported_media_type", "text/plain"},
		{`nonsense`, "", 400, "bad_body", "invalid JSON"},
	} {
		code, a, _ := e.post("POST", "/api/v1/events", c.body, map[string]string{"Content-Type": c.ct})
		if code != c.code || a.Error.Code != c.errCode || !strings.Contains(a.Error.Message, c.inMessage) {
			t.Errorf("body %.40q: %d %+v; want %d %s with %q", c.body, code, a.Error, c.code, c.errCode, c.inMessage)
		}
	}
	// A stack over its limit is cut, not refused.
	stack, _ := json.Marshal(strings.Repeat("    at f (https://site.example/app.js:1:2)\n", 500))
	code, a, _ = e.post("POST", "/api/v1/events", beaconBody(pub, `[{"type":"error","message":"m","stack":`+string(stack)+`}]`), nil)
	if code != 202 || a.Accepted != 1 {
		t.Fatalf("long stack = %d %+v", code, a)
	}
	if n, _ := strconv.Atoi(fmt.Sprint(e.one("SELECT length(stack) AS n FROM client_errors")["n"])); n < 8000 || n > 8192 {
		t.Errorf("stored stack is %d characters; want it cut to at most 8192 bytes", n)
	}
}

func TestBeaconKeys(t *testing.T) {
	e := newEnv(t, envOptions{})
	ev := `[{"type":"pageview","url":"https://site.example/"}]`
	for _, c := range []struct {
		name      string
		header    string // Authorization key
		bodyKey   string
		code      int
		errSubstr string
	}{
		{"public key in the body", "", e.keys[meta.KindPublic], 202, ""},
		{"public key in the header", e.keys[meta.KindPublic], "", 202, ""},
		{"the same key in both", e.keys[meta.KindPublic], e.keys[meta.KindPublic], 202, ""},
		{"write key", e.keys[meta.KindWrite], "", 202, ""},
		{"admin key", "", e.keys[meta.KindAdmin], 202, ""},
		{"two different keys", e.keys[meta.KindPublic], e.keys[meta.KindWrite], 400, "different keys"},
		{"no key", "", "", 401, "missing key"},
		{"unknown key", "", "ald_public_nope", 401, "unknown or revoked"},
		{"read key", e.keys[meta.KindRead], "", 403, "a read key cannot; use a public or write or admin key"},
		{"root key", "", rootKey, 403, "root key"},
	} {
		body := `{"events":` + ev + `}`
		if c.bodyKey != "" {
			body = beaconBody(c.bodyKey, ev)
		}
		h := map[string]string{}
		if c.header != "" {
			h["Authorization"] = "Bearer " + c.header
		}
		code, a, _ := e.post("POST", "/api/v1/events", body, h)
		if code != c.code || c.errSubstr != "" && !strings.Contains(a.Error.Message, c.errSubstr) {
			t.Errorf("%s: %d %+v; want %d with %q", c.name, code, a, c.code, c.errSubstr)
		}
	}
	if n := e.one("SELECT count() AS n FROM pageviews")["n"]; n != "5" {
		t.Errorf("project 1 holds %v page views; want 5", n)
	}
	// Another project's public key writes to that project only.
	var p struct {
		ID   int64
		Keys map[string]string
	}
	if code := e.call("POST", "/api/v1/projects", rootKey, map[string]string{"name": "web"}, nil, &p); code != 201 {
		t.Fatalf("create project = %d", code)
	}
	if code, a, _ := e.post("POST", "/api/v1/events", beaconBody(p.Keys["public"], `[{"type":"pageview","url":"/other"},{"type":"pageview","url":"/other"}]`), nil); code != 202 || a.Accepted != 2 {
		t.Fatalf("other project = %d %+v", code, a)
	}
	if rows := e.sql(p.Keys["read"], "SELECT page, count() AS n FROM pageviews GROUP BY page"); len(rows) != 1 || rows[0]["page"] != "/other" || rows[0]["n"] != "2" {
		t.Errorf("project %d sees %v", p.ID, rows)
	}
	if n := e.one("SELECT count() AS n FROM pageviews")["n"]; n != "5" {
		t.Errorf("project 1 holds %v page views after project %d's writes; want 5", n, p.ID)
	}
}

func TestBeaconOrigins(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.keys[meta.KindAdmin]
	type project struct {
		ID             int64
		Name           string
		AllowedOrigins []string
		Error          struct{ Code, Message string }
	}
	var p project
	if code := e.call("GET", "/api/v1/projects/1", admin, nil, nil, &p); code != 200 || p.Name != "default" || p.AllowedOrigins == nil || len(p.AllowedOrigins) != 0 {
		t.Fatalf("GET project = %d %+v; want no origins ([])", code, p)
	}
	send := func(origin string) (int, beaconAnswer, http.Header) {
		t.Helper()
		h := map[string]string{"Content-Type": "text/plain"}
		if origin != "" {
			h["Origin"] = origin
		}
		return e.post("POST", "/api/v1/events", beaconBody(e.keys[meta.KindPublic], `[{"type":"pageview","url":"https://app.example.com/"}]`), h)
	}
	// None set: any origin, and it may read the answer.
	if code, _, h := send("https://anything.example"); code != 202 || h.Get("Access-Control-Allow-Origin") != "https://anything.example" || !slices.Contains(h.Values("Vary"), "Origin") {
		t.Errorf("no origins set: %d, Access-Control-Allow-Origin %q, Vary %q", code, h.Get("Access-Control-Allow-Origin"), h.Values("Vary"))
	}

	// Bad lists are refused with the origin named, and change nothing.
	for body, want := range map[string]string{
		`{"allowedOrigins":["https://app.example.com/login"]}`:        `allowedOrigins[0]: origin "https://app.example.com/login" has a path`,
		`{"allowedOrigins":["https://ok.example","app.example.com"]}`: `allowedOrigins[1]: origin "app.example.com" is not scheme://host[:port]`,
		`{"allowedOrigins":"https://app.example.com"}`:                "must be an array",
		`{"allowed":["https://app.example.com"]}`:                     "unknown field",
		`{}`: "nothing to change",
	} {
		if code := e.call("PATCH", "/api/v1/projects/1", admin, body, nil, &p); code != 400 || !strings.Contains(p.Error.Message, want) {
			t.Errorf("PATCH %s = %d %q; want 400 with %q", body, code, p.Error.Message, want)
		}
	}
	// Only the project's admin key, or the root key, may set them.
	other := struct{ Keys map[string]string }{}
	e.call("POST", "/api/v1/projects", rootKey, map[string]string{"name": "other"}, nil, &other)
	for key, want := range map[string]int{e.keys[meta.KindPublic]: 403, e.keys[meta.KindRead]: 403, other.Keys["admin"]: 403, "": 401} {
		if code := e.call("PATCH", "/api/v1/projects/1", key, `{"allowedOrigins":[]}`, nil, nil); code != want {
			t.Errorf("PATCH with a %.12s… key = %d; want %d", key, code, want)
		}
	}
	if code := e.call("GET", "/api/v1/projects/99", rootKey, nil, nil, &p); code != 404 {
		t.Errorf("GET /api/v1/projects/99 = %d; want 404", code)
	}

	code := e.call("PATCH", "/api/v1/projects/1", admin, `{"allowedOrigins":["HTTPS://App.Example.com:443","http://localhost:3000"]}`, nil, &p)
	if want := []string{"http://localhost:3000", "https://app.example.com"}; code != 200 || !slices.Equal(p.AllowedOrigins, want) {
		t.Fatalf("PATCH = %d %+v; want %v", code, p, want)
	}
	if e.call("GET", "/api/v1/projects/1", rootKey, nil, nil, &p); !slices.Equal(p.AllowedOrigins, []string{"http://localhost:3000", "https://app.example.com"}) {
		t.Errorf("GET after PATCH shows %v", p.AllowedOrigins)
	}
	var list struct{ Projects []project }
	if e.call("GET", "/api/v1/projects", rootKey, nil, nil, &list); len(list.Projects) != 2 || len(list.Projects[0].AllowedOrigins) != 2 {
		t.Errorf("GET /api/v1/projects = %+v", list)
	}

	if code, a, h := send("https://app.example.com"); code != 202 || a.Accepted != 1 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("allowed origin: %d %+v %q", code, a, h.Get("Access-Control-Allow-Origin"))
	}
	code, a, h := send("https://evil.example")
	if code != 403 || a.Error.Code != "origin_not_allowed" || !strings.Contains(a.Error.Message, `origin "https://evil.example" is not among the allowed origins of project 1`) ||
		h.Get("Access-Control-Allow-Origin") != "https://evil.example" {
		t.Errorf("another origin: %d %+v, Access-Control-Allow-Origin %q; want 403 origin_not_allowed, readable by the page (so that it does not retry)", code, a, h.Get("Access-Control-Allow-Origin"))
	}
	if code, _, _ := send(""); code != 202 {
		t.Errorf("no Origin (not a browser): %d; want 202", code)
	}
	if n := e.one("SELECT count() AS n FROM pageviews")["n"]; n != "3" {
		t.Errorf("%v page views stored; want 3 (the refused origin's not among them)", n)
	}

	// The preflight approves the request's shape; the POST is what is checked.
	code, _, h = e.post("OPTIONS", "/api/v1/events", "", map[string]string{"Origin": "https://app.example.com",
		"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,authorization"})
	if code != 204 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") ||
		h.Get("Access-Control-Max-Age") == "" {
		t.Errorf("preflight: %d %v", code, h)
	}

	// Cleared: any origin again.
	if code := e.call("PATCH", "/api/v1/projects/1", rootKey, `{"allowedOrigins":null}`, nil, &p); code != 200 || len(p.AllowedOrigins) != 0 {
		t.Errorf("clear = %d %+v", code, p)
	}
	if code, _, _ := send("https://evil.example"); code != 202 {
		t.Errorf("after clearing: %d; want 202", code)
	}
}

func TestBeaconBots(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, ua := range []string{uaGooglebot, "curl/8.5.0", ""} {
		code, a, _ := e.post("POST", "/api/v1/events", beaconBody(e.keys[meta.KindPublic], `[{"type":"pageview","url":"/"},{"type":"vital","name":"CLS","value":0.1},{"type":"nope"}]`),
			map[string]string{"User-Agent": ua})
		if code != 202 || a.Accepted != 0 || a.Dropped["bot"] != 2 || len(a.Rejected) != 1 {
			t.Errorf("User-Agent %q: %d %+v; want 202 with 2 dropped as a bot's and 1 rejected", ua, code, a)
		}
	}
	for _, table := range []string{"pageviews", "web_vitals"} {
		if n := e.one("SELECT count() AS n FROM " + table)["n"]; n != "0" {
			t.Errorf("%s holds %v points from bots", table, n)
		}
	}
	e.post("POST", "/api/v1/events", beaconBody(e.keys[meta.KindPublic], `[{"type":"pageview","url":"/"}]`), nil)
	resp, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`alidade_beacon_events_total{result="bot"} 6`, `alidade_beacon_events_total{result="accepted"} 1`, `alidade_beacon_events_total{result="rejected"} 3`} {
		if !strings.Contains(string(text), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// fakeClock is a settable clock for the server's beacon.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func TestBeaconVisitorsAcrossDays(t *testing.T) {
	// Yesterday's midnight (UTC) and the day before it: in the past, within the retention.
	midnight := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	clk := &fakeClock{t: midnight.Add(-12 * time.Hour)}
	e := newEnv(t, envOptions{server: func(o *server.Options) { o.Clock = clk.now }})
	pub := e.keys[meta.KindPublic]
	view := func(at time.Time, path, ua, ip string) {
		t.Helper()
		clk.set(at)
		h := map[string]string{"User-Agent": ua}
		if ip != "" {
			h["X-Forwarded-For"] = ip // ignored: --trust-proxy is off
		}
		if code, a, _ := e.post("POST", "/api/v1/events", beaconBody(pub, `[{"type":"pageview","url":"https://site.example`+path+`"}]`), h); code != 202 || a.Accepted != 1 {
			t.Fatalf("POST at %v = %d %+v", at, code, a)
		}
	}
	salts := func() []string {
		t.Helper()
		v, err := e.store.Setting(context.Background(), enrich.SaltSetting)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			t.Fatalf("stored salts %q: %v", v, err)
		}
		var days []string
		for d := range m {
			days = append(days, d)
		}
		slices.Sort(days)
		return days
	}
	day0, day1 := midnight.AddDate(0, 0, -1).Format(time.DateOnly), midnight.Format(time.DateOnly)

	view(midnight.Add(-12*time.Hour), "/a", uaFirefox, "")
	view(midnight.Add(-11*time.Hour), "/b", uaFirefox, "203.0.113.9") // same visitor, new visit
	view(midnight.Add(-11*time.Hour), "/c", uaChrome, "")             // another visitor
	view(midnight.Add(-10*time.Minute), "/d", uaFirefox, "")          // a visit across midnight
	if got := salts(); !slices.Equal(got, []string{day0}) {
		t.Errorf("salts before midnight: %v; want [%s]", got, day0)
	}
	view(midnight.Add(10*time.Minute), "/e", uaFirefox, "")
	if got := salts(); !slices.Equal(got, []string{day0, day1}) {
		t.Errorf("salts at 00:10: %v; want [%s %s]", got, day0, day1)
	}
	view(midnight.Add(40*time.Minute), "/f", uaChrome, "")
	if got := salts(); !slices.Equal(got, []string{day1}) {
		t.Errorf("salts at 00:40: %v; want only [%s] (yesterday's is deleted)", got, day1)
	}
	view(midnight.Add(12*time.Hour), "/g", uaFirefox, "")

	rows := e.sql(e.keys[meta.KindRead], "SELECT page, visitor, session, entry, visit_page, bounce, since_previous FROM pageviews ORDER BY timestamp, page")
	if len(rows) != 7 {
		t.Fatalf("%d page views; want 7", len(rows))
	}
	by := map[string]map[string]any{}
	for _, r := range rows {
		by[r["page"].(string)] = r
	}
	v := func(page, col string) any { return by[page][col] }
	if v("/a", "visitor") != v("/b", "visitor") {
		t.Error("one client has two visitor ids within a day")
	}
	if v("/a", "session") == v("/b", "session") || v("/b", "entry") != 1.0 {
		t.Error("a page view 60 minutes later is not a new visit")
	}
	if v("/c", "visitor") == v("/a", "visitor") {
		t.Error("two clients share a visitor id")
	}
	if v("/d", "visitor") != v("/e", "visitor") || v("/d", "session") != v("/e", "session") || v("/e", "visit_page") != 2.0 || v("/e", "since_previous") != 1_200_000.0 || v("/e", "bounce") != -1.0 {
		t.Errorf("the visit across midnight: /d %v, /e %v", by["/d"], by["/e"])
	}
	if v("/g", "visitor") == v("/a", "visitor") {
		t.Error("the same client has the same visitor id on two days")
	}
	if v("/f", "visitor") == v("/c", "visitor") {
		t.Error("the other client has the same visitor id on two days")
	}
	// Visits and bounces from sums: /a, /b, /c, /d+/e, /f, /g are six visits, five of one page.
	r := e.one("SELECT sum(entry) AS visits, sum(bounce) AS bounces, uniq(visitor) AS visitors FROM pageviews")
	checkRow(t, "totals", r, map[string]any{"visits": 6, "bounces": 5, "visitors": "4"})
}

func TestBeaconNoIPStored(t *testing.T) {
	const ip = "203.0.113.77"
	dir := t.TempDir()
	geo := geotest.Write(t, map[string]string{"203.0.113.0/24": "NZ"})
	se := servertest.Start(t, servertest.Options{RootKey: rootKey, Dir: dir, Server: func(o *server.Options) {
		o.TrustProxy, o.GeoIP = true, geo
	}})
	e := &env{t: t, url: se.URL, keys: se.Keys, store: se.Store, srv: se.Server, pipe: se.Pipeline}
	events := strings.ReplaceAll(contractEvents, `"url":"https://site.example/lessons/7"`, `"url":"https://site.example/lessons/7?ip=`+ip+`"`)
	if code, a, _ := e.post("POST", "/api/v1/events", beaconBody(e.keys[meta.KindPublic], events),
		map[string]string{"X-Forwarded-For": ip + ", 10.0.0.1", "User-Agent": uaChrome}); code != 202 || a.Accepted != 7 {
		t.Fatalf("POST = %d %+v", code, a)
	}
	checkRow(t, "pageviews", e.one("SELECT country, browser FROM pageviews"), map[string]any{"country": "NZ", "browser": "Chrome"})
	// A trusted proxy's country header wins over the database.
	e.post("POST", "/api/v1/events", beaconBody(e.keys[meta.KindPublic], `[{"type":"event","name":"x"}]`),
		map[string]string{"X-Forwarded-For": ip, "CF-IPCountry": "jp"})
	checkRow(t, "events", e.one("SELECT country FROM events WHERE event_name = 'x'"), map[string]any{"country": "JP"})

	// Neither the address nor the User-Agent is in any stored field.
	for ds := range strings.FieldsSeq("pageviews events web_vitals api_calls client_errors ui_actions websocket") {
		for _, row := range e.sql(e.keys[meta.KindRead], "SELECT * FROM "+ds) {
			for col, v := range row {
				if s := fmt.Sprint(v); strings.Contains(s, ip) || strings.Contains(s, "Windows NT") {
					t.Errorf("%s.%s holds %q", ds, col, s)
				}
			}
		}
	}
	// Nor in any file of the data directory, once written out.
	if err := se.Server.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := se.Pipeline.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte(ip)) || bytes.Contains(data, []byte("Windows NT 10.0")) {
			t.Errorf("%s holds the client's address or User-Agent", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBeaconProxyHeadersNeedTrust(t *testing.T) {
	e := newEnv(t, envOptions{})
	send := func(ip, country string) {
		t.Helper()
		if code, _, _ := e.post("POST", "/api/v1/events", beaconBody(e.keys[meta.KindPublic], `[{"type":"pageview","url":"/"}]`),
			map[string]string{"X-Forwarded-For": ip, "CF-IPCountry": country}); code != 202 {
			t.Fatalf("POST = %d", code)
		}
	}
	send("198.51.100.1", "FR")
	send("198.51.100.2", "DE")
	r := e.one("SELECT uniq(visitor) AS visitors, max(country) AS country FROM pageviews")
	checkRow(t, "without --trust-proxy", r, map[string]any{"visitors": "1", "country": ""})
}

func TestBeaconWebSocketNotInPlatformMetrics(t *testing.T) {
	e := newEnv(t, envOptions{})
	events := `[{"type":"websocket","kind":"connect","channel":"chat"},{"type":"websocket","kind":"error","channel":"chat"},{"type":"websocket","kind":"close","code":1006,"duration":5000}]`
	if code, _, _ := e.post("POST", "/api/v1/events", beaconBody(e.keys[meta.KindPublic], events), nil); code != 202 {
		t.Fatalf("POST = %d", code)
	}
	if code := e.call("POST", "/api/v1/datasets/websocket/points", e.keys[meta.KindWrite], `{"index":"open","fields":{"event":"open","channel":"chat"}}`, nil, nil); code != 200 {
		t.Fatalf("server-side point = %d", code)
	}
	for _, source := range []string{"raw", "auto"} {
		var m struct {
			WebSocket struct {
				Opens, Closes, Errors, OpenConnections float64
			} `json:"websocket"`
		}
		if code := e.call("GET", "/api/v1/metrics?range=1h&source="+source, e.keys[meta.KindRead], nil, nil, &m); code != 200 {
			t.Fatalf("metrics = %d", code)
		}
		if w := m.WebSocket; w.Opens != 1 || w.Closes != 0 || w.Errors != 0 || w.OpenConnections != 1 {
			t.Errorf("source=%s: websocket = %+v; want the server's one open only", source, w)
		}
	}
}
