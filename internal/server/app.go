package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/alidade/alidade/internal/ui"
)

// dashboardPaths are the dashboard's pages besides "/": each answers the
// same page, which shows the view its path and query name.
var dashboardPaths = []string{"/backend", "/ai", "/frontend", "/performance", "/performance/page", "/performance/checks/{id}", "/errors", "/errors/{id}", "/explore", "/tail", "/alerts", "/alerts/{id}", "/settings"}

// serveApp writes the dashboard's page for a signed-in browser
// (pageSession(r) is its session): the bundle's tags and the session's
// CSRF token, never a key.
func (s *Server) serveApp(w http.ResponseWriter, r *http.Request) {
	// The page carries GET /api/v1/session's answer, so that its first
	// paint waits for one request (its figures), not two.
	rec := httptest.NewRecorder()
	s.handleSession(rec, r)
	session := ""
	if rec.Code == http.StatusOK {
		session = rec.Body.String()
	}
	setPageHeaders(w)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(ui.Shell(pageSession(r).CSRF, session))
}

// favicon is Alidade's icon: an alidade's sight line over a circle.
const favicon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="13" fill="none" stroke="#2a5bd7" stroke-width="3"/><path d="M4 22 28 10" stroke="#2a5bd7" stroke-width="3" stroke-linecap="round"/><circle cx="16" cy="16" r="3" fill="#2a5bd7"/></svg>`

// handleFavicon is GET /favicon.ico (an SVG: browsers take it).
func handleFavicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write([]byte(favicon))
}

// loginURL is the sign-in page that comes back to r's page after.
func loginURL(r *http.Request) string {
	if r.URL.Path == "/" && r.URL.RawQuery == "" {
		return "/login"
	}
	return "/login?next=" + url.QueryEscape(r.URL.RequestURI())
}
