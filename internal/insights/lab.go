package insights

import (
	"context"
	"time"
)

// LabSource gives the latest lab run (a Lighthouse page check) of a page,
// matched by route: the check's URL path folded as enrich.Route folds it.
// It returns nil and no error when the page has no run. Package checks
// implements it; nil in Options means no lab data.
type LabSource interface {
	LatestPageRun(ctx context.Context, project int64, page string) (*LabRun, error)
}

// LabRun is a lab run of a page check.
type LabRun struct {
	// Check names the check; RunID is the run's id.
	Check string
	RunID string
	At    time.Time
	// Score is Lighthouse's performance score, 0–100.
	Score int
	// Recommendations are Lighthouse's failed opportunities and
	// diagnostics.
	Recommendations []LabRec
}

// LabRec is one of a lab run's recommendations.
type LabRec struct {
	Audit        string
	Title        string
	SavingsMs    float64
	SavingsBytes float64
}
