package server_test

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/server"
)

// sentryAnswer is the answer of a Sentry endpoint.
type sentryAnswer struct {
	ID     string `json:"id"`
	Detail string `json:"detail"`
	Error  struct{ Code, Message string }
}

// sentryPost posts a body to a Sentry endpoint with headers, returning the
// status, the answer and its headers.
func (e *env) sentryPost(path string, body []byte, header map[string]string) (int, sentryAnswer, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.url+path, bytes.NewReader(body))
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
	var a sentryAnswer
	if len(data) > 0 {
		if err := json.Unmarshal(data, &a); err != nil {
			e.t.Fatalf("POST %s: decode %q: %v", path, data, err)
		}
	}
	return resp.StatusCode, a, resp.Header
}

func eventID(n int) string { return fmt.Sprintf("%032x", 0xabc000+n) }

// envelope builds an envelope of items (type, payload); items get a length
// header when withLength.
func envelope(header string, withLength bool, items ...[2]string) []byte {
	var b bytes.Buffer
	b.WriteString(header + "\n")
	for _, it := range items {
		payload := it[1]
		if withLength {
			fmt.Fprintf(&b, `{"type":%q,"length":%d}`+"\n", it[0], len(payload))
		} else {
			// Without a length the payload is one line.
			var c bytes.Buffer
			if json.Compact(&c, []byte(payload)) == nil {
				payload = c.String()
			}
			fmt.Fprintf(&b, `{"type":%q}`+"\n", it[0])
		}
		b.WriteString(payload + "\n")
	}
	return b.Bytes()
}

func jsEvent(id int, msg string) string {
	return fmt.Sprintf(`{"event_id":%q,"timestamp":%.3f,"platform":"javascript","level":"error",
	 "exception":{"values":[{"type":"TypeError","value":%q,"mechanism":{"type":"onerror","handled":false},
	   "stacktrace":{"frames":[{"filename":"https://app.example.com/static/app.3f9a8c21.js?v=2","function":"render","lineno":10,"colno":5,"in_app":true},
	     {"filename":"https://app.example.com/static/app.3f9a8c21.js","function":"onClick","lineno":%d,"colno":17,"in_app":true}]}}]},
	 "breadcrumbs":{"values":[{"timestamp":"2026-12-01T10:00:00Z","category":"ui.click","message":"button#send"}]},
	 "tags":[["browser","Firefox 121"],["page","lesson"]],
	 "request":{"url":"https://app.example.com/lessons/7?x=1","headers":{"User-Agent":"Mozilla/5.0"}},
	 "user":{"id":42,"ip_address":"{{auto}}"},"release":"web@2.0.0","environment":"production",
	 "sdk":{"name":"sentry.javascript.browser","version":"8.40.0"}}`, eventID(id), float64(time.Now().UnixMilli())/1000, msg, 100+id)
}

