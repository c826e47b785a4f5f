package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/server"
	"github.com/alidade/alidade/internal/server/servertest"
	"github.com/alidade/alidade/internal/session"
)

// lockedBuffer is a log sink the server writes to from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// dash is a server with a fake clock and a captured debug log, and a
// browser's view of it: every answer's headers and body are kept in
// transcript.
type dash struct {
	t          *testing.T
	url        string
	keys       map[meta.KeyKind]string
	clock      *fakeClock
	log        *lockedBuffer
	env        *servertest.Env
	transcript bytes.Buffer
}

type dashOptions struct {
	dir     string
	rootKey string
	edit    func(*server.Options)
	clock   *fakeClock
}

func newDash(t *testing.T, o dashOptions) *dash {
	t.Helper()
	d := &dash{t: t, clock: o.clock, log: &lockedBuffer{}}
	if d.clock == nil {
		d.clock = &fakeClock{t: time.Now().UTC().Truncate(time.Millisecond)}
	}
	if o.rootKey == "" {
		o.rootKey = rootKey
	}
	d.env = servertest.Start(t, servertest.Options{RootKey: o.rootKey, Dir: o.dir, Server: func(so *server.Options) {
		so.Clock = d.clock.now
		so.Logger = slog.New(slog.NewTextHandler(d.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
		if o.edit != nil {
			o.edit(so)
		}
	}})
	d.url, d.keys = d.env.URL, d.env.Keys
	return d
}

func (d *dash) advance(by time.Duration) { d.clock.set(d.clock.now().Add(by)) }

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do sends a request (a string body) with the headers given ("Cookie"
// among them) and returns the answer with its body read.
func (d *dash) do(method, path, body string, hdr map[string]string) (*http.Response, string) {
	d.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, d.url+path, rd)
	if err != nil {
		d.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	fmt.Fprintf(&d.transcript, "%s %s -> %d\n", method, path, resp.StatusCode)
	_ = resp.Header.Write(&d.transcript)
	d.transcript.Write(data)
	d.transcript.WriteString("\n")
	return resp, string(data)
}

// login posts the sign-in form with a key and extra fields and headers.
func (d *dash) login(key string, form url.Values, hdr map[string]string) (*http.Response, string) {
	d.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("key", key)
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for k, v := range hdr {
		h[k] = v
	}
	return d.do("POST", "/login", form.Encode(), h)
}

// browserSession is a signed-in browser: its cookie and CSRF token.
type browserSession struct {
	d      *dash
	cookie string // the session id
	csrf   string
}

// signIn signs in with key and returns the session, failing the test
// unless the sign-in succeeds.
func (d *dash) signIn(key string) *browserSession {
	d.t.Helper()
	resp, body := d.login(key, nil, nil)
	c := sessionCookieOf(resp)
	if resp.StatusCode != http.StatusSeeOther || c == nil || c.Value == "" {
		d.t.Fatalf("POST /login = %d %v %q; want 303 with a session cookie", resp.StatusCode, resp.Header, body)
	}
	b := &browserSession{d: d, cookie: c.Value}
	var s sessionAnswer
	if code := b.json("GET", "/api/v1/session", "", nil, &s); code != 200 || s.CSRFToken == "" {
		d.t.Fatalf("GET /api/v1/session = %d %+v; want 200 with a CSRF token", code, s)
	}
	b.csrf = s.CSRFToken
	return b
}

func sessionCookieOf(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "alidade_session" {
			return c
		}
	}
	return nil
}

// do sends a request with the session cookie (and no key).
func (b *browserSession) do(method, path, body string, hdr map[string]string) (*http.Response, string) {
	b.d.t.Helper()
	h := map[string]string{"Cookie": "alidade_session=" + b.cookie}
	for k, v := range hdr {
		h[k] = v
	}
	return b.d.do(method, path, body, h)
}

// json sends a request with the session cookie and decodes its answer.
func (b *browserSession) json(method, path, body string, hdr map[string]string, out any) int {
	b.d.t.Helper()
	resp, data := b.do(method, path, body, hdr)
	if out != nil && data != "" {
		if err := json.Unmarshal([]byte(data), out); err != nil {
			b.d.t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// change sends a state change with the session's CSRF token and the
// server's own Origin, as the dashboard's script does.
func (b *browserSession) change(method, path, body string, hdr map[string]string, out any) int {
	b.d.t.Helper()
	h := map[string]string{"X-CSRF-Token": b.csrf, "Origin": b.d.url}
	for k, v := range hdr {
		h[k] = v
	}
	return b.json(method, path, body, h, out)
}

type sessionAnswer struct {
	Project *struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"project"`
	Kind      string `json:"kind"`
	Root      bool   `json:"root"`
	CSRFToken string `json:"csrfToken"`
	Expires   string `json:"expires"`
	Projects  []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"projects"`
	Error struct {
		Code, Message string
	} `json:"error"`
}

type errAnswer struct {
	Error struct {
		Code, Message string
	} `json:"error"`
}

func checkPageHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	for k, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "same-origin",
		"Cache-Control":           "no-store",
		"Content-Type":            "text/html",
	} {
		if !strings.Contains(h.Get(k), want) {
			t.Errorf("%s: %s = %q; want it to contain %q", what, k, h.Get(k), want)
		}
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "script-src 'unsafe-inline'") {
		t.Errorf("%s: CSP %q; want frame-ancestors 'none' and no inline scripts", what, csp)
	}
}

// TestDashboardSignIn: the whole sign-in flow over plain HTTP, and that
// the key is never seen again, in any answer or in the log.
func TestDashboardSignIn(t *testing.T) {
	d := newDash(t, dashOptions{})
	A := d.keys[meta.KindAdmin]

	// GET / without a session goes to the form.
	resp, _ := d.do("GET", "/", "", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("GET / without a session = %d Location %q; want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := d.do("GET", "/login", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /login = %d", resp.StatusCode)
	}
	checkPageHeaders(t, "GET /login", resp.Header)
	for _, want := range []string{`<label for="key">`, `id="key" name="key" type="password"`, `method="post" action="/login"`, `type="submit"`, "prefers-color-scheme: dark", `lang="en"`} {
		if !strings.Contains(body, want) {
			t.Errorf("login page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Errorf("login page has a script or an external asset:\n%s", body)
	}

	// Sign in.
	start := d.transcript.Len()
	resp, _ = d.login(A, url.Values{"next": {"/"}}, map[string]string{"Origin": d.url})
	c := sessionCookieOf(resp)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || c == nil {
		t.Fatalf("POST /login = %d Location %q cookie %v; want 303 to / with a cookie", resp.StatusCode, resp.Header.Get("Location"), c)
	}
	raw := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=604800"} {
		if !strings.Contains(raw, want) {
			t.Errorf("Set-Cookie %q lacks %s", raw, want)
		}
	}
	if strings.Contains(raw, "Secure") {
		t.Errorf("Set-Cookie %q is Secure over plain HTTP; the browser would not send it back", raw)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(c.Value) || c.Value == A || strings.Contains(c.Value, A[4:14]) {
		t.Errorf("session cookie %q; want 43 base64url characters, not the key", c.Value)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("POST /login Cache-Control = %q; want no-store", resp.Header.Get("Cache-Control"))
	}
	b := &browserSession{d: d, cookie: c.Value}

	// The page, the session answer and the API with the cookie.
	resp, page := b.do("GET", "/", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `<div id="app">`) || !strings.Contains(page, "<title>Alidade</title>") {
		t.Fatalf("GET / signed in = %d %q; want 200 and the dashboard's page", resp.StatusCode, page)
	}
	checkPageHeaders(t, "GET /", resp.Header)
	var s sessionAnswer
	resp, data := b.do("GET", "/api/v1/session", "", nil)
	if err := json.Unmarshal([]byte(data), &s); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /api/v1/session = %d %q", resp.StatusCode, data)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("GET /api/v1/session Cache-Control = %q; want no-store", resp.Header.Get("Cache-Control"))
	}
	if s.Project == nil || s.Project.ID != 1 || s.Project.Name != "default" || s.Kind != "admin" || s.Root || len(s.CSRFToken) < 40 || s.Projects != nil {
		t.Errorf("session = %+v; want project 1 default, kind admin, a CSRF token, no project list", s)
	}
	if !strings.Contains(page, `<meta name="csrf-token" content="`+s.CSRFToken+`">`) {
		t.Errorf("page lacks the CSRF token %q in its meta tag:\n%s", s.CSRFToken, page)
	}
	if want := d.clock.now().Add(12 * time.Hour).UTC().Format(time.RFC3339); s.Expires != want {
		t.Errorf("expires = %q; want %q (12 h idle from now)", s.Expires, want)
	}
	b.csrf = s.CSRFToken
	var ds struct {
		Datasets []any `json:"datasets"`
	}
	if code := b.json("GET", "/api/v1/datasets", "", nil, &ds); code != 200 {
		t.Errorf("GET /api/v1/datasets with the cookie = %d; want 200", code)
	}
	// GET /login signed in goes on to the dashboard.
	if resp, _ := b.do("GET", "/login?next=/x", "", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/x" {
		t.Errorf("GET /login signed in = %d Location %q; want 303 to /x", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The key is in no answer since the sign-in, nor anywhere in the log;
	// the session id is not in the log either.
	if after := d.transcript.String()[start:]; strings.Contains(after, A) {
		t.Errorf("the key appears in an answer after the sign-in:\n%s", after)
	}
	logs := d.log.String()
	if !strings.Contains(logs, "/login") || !strings.Contains(logs, "dashboard sign-in") {
		t.Fatalf("log lacks the sign-in's request and event:\n%s", logs)
	}
	for what, secret := range map[string]string{"key": A, "session id": c.Value, "CSRF token": s.CSRFToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("the %s %q is in the log:\n%s", what, secret, logs)
		}
	}
}

// TestDashboardSignInRefusals: wrong, public and write keys, another
// site's Origin, and too many failures.
func TestDashboardSignInRefusals(t *testing.T) {
	d := newDash(t, dashOptions{})
	for _, c := range []struct {
		name, key string
		hdr       map[string]string
		status    int
		msg       string
	}{
		{"wrong key", "ald_admin_nosuchkeynosuchkeynosuchkeyno", nil, 401, "unknown or revoked"},
		{"empty key", "", nil, 401, "Enter a key"},
		{"public key", d.keys[meta.KindPublic], nil, 403, "A public key cannot open the dashboard"},
		{"write key", d.keys[meta.KindWrite], nil, 403, "A write key cannot open the dashboard"},
		{"foreign origin", d.keys[meta.KindAdmin], map[string]string{"Origin": "https://evil.example"}, 403, "another site"},
		{"null origin", d.keys[meta.KindAdmin], map[string]string{"Origin": "null"}, 403, "another site"},
		{"other port", d.keys[meta.KindAdmin], map[string]string{"Origin": d.url + "1"}, 403, "another site"},
		{"https origin", d.keys[meta.KindAdmin], map[string]string{"Origin": strings.Replace(d.url, "http:", "https:", 1)}, 403, "another site"},
	} {
		resp, body := d.login(c.key, nil, c.hdr)
		if resp.StatusCode != c.status || !strings.Contains(body, c.msg) || sessionCookieOf(resp) != nil {
			t.Errorf("%s: POST /login = %d %q; want %d saying %q and no cookie", c.name, resp.StatusCode, body, c.status, c.msg)
		}
		if !strings.Contains(body, `name="key"`) {
			t.Errorf("%s: the answer is not the form again:\n%s", c.name, body)
		}
		if c.key != "" && strings.Contains(body, c.key) {
			t.Errorf("%s: the answer echoes the key", c.name)
		}
		checkPageHeaders(t, c.name, resp.Header)
	}
	// The key is read from the body only: one in the URL is ignored.
	if resp, _ := d.do("POST", "/login?key="+url.QueryEscape(d.keys[meta.KindAdmin]), "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); resp.StatusCode != 401 {
		t.Errorf("POST /login?key=... = %d; want 401 (a key in the URL is not taken)", resp.StatusCode)
	}
	// next must be a local path.
	for next, want := range map[string]string{"/app/x?y=1": "/app/x?y=1", "//evil.example/": "/", "https://evil.example/": "/", `/\evil.example`: "/"} {
		resp, _ := d.login(d.keys[meta.KindRead], url.Values{"next": {next}}, nil)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != want {
			t.Errorf("sign-in with next %q = %d Location %q; want 303 to %q", next, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}

	// Failed sign-ins: 1 above (the wrong key; an empty one is no
	// guess); 9 more make 10 in the minute, then even the right key gets
	// 429 until the minute ends.
	for i := 0; i < 9; i++ {
		if resp, _ := d.login(fmt.Sprintf("wrong-%d", i), nil, nil); resp.StatusCode != 401 {
			t.Fatalf("failure %d = %d; want 401", i+2, resp.StatusCode)
		}
	}
	resp, body := d.login(d.keys[meta.KindAdmin], nil, nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many failed sign-ins") {
		t.Fatalf("sign-in after 10 failures = %d Retry-After %q %q; want 429", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	d.advance(time.Minute)
	if resp, _ := d.login(d.keys[meta.KindAdmin], nil, nil); resp.StatusCode != 303 {
		t.Fatalf("sign-in a minute later = %d; want 303", resp.StatusCode)
	}
}

// TestDashboardSecureCookie: the cookie is Secure behind TLS, that is
// when a trusted proxy says so in X-Forwarded-Proto; an untrusted one is
// not believed.
func TestDashboardSecureCookie(t *testing.T) {
	trusted := newDash(t, dashOptions{edit: func(o *server.Options) { o.TrustProxy = true }})
	resp, _ := trusted.login(trusted.keys[meta.KindRead], nil, map[string]string{"X-Forwarded-Proto": "https"})
	if raw := resp.Header.Get("Set-Cookie"); resp.StatusCode != 303 || !strings.Contains(raw, "; Secure") || !strings.Contains(raw, "HttpOnly") || !strings.Contains(raw, "SameSite=Strict") {
		t.Errorf("sign-in behind a trusted TLS proxy = %d Set-Cookie %q; want 303 and a Secure, HttpOnly, SameSite=Strict cookie", resp.StatusCode, raw)
	}
	// Behind that proxy the server's origin is https://host.
	host := strings.TrimPrefix(trusted.url, "http://")
	if resp, _ := trusted.login(trusted.keys[meta.KindRead], nil, map[string]string{"X-Forwarded-Proto": "https", "Origin": "https://" + host}); resp.StatusCode != 303 {
		t.Errorf("sign-in from https://%s behind a TLS proxy = %d; want 303", host, resp.StatusCode)
	}

	untrusted := newDash(t, dashOptions{})
	resp, _ = untrusted.login(untrusted.keys[meta.KindRead], nil, map[string]string{"X-Forwarded-Proto": "https"})
	if raw := resp.Header.Get("Set-Cookie"); resp.StatusCode != 303 || strings.Contains(raw, "Secure") {
		t.Errorf("sign-in with X-Forwarded-Proto and --trust-proxy off = %d Set-Cookie %q; want 303 and no Secure", resp.StatusCode, raw)
	}

	// With --public-url, the Origin must be its own.
	pub := newDash(t, dashOptions{edit: func(o *server.Options) { o.PublicURL = "https://alidade.example.com/" }})
	if resp, _ := pub.login(pub.keys[meta.KindRead], nil, map[string]string{"Origin": "https://alidade.example.com"}); resp.StatusCode != 303 || !strings.Contains(resp.Header.Get("Set-Cookie"), "Secure") {
		t.Errorf("sign-in from the public URL's origin = %d %q; want 303 with a Secure cookie", resp.StatusCode, resp.Header.Get("Set-Cookie"))
	}
	if resp, _ := pub.login(pub.keys[meta.KindRead], nil, map[string]string{"Origin": pub.url}); resp.StatusCode != 403 {
		t.Errorf("sign-in from %s with --public-url https://alidade.example.com = %d; want 403", pub.url, resp.StatusCode)
	}
}

// TestDashboardCSRF: what a session cookie changes needs the session's
// token and, when Origin is sent, the server's own; keys need neither.
func TestDashboardCSRF(t *testing.T) {
	d := newDash(t, dashOptions{})
	b := d.signIn(d.keys[meta.KindAdmin])
	key := func() string {
		var k struct{ ID int64 }
		resp, body := d.do("POST", "/api/v1/keys", `{"kind":"read"}`, map[string]string{"Authorization": "Bearer " + d.keys[meta.KindAdmin]})
		if resp.StatusCode != 201 || json.Unmarshal([]byte(body), &k) != nil {
			t.Fatalf("POST /api/v1/keys with the admin key and no token = %d %q; want 201 (keys need no CSRF token)", resp.StatusCode, body)
		}
		return fmt.Sprint(k.ID)
	}
	for _, c := range []struct {
		method, path, body string
	}{
		{"POST", "/api/v1/keys", `{"kind":"read","name":"by-session"}`},
		{"PATCH", "/api/v1/datasets/requests", `{"retention":"30d"}`},
		{"DELETE", "/api/v1/keys/" + key(), ""},
	} {
		what := c.method + " " + c.path
		for _, bad := range []struct {
			name string
			hdr  map[string]string
		}{
			{"no token", map[string]string{"Origin": d.url}},
			{"wrong token", map[string]string{"X-CSRF-Token": strings.Repeat("A", len(b.csrf)), "Origin": d.url}},
			{"short token", map[string]string{"X-CSRF-Token": b.csrf[:10]}},
			{"token, foreign origin", map[string]string{"X-CSRF-Token": b.csrf, "Origin": "https://evil.example"}},
			{"token, null origin", map[string]string{"X-CSRF-Token": b.csrf, "Origin": "null"}},
		} {
			var a errAnswer
			if code := b.json(c.method, c.path, c.body, bad.hdr, &a); code != 403 || a.Error.Code != "csrf" || a.Error.Message == "" {
				t.Errorf("%s with the cookie, %s = %d %+v; want 403 csrf", what, bad.name, code, a)
			}
		}
		want := map[string]int{"POST": 201, "PATCH": 200, "DELETE": 204}[c.method]
		if code := b.change(c.method, c.path, c.body, nil, nil); code != want {
			t.Errorf("%s with the cookie, its token and the same origin = %d; want %d", what, code, want)
		}
	}
	// Without Origin (some browsers omit it on same-origin requests) the
	// token suffices.
	if code := b.json("POST", "/api/v1/keys", `{"kind":"read"}`, map[string]string{"X-CSRF-Token": b.csrf}, nil); code != 201 {
		t.Errorf("POST with the token and no Origin = %d; want 201", code)
	}
	// A key wins over the cookie: no token needed, its own kind applies.
	if code := b.json("POST", "/api/v1/keys", `{"kind":"read"}`, map[string]string{"Authorization": "Bearer " + d.keys[meta.KindRead]}, nil); code != 403 {
		t.Errorf("POST /api/v1/keys with the cookie and a read key = %d; want 403 (the read key's)", code)
	}
}

// TestDashboardReadSession: a read key's session sees what the read key
// sees and changes nothing only an admin key may; an admin's session can.
func TestDashboardReadSession(t *testing.T) {
	d := newDash(t, dashOptions{})
	var k struct{ ID int64 }
	resp, body := d.do("POST", "/api/v1/keys", `{"kind":"write","name":"victim"}`, map[string]string{"Authorization": "Bearer " + d.keys[meta.KindAdmin]})
	if resp.StatusCode != 201 || json.Unmarshal([]byte(body), &k) != nil {
		t.Fatalf("create key = %d %q", resp.StatusCode, body)
	}
	read := d.signIn(d.keys[meta.KindRead])
	var s sessionAnswer
	if code := read.json("GET", "/api/v1/session", "", nil, &s); code != 200 || s.Kind != "read" || s.Root {
		t.Errorf("read session = %d %+v; want kind read", code, s)
	}
	if code := read.json("GET", "/api/v1/datasets", "", nil, nil); code != 200 {
		t.Errorf("read session GET datasets = %d; want 200", code)
	}
	var a errAnswer
	for _, c := range []struct{ method, path, body string }{
		{"DELETE", fmt.Sprintf("/api/v1/keys/%d", k.ID), ""},
		{"GET", "/api/v1/keys", ""},
		{"POST", "/api/v1/keys", `{"kind":"admin"}`},
		{"PUT", "/api/v1/datasets/mine/schema", `{"index":"x"}`},
		{"PATCH", "/api/v1/projects/1", `{"allowedOrigins":[]}`},
		{"GET", "/api/v1/projects", ""},
	} {
		if code := read.change(c.method, c.path, c.body, nil, &a); code != 403 || a.Error.Code != "forbidden" {
			t.Errorf("read session %s %s = %d %+v; want 403 forbidden", c.method, c.path, code, a)
		}
	}
	admin := d.signIn(d.keys[meta.KindAdmin])
	if code := admin.change("DELETE", fmt.Sprintf("/api/v1/keys/%d", k.ID), "", nil, nil); code != 204 {
		t.Errorf("admin session DELETE key = %d; want 204", code)
	}
	if code := admin.change("PATCH", "/api/v1/projects/1", `{"allowedOrigins":[]}`, nil, nil); code != 200 {
		t.Errorf("admin session PATCH its project = %d; want 200", code)
	}
}

// TestDashboardLogout: POST /logout needs the token, ends the session and
// clears the cookie.
func TestDashboardLogout(t *testing.T) {
	d := newDash(t, dashOptions{})
	b := d.signIn(d.keys[meta.KindAdmin])
	form := "application/x-www-form-urlencoded"
	for _, bad := range []map[string]string{
		{"Content-Type": form},
		{"Content-Type": form, "X-CSRF-Token": "nope"},
		{"Content-Type": form, "X-CSRF-Token": b.csrf, "Origin": "https://evil.example"},
	} {
		if resp, _ := b.do("POST", "/logout", "csrf=nope", bad); resp.StatusCode != 403 {
			t.Errorf("POST /logout %v = %d; want 403", bad, resp.StatusCode)
		}
	}
	if code := b.json("GET", "/api/v1/session", "", nil, nil); code != 200 {
		t.Fatalf("session after refused sign-outs = %d; want 200", code)
	}
	// The dashboard's own form sends the token as a field.
	resp, _ := b.do("POST", "/logout", "csrf="+url.QueryEscape(b.csrf), map[string]string{"Content-Type": form, "Origin": d.url})
	c := sessionCookieOf(resp)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login" || c == nil || c.MaxAge >= 0 || !strings.Contains(resp.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("POST /logout = %d Location %q Set-Cookie %q; want 303 to /login clearing the cookie", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Set-Cookie"))
	}
	var a errAnswer
	if code := b.json("GET", "/api/v1/session", "", nil, &a); code != 401 || !strings.Contains(a.Error.Message, "sign in again") {
		t.Errorf("session after sign-out = %d %+v; want 401 saying to sign in again", code, a)
	}
	if resp, _ := b.do("GET", "/", "", nil); resp.StatusCode != 303 || resp.Header.Get("Location") != "/login" {
		t.Errorf("GET / after sign-out = %d; want 303 to /login", resp.StatusCode)
	}
	// The header form, and a second sign-out, also work.
	b = d.signIn(d.keys[meta.KindRead])
	if resp, _ := b.do("POST", "/logout", "", map[string]string{"X-CSRF-Token": b.csrf}); resp.StatusCode != 303 {
		t.Errorf("POST /logout with the header = %d; want 303", resp.StatusCode)
	}
	if resp, _ := b.do("POST", "/logout", "", map[string]string{"X-CSRF-Token": b.csrf}); resp.StatusCode != 303 {
		t.Errorf("POST /logout again = %d; want 303", resp.StatusCode)
	}
}

// TestDashboardSessionExpiry: a session ends after its idle time exactly
// (sliding with use), and at its lifetime however used.
func TestDashboardSessionExpiry(t *testing.T) {
	d := newDash(t, dashOptions{edit: func(o *server.Options) { o.SessionIdle, o.SessionMax = time.Hour, 3*time.Hour }})
	get := func(b *browserSession) int { t.Helper(); return b.json("GET", "/api/v1/datasets", "", nil, nil) }

	b := d.signIn(d.keys[meta.KindRead]) // used at t0 by signIn itself
	d.advance(time.Hour - time.Millisecond)
	if code := get(b); code != 200 {
		t.Fatalf("1 ms before the idle time = %d; want 200", code)
	}
	d.advance(time.Hour) // idle exactly an hour since that use
	var a errAnswer
	if code := b.json("GET", "/api/v1/datasets", "", nil, &a); code != 401 || !strings.Contains(a.Error.Message, "expired") {
		t.Fatalf("at the idle time = %d %+v; want 401 saying it expired", code, a)
	}
	if code := get(b); code != 401 {
		t.Fatalf("after the idle time = %d; want 401", code)
	}

	b = d.signIn(d.keys[meta.KindRead])
	for i := 0; i < 5; i++ { // used every 35 min up to 2h55
		d.advance(35 * time.Minute)
		if code := get(b); code != 200 {
			t.Fatalf("use %d at %v = %d; want 200", i, time.Duration(i+1)*35*time.Minute, code)
		}
	}
	var s sessionAnswer
	b.json("GET", "/api/v1/session", "", nil, &s)
	if want := d.clock.now().Add(5 * time.Minute).UTC().Format(time.RFC3339); s.Expires != want {
		t.Errorf("expires near the lifetime = %q; want %q (the lifetime, before the idle time)", s.Expires, want)
	}
	d.advance(5*time.Minute - time.Millisecond)
	if code := get(b); code != 200 {
		t.Fatalf("1 ms before the lifetime = %d; want 200", code)
	}
	d.advance(time.Millisecond)
	if code := get(b); code != 401 {
		t.Fatalf("at the lifetime = %d; want 401", code)
	}
	// The sweep removes ended sessions.
	c := d.signIn(d.keys[meta.KindAdmin])
	d.advance(time.Hour)
	if n, err := d.env.Server.SweepSessions(context.Background()); err != nil || n < 1 {
		t.Errorf("SweepSessions = %d, %v; want at least 1", n, err)
	}
	if left, err := d.env.Store.Sessions(context.Background()); err != nil || len(left) != 0 {
		t.Errorf("stored sessions after the sweep = %d, %v; want none", len(left), err)
	}
	if code := get(c); code != 401 {
		t.Errorf("swept session = %d; want 401", code)
	}
}

// TestDashboardRevokedKeyEndsSession: revoking a key ends its sessions at
// once.
func TestDashboardRevokedKeyEndsSession(t *testing.T) {
	d := newDash(t, dashOptions{})
	var k struct {
		ID  int64
		Key string
	}
	resp, body := d.do("POST", "/api/v1/keys", `{"kind":"admin","name":"laptop"}`, map[string]string{"Authorization": "Bearer " + d.keys[meta.KindAdmin]})
	if resp.StatusCode != 201 || json.Unmarshal([]byte(body), &k) != nil {
		t.Fatalf("create key = %d %q", resp.StatusCode, body)
	}
	b := d.signIn(k.Key)
	other := d.signIn(d.keys[meta.KindAdmin])
	if code := other.change("DELETE", fmt.Sprintf("/api/v1/keys/%d", k.ID), "", nil, nil); code != 204 {
		t.Fatalf("revoke = %d; want 204", code)
	}
	var a errAnswer
	if code := b.json("GET", "/api/v1/session", "", nil, &a); code != 401 || !strings.Contains(a.Error.Message, "revoked") {
		t.Errorf("session of a revoked key = %d %+v; want 401 saying the key was revoked", code, a)
	}
	if code := other.json("GET", "/api/v1/session", "", nil, nil); code != 200 {
		t.Errorf("another key's session = %d; want 200", code)
	}
}

// TestDashboardRootSession: a root session sees every project and acts
// as the admin of the one a request names; it keeps root's own routes.
func TestDashboardRootSession(t *testing.T) {
	d := newDash(t, dashOptions{})
	b := d.signIn(rootKey)
	var p struct {
		ID   int64
		Keys map[string]string
	}
	if code := b.change("POST", "/api/v1/projects", `{"name":"web"}`, nil, &p); code != 201 || p.ID != 2 {
		t.Fatalf("root session POST /api/v1/projects = %d %+v; want 201, project 2", code, p)
	}
	var s sessionAnswer
	if code := b.json("GET", "/api/v1/session", "", nil, &s); code != 200 || s.Kind != "root" || !s.Root || s.Project != nil || len(s.Projects) != 2 || s.Projects[1].Name != "web" {
		t.Fatalf("root session = %d %+v; want kind root, no project, projects default and web", code, s)
	}
	if code := b.json("GET", "/api/v1/session", "", map[string]string{"X-Alidade-Project": "2"}, &s); code != 200 || s.Project == nil || s.Project.Name != "web" {
		t.Errorf("root session naming project 2 = %d %+v; want project web", code, s)
	}
	var a errAnswer
	if code := b.json("GET", "/api/v1/datasets", "", nil, &a); code != 400 || !strings.Contains(a.Error.Message, "X-Alidade-Project") {
		t.Errorf("root session GET datasets naming no project = %d %+v; want 400 explaining X-Alidade-Project", code, a)
	}
	if code := b.json("GET", "/api/v1/datasets", "", map[string]string{"X-Alidade-Project": "99"}, &a); code != 404 || !strings.Contains(a.Error.Message, "99") {
		t.Errorf("root session naming project 99 = %d %+v; want 404", code, a)
	}
	if code := b.json("GET", "/api/v1/datasets", "", map[string]string{"X-Alidade-Project": "web"}, &a); code != 400 {
		t.Errorf("root session naming project \"web\" = %d %+v; want 400", code, a)
	}
	if code := b.json("GET", "/api/v1/datasets?project=2", "", nil, nil); code != 200 {
		t.Errorf("root session GET datasets?project=2 = %d; want 200", code)
	}
	// Admin rights on the project named: its keys.
	var keys struct {
		Keys []struct {
			ID   int64
			Kind string
		}
	}
	if code := b.json("GET", "/api/v1/keys", "", map[string]string{"X-Alidade-Project": "2"}, &keys); code != 200 || len(keys.Keys) != 4 {
		t.Fatalf("root session GET keys of project 2 = %d %+v; want its 4 keys", code, keys)
	}
	var wk int64
	for _, k := range keys.Keys {
		if k.Kind == "write" {
			wk = k.ID
		}
	}
	// A key of project 2 is not found in project 1.
	if code := b.change("DELETE", fmt.Sprintf("/api/v1/keys/%d", wk), "", map[string]string{"X-Alidade-Project": "1"}, nil); code != 404 {
		t.Errorf("root session revoking project 2's key in project 1 = %d; want 404", code)
	}
	if code := b.change("DELETE", fmt.Sprintf("/api/v1/keys/%d", wk), "", map[string]string{"X-Alidade-Project": "2"}, nil); code != 204 {
		t.Errorf("root session revoking project 2's key in project 2 = %d; want 204", code)
	}
	if code := b.json("GET", "/api/v1/projects", "", nil, nil); code != 200 {
		t.Errorf("root session GET /api/v1/projects = %d; want 200", code)
	}
	// CSRF applies to root's routes too.
	if code := b.json("POST", "/api/v1/projects", `{"name":"x"}`, nil, &a); code != 403 || a.Error.Code != "csrf" {
		t.Errorf("root session POST projects without a token = %d %+v; want 403 csrf", code, a)
	}
	// The root key itself, not a session, is unchanged: no project switching.
	if resp, _ := d.do("GET", "/api/v1/datasets", "", map[string]string{"Authorization": "Bearer " + rootKey, "X-Alidade-Project": "1"}); resp.StatusCode != 403 {
		t.Errorf("root key GET datasets = %d; want 403 as before", resp.StatusCode)
	}
}

// TestDashboardSessionsSurviveRestart: sessions are kept on disk as hashes
// and open again after a restart; a new root key ends root sessions.
func TestDashboardSessionsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.Now().UTC().Truncate(time.Millisecond)}
	var admin, root *browserSession
	var keys map[meta.KeyKind]string
	t.Run("first start", func(t *testing.T) {
		d := newDash(t, dashOptions{dir: dir, clock: clk})
		keys = d.keys
		admin, root = d.signIn(d.keys[meta.KindAdmin]), d.signIn(rootKey)
		stored, err := d.env.Store.Sessions(context.Background())
		if err != nil || len(stored) != 2 {
			t.Fatalf("stored sessions = %d, %v; want 2", len(stored), err)
		}
		for _, x := range stored {
			if h, _ := session.ParseID(admin.cookie); x.Hash == h && (x.Root || x.KeyID == 0 || x.Kind != meta.KindAdmin || x.Project != 1 || x.CSRF != admin.csrf) {
				t.Errorf("stored admin session = %+v", x)
			}
		}
	})
	// The data directory holds neither the ids nor the keys.
	var all []byte
	_ = filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			b, _ := os.ReadFile(path)
			all = append(all, b...)
		}
		return nil
	})
	for what, secret := range map[string]string{"admin session id": admin.cookie, "root session id": root.cookie, "admin key": keys[meta.KindAdmin], "root key": rootKey} {
		if bytes.Contains(all, []byte(secret)) {
			t.Errorf("the data directory holds the %s", what)
		}
	}
	t.Run("restart", func(t *testing.T) {
		clk.set(clk.now().Add(time.Hour))
		d := newDash(t, dashOptions{dir: dir, clock: clk})
		admin.d, root.d = d, d
		var s sessionAnswer
		if code := admin.json("GET", "/api/v1/session", "", nil, &s); code != 200 || s.Kind != "admin" || s.CSRFToken != admin.csrf {
			t.Errorf("admin session after a restart = %d %+v; want 200 with the same token", code, s)
		}
		if code := admin.change("POST", "/api/v1/keys", `{"kind":"read"}`, nil, nil); code != 201 {
			t.Errorf("admin session change after a restart = %d; want 201", code)
		}
		if code := root.json("GET", "/api/v1/projects", "", nil, nil); code != 200 {
			t.Errorf("root session after a restart = %d; want 200", code)
		}
	})
	t.Run("new root key", func(t *testing.T) {
		d := newDash(t, dashOptions{dir: dir, clock: clk, rootKey: "another-root-key-0123456789"})
		admin.d, root.d = d, d
		if code := root.json("GET", "/api/v1/projects", "", nil, nil); code != 401 {
			t.Errorf("root session after the root key changed = %d; want 401", code)
		}
		if code := admin.json("GET", "/api/v1/session", "", nil, nil); code != 200 {
			t.Errorf("admin session after the root key changed = %d; want 200", code)
		}
	})
	t.Run("idle across a restart", func(t *testing.T) {
		clk.set(clk.now().Add(12 * time.Hour))
		d := newDash(t, dashOptions{dir: dir, clock: clk})
		admin.d = d
		if code := admin.json("GET", "/api/v1/session", "", nil, nil); code != 401 {
			t.Errorf("admin session idle 12 h across a restart = %d; want 401", code)
		}
		if left, err := d.env.Store.Sessions(context.Background()); err != nil || len(left) != 0 {
			t.Errorf("stored sessions = %d, %v; want none (ended at the start)", len(left), err)
		}
	})
}
