package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alidade/alidade/internal/auth"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/session"
)

// The dashboard's sessions: a browser signs in with a key (login.go) and
// then holds only a cookie naming a random session id; the API takes the
// cookie where it takes a key (caller), with a CSRF token and an Origin
// check on whatever changes state.
const (
	sessionCookie = "alidade_session"
	// csrfHeader carries the session's CSRF token on state changes.
	csrfHeader = "X-CSRF-Token"
	// projectHeader names the project a root session acts on.
	projectHeader = "X-Alidade-Project"
)

// initSessions opens the session manager; a store that keeps sessions
// keeps them across restarts.
func (s *Server) initSessions(st Store) error {
	o := session.DefaultOptions()
	o.Idle, o.Max, o.Now, o.Logger, o.Valid = s.opts.SessionIdle, s.opts.SessionMax, s.clock, s.log, s.sessionKeyValid
	if ss, ok := st.(session.Store); ok {
		o.Store = ss
	}
	m, err := session.New(context.Background(), o)
	if err != nil {
		return err
	}
	s.sessions = m
	s.logins = newLoginLimiter(loginFailuresPerMinute, time.Minute)
	return nil
}

// maintainSessions deletes the ended sessions and forgets old failed
// sign-ins every interval until ctx ends.
func (s *Server) maintainSessions(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.sessions.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("sweep dashboard sessions", "err", err)
		}
		s.logins.prune(s.clock())
	}
}

// SweepSessions deletes the dashboard sessions that ended (the server does
// every minute); it returns how many.
func (s *Server) SweepSessions(ctx context.Context) (int, error) {
	return s.sessions.Sweep(ctx)
}

// sessionKeyValid says whether the key a session was opened with still
// opens it: a live project key of the same project and kind, or the root
// key in force.
func (s *Server) sessionKeyValid(x session.Session) bool {
	if x.Root {
		tag := s.auth.RootTag()
		return tag != "" && x.RootTag == tag
	}
	p, ok := s.auth.Key(x.KeyID)
	return ok && p.Project == x.Project && p.Kind == x.Kind && dashboardKind(p.Kind)
}

// dashboardKind says a key of kind may open the dashboard: read and admin
// keys may; public and write keys, which live in pages and services, not.
func dashboardKind(k meta.KeyKind) bool {
	return k == meta.KindRead || k == meta.KindAdmin
}

// sessionPrincipal is who a session's requests act as.
func sessionPrincipal(x session.Session) auth.Principal {
	if x.Root {
		return auth.Principal{Root: true}
	}
	return auth.Principal{Project: x.Project, Kind: x.Kind, KeyID: x.KeyID}
}

// sessionEndedMessage explains a session cookie that opens nothing.
func sessionEndedMessage(err error) string {
	why := "it expired or was signed out"
	switch {
	case errors.Is(err, session.ErrKeyGone):
		why = "the key it was opened with was revoked"
	case errors.Is(err, session.ErrExpired):
		why = "it expired"
	}
	return "your dashboard session has ended (" + why + "); sign in again at /login, or send Authorization: Bearer <key>"
}

// cookieSession returns the live session of a request's cookie, if any.
func (s *Server) cookieSession(r *http.Request) (session.Session, bool, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || s.sessions == nil {
		return session.Session{}, false, nil
	}
	sess, err := s.sessions.Get(r.Context(), c.Value)
	if err != nil {
		return session.Session{}, false, err
	}
	return sess, true, nil
}

// checkCSRF checks a request a session cookie authenticated: a safe method
// passes; one that changes state carries the session's token in
// X-CSRF-Token and, when it sends Origin, comes from the server's own.
func (s *Server) checkCSRF(r *http.Request, sess session.Session) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	return s.checkCSRFToken(r, sess, r.Header.Get(csrfHeader))
}

// checkCSRFToken checks a state change's token (compared in constant time)
// and Origin.
func (s *Server) checkCSRFToken(r *http.Request, sess session.Session, token string) error {
	if token == "" {
		return fmt.Errorf("a change made with a dashboard session must carry its CSRF token in the %s header (GET /api/v1/session gives it)", csrfHeader)
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRF)) != 1 {
		return fmt.Errorf("the %s header is not this session's CSRF token (GET /api/v1/session gives it)", csrfHeader)
	}
	if o := r.Header.Get("Origin"); o != "" && !s.sameOrigin(r, o) {
		return fmt.Errorf("a change made with a dashboard session must come from this server's pages (%s), not from Origin %q", s.ownOrigin(r), o)
	}
	return nil
}

// overTLS says the browser reached the server over HTTPS: the connection
// is TLS, or a trusted proxy (--trust-proxy) says so in X-Forwarded-Proto.
func (s *Server) overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !s.opts.TrustProxy {
		return false
	}
	first, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(first), "https")
}

// ownOrigin is the origin browsers reach the server at: --public-url's
// scheme and host when set, otherwise the request's Host, over https when
// overTLS.
func (s *Server) ownOrigin(r *http.Request) string {
	if s.opts.PublicURL != "" {
		if u, err := url.Parse(s.opts.PublicURL); err == nil && u.Host != "" {
			return normalOrigin(u.Scheme, u.Host)
		}
	}
	scheme := "http"
	if s.overTLS(r) {
		scheme = "https"
	}
	return normalOrigin(scheme, r.Host)
}