func TestSentryEnvelopeAuthAndShapes(t *testing.T) {
	e := newEnv(t, envOptions{})
	P := e.keys[meta.KindPublic]
	auth := map[string]string{"X-Sentry-Auth": "Sentry sentry_version=7, sentry_client=test/1.0, sentry_key=" + P}

	// Every place a key may be: X-Sentry-Auth, Authorization, the query,
	// the envelope's dsn.
	dsn := e.projectDSN()
	for i, c := range []struct {
		path   string
		header map[string]string
		envHdr string
	}{
		{"/api/1/envelope/", auth, `{}`},
		{"/api/1/envelope/", map[string]string{"Authorization": "Sentry sentry_key=" + P + ", sentry_version=7"}, `{}`},
		{"/api/1/envelope/?sentry_key=" + P + "&sentry_version=7", nil, `{}`},
		{"/api/1/envelope/", map[string]string{"Content-Type": "text/plain;charset=UTF-8"}, fmt.Sprintf(`{"dsn":%q,"sent_at":"2026-12-01T10:00:00.000Z"}`, dsn)},
	} {
		body := envelope(c.envHdr, i%2 == 0, [2]string{"event", jsEvent(i, "x is undefined")})
		code, a, h := e.sentryPost(c.path, body, c.header)
		if code != 200 || a.ID != eventID(i) {
			t.Errorf("case %d: %d %+v; want 200 with the event id", i, code, a)
		}
		if h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Expose-Headers"), "x-sentry-rate-limits") {
			t.Errorf("case %d: CORS headers %v", i, h)
		}
	}
	g := e.groups("")
	if len(g) != 1 || g[0].Count != 4 || g[0].Users != 1 || g[0].Title != "TypeError: x is undefined" || g[0].Culprit != "/static/app.<hash>.js in onClick" {
		t.Fatalf("groups = %+v; want one TypeError group of 4 events (lines differ, the bundle hash and query do not count)", g)
	}
	// The browser's events feed client_errors too, enriched like the beacon's.
	rows := e.sql(e.keys[meta.KindRead], "SELECT type, path, fingerprint, browser, source, line FROM client_errors ORDER BY line")
	if len(rows) != 4 || rows[0]["type"] != "TypeError" || rows[0]["path"] != "/lessons/7" || rows[0]["fingerprint"] != g[0].Fingerprint ||
		rows[0]["browser"] != "Firefox" || rows[0]["source"] != "https://app.example.com/static/app.3f9a8c21.js" {
		t.Errorf("client_errors = %v", rows)
	}

	// Refusals.
	var created struct {
		ID   int64             `json:"id"`
		Keys map[string]string `json:"keys"`
		DSN  string            `json:"dsn"`
	}
	if code := e.call("POST", "/api/v1/projects", rootKey, `{"name":"other"}`, nil, &created); code != 201 || !strings.HasSuffix(created.DSN, "/2") || !strings.Contains(created.DSN, created.Keys["public"]+"@") {
		t.Fatalf("create project = %d %+v; want a dsn with its public key and id", code, created)
	}
	other := map[string]string{"X-Sentry-Auth": "Sentry sentry_key=" + created.Keys["public"]}
	for _, c := range []struct {
		name   string
		path   string
		header map[string]string
		env    string
		want   int
	}{
		{"another project's key", "/api/1/envelope/", other, `{}`, 403},
		{"a dsn of another project", "/api/1/envelope/", nil, fmt.Sprintf(`{"dsn":%q}`, created.DSN), 403},
		{"no key", "/api/1/envelope/", nil, `{}`, 401},
		{"an unknown key", "/api/1/envelope/", map[string]string{"X-Sentry-Auth": "Sentry sentry_key=nope"}, `{}`, 401},
		{"the read key", "/api/1/envelope/", map[string]string{"X-Sentry-Auth": "Sentry sentry_key=" + e.keys[meta.KindRead]}, `{}`, 403},
		{"a bad project id", "/api/x/envelope/", auth, `{}`, 404},
		{"a bad envelope", "/api/1/envelope/", auth, `not json`, 400},
	} {
		code, a, h := e.sentryPost(c.path, envelope(c.env, true, [2]string{"event", jsEvent(99, "refused")}), c.header)
		if code != c.want || a.Detail == "" || h.Get("X-Sentry-Error") == "" {
			t.Errorf("%s: %d %+v; want %d with detail and X-Sentry-Error", c.name, code, a, c.want)
		}
	}
	if n := e.groups("")[0].Count; n != 4 {
		t.Errorf("refused envelopes stored events: count %d", n)
	}

	// Shapes: a bare exception list, logentry with params, epoch and
	// RFC 3339 times, tags as an object, fingerprint with {{ default }}.
	shapes := []string{
		`{"event_id":"` + eventID(20) + `","timestamp":"2026-12-01T10:00:00Z","platform":"python","logentry":{"message":"user %s failed to log in","params":["ann"]},"tags":{"a":"1"}}`,
		`{"event_id":"` + eventID(21) + `","timestamp":1796119200.5,"platform":"python","logentry":{"message":"user %s failed to log in","params":["bob"]}}`,
		`{"event_id":"` + eventID(22) + `","exception":[{"type":"KeyError","value":"'lesson_7'"}],"fingerprint":["{{ default }}","tenant-a"]}`,
		`{"event_id":"` + eventID(23) + `","exception":[{"type":"KeyError","value":"'lesson_9'"}],"fingerprint":["{{ default }}","tenant-a"]}`,
		`{"event_id":"` + eventID(24) + `","exception":[{"type":"KeyError","value":"'lesson_9'"}],"fingerprint":["{{ default }}","tenant-b"]}`,
		`{"event_id":"` + eventID(25) + `","message":"legacy store message","level":"warning"}`,
	}
	for i, s := range shapes {
		path := "/api/1/envelope/"
		body := envelope(`{}`, true, [2]string{"event", s})
		if i == len(shapes)-1 {
			path, body = "/api/1/store/", []byte(s)
		}
		if code, a, _ := e.sentryPost(path, body, auth); code != 200 || a.ID != eventID(20+i) {
			t.Errorf("shape %d: %d %+v", i, code, a)
		}
	}
	var counts []string
	for _, g := range e.groups("?sort=count&limit=100") {
		counts = append(counts, fmt.Sprintf("%s=%d", g.Title, g.Count))
	}
	want := []string{"KeyError: 'lesson_9'=1", "KeyError: 'lesson_9'=2", "TypeError: x is undefined=4", "legacy store message=1", "user bob failed to log in=2"}
	slices.Sort(counts)
	if strings.Join(counts, ", ") != strings.Join(want, ", ") {
		t.Errorf("groups = %v; want %v (the logentry events by template, KeyErrors by custom fingerprint and normalized value)", counts, want)
	}

	// A repeated event id is stored once.
	if code, a, _ := e.sentryPost("/api/1/envelope/", envelope(`{}`, true, [2]string{"event", jsEvent(0, "x is undefined")}), auth); code != 200 || a.ID != eventID(0) {
		t.Errorf("repeated event: %d %+v", code, a)
	}
	if g := e.groups("?query=undefined"); g[0].Count != 4 {
		t.Errorf("after a repeated event id: count %d; want 4", g[0].Count)
	}
	if n := e.one("SELECT count() AS n FROM errors WHERE event_id = '" + eventID(0) + "'")["n"]; fmt.Sprint(n) != "1" {
		t.Errorf("errors points of a repeated event = %v; want 1", n)
	}
}

