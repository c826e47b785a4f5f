// Package web owns the web analytics answers of GET /api/v1/web: visitors,
// visits, page views, bounce rate and visit duration; top, entry and exit
// pages; referrers, UTM tags, devices, browsers, OS and countries; Core Web
// Vitals; the JavaScript error rate; API times, WebSocket stability and
// Redux action times as browsers saw them; and the headline figures of the
// period before. It reads the built-in browser datasets (package point's
// builtin schemas: pageviews, web_vitals, client_errors, api_calls,
// ui_actions, websocket with side "browser") as the beacon and the
// enrichment step fill them, by position.
//
// It asks its questions as query.Subs through an Executor (the rollup
// planner), in forms rollups answer wherever it can: index1 and dimension
// groups, counts, sums (visits are sum(entry), bounces sum(bounce), visit
// time sum(since_previous)) and quantiles of distributions. What needs
// per-visitor or per-visit raw points (distinct visitors, exit pages) or
// fields that are no rollup dimension (referrers, UTM tags, per-page
// vitals and errors, reconnect attempts) reads raw points; Meta.Sources
// says which figure came from where. Exit pages are one SQL question,
// through the store's scoped sources. It never sees HTTP and never prints
// user text into SQL.
package web

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alidade/alidade/internal/query"
)

// Executor answers one dataset's Sub: the store, or a planner over rollups.
type Executor interface {
	Execute(ctx context.Context, s *query.Sub) (*query.SubResult, error)
}

// SQLRunner answers the exit pages question: SQLSource yields a subquery
// of exactly one project's points of a dataset (parameters numbered from
// argBase+1), and QuerySQL runs SQL this package printed.
type SQLRunner interface {
	SQLSource(project int64, dataset string, argBase int) (string, []any, bool)
	QuerySQL(ctx context.Context, query string, args []any) (*sql.Rows, error)
}

// Options configure a Web.
type Options struct {
	// Exec answers the Subs; required.
	Exec Executor
	// SQL answers the exit pages and the entry pages' bounces in DuckDB
	// SQL, or else ClickHouse in ClickHouse SQL; both nil leaves them
	// out, with a warning.
	SQL        SQLRunner
	ClickHouse ClickHouseRunner
	// Parallel bounds the questions asked at once (default 4), and
	// RawParallel those among them that read raw points (default 2): each
	// of those is a scan that DuckDB runs on every core already, and more
	// of them at once only share the cores and the memory.
	Parallel, RawParallel int
}

// Web computes the answers.
type Web struct {
	exec             Executor
	raw              rawAsker
	parallel, rawPar int
}

// New returns a Web.
func New(opts Options) (*Web, error) {
	if opts.Exec == nil {
		return nil, errors.New("web: no executor")
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.RawParallel <= 0 {
		opts.RawParallel = 2
	}
	w := &Web{exec: opts.Exec, parallel: opts.Parallel, rawPar: opts.RawParallel}
	switch {
	case opts.SQL != nil:
		w.raw = duckAsker{opts.SQL}
	case opts.ClickHouse != nil:
		w.raw = chAsker{opts.ClickHouse}
	}
	return w, nil
}

// maxGroups bounds the groups of one grouped question; a list past it is
// left out with a warning rather than failing the whole answer.
const maxGroups = 10000

// maxPages bounds the pages of the page questions, which must see every
// page to join page views with errors and exits.
const maxPages = 100_000

// Report computes the figures of req's period and the headline figures of
// the period of equal length before it.
func (w *Web) Report(ctx context.Context, req Request) (*Report, error) {
	start := time.Now()
	if req.Top == 0 {
		req.Top = DefaultTop
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	length := req.To - req.From
	p := &plan{w: w, project: req.Project, want: req.Source, sources: map[string]string{}}
	rep := &Report{}
	// The summaries first: distinct visitors read raw points and take long.
	p.summary(&rep.Summary, "", req.From, req.To)
	p.summary(&rep.Previous, "previous", req.From-length, req.From)
	p.period(rep, req.From, req.To, req.Top)
	if err := p.run(ctx); err != nil {
		return nil, err
	}
	rep.Change = change(rep.Summary, rep.Previous)
	rep.Meta = Meta{
		From: formatMs(req.From), To: formatMs(req.To),
		PreviousFrom: formatMs(req.From - length), PreviousTo: formatMs(req.From),
		Top:          req.Top,
		Source:       p.source,
		Sources:      p.sources,
		VitalsRating: vitalsRating,
		ElapsedMs:    float64(time.Since(start).Microseconds()) / 1000,
		Warnings:     p.warnings,
	}
	return rep, nil
}

// vitalsRating is Meta.VitalsRating.
const vitalsRating = "the rating each sample carries (web-vitals rates with Google's thresholds); a sample without one is rated from its value with the thresholds"

// plan collects the questions of one answer and runs them concurrently; a
// question may ask more once answered (the vitals of the top pages). Then
// it runs the finishing steps that combine the answers.
type plan struct {
	w       *Web
	project int64
	want    string // the request's source

	// Set while planning, before run.
	jobs   []job
	finish []func()

	// Set by run, before the first job starts.
	running bool
	ctx     context.Context
	cancel  context.CancelFunc
	sem     chan struct{}
	rawSem  chan struct{}
	wg      sync.WaitGroup

	mu       sync.Mutex
	err      error // the first failure
	warnings []string
	source   string            // combined source of the answers so far
	answers  int               // answers so far
	sources  map[string]string // per figure
}

func (p *plan) warn(msg string) {
	p.mu.Lock()
	p.warnings = append(p.warnings, msg)
	p.mu.Unlock()
}

// job is a question; raw says it reads raw points.
type job struct {
	raw bool
	run func(ctx context.Context) error
}

// add queues a question while planning, or starts it while running.
func (p *plan) add(raw bool, run func(ctx context.Context) error) {
	j := job{raw: raw, run: run}
	if !p.running {
		p.jobs = append(p.jobs, j)
		return
	}
	p.start(j)
}

func (p *plan) start(j job) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for _, sem := range []chan struct{}{p.rawSem, p.sem} {
			if sem == p.rawSem && !j.raw {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-p.ctx.Done():
				p.fail(p.ctx.Err())
				return
			}
			defer func() { <-sem }()
		}
		if err := j.run(p.ctx); err != nil {
			p.fail(err)
		}
	}()
}

