//go:build browser

package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleForwarding loads a page whose script tag opts in with
// data-forward-console="error warn", calls console.error and console.warn
// (and console.log, not forwarded), and finds the records in the project's
// logs dataset; the console still printed them.
func TestConsoleForwarding(t *testing.T) {
	e := setup(t)
	p := e.alidade.newProject(t, fmt.Sprintf("console-%d", time.Now().UnixNano()))
	page := `<!doctype html><html><head><title>console</title>
<script>window.printed = []; for (const l of ['error', 'warn', 'log']) { const f = console[l]; console[l] = (...a) => (printed.push(l), f.apply(console, a)); }</script>
<script src="` + e.alidade.url + `/sdk.js" data-key="` + p.keys["public"] + `" data-allow-localhost data-allow-webdriver data-forward-console="error warn"></script>
</head><body><p>console</p></body></html>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	}))
	t.Cleanup(srv.Close)

	b := newBrowser(t, e)
	b.open(srv.URL+"/console", "")
	b.waitFor(`window.alidade && alidade.enabled`)
	eval[chromedp.Void](b, `console.error('payment failed:', 42, new Error('card declined')); console.warn('slow render'); console.log('not forwarded'); alidade.flush()`)
	b.waitBeacon(http.StatusAccepted)
	if printed := eval[[]string](b, `window.printed`); strings.Join(printed, ",") != "error,warn,log" {
		t.Errorf("the page's console printed %v; want error, warn, log", printed)
	}

	var rows []row
	eventually(t, 30*time.Second, "the forwarded console messages", func() []string {
		rows = e.alidade.sql(t, p, "SELECT level, message, service, origin, attributes FROM logs ORDER BY severity DESC")
		if len(rows) < 2 {
			return []string{fmt.Sprintf("2 log records (have %v)", rows)}
		}
		return nil
	})
	if len(rows) != 2 {
		t.Fatalf("logs = %v; want 2 records", rows)
	}
	if r := rows[0]; r.str("level") != "error" || r.str("message") != "payment failed: 42 Error: card declined" ||
		r.str("service") != "browser" || r.str("origin") != "browser" || !strings.Contains(r.str("attributes"), `"path":"/console"`) {
		t.Errorf("console.error's record = %v", r)
	}
	if r := rows[1]; r.str("level") != "warn" || r.str("message") != "slow render" {
		t.Errorf("console.warn's record = %v", r)
	}
}
