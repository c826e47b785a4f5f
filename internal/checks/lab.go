package checks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/alidade/alidade/internal/enrich"
	"github.com/alidade/alidade/internal/insights"
)

// labScanRuns is how many of a check's newest runs Lab looks through for
// a successful one.
const labScanRuns = 50

// labCacheFor is how long Lab keeps the list of page checks: an insights
// answer asks for each of its pages in turn.
const labCacheFor = 2 * time.Second

// Lab is the per-page report's lab source (insights.LabSource) over the
// checks store: a page's latest lab run is the newest successful run
// (among each check's newest 50) of the project's page checks whose URL
// path, folded as enrich.Route folds the real users' paths, is the page.
type Lab struct {
	store Store
	now   func() time.Time

	mu    sync.Mutex
	at    time.Time
	pages map[int64]map[string][]labCheck // project → folded path → checks
}

type labCheck struct {
	id   int64
	name string
}

var _ insights.LabSource = (*Lab)(nil)

// NewLab returns a Lab over st.
func NewLab(st Store) *Lab { return &Lab{store: st, now: time.Now} }

// PageRoute is the page of a check's URL as the per-page report names it:
// its path ("/" when empty) with ids folded.
func PageRoute(rawURL string) (string, bool) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", false
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	return enrich.Route(p), true
}

// checks returns the page checks by project and page.
func (l *Lab) checks(ctx context.Context) (map[int64]map[string][]labCheck, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pages != nil && l.now().Sub(l.at) < labCacheFor {
		return l.pages, nil
	}
	recs, err := l.store.Checks(ctx)
	if err != nil {
		return nil, err
	}
	pages := map[int64]map[string][]labCheck{}
	for _, rec := range recs {
		var sp Spec
		if err := json.Unmarshal([]byte(rec.Spec), &sp); err != nil || sp.Type != TypePage {
			continue
		}
		page, ok := PageRoute(sp.URL)
		if !ok {
			continue
		}
		if pages[rec.Project] == nil {
			pages[rec.Project] = map[string][]labCheck{}
		}
		pages[rec.Project][page] = append(pages[rec.Project][page], labCheck{id: rec.ID, name: sp.Name})
	}
	l.pages, l.at = pages, l.now()
	return pages, nil
}

// LatestPageRun returns the newest successful run of project's page
// checks of page, nil when there is none.
func (l *Lab) LatestPageRun(ctx context.Context, project int64, page string) (*insights.LabRun, error) {
	pages, err := l.checks(ctx)
	if err != nil {
		return nil, err
	}
	var best *insights.LabRun
	for _, c := range pages[project][page] {
		recs, err := l.store.CheckRuns(ctx, project, c.id, labScanRuns)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			var r Run
			if err := json.Unmarshal([]byte(rec.Run), &r); err != nil {
				return nil, fmt.Errorf("check %d run %d: %w", c.id, rec.ID, err)
			}
			if !r.OK || r.Score == nil {
				continue
			}
			if best == nil || r.At.After(best.At) {
				best = &insights.LabRun{Check: c.name, RunID: fmt.Sprint(rec.ID), At: r.At, Score: int(*r.Score + 0.5)}
				for _, rec := range r.Recommendations {
					best.Recommendations = append(best.Recommendations, insights.LabRec{Audit: rec.Audit, Title: rec.Title,
						SavingsMs: rec.SavingsMs, SavingsBytes: rec.SavingsBytes})
				}
			}
			break // newest first: the rest are older
		}
	}
	return best, nil
}
