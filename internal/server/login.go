package server

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/session"
)

// The dashboard's sign-in: GET /login is a form taking a project's admin or
// read key (or the root key); POST /login exchanges it for a session
// cookie; POST /logout ends the session. The key is read from the form
// body only, never echoed, logged or put in a URL.

// loginFailuresPerMinute is how many failed sign-ins a client address
// (an IPv6 /64) may make a minute before it gets 429.
const loginFailuresPerMinute = 10

// pageCSP is the Content-Security-Policy of every HTML answer: the
// server's own scripts and styles only (inline styles allowed), no
// framing, forms posting only to the server.
const pageCSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// setPageHeaders sets the security headers of an HTML answer; it is never
// cached (it may carry a CSRF token).
func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Sign in · Alidade</title>
<style>
:root { color-scheme: light dark; --bg: #f6f7f9; --fg: #1b1f24; --muted: #57606a; --card: #fff; --line: #d0d7de; --accent: #0b5cad; --err-bg: #fdecea; --err-fg: #8a1c12; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9da7b3; --card: #161b22; --line: #30363d; --accent: #4c9aff; --err-bg: #3d1512; --err-fg: #ffb4a9; }
}
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: var(--bg); color: var(--fg); font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { width: min(26rem, calc(100vw - 2rem)); background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 2rem; }
h1 { margin: 0 0 .25rem; font-size: 1.5rem; }
p { margin: 0 0 1rem; color: var(--muted); }
label { display: block; font-weight: 600; margin-bottom: .25rem; }
input[type=password] { width: 100%; padding: .6rem .7rem; font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: 6px; }
input:focus-visible, button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
button { margin-top: 1rem; width: 100%; padding: .6rem; font: inherit; font-weight: 600; color: #fff; background: var(--accent); border: 0; border-radius: 6px; cursor: pointer; }
.error { color: var(--err-fg); background: var(--err-bg); border-radius: 6px; padding: .6rem .7rem; }
</style>
</head>
<body>
<main>
<h1>Alidade</h1>
<p>Sign in with a project's admin or read key, or the instance root key.</p>
{{if .Error}}<p class="error" id="login-error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<label for="key">Key</label>
<input id="key" name="key" type="password" autocomplete="current-password" spellcheck="false" required autofocus{{if .Error}} aria-invalid="true" aria-describedby="login-error"{{end}}>
{{if .Next}}<input type="hidden" name="next" value="{{.Next}}">{{end}}
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
`))

// renderLogin answers the sign-in form with status and an error message
// ("" for none).
func renderLogin(w http.ResponseWriter, status int, msg, next string) {
	setPageHeaders(w)
	w.WriteHeader(status)
	_ = loginPage.Execute(w, struct{ Error, Next string }{msg, next})
}

// handleLoginPage serves the sign-in form, or sends a browser already
// signed in on to the dashboard.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	next, _ := localPath(r.URL.Query().Get("next"))
	if _, ok, _ := s.cookieSession(r); ok {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, cmp.Or(next, "/"), http.StatusSeeOther)
		return
	}
	renderLogin(w, http.StatusOK, "", next)
}

// handleLogin exchanges a key for a session cookie.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" && !s.sameOrigin(r, o) {
		renderLogin(w, http.StatusForbidden, fmt.Sprintf("This sign-in was sent from another site (%s). Open %s/login and sign in there.", o, s.ownOrigin(r)), "")
		return
	}
	ip, now := clientAddr(r, s.opts.TrustProxy), s.clock()
	if wait, ok := s.logins.allow(ip, now); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		renderLogin(w, http.StatusTooManyRequests, "Too many failed sign-ins from your address. Wait a minute, then try again.", "")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if mt := mediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		renderLogin(w, http.StatusUnsupportedMediaType, "Sign in with the form: its body is application/x-www-form-urlencoded.", "")
		return
	}
	if err := r.ParseForm(); err != nil {
		renderLogin(w, http.StatusBadRequest, "The sign-in form could not be read; send it again.", "")
		return
	}
	// PostForm: the key is read from the body only, never from the URL.
	key, next := strings.TrimSpace(r.PostForm.Get("key")), r.PostForm.Get("next")
	next, _ = localPath(next)
	if key == "" {
		renderLogin(w, http.StatusUnauthorized, "Enter a key.", next)
		return
	}
	p, err := s.auth.Authenticate(key)
	if err != nil {
		s.logins.fail(ip, now)
		renderLogin(w, http.StatusUnauthorized, "That key is unknown or revoked. Check it and try again.", next)
		return
	}
	x := session.Session{KeyID: p.KeyID, Project: p.Project, Kind: p.Kind}
	switch {
	case p.Root:
		x = session.Session{Root: true, RootTag: s.auth.RootTag()}
	case !dashboardKind(p.Kind):
		renderLogin(w, http.StatusForbidden, fmt.Sprintf("A %s key cannot open the dashboard: it is meant for %s. Sign in with the project's read or admin key, or the root key.", p.Kind, keyUse(p.Kind)), next)
		return
	}
	id, x, err := s.sessions.Create(r.Context(), x)
	if err != nil {
		s.log.Error("dashboard sign-in: session not stored", "id", requestID(r), "err", err)
		renderLogin(w, http.StatusInternalServerError, "The server could not open a session (request id "+requestID(r)+"). Try again.", next)
		return
	}
	s.log.Info("dashboard sign-in", "id", requestID(r), "root", x.Root, "project", x.Project, "kind", string(x.Kind), "key_id", x.KeyID)
	s.setSessionCookie(w, r, id)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, cmp.Or(next, "/"), http.StatusSeeOther)
}

// keyUse says what a key kind that cannot open the dashboard is for.
func keyUse(k meta.KeyKind) string {
	if k == meta.KindPublic {
		return "browsers' beacons and Sentry DSNs, in pages anyone can read"
	}
	return "services that write points"
}

// handleLogout ends the session (its CSRF token in X-CSRF-Token or the
// form's csrf field) and sends the browser to the sign-in form.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(sessionCookie)
	if err == nil && s.sessions != nil {
		if sess, err := s.sessions.Get(r.Context(), c.Value); err == nil {
			token := r.Header.Get(csrfHeader)
			if token == "" {
				r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
				_ = r.ParseForm()
				token = r.PostForm.Get("csrf")
			}
			if err := s.checkCSRFToken(r, sess, token); err != nil {
				writeError(w, r, http.StatusForbidden, "csrf", err.Error())
				return
			}
			if err := s.sessions.Delete(r.Context(), c.Value); err != nil {
				s.clearSessionCookie(w, r)
				s.writeStoreError(w, r, err)
				return
			}
			s.log.Info("dashboard sign-out", "id", requestID(r), "root", sess.Root, "project", sess.Project, "key_id", sess.KeyID)
		}
	}
	s.clearSessionCookie(w, r)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// handleApp serves the dashboard to a signed-in browser and sends any
// other to the sign-in form.
func (s *Server) handleApp(w http.ResponseWriter, r *http.Request) {
	sess, ok, err := s.cookieSession(r)
	if !ok {
		if err != nil {
			s.clearSessionCookie(w, r)
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, loginURL(r), http.StatusSeeOther)
		return
	}
	s.serveApp(w, r.WithContext(context.WithValue(r.Context(), ctxSession, sess)))
}

// pageSession is the session of a request handleApp serves.
func pageSession(r *http.Request) session.Session {
	x, _ := r.Context().Value(ctxSession).(session.Session)
	return x
}

// localPath returns next when it is a path on this server ("/..." but
// not "//..." or "/\...", which browsers read as another host), for the
// redirect after sign-in; otherwise "" and false.
func localPath(next string) (string, bool) {
	if next == "" || len(next) > 2048 || next[0] != '/' {
		return "", false
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return "", false
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "", false
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "", false
	}
	return next, true
}

// clientAddr is the address failed sign-ins are counted by: the
// connection's, or with trustProxy the one a proxy forwarded; an IPv6
// address counts for its /64.
func clientAddr(r *http.Request, trustProxy bool) netip.Prefix {
	var ip netip.Addr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ip, _ = netip.ParseAddr(host)
	}
	if trustProxy {
		if fw := forwardedIP(r.Header); fw.IsValid() {
			ip = fw
		}
	}
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

// loginLimiter counts failed sign-ins per client address in fixed windows.
type loginLimiter struct {
	max    int
	window time.Duration

	mu    sync.Mutex
	addrs map[netip.Prefix]*loginWindow
}

type loginWindow struct {
	start    time.Time
	failures int
}

func newLoginLimiter(max int, window time.Duration) *loginLimiter {
	return &loginLimiter{max: max, window: window, addrs: map[netip.Prefix]*loginWindow{}}
}

// allow says whether addr may try to sign in at now, and if not, how long
// until it may.
func (l *loginLimiter) allow(addr netip.Prefix, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	x := l.addrs[addr]
	if x == nil || !now.Before(x.start.Add(l.window)) || x.failures < l.max {
		return 0, true
	}
	return x.start.Add(l.window).Sub(now), false
}

// fail counts a failed sign-in of addr at now.
func (l *loginLimiter) fail(addr netip.Prefix, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	x := l.addrs[addr]
	if x == nil || !now.Before(x.start.Add(l.window)) {
		if len(l.addrs) >= 100_000 {
			l.pruneLocked(now)
		}
		x = &loginWindow{start: now}
		l.addrs[addr] = x
	}
	x.failures++
}

// prune forgets the windows that ended.
func (l *loginLimiter) prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
}

func (l *loginLimiter) pruneLocked(now time.Time) {
	for a, x := range l.addrs {
		if !now.Before(x.start.Add(l.window)) {
			delete(l.addrs, a)
		}
	}
}
