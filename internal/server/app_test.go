package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/alidade/alidade/internal/meta"
)

// TestAppPages: every page of the dashboard's navigation, and the pages
// under them (a rule's page is the link alert notifications carry), is
// the dashboard to a signed-in browser and the sign-in form without one.
func TestAppPages(t *testing.T) {
	d := newDash(t, dashOptions{})
	b := d.signIn(d.keys[meta.KindRead])
	for _, path := range []string{"/backend", "/errors/7", "/explore", "/tail", "/alerts", "/alerts/12", "/alerts/new", "/settings"} {
		resp, page := b.do("GET", path+"?project=1", "", nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `<div id="app">`) {
			t.Errorf("GET %s signed in = %d; want 200 and the dashboard's page", path, resp.StatusCode)
		}
		resp, _ = d.do("GET", path+"?project=1", "", nil)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") || !strings.Contains(loc, strings.ReplaceAll(path, "/", "%2F")) {
			t.Errorf("GET %s without a session = %d Location %q; want 303 to the sign-in and back", path, resp.StatusCode, loc)
		}
	}
}