func TestSentryEnvelopeItemsEncodingsAndLimits(t *testing.T) {
	// Relay's limits but smaller envelopes and attachments, to keep the
	// test fast.
	limits := errtrack.DefaultLimits()
	limits.Envelope, limits.Attachment, limits.Attachments = 4<<20, 2<<20, 3<<20
	e := newEnv(t, envOptions{server: func(o *server.Options) { o.SentryLimits = &limits }})
	P := e.keys[meta.KindPublic]
	auth := map[string]string{"X-Sentry-Auth": "Sentry sentry_key=" + P}
	now := float64(time.Now().UnixMilli()) / 1000
	items := [][2]string{
		{"event", fmt.Sprintf(`{"event_id":%q,"message":"with attachment","platform":"go"}`, eventID(1))},
		{"attachment", "log line 1\nlog line 2"},
		{"session", `{"sid":"s1","did":"u1","init":true,"started":"2026-12-01T10:00:00Z","status":"ok","attrs":{"release":"app@1","environment":"prod"}}`},
		{"session", `{"sid":"s1","did":"u1","status":"crashed","errors":1,"duration":12.5,"attrs":{"release":"app@1","environment":"prod"}}`},
		{"session", `{"sid":"s2","did":"u2","init":true,"status":"exited","attrs":{"release":"app@1","environment":"prod"}}`},
		{"sessions", `{"aggregates":[{"started":"2026-12-01T10:00:00Z","did":"u3","exited":5,"crashed":1}],"attrs":{"release":"app@1","environment":"prod"}}`},
		{"check_in", `{"check_in_id":"c1","monitor_slug":"nightly-grades","status":"ok","duration":3.5,"monitor_config":{"schedule":{"type":"crontab","value":"0 2 * * *"},"checkin_margin":5}}`},
		{"client_report", `{"timestamp":1796119200,"discarded_events":[{"reason":"queue_overflow","category":"error","quantity":3}]}`},
		{"span", fmt.Sprintf(`{"span_id":"a1","trace_id":"t1","op":"db.query","description":"SELECT 1","start_timestamp":%f,"timestamp":%f,"status":"ok"}`, now-0.02, now)},
		{"profile", `{"whatever":true}`},
		{"replay_event", `{}`},
	}
	// The attachment's header carries a filename.
	body := envelope(`{"event_id":"`+eventID(1)+`"}`, true, items...)
	body = bytes.Replace(body, []byte(`{"type":"attachment","length":21}`), []byte(`{"type":"attachment","length":21,"filename":"app.log","content_type":"text/plain"}`), 1)
	if code, a, _ := e.sentryPost("/api/1/envelope/", body, auth); code != 200 || a.ID != eventID(1) {
		t.Fatalf("envelope = %d %+v", code, a)
	}
	var ev struct {
		Attachments []struct {
			Filename string
			Size     int
		}
		Message string
	}
	if code := e.call("GET", "/api/v1/events/"+eventID(1), e.keys[meta.KindRead], nil, nil, &ev); code != 200 || len(ev.Attachments) != 1 || ev.Attachments[0].Filename != "app.log" || ev.Attachments[0].Size != 21 {
		t.Errorf("event = %d %+v; want its attachment", code, ev)
	}
	// Crash-free sessions and users from the sessions points.
	row := e.one("SELECT sum(started) AS n_started, sum(crashed) AS n_crashed, sum(exited) AS n_exited, uniqIf(user, crashed > 0) AS crashed_users, uniqIf(user, started > 0) AS users FROM sessions WHERE release = 'app@1'")
	checkRow(t, "sessions", row, map[string]any{"n_started": 8, "n_crashed": 2, "n_exited": 6, "crashed_users": 2, "users": 3})
	checkRow(t, "check_ins", e.one("SELECT slug, status, duration, schedule, margin FROM check_ins"),
		map[string]any{"slug": "nightly-grades", "status": "ok", "duration": 3500, "schedule": "crontab 0 2 * * *", "margin": 5})
	checkRow(t, "spans", e.one("SELECT op, description, status FROM spans"), map[string]any{"op": "db.query", "description": "SELECT 1", "status": "ok"})
	var metrics bytes.Buffer
	resp, _ := http.Get(e.url + "/metrics")
	io.Copy(&metrics, resp.Body)
	resp.Body.Close()
	for _, want := range []string{`alidade_sentry_client_discarded_total{what="error/queue_overflow"} 3`, `alidade_sentry_items_total{item="profile/skipped"} 1`, `alidade_sentry_items_total{item="session/accepted"} 3`} {
		if !strings.Contains(metrics.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// Content encodings, any content type, items without length.
	encode := map[string]func([]byte) []byte{
		"gzip": func(b []byte) []byte {
			var o bytes.Buffer
			w := gzip.NewWriter(&o)
			w.Write(b)
			w.Close()
			return o.Bytes()
		},
		"deflate": func(b []byte) []byte {
			var o bytes.Buffer
			w := zlib.NewWriter(&o)
			w.Write(b)
			w.Close()
			return o.Bytes()
		},
		"br": func(b []byte) []byte {
			var o bytes.Buffer
			w := brotli.NewWriter(&o)
			w.Write(b)
			w.Close()
			return o.Bytes()
		},
		"zstd": func(b []byte) []byte {
			w, _ := zstd.NewWriter(nil)
			return w.EncodeAll(b, nil)
		},
	}
	n := 10
	for enc, f := range encode {
		n++
		body := envelope(`{}`, false, [2]string{"event", fmt.Sprintf(`{"event_id":%q,"message":"encoded %s"}`, eventID(n), enc)})
		code, a, _ := e.sentryPost("/api/1/envelope/", f(body), map[string]string{"Content-Encoding": enc, "Content-Type": "application/octet-stream", "X-Sentry-Auth": auth["X-Sentry-Auth"]})
		if code != 200 || a.ID != eventID(n) {
			t.Errorf("Content-Encoding %s: %d %+v", enc, code, a)
		}
	}
	// Raw DEFLATE, as some clients send "deflate".
	var raw bytes.Buffer
	fw, _ := flate.NewWriter(&raw, 5)
	fw.Write(envelope(`{}`, true, [2]string{"event", fmt.Sprintf(`{"event_id":%q,"message":"raw deflate"}`, eventID(30))}))
	fw.Close()
	if code, a, _ := e.sentryPost("/api/1/envelope/", raw.Bytes(), map[string]string{"Content-Encoding": "deflate", "X-Sentry-Auth": auth["X-Sentry-Auth"]}); code != 200 || a.ID != eventID(30) {
		t.Errorf("raw deflate: %d %+v", code, a)
	}

	// Limits: an event over 1 MiB, an attachment over the limit, a body
	// over the envelope limit once decompressed.
	big := fmt.Sprintf(`{"event_id":%q,"message":%q}`, eventID(40), strings.Repeat("x", 1<<20))
	if code, a, _ := e.sentryPost("/api/1/envelope/", envelope(`{}`, true, [2]string{"event", big}), auth); code != 413 || !strings.Contains(a.Detail, "1 MiB") {
		t.Errorf("1 MiB event: %d %+v; want 413 naming the limit", code, a)
	}
	if code, _, _ := e.sentryPost("/api/1/store/", []byte(big), auth); code != 413 {
		t.Errorf("1 MiB store body: %d; want 413", code)
	}
	bomb := encode["gzip"](envelope(`{}`, true, [2]string{"attachment", strings.Repeat("a", 5<<20)}))
	if code, a, _ := e.sentryPost("/api/1/envelope/", bomb, map[string]string{"Content-Encoding": "gzip", "X-Sentry-Auth": auth["X-Sentry-Auth"]}); code != 413 || !strings.Contains(a.Detail, "4 MiB") {
		t.Errorf("5 MiB decompressed: %d %+v; want 413", code, a)
	}
	att := envelope(`{}`, true, [2]string{"event", `{"message":"big attachment"}`}, [2]string{"attachment", strings.Repeat("a", 2<<20+1)})
	if code, a, _ := e.sentryPost("/api/1/envelope/", att, auth); code != 413 || !strings.Contains(a.Detail, "2 MiB") {
		t.Errorf("attachment over 2 MiB: %d %+v; want 413", code, a)
	}
	att = envelope(`{}`, true, [2]string{"event", `{"message":"attachments"}`}, [2]string{"attachment", strings.Repeat("a", 1600<<10)}, [2]string{"attachment", strings.Repeat("b", 1600<<10)})
	if code, a, _ := e.sentryPost("/api/1/envelope/", att, auth); code != 413 || !strings.Contains(a.Detail, "together") {
		t.Errorf("attachments over 3 MiB together: %d %+v; want 413", code, a)
	}
}

func TestSentryRateLimitAndCORS(t *testing.T) {
	e := newEnv(t, envOptions{})
	P, A := e.keys[meta.KindPublic], e.keys[meta.KindAdmin]
	auth := map[string]string{"X-Sentry-Auth": "Sentry sentry_key=" + P, "Origin": "https://app.example.com"}

	// The preflight, as Relay answers it.
	req, _ := http.NewRequest("OPTIONS", e.url+"/api/1/envelope/", nil)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,x-sentry-auth")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != 200 || h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Methods") != "POST" ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "x-sentry-auth") || h.Get("Access-Control-Max-Age") != "3600" {
		t.Errorf("preflight = %d %v", resp.StatusCode, h)
	}

	var p struct {
		ErrorRateLimit *struct {
			Events int
			Window string
		} `json:"errorRateLimit"`
	}
	if code := e.call("PATCH", "/api/v1/projects/1", A, `{"errorRateLimit":{"events":2,"window":"1h"}}`, nil, &p); code != 200 || p.ErrorRateLimit == nil || p.ErrorRateLimit.Events != 2 {
		t.Fatalf("PATCH errorRateLimit = %d %+v", code, p)
	}
	if code := e.call("PATCH", "/api/v1/projects/1", A, `{"errorRateLimit":{"events":0}}`, nil, nil); code != 400 {
		t.Errorf("PATCH errorRateLimit 0 = %d; want 400", code)
	}
	post := func(i int) (int, sentryAnswer, http.Header) {
		return e.sentryPost("/api/1/envelope/", envelope(`{}`, true, [2]string{"event", fmt.Sprintf(`{"event_id":%q,"message":"limited"}`, eventID(i))},
			[2]string{"session", `{"sid":"s","did":"u","init":true,"status":"ok","attrs":{"release":"r"}}`}), auth)
	}
	for i := range 2 {
		if code, _, _ := post(i); code != 200 {
			t.Fatalf("event %d under the limit: %d", i, code)
		}
	}
	code, a, h := post(2)
	ra, _ := strconv.Atoi(h.Get("Retry-After"))
	if code != 429 || ra < 1 || ra > 3600 || h.Get("X-Sentry-Rate-Limits") != h.Get("Retry-After")+":default;error;security:key" || a.Detail == "" {
		t.Errorf("over the limit: %d %+v %v; want 429 with Retry-After and X-Sentry-Rate-Limits", code, a, h)
	}
	if h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Expose-Headers"), "retry-after") {
		t.Errorf("429 without CORS headers: %v", h)
	}
	if g := e.groups(""); len(g) != 1 || g[0].Count != 2 {
		t.Errorf("groups after the limit = %+v; want 2 events", g)
	}
	// The session of the limited envelope was kept.
	if n := e.one("SELECT sum(started) AS n FROM sessions")["n"]; fmt.Sprint(n) != "3" {
		t.Errorf("sessions started = %v; want 3", n)
	}
	// Another key of the project has its own window.
	var k struct{ Key string }
	e.call("POST", "/api/v1/keys", A, `{"kind":"public","name":"second"}`, nil, &k)
	if code, _, _ := e.sentryPost("/api/1/envelope/", envelope(`{}`, true, [2]string{"event", `{"message":"second key"}`}), map[string]string{"X-Sentry-Auth": "Sentry sentry_key=" + k.Key}); code != 200 {
		t.Errorf("another key: %d; want 200", code)
	}
	e.call("PATCH", "/api/v1/projects/1", A, `{"errorRateLimit":null}`, nil, nil)
	if code, _, _ := post(3); code != 200 {
		t.Errorf("after removing the limit: %d", code)
	}

	// Allowed origins apply to the Sentry endpoints as to the beacon.
	e.call("PATCH", "/api/v1/projects/1", A, `{"allowedOrigins":["https://other.example.com"]}`, nil, nil)
	if code, _, h := post(4); code != 403 || h.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("origin not allowed: %d %v; want 403 readable by the page", code, h)
	}
}

func TestSentryDSNPublicURL(t *testing.T) {
	e := newEnv(t, envOptions{server: func(o *server.Options) { o.PublicURL = "https://alidade.example.com/ingest/" }})
	want := "https://" + e.keys[meta.KindPublic] + "@alidade.example.com/ingest/1"
	if got := e.projectDSN(); got != want {
		t.Errorf("dsn = %q; want %q", got, want)
	}
	var p struct{ DSN *string }
	if code := e.call("GET", "/api/v1/projects/1", e.keys[meta.KindAdmin], nil, nil, &p); code != 200 || p.DSN == nil || *p.DSN != want {
		t.Errorf("GET /api/v1/projects/1 = %d %v", code, p.DSN)
	}
}