// sameOrigin says an Origin header names the server's own origin.
func (s *Server) sameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return false // "null", garbage, or more than an origin
	}
	return normalOrigin(u.Scheme, u.Host) == s.ownOrigin(r)
}

// normalOrigin is scheme://host in lower case without the scheme's
// default port.
func normalOrigin(scheme, host string) string {
	scheme, host = strings.ToLower(scheme), strings.ToLower(host)
	switch {
	case scheme == "http":
		host = strings.TrimSuffix(host, ":80")
	case scheme == "https":
		host = strings.TrimSuffix(host, ":443")
	}
	return scheme + "://" + host
}

// setSessionCookie hands the browser its session id.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/",
		MaxAge:   int(s.opts.SessionMax / time.Second),
		HttpOnly: true, Secure: s.secureCookie(r), SameSite: http.SameSiteStrictMode,
	})
}

// clearSessionCookie tells the browser to drop its session cookie.
func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookie(r), SameSite: http.SameSiteStrictMode,
	})
}

// secureCookie says the session cookie is Secure: the request came over
// HTTPS (overTLS), or --public-url is https.
func (s *Server) secureCookie(r *http.Request) bool {
	return s.overTLS(r) || strings.HasPrefix(strings.ToLower(s.opts.PublicURL), "https:")
}

// sessionProject resolves the project a root session's request names in
// X-Alidade-Project (or the query's project). With required, a request
// naming none is refused; otherwise it gets nil. It writes the error
// (400 or 404) and returns false when the project is bad or unknown.
func (s *Server) sessionProject(w http.ResponseWriter, r *http.Request, required bool) (*meta.Project, bool) {
	v := r.Header.Get(projectHeader)
	if v == "" {
		v = r.URL.Query().Get("project")
	}
	if v == "" {
		if !required {
			return nil, true
		}
		writeError(w, r, http.StatusBadRequest, "no_project", fmt.Sprintf("a root session sees every project: name the one to act on in the %s header (or ?project=<id>); GET /api/v1/session lists them", projectHeader))
		return nil, false
	}
	id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || id < 1 {
		writeError(w, r, http.StatusBadRequest, "bad_project", fmt.Sprintf("%s %q is not a project id (a positive number)", projectHeader, v))
		return nil, false
	}
	ps, err := s.store.Projects(r.Context())
	if err != nil {
		s.writeStoreError(w, r, err)
		return nil, false
	}
	i := slices.IndexFunc(ps, func(p meta.Project) bool { return p.ID == id })
	if i < 0 {
		writeError(w, r, http.StatusNotFound, "no_project", fmt.Sprintf("project %d does not exist; GET /api/v1/session lists the projects", id))
		return nil, false
	}
	return &ps[i], true
}

// projectRef names a project in the session answer.
type projectRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// sessionResponse is GET /api/v1/session: who the caller is and, for a
// dashboard session, its CSRF token and when it ends unless used.
type sessionResponse struct {
	// Project is the key's project, or the one a root caller names
	// (null when it names none).
	Project *projectRef `json:"project"`
	Kind    string      `json:"kind"` // admin, read or root (or the key's kind)
	Root    bool        `json:"root"`
	// CSRFToken and Expires are a session's; a key has neither.
	CSRFToken string `json:"csrfToken,omitempty"`
	Expires   string `json:"expires,omitempty"`
	// Projects lists every project, for a root caller only.
	Projects []projectRef `json:"projects,omitempty"`
}

// handleSession answers who the caller is: this is how the dashboard's
// script learns its CSRF token (it never sees the key).
func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	p, sess, ok := s.caller(w, r)
	if !ok {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	resp := sessionResponse{Kind: string(p.Kind), Root: p.Root}
	if sess != nil {
		resp.CSRFToken = sess.CSRF
		resp.Expires = s.sessions.Expires(*sess).UTC().Format(time.RFC3339)
	}
	if p.Root {
		resp.Kind = "root"
		pr, ok := s.sessionProject(w, r, false)
		if !ok {
			return
		}
		if pr != nil {
			resp.Project = &projectRef{ID: pr.ID, Name: pr.Name}
		}
		ps, err := s.store.Projects(r.Context())
		if err != nil {
			s.writeStoreError(w, r, err)
			return
		}
		resp.Projects = make([]projectRef, len(ps))
		for i, x := range ps {
			resp.Projects[i] = projectRef{ID: x.ID, Name: x.Name}
		}
		writeJSON(w, http.StatusOK, resp)
		return
	}
	ps, err := s.store.Projects(r.Context())
	if err != nil {
		s.writeStoreError(w, r, err)
		return
	}
	resp.Project = &projectRef{ID: p.Project}
	if i := slices.IndexFunc(ps, func(x meta.Project) bool { return x.ID == p.Project }); i >= 0 {
		resp.Project.Name = ps[i].Name
	}
	writeJSON(w, http.StatusOK, resp)
}
