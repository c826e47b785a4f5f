package lighthouse

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The fixtures are real Lighthouse 12.2.3 results (Chromium 156, mobile)
// of the real-run test's site, trimmed by its -fixtures flag: fast.json (a
// text page), slow.json (a late 1 MB unsized hero image) and error.json (a
// page answering 500).
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseReportSlow(t *testing.T) {
	data := fixture(t, "slow.json")
	res, err := ParseReport(data)
	if err != nil {
		t.Fatalf("ParseReport(slow.json) = %v", err)
	}
	if res.Score != 79 {
		t.Errorf("Score = %d; want 79", res.Score)
	}
	m := res.Metrics
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"LCP", m.LCP, 5103.1831}, {"CLS", m.CLS, 0.01876857479895295}, {"FCP", m.FCP, 634.59155},
		{"TBT", m.TBT, 148}, {"SI", m.SI, 2667.7257759940426}, {"TTFB", m.TTFB, 1.7650000000000001},
	} {
		if c.got != c.want {
			t.Errorf("Metrics.%s = %v; want %v", c.name, c.got, c.want)
		}
	}
	if res.LCPElement != "body > img.hero" || !strings.Contains(res.LCPSnippet, `src="/hero.jpg"`) {
		t.Errorf("LCP element = %q %q; want body > img.hero, /hero.jpg", res.LCPElement, res.LCPSnippet)
	}
	want := []Recommendation{
		{"uses-responsive-images", "Properly size images", 3150, 624982},
		{"largest-contentful-paint-element", "Largest Contentful Paint element", 2600, 0},
		{"modern-image-formats", "Serve images in next-gen formats", 1200, 241386},
		{"uses-long-cache-ttl", "Serve static assets with an efficient cache policy", 0, 0},
		{"unsized-images", "Image elements do not have explicit `width` and `height`", 0, 0},
	}
	if len(res.Recommendations) != len(want) {
		t.Fatalf("Recommendations = %+v; want %+v", res.Recommendations, want)
	}
	for i, got := range res.Recommendations {
		w := want[i]
		if got.Audit != w.Audit || got.Title != w.Title || math.Floor(got.SavingsMs) != w.SavingsMs || math.Floor(got.SavingsBytes) != w.SavingsBytes {
			t.Errorf("Recommendations[%d] = %+v; want %+v", i, got, w)
		}
	}
	if string(res.ReportJSON) != string(data) || res.LighthouseVersion != "12.2.3" || len(res.Warnings) != 0 {
		t.Errorf("ReportJSON kept %v, version %q, warnings %q", string(res.ReportJSON) == string(data), res.LighthouseVersion, res.Warnings)
	}
}

func TestParseReportFast(t *testing.T) {
	res, err := ParseReport(fixture(t, "fast.json"))
	if err != nil {
		t.Fatalf("ParseReport(fast.json) = %v", err)
	}
	if res.Score != 99 || len(res.Recommendations) != 0 || res.LCPElement != "body > h1" || res.Metrics.CLS != 0 {
		t.Errorf("fast = score %d, recommendations %+v, LCP element %q, CLS %v; want 99, none, body > h1, 0",
			res.Score, res.Recommendations, res.LCPElement, res.Metrics.CLS)
	}
	if res.Metrics.LCP <= 0 || res.Metrics.LCP > 1000 {
		t.Errorf("fast LCP = %v; want (0, 1000] ms", res.Metrics.LCP)
	}
}

func TestParseReportRuntimeError(t *testing.T) {
	_, err := ParseReport(fixture(t, "error.json"))
	var rt *RuntimeError
	if !errors.As(err, &rt) {
		t.Fatalf("ParseReport(error.json) = %v; want a *RuntimeError", err)
	}
	if rt.Code != "ERRORED_DOCUMENT_REQUEST" || !strings.Contains(err.Error(), "(Status code: 500)") || len(rt.Warnings) != 1 {
		t.Errorf("error = %v (code %q, warnings %q); want ERRORED_DOCUMENT_REQUEST with the status code", err, rt.Code, rt.Warnings)
	}
}

func TestParseReportEdges(t *testing.T) {
	f := func(name, in string, check func(*Result, error) string) {
		t.Helper()
		res, err := ParseReport([]byte(in))
		if msg := check(res, err); msg != "" {
			t.Errorf("%s: ParseReport(%q) = %+v, %v: %s", name, in, res, err, msg)
		}
	}
	isBad := func(_ *Result, err error) string {
		if !errors.Is(err, ErrBadReport) {
			return "want ErrBadReport"
		}
		return ""
	}
	code := func(c string) func(*Result, error) string {
		return func(_ *Result, err error) string {
			var rt *RuntimeError
			if !errors.As(err, &rt) || rt.Code != c {
				return "want a *RuntimeError " + c
			}
			return ""
		}
	}
	f("not json", "<html>", isBad)
	f("array", "[1,2]", isBad)
	f("empty", "{}", isBad)
	f("no category", `{"lighthouseVersion":"12.2.3","audits":{}}`, code("NO_PERFORMANCE_CATEGORY"))
	f("null score", `{"lighthouseVersion":"12.2.3","runWarnings":["slow"],"categories":{"performance":{"score":null}},"audits":{}}`, code("NO_SCORE"))
	f("warnings only", `{"runtimeError":{"code":"NO_FCP","message":"The page did not paint any content."}}`, code("NO_FCP"))
	f("no auditRefs, metrics missing", `{"categories":{"performance":{"score":0.456}},"audits":{
		"largest-contentful-paint":{"score":0,"scoreDisplayMode":"numeric","numericValue":9000},
		"render-blocking-resources":{"title":"Eliminate render-blocking resources","score":0,"scoreDisplayMode":"metricSavings","metricSavings":{"FCP":300,"LCP":450},"details":{"type":"opportunity","overallSavingsMs":0}},
		"dom-size":{"title":"Avoids an excessive DOM size","score":0.95,"scoreDisplayMode":"numeric"},
		"bf-cache":{"title":"Page prevented back/forward cache restoration","score":0,"scoreDisplayMode":"binary"},
		"viewport":{"score":null,"scoreDisplayMode":"error","errorMessage":"x"}}}`,
		func(res *Result, err error) string {
			if err != nil {
				return "want no error"
			}
			audits := []string{}
			for _, r := range res.Recommendations {
				audits = append(audits, r.Audit)
			}
			switch {
			case res.Score != 46:
				return "want score 46"
			case !slices.Equal(audits, []string{"render-blocking-resources", "bf-cache"}):
				return "want render-blocking-resources (450 ms from metricSavings), then bf-cache"
			case res.Recommendations[0].SavingsMs != 450:
				return "want 450 ms"
			case len(res.Warnings) != 5: // FCP, CLS, TBT, SI, TTFB missing
				return "want a warning for each missing metric"
			}
			return ""
		})
}
