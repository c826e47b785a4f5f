// Package dashboard owns the platform metrics of GET /api/v1/metrics: the
// seed's DashboardMetrics (requests, latency, errorRate, aiUsage {tokens,
// cost}) and the rest of its backend and AI/ML key metrics, over a period,
// the period before it and, optionally, per time bucket. It knows the
// positions of the built-in datasets (package point's builtin schemas) and
// asks its questions as query.Subs through a small Executor, so that the
// raw store today and a rollup planner later can answer them; only the
// intent accuracy join goes to SQL, through the store's scoped sources. It
// never sees HTTP and never prints user text into SQL.
package dashboard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/alidade/alidade/internal/query"
)

// Executor answers one dataset's Sub: the store, or a planner over rollups.
type Executor interface {
	Execute(ctx context.Context, s *query.Sub) (*query.SubResult, error)
}

// SQLRunner runs the intent join: SQLSource yields a subquery of exactly
// one project's points of a dataset (parameters numbered from argBase+1),
// and QuerySQL runs SQL this package printed.
type SQLRunner interface {
	SQLSource(project int64, dataset string, argBase int) (string, []any, bool)
	QuerySQL(ctx context.Context, query string, args []any) (*sql.Rows, error)
}

// Options configure a Dashboard.
type Options struct {
	// Exec answers the Subs; required.
	Exec Executor
	// SQL answers the intent join in DuckDB SQL, or else ClickHouse in
	// ClickHouse SQL; both nil leaves the intent figures empty, with a
	// warning.
	SQL        SQLRunner
	ClickHouse ClickHouseRunner
	// Parallel bounds the questions asked at once (default 4).
	Parallel int
}

// Dashboard computes the metrics.
type Dashboard struct {
	exec     Executor
	intent   intentAsker
	parallel int
}

// New returns a Dashboard.
func New(opts Options) (*Dashboard, error) {
	if opts.Exec == nil {
		return nil, errors.New("dashboard: no executor")
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	d := &Dashboard{exec: opts.Exec, parallel: opts.Parallel}
	switch {
	case opts.SQL != nil:
		d.intent = duckIntent{opts.SQL}
	case opts.ClickHouse != nil:
		d.intent = chIntent{opts.ClickHouse}
	}
	return d, nil
}

// maxGroups bounds the groups of one grouped question; a list past it is
// left out with a warning rather than failing the whole answer.
const maxGroups = 10000

// maxList bounds the lists that are not top-N lists.
const maxList = 100

// Metrics computes the figures of req's period, of the period of equal
// length before it, and, when req has an interval, their series.
func (d *Dashboard) Metrics(ctx context.Context, req Request) (*Metrics, error) {
	start := time.Now()
	if req.From >= req.To {
		return nil, &ParamError{Param: "from", Msg: "must be before to"}
	}
	if req.Top <= 0 {
		req.Top = DefaultTop
	}
	length := req.To - req.From
	p := &plan{d: d, project: req.Project, want: req.Source}
	cur, prev := &Metrics{}, &Metrics{}
	p.period(cur, req.From, req.To, req.Top)
	p.period(prev, req.From-length, req.From, req.Top)
	if req.Interval > 0 {
		cur.Series = p.series(req.From, req.To, req.Interval)
	}
	if err := p.run(ctx); err != nil {
		return nil, err
	}
	for _, f := range p.finish {
		f()
	}
	cur.Previous = prev
	cur.Meta = &Meta{
		From: formatMs(req.From), To: formatMs(req.To),
		PreviousFrom: formatMs(req.From - length), PreviousTo: formatMs(req.From),
		ElapsedMs: float64(time.Since(start).Microseconds()) / 1000,
		Warnings:  p.warnings,
		Source:    p.source,
	}
	if req.Interval > 0 {
		cur.Meta.Interval = formatInterval(req.Interval)
	}
	return cur, nil
}

// plan collects the questions of one answer, runs them concurrently, then
// runs the finishing steps that combine their answers.
type plan struct {
	d       *Dashboard
	project int64
	want    string // the request's source
	jobs    []func(ctx context.Context) error
	finish  []func()

	mu          sync.Mutex
	warnings    []string
	source      string // combined source of the answers so far
	answers     int
	noSQLWarned bool // set while planning, before the jobs run
}

func (p *plan) warn(msg string) {
	p.mu.Lock()
	p.warnings = append(p.warnings, msg)
	p.mu.Unlock()
}

// sub asks s (scoped to the plan's project) and hands the answer to fill.
// Each fill writes only its own figures, so fills may run concurrently.
func (p *plan) sub(name string, s query.Sub, fill func(*query.SubResult)) {
	s.Project = p.project
	s.Source = p.want
	if s.MaxGroups == 0 {
		s.MaxGroups = maxGroups
	}
	p.jobs = append(p.jobs, func(ctx context.Context) error {
		res, err := p.d.exec.Execute(ctx, &s)
		switch {
		case errors.Is(err, query.ErrTooManyGroups) || err == nil && res != nil && len(res.Rows) > s.MaxGroups:
			p.warn(fmt.Sprintf("%s: %s has more than %d groups in the period; the list is left out", name, s.Dataset, s.MaxGroups))
			return nil
		case err != nil:
			return fmt.Errorf("metrics %s: %w", name, err)
		case res == nil:
			return fmt.Errorf("metrics %s: %w", name, query.ErrBadResult)
		}
		for _, r := range res.Rows {
			if len(r.Values) != len(s.Aggs) || len(r.Groups) != len(s.GroupBy) {
				return fmt.Errorf("metrics %s: %w", name, query.ErrBadResult)
			}
		}
		p.answered(res.Source)
		fill(res)
		return nil
	})
}

// answered folds the source of one more answer into the plan's.
func (p *plan) answered(src string) {
	p.mu.Lock()
	p.source = query.CombineSources(p.source, src, p.answers == 0)
	p.answers++
	p.mu.Unlock()
}

// run runs the jobs, at most parallel at once; the first failure cancels
// the others.
func (p *plan) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, p.d.parallel)
	errs := make([]error, len(p.jobs))
	var wg sync.WaitGroup
	for i, job := range p.jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = ctx.Err()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := job(ctx); err != nil {
				errs[i] = err
				cancel()
			}
		})
	}
	wg.Wait()
	var first error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if !errors.Is(err, context.Canceled) {
			return err
		}
		if first == nil {
			first = err
		}
	}
	return first
}
