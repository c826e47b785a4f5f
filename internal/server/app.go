package server

import (
	"net/http"
	"net/url"

	"github.com/alidade/alidade/internal/ui"
)

// dashboardPaths are the dashboard's pages besides "/": each answers the
// same page, which shows the view its path and query name.
var dashboardPaths = []string{"/backend", "/ai", "/frontend", "/errors", "/errors/{id}", "/explore", "/settings"}

// serveApp writes the dashboard's page for a signed-in browser
// (pageSession(r) is its session): the bundle's tags and the session's
// CSRF token, never a key.
func (s *Server) serveApp(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(ui.Shell(pageSession(r).CSRF))
}

// loginURL is the sign-in page that comes back to r's page after.
func loginURL(r *http.Request) string {
	if r.URL.Path == "/" && r.URL.RawQuery == "" {
		return "/login"
	}
	return "/login?next=" + url.QueryEscape(r.URL.RequestURI())
}
