package checks

import "context"

// PageRunner runs a lab test of a page (Lighthouse).
type PageRunner interface {
	// Available says whether page runs can run here, and if not why (what to install and how).
	Available() (ok bool, why string)
	// Run runs the page test; at most one at a time per node is the runner's job (it queues, bounded).
	Run(ctx context.Context, url, device string) (*PageResult, error)
}

// PageResult is what a page run found.
type PageResult struct {
	Score           int                                            // 0–100
	Metrics         struct{ LCP, CLS, FCP, TBT, SI, TTFB float64 } // ms except CLS
	Recommendations []Recommendation                               // largest savings first
	ReportJSON      []byte                                         // the full Lighthouse result (JSON)
	ReportHTML      []byte                                         // the HTML report
	// LCPElement is the CSS selector of the page's Largest Contentful
	// Paint element as Lighthouse gives it (e.g. "body > img.hero"); ""
	// when unknown.
	LCPElement string
}

// Recommendation is one of Lighthouse's failed opportunities or
// diagnostics and what fixing it would save.
type Recommendation struct {
	Audit, Title            string
	SavingsMs, SavingsBytes float64
}

// NoRunnerWhy is why page checks cannot run when the server has no
// PageRunner at all.
const NoRunnerWhy = "page checks run Lighthouse, and this server has no Lighthouse runner: install Node.js 20, " +
	"Lighthouse (npm install -g lighthouse@12.2.3) and Chromium (Debian: apt-get install chromium; " +
	"CHROME_PATH=/usr/bin/chromium), then restart Alidade; http checks run without them"
