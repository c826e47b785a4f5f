//go:build browser

package browsertest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestAllowedOrigins sets the project's allowed origins to the test site's
// and loads the same site from another origin (localhost instead of
// 127.0.0.1): that page's beacon is refused with 403 and nothing of it is
// stored, while the allowed origin's events are.
func TestAllowedOrigins(t *testing.T) {
	e := setup(t)
	p := e.alidade.newProject(t, fmt.Sprintf("origins-%d", time.Now().UnixNano()))
	s := startSite(t, e, e.alidade.url, p.keys["public"])
	allowed := s.url
	other := strings.Replace(s.url, "127.0.0.1", "localhost", 1)

	var got struct {
		AllowedOrigins []string `json:"allowedOrigins"`
	}
	path := fmt.Sprintf("/api/v1/projects/%d", p.id)
	code, body, err := e.alidade.call("PATCH", path, p.keys["admin"], map[string]any{"allowedOrigins": []string{allowed}}, &got)
	if err != nil || code != http.StatusOK || !slices.Equal(got.AllowedOrigins, []string{allowed}) {
		t.Fatalf("PATCH %s = %d %s %v; want 200 with allowedOrigins [%s]", path, code, body, err, allowed)
	}

	b := newBrowser(t, e)
	// The other origin: the SDK sends (it is enabled), Alidade refuses.
	b.open(other+"/lessons/7", "")
	b.waitFor(`window.alidade && alidade.enabled && window.site && site.fetches == 2 && site.opens == 1`)
	eval[chromedp.Void](b, `alidade.flush()`)
	b.waitBeacon(http.StatusForbidden)

	// The allowed origin: stored.
	b.open(allowed+"/chat", "")
	b.waitFor(`window.alidade && alidade.enabled && window.site && site.fetches == 2 && site.opens == 1`)
	eval[chromedp.Void](b, `alidade.flush()`)
	b.waitBeacon(http.StatusAccepted)
	b.leave()

	count := func(dataset, host string) float64 {
		rows := e.alidade.sql(t, p, fmt.Sprintf("SELECT count() AS n FROM %s WHERE host = '%s'", dataset, host))
		if len(rows) != 1 {
			t.Fatalf("count of %s: %v", dataset, rows)
		}
		return rows[0].num("n")
	}
	allowedHost, otherHost := strings.TrimPrefix(allowed, "http://"), strings.TrimPrefix(other, "http://")
	eventually(t, 30*time.Second, "the allowed origin's points", func() []string {
		if n := count("pageviews", allowedHost); n < 1 {
			return []string{"the /chat page view"}
		}
		if n := count("api_calls", allowedHost); n < 4 {
			return []string{fmt.Sprintf("4 API calls (have %v)", n)}
		}
		return nil
	})
	for _, ds := range []string{"pageviews", "events", "web_vitals", "api_calls", "client_errors", "ui_actions", "websocket"} {
		if n := count(ds, otherHost); n != 0 {
			t.Errorf("%v points of %s stored from %s, which is not an allowed origin; want none", n, ds, other)
		}
	}
	for _, st := range b.beaconStatuses() {
		if st != http.StatusForbidden && st != http.StatusAccepted {
			t.Errorf("beacon answers %v; want 403 (other origin) and 202 (allowed) only", b.beaconStatuses())
			break
		}
	}
}
