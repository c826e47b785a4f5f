package lighthouse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// Result is one Lighthouse run of a page.
type Result struct {
	Score   int                                            // 0–100
	Metrics struct{ LCP, CLS, FCP, TBT, SI, TTFB float64 } // ms except CLS
	// Recommendations are the performance audits that failed (score < 0.9),
	// opportunities and diagnostics alike, largest savings first.
	Recommendations []Recommendation
	ReportJSON      []byte // the full Lighthouse result (JSON)
	ReportHTML      []byte // the HTML report

	// LCPElement is the CSS selector Lighthouse gives the page's Largest
	// Contentful Paint element (e.g. "body > main > img.hero"), and
	// LCPSnippet its opening tag (e.g. `<img class="hero" src="/hero.jpg">`);
	// "" when Lighthouse could not tell.
	LCPElement, LCPSnippet string
	// Warnings are Lighthouse's runWarnings, and a line for each metric it
	// could not measure (that metric is 0).
	Warnings []string
	// LighthouseVersion is the version that produced the report.
	LighthouseVersion string
}

// Recommendation is a failed Lighthouse audit and what fixing it would save
// (0 where Lighthouse estimates nothing).
type Recommendation struct {
	Audit, Title            string
	SavingsMs, SavingsBytes float64
}

// lhr is the part of Lighthouse's result (LHR) that ParseReport reads.
type lhr struct {
	LighthouseVersion string `json:"lighthouseVersion"`
	RuntimeError      *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"runtimeError"`
	RunWarnings []string `json:"runWarnings"`
	Categories  struct {
		Performance *struct {
			Score     *float64 `json:"score"`
			AuditRefs []struct {
				ID    string `json:"id"`
				Group string `json:"group"`
			} `json:"auditRefs"`
		} `json:"performance"`
	} `json:"categories"`
	Audits map[string]lhAudit `json:"audits"`
}

type lhAudit struct {
	Title            string             `json:"title"`
	Score            *float64           `json:"score"`
	ScoreDisplayMode string             `json:"scoreDisplayMode"`
	NumericValue     *float64           `json:"numericValue"`
	ErrorMessage     string             `json:"errorMessage"`
	MetricSavings    map[string]float64 `json:"metricSavings"`
	Details          *lhDetails         `json:"details"`
}

type lhDetails struct {
	Type                string            `json:"type"`
	OverallSavingsMs    float64           `json:"overallSavingsMs"`
	OverallSavingsBytes float64           `json:"overallSavingsBytes"`
	Items               []json.RawMessage `json:"items"`
}

// metricAudits are the audits that are metrics, not recommendations, when a
// result lacks the performance category's audit groups.
var metricAudits = map[string]bool{
	"first-contentful-paint": true, "largest-contentful-paint": true, "total-blocking-time": true,
	"cumulative-layout-shift": true, "speed-index": true, "interactive": true,
	"max-potential-fid": true, "first-meaningful-paint": true,
}

// ParseReport reads a Lighthouse result (the JSON of `--output=json`) into a
// Result; ReportJSON is data itself. A result that says the page could not be
// tested (runtimeError, or no performance score) is a *RuntimeError; one that
// is not a Lighthouse result wraps ErrBadReport.
func ParseReport(data []byte) (*Result, error) {
	var r lhr
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadReport, err)
	}
	if r.RuntimeError != nil && (r.RuntimeError.Code != "" || r.RuntimeError.Message != "") {
		return nil, &RuntimeError{Code: r.RuntimeError.Code, Message: r.RuntimeError.Message, Warnings: r.RunWarnings}
	}
	perf := r.Categories.Performance
	if perf == nil || r.Audits == nil {
		if r.LighthouseVersion == "" {
			return nil, fmt.Errorf("%w: no lighthouseVersion, categories.performance or audits", ErrBadReport)
		}
		return nil, &RuntimeError{Code: "NO_PERFORMANCE_CATEGORY", Message: "the result has no performance category", Warnings: r.RunWarnings}
	}
	if perf.Score == nil || math.IsNaN(*perf.Score) {
		return nil, &RuntimeError{Code: "NO_SCORE", Message: "Lighthouse gave no performance score", Warnings: r.RunWarnings}
	}
	res := &Result{
		Score:             int(math.Round(clamp(*perf.Score, 0, 1) * 100)),
		ReportJSON:        data,
		LighthouseVersion: r.LighthouseVersion,
		Warnings:          append([]string(nil), r.RunWarnings...),
	}
	metric := func(id string) float64 {
		a, ok := r.Audits[id]
		if !ok || a.NumericValue == nil {
			why := "missing"
			if ok && a.ErrorMessage != "" {
				why = a.ErrorMessage
			}
			res.Warnings = append(res.Warnings, fmt.Sprintf("metric %s not measured: %s", id, why))
			return 0
		}
		return *a.NumericValue
	}
	res.Metrics.LCP = metric("largest-contentful-paint")
	res.Metrics.CLS = metric("cumulative-layout-shift")
	res.Metrics.FCP = metric("first-contentful-paint")
	res.Metrics.TBT = metric("total-blocking-time")
	res.Metrics.SI = metric("speed-index")
	res.Metrics.TTFB = metric("server-response-time")
	res.Recommendations = recommendations(&r)
	if a, ok := r.Audits["largest-contentful-paint-element"]; ok && a.Details != nil {
		res.LCPElement, res.LCPSnippet = firstNode(a.Details, 0)
	}
	return res, nil
}

// recommendations returns the failed performance audits, in Lighthouse's
// order and then largest savings first.
func recommendations(r *lhr) []Recommendation {
	var ids []string
	if refs := r.Categories.Performance.AuditRefs; len(refs) > 0 {
		for _, ref := range refs {
			if ref.Group != "metrics" && ref.Group != "hidden" {
				ids = append(ids, ref.ID)
			}
		}
	} else {
		for id := range r.Audits {
			if !metricAudits[id] {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
	}
	var recs []Recommendation
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		a, ok := r.Audits[id]
		if !ok || seen[id] || a.Score == nil || !(*a.Score < 0.9) {
			continue
		}
		switch a.ScoreDisplayMode {
		case "informative", "notApplicable", "manual", "error":
			continue
		}
		seen[id] = true
		rec := Recommendation{Audit: id, Title: a.Title}
		if a.Details != nil {
			rec.SavingsMs = finite(a.Details.OverallSavingsMs)
			rec.SavingsBytes = finite(a.Details.OverallSavingsBytes)
		}
		if rec.SavingsMs <= 0 {
			for _, m := range []string{"LCP", "FCP", "TBT", "INP"} {
				rec.SavingsMs = max(rec.SavingsMs, finite(a.MetricSavings[m]))
			}
		}
		recs = append(recs, rec)
	}
	sort.SliceStable(recs, func(i, j int) bool {
		if recs[i].SavingsMs != recs[j].SavingsMs {
			return recs[i].SavingsMs > recs[j].SavingsMs
		}
		return recs[i].SavingsBytes > recs[j].SavingsBytes
	})
	return recs
}

// firstNode returns the selector and snippet of the first node item in a
// details tree: Lighthouse 12's LCP element is a list whose first table
// holds it; older ones have the table alone.
func firstNode(d *lhDetails, depth int) (selector, snippet string) {
	if depth > 4 {
		return "", ""
	}
	for _, raw := range d.Items {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || raw[0] != '{' {
			continue
		}
		var item struct {
			Node *struct {
				Type     string `json:"type"`
				Selector string `json:"selector"`
				Snippet  string `json:"snippet"`
			} `json:"node"`
			lhDetails
		}
		if json.Unmarshal(raw, &item) != nil {
			continue
		}
		if n := item.Node; n != nil && (n.Selector != "" || n.Snippet != "") {
			return n.Selector, n.Snippet
		}
		if len(item.Items) > 0 {
			if sel, snip := firstNode(&item.lhDetails, depth+1); sel != "" || snip != "" {
				return sel, snip
			}
		}
	}
	return "", ""
}

func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0
	}
	return f
}

func clamp(f, lo, hi float64) float64 {
	return math.Min(math.Max(f, lo), hi)
}
