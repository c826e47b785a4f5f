package demo

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/server/servertest"
)

// TestDemoFillsTheWebAndErrorPages runs the demo at a small scale with an
// admin key against a real server, and checks that the Frontend page's
// answer (GET /api/v1/web) has every section and the Errors page's
// (GET /api/v1/error-groups) every bug, a regression among them.
func TestDemoFillsTheWebAndErrorPages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server")
	}
	se := servertest.Start(t, servertest.Options{RootKey: "demo-test-root-key-0123456789"})
	o := DefaultOptions()
	o.URL, o.Key, o.Days, o.Scale, o.Seed = se.URL, se.Keys[meta.KindAdmin], 1, 20, 5
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rejected != 0 || rep.Errors.Dropped != 0 {
		t.Fatalf("the server refused %d points (%s) and dropped %d error events", rep.Rejected, rep.FirstRejection, rep.Errors.Dropped)
	}
	t.Logf("demo: %s", rep)
	read := se.Keys[meta.KindRead]
	get := func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, se.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+read)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d %s", path, resp.StatusCode, data)
		}
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}

	type named []struct {
		Name   string  `json:"name"`
		Visits float64 `json:"visits"`
	}
	var web struct {
		Summary struct {
			Visitors, Visits, PageViews, JSErrors float64
			BounceRate, VisitDuration             *float64
		} `json:"summary"`
		Pages      []struct{ Page string }             `json:"pages"`
		EntryPages []struct{ Page string }             `json:"entryPages"`
		ExitPages  []struct{ Page string }             `json:"exitPages"`
		Referrers  named                               `json:"referrers"`
		UTM        struct{ Sources named }             `json:"utm"`
		Devices    named                               `json:"devices"`
		Browsers   named                               `json:"browsers"`
		OS         named                               `json:"os"`
		Countries  named                               `json:"countries"`
		APICalls   []struct{ Endpoint string }         `json:"apiCalls"`
		Actions    []struct{ Action string }           `json:"actions"`
		WebSocket  struct{ Opens, Reconnects float64 } `json:"websocket"`
		Errors     struct {
			Errors float64
			ByPage []struct{ Page string } `json:"byPage"`
			ByType []struct{ Type string } `json:"byType"`
		} `json:"errors"`
		Vitals struct {
			Metrics []struct {
				Metric  string
				Samples float64
				P75     *float64
			} `json:"metrics"`
			ByPage []struct {
				Page    string
				Metrics []struct{ Metric string } `json:"metrics"`
			} `json:"byPage"`
		} `json:"vitals"`
		Meta struct{ Warnings []string } `json:"meta"`
	}
	get("/api/v1/web?range=2d", &web)
	check := func(what string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s is empty after the demo", what)
		}
	}
	s := web.Summary
	check("summary", s.Visitors > 0 && s.Visits > 0 && s.PageViews > s.Visits && s.BounceRate != nil && s.VisitDuration != nil && s.JSErrors > 0)
	check("pages", len(web.Pages) > 3 && len(web.EntryPages) > 0 && len(web.ExitPages) > 0)
	check("referrers", len(web.Referrers) >= 3)
	check("utm", len(web.UTM.Sources) >= 2)
	check("devices", len(web.Devices) >= 2)
	check("browsers", len(web.Browsers) >= 3)
	check("os", len(web.OS) >= 3)
	check("countries", len(web.Countries) >= 3)
	check("apiCalls", len(web.APICalls) >= 5)
	check("actions", len(web.Actions) >= 5)
	check("websocket", web.WebSocket.Opens > 0)
	check("errors", web.Errors.Errors > 0 && len(web.Errors.ByPage) > 0 && len(web.Errors.ByType) > 0)
	check("vitals.byPage", len(web.Vitals.ByPage) > 0 && len(web.Vitals.ByPage[0].Metrics) >= 5)
	for _, m := range web.Vitals.Metrics {
		check("vitals "+m.Metric, m.Samples > 0 && m.P75 != nil)
	}
	if len(web.Meta.Warnings) > 0 {
		t.Errorf("warnings: %v", web.Meta.Warnings)
	}

	var groups struct {
		Groups []struct {
			Title     string  `json:"title"`
			Status    string  `json:"status"`
			Count     float64 `json:"count"`
			Regressed bool    `json:"regressed"`
		} `json:"groups"`
	}
	get("/api/v1/error-groups?status=all", &groups)
	statuses := map[string]int{}
	regressed := 0
	for _, g := range groups.Groups {
		statuses[g.Status]++
		if g.Regressed {
			regressed++
		}
	}
	if len(groups.Groups) != numGoBugs+numJSBugs || regressed != 1 || statuses["resolved"] != 1 || statuses["ignored"] != 1 {
		t.Errorf("%d error groups (%v), %d regressed; want %d, one resolved, one ignored and one regressed",
			len(groups.Groups), statuses, regressed, numGoBugs+numJSBugs)
		for _, g := range groups.Groups {
			t.Logf("  %s %v %v %s", g.Status, g.Regressed, g.Count, g.Title)
		}
	}
	var monitors struct {
		Monitors []struct{ Slug, Status string } `json:"monitors"`
	}
	get("/api/v1/monitors", &monitors)
	if len(monitors.Monitors) != 2 {
		t.Errorf("monitors: %+v", monitors.Monitors)
	}
}
