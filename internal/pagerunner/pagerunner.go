// Package pagerunner runs the page checks of package checks with
// Lighthouse: it adapts a *lighthouse.Runner (which knows nothing of
// checks) to checks.PageRunner (which knows nothing of Lighthouse).
package pagerunner

import (
	"context"

	"github.com/alidade/alidade/internal/checks"
	"github.com/alidade/alidade/internal/lighthouse"
)

// Runner is a checks.PageRunner that runs Lighthouse.
type Runner struct {
	lh *lighthouse.Runner
}

var _ checks.PageRunner = (*Runner)(nil)

// New returns a PageRunner over lh; closing lh is the caller's.
func New(lh *lighthouse.Runner) *Runner { return &Runner{lh: lh} }

// Available says whether Node, Lighthouse and Chromium are there, and if
// not what to install and how.
func (r *Runner) Available() (bool, string) { return r.lh.Available() }

// Run runs Lighthouse on url as device and converts its result. A page
// Lighthouse could not test is an error (its reports are dropped: a failed
// page run keeps none).
func (r *Runner) Run(ctx context.Context, url, device string) (*checks.PageResult, error) {
	res, err := r.lh.Run(ctx, url, device)
	if err != nil {
		return nil, err
	}
	return Convert(res), nil
}

// Convert turns a Lighthouse result into a page check's result.
func Convert(res *lighthouse.Result) *checks.PageResult {
	out := &checks.PageResult{
		Score:      res.Score,
		ReportJSON: res.ReportJSON,
		ReportHTML: res.ReportHTML,
		LCPElement: res.LCPElement,
	}
	out.Metrics.LCP, out.Metrics.CLS, out.Metrics.FCP = res.Metrics.LCP, res.Metrics.CLS, res.Metrics.FCP
	out.Metrics.TBT, out.Metrics.SI, out.Metrics.TTFB = res.Metrics.TBT, res.Metrics.SI, res.Metrics.TTFB
	out.Recommendations = make([]checks.Recommendation, 0, len(res.Recommendations))
	for _, rec := range res.Recommendations {
		out.Recommendations = append(out.Recommendations, checks.Recommendation{Audit: rec.Audit, Title: rec.Title,
			SavingsMs: rec.SavingsMs, SavingsBytes: rec.SavingsBytes})
	}
	return out
}
