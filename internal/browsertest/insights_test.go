//go:build browser

package browsertest

import (
	"fmt"
	"testing"
	"time"
)

// TestInsightsFromBrowser loads /lessons/7 and /lessons/8 of the test site
// (whose largest paint is a hero image served late) in headless Chromium
// with the real browser SDK, leaves each page so that the SDK sends its
// vitals, then asks GET /api/v1/insights: the two pages are one,
// /lessons/:id, with both views, an LCP past the hero's delay, and img.hero
// blamed for it.
func TestInsightsFromBrowser(t *testing.T) {
	e := setup(t)
	p := e.claimDefaultProject(t)
	s := startSite(t, e, e.alidade.url, p.keys["public"])
	b := newBrowser(t, e)

	for _, path := range []string{"/lessons/7", "/lessons/8"} {
		b.open(s.url+path, "")
		b.waitFor(`window.alidade && alidade.enabled && window.site`)
		b.waitFor(`new Promise((ok) => new PerformanceObserver((l, o) => {
			const e = l.getEntries().at(-1);
			if (e && e.element && e.element.matches('img.hero')) { o.disconnect(); ok(true); }
		}).observe({type: 'largest-contentful-paint', buffered: true}))`)
		b.leave() // the SDK sends LCP (and the rest) as the page is hidden
	}

	type element struct {
		Element string  `json:"element"`
		Share   float64 `json:"share"`
	}
	type page struct {
		Page   string  `json:"page"`
		Views  float64 `json:"views"`
		Vitals map[string]*struct {
			P75     *float64 `json:"p75"`
			Samples float64  `json:"samples"`
		} `json:"vitals"`
		LCPElements []element `json:"lcpElements"`
	}
	var ans struct {
		Pages []page `json:"pages"`
	}
	var lessons *page
	eventually(t, 30*time.Second, "the insights of /lessons/:id", func() (missing []string) {
		code, body, err := e.alidade.call("GET", "/api/v1/insights?range=1h", p.keys["read"], nil, &ans)
		if err != nil || code != 200 {
			return []string{fmt.Sprintf("GET /api/v1/insights = %d %s %v", code, body, err)}
		}
		lessons = nil
		for i := range ans.Pages {
			if ans.Pages[i].Page == "/lessons/:id" {
				lessons = &ans.Pages[i]
			}
		}
		switch {
		case lessons == nil:
			return []string{fmt.Sprintf("the page /lessons/:id (have %+v)", ans.Pages)}
		case lessons.Views < 2:
			missing = append(missing, fmt.Sprintf("2 views (have %v)", lessons.Views))
		}
		if lcp := lessons.Vitals["LCP"]; lcp == nil || lcp.Samples < 2 {
			missing = append(missing, fmt.Sprintf("2 LCP samples (have %+v)", lessons.Vitals))
		}
		return missing
	})
	for _, pg := range ans.Pages {
		if pg.Page == "/lessons/7" || pg.Page == "/lessons/8" {
			t.Errorf("page %s is listed: the ids are not folded", pg.Page)
		}
	}
	if lcp := lessons.Vitals["LCP"]; lcp.P75 == nil || *lcp.P75 < float64(heroDelay.Milliseconds()) {
		t.Errorf("LCP p75 = %v; want at least the hero's delay, %v", lcp.P75, heroDelay)
	}
	if len(lessons.LCPElements) == 0 || lessons.LCPElements[0].Element != "img.hero" || lessons.LCPElements[0].Share != 1 {
		t.Errorf("lcpElements = %+v; want img.hero in every sample", lessons.LCPElements)
	}
}
