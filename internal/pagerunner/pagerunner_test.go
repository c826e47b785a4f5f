package pagerunner

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/alidade/alidade/internal/checks"
	"github.com/alidade/alidade/internal/lighthouse"
)

// A real Lighthouse result (the slow page's fixture) converts field by
// field, the LCP element included, and a page run shows it as lcpElement.
func TestConvert(t *testing.T) {
	data, err := os.ReadFile("../lighthouse/testdata/slow.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := lighthouse.ParseReport(data)
	if err != nil {
		t.Fatal(err)
	}
	res.ReportHTML = []byte("<html></html>")
	got := Convert(res)
	if got.Score != res.Score || got.Metrics != res.Metrics || got.LCPElement != res.LCPElement ||
		string(got.ReportJSON) != string(res.ReportJSON) || string(got.ReportHTML) != string(res.ReportHTML) {
		t.Fatalf("Convert = %+v; from %+v", got, res)
	}
	if !strings.Contains(got.LCPElement, "img.hero") {
		t.Errorf("LCPElement = %q; want img.hero", got.LCPElement)
	}
	if len(got.Recommendations) != len(res.Recommendations) || len(got.Recommendations) == 0 {
		t.Fatalf("recommendations: %d of %d", len(got.Recommendations), len(res.Recommendations))
	}
	for i, rec := range res.Recommendations {
		if g := got.Recommendations[i]; g != (checks.Recommendation{Audit: rec.Audit, Title: rec.Title, SavingsMs: rec.SavingsMs, SavingsBytes: rec.SavingsBytes}) {
			t.Errorf("recommendation %d = %+v; want %+v", i, g, rec)
		}
	}
	b, err := json.Marshal(checks.Run{Type: checks.TypePage, LCPElement: got.LCPElement})
	if err != nil || !strings.Contains(string(b), `"lcpElement":"`) {
		t.Errorf("page run JSON %s (%v): no lcpElement", b, err)
	}
}

// Without tools the runner is unavailable and says what to install.
func TestUnavailable(t *testing.T) {
	lh, err := lighthouse.New(lighthouse.Options{Node: "/nonexistent/node"})
	if err != nil {
		t.Fatal(err)
	}
	defer lh.Close()
	ok, why := New(lh).Available()
	if ok || !strings.Contains(why, "Lighthouse") || !strings.Contains(why, "Chromium") {
		t.Errorf("Available() = %v, %q", ok, why)
	}
}
