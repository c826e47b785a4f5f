package server_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/insights"
	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/server"
)

type insightsLab struct{}

func (insightsLab) LatestPageRun(_ context.Context, _ int64, page string) (*insights.LabRun, error) {
	if page != "/lessons/:id" {
		return nil, nil
	}
	return &insights.LabRun{Check: "lesson page", RunID: "7", At: time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC), Score: 61,
		Recommendations: []insights.LabRec{{Audit: "uses-responsive-images", Title: "Properly size images", SavingsMs: 1200}}}, nil
}

// TestInsights posts a day of browser events through the beacon as the
// SDK sends them (page views, vitals with their attribution, API calls and
// errors on /lessons/7, /lessons/8 and /about, and LCP the day before),
// then reads GET /api/v1/insights and checks the folded pages, their
// views, p75s against references computed here, LCP elements, the error
// rate, the slowest API call, the lab run and the order by impact.
func TestInsights(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	nowMs := now.UnixMilli()
	const minute, hour = int64(60_000), int64(3_600_000)
	clk := &webClock{t: now.Add(-48 * time.Hour)}
	e := newEnv(t, envOptions{server: func(o *server.Options) { o.Clock = clk.now; o.TrustProxy = true; o.Lab = insightsLab{} }})
	pub, R := e.keys[meta.KindPublic], e.keys[meta.KindRead]

	var posts []webPost
	var lessonsLCP, prevLCP, aboutLCP []float64
	post := func(at int64, client int, events ...map[string]any) {
		for _, ev := range events {
			ev["timestamp"] = at
		}
		c := webClient{ip: fmt.Sprintf("198.51.100.%d", client%200+1), country: "NZ", agent: webAgents[client%len(webAgents)]}
		posts = append(posts, webPost{at: at, client: c, events: events})
	}
	vital := func(path, name string, value float64, rating, attribution string, id int) map[string]any {
		return map[string]any{"type": "vital", "name": name, "value": value, "rating": rating, "delta": value,
			"attribution": attribution, "id": fmt.Sprintf("v5-%d", id), "navigationType": "navigate", "url": "https://site.example" + path}
	}
	for i := range 60 {
		at := nowMs - 20*hour + int64(i)*15*minute
		path := fmt.Sprintf("/lessons/%d", 7+i%2)
		lcp, rating, el := 1800.0+float64(i%5)*40, "good", "h1.title"
		if i%3 != 0 {
			lcp, rating, el = 4300+float64(i)*10, "poor", "img.hero"
		}
		lessonsLCP = append(lessonsLCP, lcp)
		evs := []map[string]any{
			{"type": "pageview", "url": "https://site.example" + path + "?utm_source=x"},
			vital(path, "LCP", lcp, rating, el, i),
			vital(path, "TTFB", 300, "good", "", 1000+i),
			{"type": "api_call", "endpoint": "GET /api/lessons/:id", "method": "GET", "duration": 1400 + float64(i), "status": 200, "url": "https://site.example" + path},
			{"type": "api_call", "endpoint": "GET /api/me", "method": "GET", "duration": 90, "status": 200, "url": "https://site.example" + path},
		}
		if i%10 == 0 {
			evs = append(evs, map[string]any{"type": "error", "errorType": "TypeError", "message": "x is undefined", "url": "https://site.example" + path})
		}
		post(at, i, evs...)
		if i%4 == 0 {
			at := nowMs - 20*hour - 24*hour + int64(i)*15*minute
			prevLCP = append(prevLCP, 3000)
			post(at, i, vital(path, "LCP", 3000, "needs-improvement", "img.hero", 5000+i))
		}
	}
	for i := range 200 {
		at := nowMs - 19*hour + int64(i)*5*minute
		evs := []map[string]any{{"type": "pageview", "url": "https://site.example/about"}}
		if i%20 == 0 {
			aboutLCP = append(aboutLCP, 2700)
			evs = append(evs, vital("/about", "LCP", 2700, "needs-improvement", "div.card>p", 9000+i))
		}
		post(at, 300+i, evs...)
	}
	webPostAll(t, e, clk, pub, posts)
	clk.set(now)

	var a struct {
		Pages []struct {
			Page   string  `json:"page"`
			Views  float64 `json:"views"`
			Vitals map[string]*struct {
				P75    *float64 `json:"p75"`
				Rating string   `json:"rating"`
				Good   *float64 `json:"good"`
				Poor   *float64 `json:"poor"`
				Change *float64 `json:"change"`
			} `json:"vitals"`
			LCPElements []struct {
				Element string  `json:"element"`
				Share   float64 `json:"share"`
			} `json:"lcpElements"`
			ErrorRate       *float64 `json:"errorRate"`
			SlowestAPICalls []struct {
				Endpoint string   `json:"endpoint"`
				P75      *float64 `json:"p75"`
			} `json:"slowestApiCalls"`
			Lab *struct {
				Check string `json:"check"`
				RunID string `json:"runId"`
				Score int    `json:"score"`
			} `json:"lab"`
			Recommendations []struct {
				Text     string         `json:"text"`
				Evidence map[string]any `json:"evidence"`
			} `json:"recommendations"`
		} `json:"pages"`
		Meta struct {
			Source   string   `json:"source"`
			Warnings []string `json:"warnings"`
		} `json:"meta"`
	}
	if code := e.call("GET", "/api/v1/insights?range=24h", R, nil, nil, &a); code != http.StatusOK {
		t.Fatalf("GET /api/v1/insights?range=24h = %d", code)
	}
	if len(a.Pages) != 2 || a.Pages[0].Page != "/lessons/:id" || a.Pages[1].Page != "/about" {
		t.Fatalf("pages = %+v; want /lessons/:id (60 views, LCP poor) before /about (200 views, LCP needs improvement)", a.Pages)
	}
	if a.Meta.Source != "rollup" && a.Meta.Source != "mixed" || len(a.Meta.Warnings) != 0 {
		t.Errorf("meta = %+v; want rollup (or mixed), no warnings", a.Meta)
	}
	near := func(what string, got *float64, want float64) {
		t.Helper()
		if got == nil || math.Abs(*got-want) > 0.01*want {
			t.Errorf("%s = %v; want %v (±1 %%)", what, got, want)
		}
	}
	p := a.Pages[0]
	if p.Views != 60 {
		t.Errorf("views = %v; want 60", p.Views)
	}
	lcp := p.Vitals["LCP"]
	if lcp == nil {
		t.Fatalf("vitals = %v; want LCP", p.Vitals)
	}
	near("LCP p75", lcp.P75, *webQuantile(lessonsLCP, 0.75))
	near("LCP good", lcp.Good, 20.0/60)
	near("LCP poor", lcp.Poor, 40.0/60)
	near("LCP change", lcp.Change, *webQuantile(lessonsLCP, 0.75) / *webQuantile(prevLCP, 0.75) - 1)
	if lcp.Rating != "poor" || p.Vitals["TTFB"] == nil || p.Vitals["TTFB"].Rating != "good" || p.Vitals["INP"] != nil {
		t.Errorf("vitals = LCP %+v, TTFB %+v, INP %+v; want poor, good, null", lcp, p.Vitals["TTFB"], p.Vitals["INP"])
	}
	if len(p.LCPElements) != 2 || p.LCPElements[0].Element != "img.hero" || math.Abs(p.LCPElements[0].Share-40.0/60) > 1e-9 {
		t.Errorf("lcpElements = %+v; want img.hero in 40 of 60", p.LCPElements)
	}
	near("errorRate", p.ErrorRate, 6.0/60)
	if len(p.SlowestAPICalls) != 2 || p.SlowestAPICalls[0].Endpoint != "GET /api/lessons/:id" {
		t.Errorf("slowestApiCalls = %+v; want GET /api/lessons/:id first", p.SlowestAPICalls)
	}
	if p.Lab == nil || p.Lab.RunID != "7" || p.Lab.Score != 61 || a.Pages[1].Lab != nil {
		t.Errorf("lab = %+v, %+v; want run 7 scoring 61, then null", p.Lab, a.Pages[1].Lab)
	}
	var texts []string
	for _, r := range p.Recommendations {
		texts = append(texts, r.Text)
	}
	want := "LCP is poor at p75 on /lessons/:id ("
	if len(texts) == 0 || !strings.HasPrefix(texts[0], want) || !strings.Contains(texts[0], "over 60 views") ||
		!strings.Contains(texts[0], "the LCP element is img.hero in 67 % of them; the latest lab run's 'Properly size images' would save 1.2 s") {
		t.Errorf("recommendations = %q; want the LCP one first, naming img.hero and the lab's saving", texts)
	}
	near("/about LCP p75", a.Pages[1].Vitals["LCP"].P75, *webQuantile(aboutLCP, 0.75))

	// Raw points give the same pages and figures.
	var raw struct {
		Pages []struct {
			Page  string  `json:"page"`
			Views float64 `json:"views"`
		} `json:"pages"`
	}
	if code := e.call("GET", "/api/v1/insights?range=24h&source=raw&top=1", R, nil, nil, &raw); code != 200 || len(raw.Pages) != 1 || raw.Pages[0].Page != "/lessons/:id" || raw.Pages[0].Views != 60 {
		t.Errorf("source=raw&top=1: %d %+v", code, raw.Pages)
	}
	// Keys and parameters.
	if code := e.call("GET", "/api/v1/insights?range=24h", pub, nil, nil, nil); code != http.StatusForbidden && code != http.StatusUnauthorized {
		t.Errorf("with the public key: %d; want 403", code)
	}
	if code := e.call("GET", "/api/v1/insights?top=0", R, nil, nil, nil); code != http.StatusBadRequest {
		t.Errorf("top=0: %d; want 400", code)
	}
}