// fail records the first failure and cancels the other questions.
func (p *plan) fail(err error) {
	p.mu.Lock()
	if p.err == nil || errors.Is(p.err, context.Canceled) && !errors.Is(err, context.Canceled) {
		p.err = err
	}
	p.mu.Unlock()
	p.cancel()
}

// after returns a function that each of n questions calls once answered;
// the n-th call runs then (which asks more questions).
func (p *plan) after(n int, then func()) func() {
	var left atomic.Int32
	left.Store(int32(n))
	return func() {
		if left.Add(-1) == 0 {
			then()
		}
	}
}

// sub asks s (scoped to the plan's project) and hands the answer to fill;
// keys are the figures the answer feeds (Meta.Sources). Each fill writes
// only its own figures, so fills may run concurrently. rawOnly marks a
// question the built-in rollup specs cannot answer: a request for
// source=rollup asks it with auto instead of failing. A grouped answer
// with too many groups is left out with a warning: fill then gets no rows.
func (p *plan) sub(keys []string, s query.Sub, rawOnly bool, fill func(*query.SubResult)) {
	s.Project = p.project
	s.Source = p.want
	if rawOnly && s.Source == query.SourceRollup {
		s.Source = query.SourceAuto
	}
	if s.MaxGroups == 0 {
		s.MaxGroups = maxGroups
	}
	name := keys[0]
	p.add(rawOnly, func(ctx context.Context) error {
		res, err := p.w.exec.Execute(ctx, &s)
		switch {
		case errors.Is(err, query.ErrTooManyGroups) || err == nil && res != nil && len(res.Rows) > s.MaxGroups:
			p.warn(fmt.Sprintf("%s: %s has more than %d groups in the period; the list is left out", name, s.Dataset, s.MaxGroups))
			fill(&query.SubResult{})
			return nil
		case err != nil:
			return fmt.Errorf("web %s: %w", name, err)
		case res == nil:
			return fmt.Errorf("web %s: %w", name, query.ErrBadResult)
		}
		for _, r := range res.Rows {
			if len(r.Values) != len(s.Aggs) || len(r.Groups) != len(s.GroupBy) {
				return fmt.Errorf("web %s: %w", name, query.ErrBadResult)
			}
		}
		p.answered(keys, res.Source)
		fill(res)
		return nil
	})
}

// answered folds the source of one more answer into the plan's and into
// each of its figures'.
func (p *plan) answered(keys []string, src string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.source = query.CombineSources(p.source, src, p.answers == 0)
	p.answers++
	for _, k := range keys {
		acc, ok := p.sources[k]
		p.sources[k] = query.CombineSources(acc, src, !ok)
	}
}

// run runs the questions, at most parallel at once (the first failure
// cancels the others), and those they ask, then the finishing steps.
func (p *plan) run(ctx context.Context) error {
	p.ctx, p.cancel = context.WithCancel(ctx)
	defer p.cancel()
	p.sem = make(chan struct{}, p.w.parallel)
	p.rawSem = make(chan struct{}, p.w.rawPar)
	p.running = true
	for _, j := range p.jobs {
		p.start(j)
	}
	p.jobs = nil
	p.wg.Wait()
	if p.err != nil {
		return p.err
	}
	for _, f := range p.finish {
		f()
	}
	return nil
}

func formatMs(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}
