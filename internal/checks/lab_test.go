package checks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/checks"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/server/servertest"
)

func TestPageRoute(t *testing.T) {
	for in, want := range map[string]string{
		"https://app.example.com/lessons/7":                             "/lessons/:id",
		"https://app.example.com/lessons/7?x=1#top":                     "/lessons/:id",
		"https://app.example.com":                                       "/",
		"http://127.0.0.1:8080/about":                                   "/about",
		"https://a.example/u/0b7d2c3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e/edit": "/u/:id/edit",
	} {
		if got, ok := checks.PageRoute(in); !ok || got != want {
			t.Errorf("PageRoute(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// labPages is a fake Lighthouse: a page scoring 55 with a poor LCP, or
// an error when failing is set.
type labPages struct {
	calls, failing atomic.Int32
}

func (*labPages) Available() (bool, string) { return true, "" }

func (p *labPages) Run(_ context.Context, url, device string) (*checks.PageResult, error) {
	p.calls.Add(1)
	if p.failing.Load() != 0 {
		return nil, errors.New("lighthouse: the page did not load")
	}
	res := &checks.PageResult{Score: 55, LCPElement: "body > img.hero", ReportJSON: []byte(`{"lighthouseVersion":"12.2.3"}`), ReportHTML: []byte("<html>report</html>"),
		Recommendations: []checks.Recommendation{
			{Audit: "uses-responsive-images", Title: "Properly size images", SavingsMs: 1200, SavingsBytes: 250_000},
			{Audit: "unused-javascript", Title: "Reduce unused JavaScript", SavingsMs: 300, SavingsBytes: 40_000},
		}}
	res.Metrics.LCP, res.Metrics.FCP, res.Metrics.CLS = 4200, 1500, 0.2
	return res, nil
}

// apiCall calls the API of a test server with key and decodes the answer
// into out (when not nil); it returns the status.
func apiCall(t *testing.T, base, method, path, key string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	// A browser's (the beacon drops bots' events).
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	if resp.StatusCode >= 300 {
		t.Logf("%s %s = %d %s", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode
}

type insightsAnswer struct {
	Pages []struct {
		Page string `json:"page"`
		Lab  *struct {
			Check string    `json:"check"`
			RunID string    `json:"runId"`
			At    time.Time `json:"at"`
			Score int       `json:"score"`
		} `json:"lab"`
		Recommendations []struct {
			Text     string `json:"text"`
			Evidence struct {
				LabRunID     string  `json:"labRunId"`
				LabAudit     string  `json:"labAudit"`
				LabSavingsMs float64 `json:"labSavingsMs"`
			} `json:"evidence"`
		} `json:"recommendations"`
	} `json:"pages"`
}

// TestLabInInsights runs a real server with a fake page runner: a page
// check of /lessons/7 runs, real users' vitals arrive for /lessons/7 and
// /lessons/8 through the beacon, and GET /api/v1/insights shows the
// check's latest successful run as /lessons/:id's lab, and an LCP
// recommendation quoting the run's largest saving. A failed run after it
// leaves the lab at the successful one; /about has no check and no lab.
func TestLabInInsights(t *testing.T) {
	pages := &labPages{}
	e := servertest.Start(t, servertest.Options{RootKey: "root-key-for-the-lab-test-0123456789", PageRunner: pages})
	A, R, pub := e.Keys[meta.KindAdmin], e.Keys[meta.KindRead], e.Keys[meta.KindPublic]

	var c struct {
		ID int64 `json:"id"`
	}
	if code := apiCall(t, e.URL, "POST", "/api/v1/checks", A, map[string]any{"name": "lesson page", "type": "page",
		"url": "https://site.example/lessons/7", "every": "24h"}, &c); code != 201 {
		t.Fatalf("POST /api/v1/checks = %d", code)
	}
	if code := apiCall(t, e.URL, "POST", "/api/v1/checks", A, map[string]any{"name": "home", "type": "page",
		"url": "https://site.example/", "every": "24h"}, nil); code != 201 {
		t.Fatalf("POST /api/v1/checks = %d", code)
	}
	var run struct {
		Run struct {
			ID         int64  `json:"id"`
			OK         bool   `json:"ok"`
			LCPElement string `json:"lcpElement"`
		} `json:"run"`
	}
	if code := apiCall(t, e.URL, "POST", fmt.Sprintf("/api/v1/checks/%d/run", c.ID), A, nil, &run); code != 200 || !run.Run.OK ||
		run.Run.LCPElement != "body > img.hero" {
		t.Fatalf("run = %d %+v; want ok with lcpElement", code, run.Run)
	}

	now := time.Now().UnixMilli()
	var events []map[string]any
	for i := range 40 {
		url := fmt.Sprintf("https://site.example/lessons/%d", 7+i%2)
		events = append(events,
			map[string]any{"type": "pageview", "url": url, "timestamp": now - int64(i)*1000},
			map[string]any{"type": "vital", "name": "LCP", "value": 4000 + float64(i)*10, "rating": "poor", "delta": 4000,
				"attribution": "img.hero", "id": fmt.Sprintf("v5-%d", i), "navigationType": "navigate", "url": url, "timestamp": now - int64(i)*1000},
			map[string]any{"type": "pageview", "url": "https://site.example/about", "timestamp": now - int64(i)*1000})
	}
	if code := apiCall(t, e.URL, "POST", "/api/v1/events", "", map[string]any{"key": pub, "sentAt": now, "events": events}, nil); code != 202 {
		t.Fatalf("POST /api/v1/events = %d", code)
	}

	// The scheduler runs the new checks too: the lab is the newest ok run.
	newestOK := func() int64 {
		var runs struct {
			Runs []struct {
				ID int64 `json:"id"`
				OK bool  `json:"ok"`
			} `json:"runs"`
		}
		apiCall(t, e.URL, "GET", fmt.Sprintf("/api/v1/checks/%d/runs?limit=10", c.ID), R, nil, &runs)
		for _, r := range runs.Runs {
			if r.OK {
				return r.ID
			}
		}
		return 0
	}
	check := func(when string) {
		t.Helper()
		var a insightsAnswer
		var err string
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			a = insightsAnswer{}
			want := fmt.Sprint(newestOK())
			if code := apiCall(t, e.URL, "GET", "/api/v1/insights?range=1h", R, nil, &a); code != 200 {
				t.Fatalf("GET /api/v1/insights = %d", code)
			}
			err = ""
			if len(a.Pages) != 2 || a.Pages[0].Page != "/lessons/:id" || a.Pages[1].Page != "/about" {
				err = fmt.Sprintf("pages %+v; want /lessons/:id, /about", a.Pages)
				continue
			}
			p := a.Pages[0]
			if p.Lab == nil || p.Lab.Check != "lesson page" || p.Lab.Score != 55 || p.Lab.RunID != want || p.Lab.At.IsZero() || a.Pages[1].Lab != nil {
				err = fmt.Sprintf("lab %+v, /about %+v; want lesson page's run %s scoring 55, then null", p.Lab, a.Pages[1].Lab, want)
				continue
			}
			var cited bool
			for _, r := range p.Recommendations {
				if strings.Contains(r.Text, "the latest lab run's 'Properly size images' would save 1.2 s") &&
					r.Evidence.LabRunID == want && r.Evidence.LabAudit == "uses-responsive-images" && r.Evidence.LabSavingsMs == 1200 {
					cited = true
				}
			}
			if !cited {
				err = fmt.Sprintf("recommendations %+v; want one citing the lab's 'Properly size images' saving 1.2 s", p.Recommendations)
				continue
			}
			break
		}
		if err != "" {
			t.Fatalf("%s: %s", when, err)
		}
	}
	check("after a successful run")

	pages.failing.Store(1)
	if code := apiCall(t, e.URL, "POST", fmt.Sprintf("/api/v1/checks/%d/run", c.ID), A, nil, &run); code != 200 || run.Run.OK {
		t.Fatalf("failing run = %d %+v; want not ok", code, run.Run)
	}
	check("after a failed run")
}
