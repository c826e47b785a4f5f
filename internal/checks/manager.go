// Package checks owns checks: uptime (http) checks that request a URL
// and judge its status, body and time, and page checks that run a
// Lighthouse lab test through a PageRunner (implemented elsewhere;
// without one, page checks are "unavailable"). A Manager keeps each
// project's checks in memory in front of a Store (the metadata
// database), runs each on its schedule from one loop per server (on a
// cluster, the leader's; the others Reload) (never two runs of one check
// at once), keeps their runs and reports with a
// retention, and writes every run as a point of the built-in checks
// dataset through a Writer (the ingest pipeline), so checks chart, alert
// and answer SQL like every other metric. It never decodes HTTP requests
// (package server does) and never reads points.
package checks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alidade/alidade/internal/duration"
	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/point"
)

// Record is a check as the store keeps it: its Spec and State as JSON.
type Record struct {
	ID, Project      int64
	Spec, State      string
	Created, Updated time.Time
}

// RunRecord is a run as the store keeps it: the run as JSON (its id is
// the record's) and a page run's report, compressed (nil: none).
type RunRecord struct {
	ID, Project, Check     int64
	At                     time.Time
	Run                    string
	ReportJSON, ReportHTML []byte
}

// Store keeps the checks, their states and their runs (the DuckDB store
// has it).
type Store interface {
	// Checks returns every check of every project.
	Checks(ctx context.Context) ([]Record, error)
	// CreateCheck stores a new check and returns its id.
	CreateCheck(ctx context.Context, project int64, spec, state string, at time.Time) (int64, error)
	// UpdateCheck replaces a check's spec and state.
	UpdateCheck(ctx context.Context, project, id int64, spec, state string, at time.Time) error
	// PutCheckState replaces a check's state.
	PutCheckState(ctx context.Context, id int64, state string) error
	// DeleteCheck deletes a check and its runs.
	DeleteCheck(ctx context.Context, project, id int64) error
	// AddCheckRun stores a run and returns its id; then the check keeps
	// its newest keepRuns runs, and reports with its newest keepReports.
	AddCheckRun(ctx context.Context, r RunRecord, keepRuns, keepReports int) (int64, error)
	// CheckRuns returns a check's newest runs first, without reports.
	CheckRuns(ctx context.Context, project, check int64, limit int) ([]RunRecord, error)
	// CheckReport returns a run's compressed report (JSON, or HTML when
	// html), nil when the run or its report is not kept.
	CheckReport(ctx context.Context, project, check, run int64, html bool) ([]byte, error)
	// PruneCheckRuns deletes the runs from before a time; it returns how
	// many.
	PruneCheckRuns(ctx context.Context, before time.Time) (int64, error)
}

// Writer writes a project's points durably (the ingest pipeline).
type Writer func(ctx context.Context, project int64, pts []point.Point) error

// Options configure a Manager.
type Options struct {
	Store Store
	// Write writes the runs' points; nil writes none.
	Write Writer
	// Pages runs page checks; nil makes them unavailable.
	Pages PageRunner
	// PageConcurrency and PageQueue bound the page runs handed to Pages
	// at once (--checks-page-concurrency; the runner runs that many and
	// queues the rest): past both, a run asked for now is refused with
	// ErrBusy, and a scheduled one waits.
	PageConcurrency, PageQueue int
	// Allow restricts the targets (--checks-allow); nil allows all.
	Allow *Allow
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// MaxChecks bounds a project's checks.
	MaxChecks int
	// KeepRuns is how many runs of a check are kept, KeepReports how
	// many of its newest runs keep their Lighthouse report, and
	// RunRetention how long any run is kept.
	KeepRuns, KeepReports int
	RunRetention          time.Duration
	// Workers bounds the http runs at once.
	Workers int
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{PageConcurrency: 1, PageQueue: 10, MaxChecks: 1000, KeepRuns: 1000, KeepReports: 20,
		RunRetention: 30 * 24 * time.Hour, Workers: 8}
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch {
	case o.Store == nil:
		return errors.New("checks: a store is required")
	case o.PageConcurrency < 1 || o.PageQueue < 0:
		return errors.New("checks: the page concurrency must be at least 1 and the page queue at least 0")
	case o.MaxChecks < 1 || o.KeepRuns < 1 || o.KeepReports < 0 || o.Workers < 1:
		return errors.New("checks: checks, runs kept and workers must be at least 1")
	case o.RunRetention <= 0:
		return errors.New("checks: the run retention must be positive")
	}
	return nil
}

// ErrBusy is a page run asked for while as many page runs as the queue
// holds are running or waiting.
var ErrBusy = errors.New("the page run queue is full")

// State is a check's state as stored.
type State struct {
	// LastRun is the latest run (nil: none since the check was made or
	// changed).
	LastRun *Run `json:"lastRun"`
	// Status is "up" or "down" after the latest run that tested the
	// target, "" before one.
	Status string `json:"status"`
	// Failures counts the failed runs in a row.
	Failures int `json:"failures"`
}

// The states a check shows.
const (
	StateUp          = "up"
	StateDown        = "down"
	StatePending     = "pending"
	StateUnavailable = "unavailable"
)

// Manager holds the checks and runs them.
type Manager struct {
	opts    Options
	log     *slog.Logger
	prober  *prober
	sem     chan struct{} // http runs at once
	pageSem chan struct{} // page runs handed to the runner
	wake    chan struct{}

	availMu  sync.Mutex
	availAt  time.Time
	availOK  bool
	availWhy string

	// running is set while Run runs: the checks' states in memory are
	// then this manager's own (see Reload).
	running atomic.Bool

	mu     sync.Mutex
	checks map[int64]*check
}

type check struct {
	id, project      int64
	spec             Spec
	created, updated time.Time
	state            State
	// gen changes with every update: a run begun on an older spec does
	// not move the new schedule.
	gen     int64
	deleted bool
	next    time.Time
	// runMu is held by the run of the check: never two at once.
	runMu sync.Mutex
}

// New loads the checks from the store; each is due at once.
func New(ctx context.Context, opts Options) (*Manager, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{opts: opts, log: log, prober: newProber(opts.Allow), checks: map[int64]*check{},
		sem: make(chan struct{}, opts.Workers), pageSem: make(chan struct{}, opts.PageConcurrency+opts.PageQueue), wake: make(chan struct{}, 1)}
	recs, err := opts.Store.Checks(ctx)
	if err != nil {
		return nil, fmt.Errorf("read checks: %w", err)
	}
	now := m.now()
	for _, rec := range recs {
		c, err := load(rec)
		if err != nil {
			return nil, err
		}
		c.next = nextRun(c, now)
		m.checks[rec.ID] = c
	}
	return m, nil
}

// load reads a check from its record; a state that cannot be read is
// pending's.
func load(rec Record) (*check, error) {
	c := &check{id: rec.ID, project: rec.Project, created: rec.Created, updated: rec.Updated}
	if err := json.Unmarshal([]byte(rec.Spec), &c.spec); err != nil {
		return nil, fmt.Errorf("check %d: %w", rec.ID, err)
	}
	if err := json.Unmarshal([]byte(rec.State), &c.state); err != nil {
		c.state = State{}
	}
	return c, nil
}

// nextRun is when a loaded check runs: on schedule from its last run, not
// all at once after a restart; now when it has none or is late.
func nextRun(c *check, now time.Time) time.Time {
	if r := c.state.LastRun; r != nil {
		every, _ := c.spec.Durations()
		if n := r.At.Add(every); n.After(now) {
			return n
		}
	}
	return now
}

// Reload reads every check from the store again and makes the checks in
// memory agree, for a store that other servers change too (a cluster's
// PostgreSQL; the server calls it when one announces a change): a check
// made elsewhere is added, one deleted is removed, one whose spec changed
// takes its new spec and state and runs at once (a run under way keeps
// its run but not its state, as after Update). A state alone is taken
// from the store, while Run runs here, only when its last run is newer
// than the one in memory (a run asked for on another server) and the
// check is not running now: the states this manager writes are its own
// runs'. A record that cannot be read keeps the check as it was and
// makes Reload's error.
//
// The store is read with the manager's lock held: every change this
// manager makes to the store is made under it too, so what Reload reads
// is never older than what it knows.
func (m *Manager) Reload(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	recs, err := m.opts.Store.Checks(ctx)
	if err != nil {
		return fmt.Errorf("read checks: %w", err)
	}
	now := m.now()
	running := m.running.Load()
	seen := make(map[int64]bool, len(recs))
	var errs []error
	for _, rec := range recs {
		seen[rec.ID] = true
		nc, err := load(rec)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c := m.checks[rec.ID]
		switch {
		case c == nil:
			nc.next = nextRun(nc, now)
			m.checks[rec.ID] = nc
		case c.project != nc.project || !c.updated.Equal(nc.updated) || marshal(c.spec) != marshal(nc.spec):
			c.project, c.spec, c.created, c.updated, c.state = nc.project, nc.spec, nc.created, nc.updated, nc.state
			c.next = nextRun(c, now)
			c.gen++
		case marshal(c.state) == marshal(nc.state):
		case !running:
			c.state = nc.state
			c.next = nextRun(c, now)
		case newer(nc.state.LastRun, c.state.LastRun) && c.runMu.TryLock():
			c.state = nc.state
			c.next = nextRun(c, now)
			c.runMu.Unlock()
		}
	}
	for id, c := range m.checks {
		if !seen[id] {
			c.deleted = true
			delete(m.checks, id)
		}
	}
	m.poke()
	return errors.Join(errs...)
}

// newer reports whether run a is later than run b (or b is none).
func newer(a, b *Run) bool {
	return a != nil && (b == nil || a.At.After(b.At))
}

func (m *Manager) now() time.Time {
	if m.opts.Now == nil {
		return time.Now().UTC().Truncate(time.Millisecond)
	}
	return m.opts.Now().UTC().Truncate(time.Millisecond)
}

// Decode reads and validates a check body (see package-level Decode).
func (m *Manager) Decode(body []byte) (*Spec, error) { return Decode(body, m.opts.Allow) }

// PageAvailable says whether page runs can run, and if not why; the
// runner's answer is kept for a minute.
func (m *Manager) PageAvailable() (bool, string) {
	if m.opts.Pages == nil {
		return false, NoRunnerWhy
	}
	m.availMu.Lock()
	defer m.availMu.Unlock()
	if m.availAt.IsZero() || time.Since(m.availAt) > time.Minute {
		m.availOK, m.availWhy = m.opts.Pages.Available()
		m.availAt = time.Now()
	}
	return m.availOK, m.availWhy
}

// View is a check and its state as the API shows them.
type View struct {
	ID, Project      int64
	Spec             Spec
	Created, Updated time.Time
	// State is up, down, pending or unavailable (Why says why).
	State    string
	Why      string
	LastRun  *Run
	Failures int
	NextRun  time.Time
}

func (m *Manager) view(c *check) View {
	v := View{ID: c.id, Project: c.project, Spec: c.spec, Created: c.created, Updated: c.updated, LastRun: c.state.LastRun,
		Failures: c.state.Failures, NextRun: c.next, State: c.state.Status}
	if v.State == "" {
		v.State = StatePending
	}
	if c.spec.Type == TypePage {
		if ok, why := m.PageAvailable(); !ok {
			v.State, v.Why = StateUnavailable, why
		}
	}
	return v
}

func (m *Manager) get(project, id int64) (*check, error) {
	c, ok := m.checks[id]
	if !ok || c.project != project {
		return nil, fmt.Errorf("check %d: %w", id, ErrNotFound)
	}
	return c, nil
}

// List returns a project's checks by name.
func (m *Manager) List(project int64) []View {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []View{}
	for _, c := range m.checks {
		if c.project == project {
			out = append(out, m.view(c))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Spec.Name != out[j].Spec.Name {
			return out[i].Spec.Name < out[j].Spec.Name
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Get returns one check of project.
func (m *Manager) Get(project, id int64) (View, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := m.get(project, id)
	if err != nil {
		return View{}, err
	}
	return m.view(c), nil
}

func marshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("BUG: marshal a check: " + err.Error())
	}
	return string(b)
}

// Create adds a check to project; it runs at once.
func (m *Manager) Create(ctx context.Context, project int64, sp *Spec) (View, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.checks {
		if c.project == project {
			n++
		}
	}
	if n >= m.opts.MaxChecks {
		return View{}, fmt.Errorf("the project has %d checks, the limit: %w; delete one first", n, ErrTooMany)
	}
	now := m.now()
	id, err := m.opts.Store.CreateCheck(ctx, project, marshal(sp), marshal(State{}), now)
	if err != nil {
		return View{}, err
	}
	c := &check{id: id, project: project, spec: *sp, created: now, updated: now, next: now}
	m.checks[id] = c
	m.poke()
	return m.view(c), nil
}

// Update replaces a check's spec: its state restarts at pending (its
// runs are kept) and it runs at once.
func (m *Manager) Update(ctx context.Context, project, id int64, sp *Spec) (View, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := m.get(project, id)
	if err != nil {
		return View{}, err
	}
	now := m.now()
	if err := m.opts.Store.UpdateCheck(ctx, project, id, marshal(sp), marshal(State{}), now); err != nil {
		return View{}, err
	}
	c.spec, c.state, c.updated, c.next = *sp, State{}, now, now
	c.gen++
	m.poke()
	return m.view(c), nil
}

// Delete removes a check and its runs.
func (m *Manager) Delete(ctx context.Context, project, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := m.get(project, id)
	if err != nil {
		return err
	}
	if err := m.opts.Store.DeleteCheck(ctx, project, id); err != nil {
		return err
	}
	c.deleted = true
	delete(m.checks, id)
	return nil
}

// Runs returns a check's newest runs first, at most limit.
func (m *Manager) Runs(ctx context.Context, project, id int64, limit int) ([]Run, error) {
	m.mu.Lock()
	_, err := m.get(project, id)
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	recs, err := m.opts.Store.CheckRuns(ctx, project, id, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Run, 0, len(recs))
	for _, rec := range recs {
		var r Run
		if err := json.Unmarshal([]byte(rec.Run), &r); err != nil {
			return nil, fmt.Errorf("check %d run %d: %w", id, rec.ID, err)
		}
		r.ID = rec.ID
		out = append(out, r)
	}
	return out, nil
}

// Report returns a page run's Lighthouse report, as JSON or HTML.
func (m *Manager) Report(ctx context.Context, project, id, run int64, html bool) ([]byte, error) {
	m.mu.Lock()
	_, err := m.get(project, id)
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	z, err := m.opts.Store.CheckReport(ctx, project, id, run, html)
	if err != nil {
		return nil, err
	}
	if z == nil {
		return nil, fmt.Errorf("run %d of check %d: %w (http runs and failed page runs have none; a check keeps the reports of its newest %d runs)",
			run, id, ErrNoReport, m.opts.KeepReports)
	}
	return errtrack.Decompress(z)
}

func (m *Manager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// RunNow runs a check at once and returns its run, waiting for a run of
// it in progress to end first (up to the check's timeout for its own
// run). A page run with the page queue full is ErrBusy.
func (m *Manager) RunNow(ctx context.Context, project, id int64) (Run, error) {
	m.mu.Lock()
	c, err := m.get(project, id)
	m.mu.Unlock()
	if err != nil {
		return Run{}, err
	}
	c.runMu.Lock()
	defer c.runMu.Unlock()
	m.mu.Lock()
	if c.deleted {
		m.mu.Unlock()
		return Run{}, fmt.Errorf("check %d: %w", id, ErrNotFound)
	}
	sp, gen := c.spec, c.gen
	m.mu.Unlock()
	// The run is the check's, not the request's: a client that goes
	// away does not cut it short.
	ctx = context.WithoutCancel(ctx)
	r, reports, err := m.execute(ctx, &sp, m.now(), false)
	if err != nil {
		return Run{}, err
	}
	return m.record(ctx, c, gen, &sp, r, reports)
}

// dueChecks returns the checks due at now, by id.
func (m *Manager) dueChecks(now time.Time) []*check {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*check
	for _, c := range m.checks {
		if !now.Before(c.next) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// nextDue returns the earliest time a check is due (zero: none).
func (m *Manager) nextDue() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	var t time.Time
	for _, c := range m.checks {
		if t.IsZero() || c.next.Before(t) {
			t = c.next
		}
	}
	return t
}

// Tick runs every check due at now and returns when they are done
// (waiting for a run the loop has begun). Tests drive a fake clock with
// it; Run calls the same steps.
func (m *Manager) Tick(ctx context.Context, now time.Time) {
	now = now.UTC().Truncate(time.Millisecond)
	var wg sync.WaitGroup
	for _, c := range m.dueChecks(now) {
		wg.Go(func() {
			c.runMu.Lock()
			defer c.runMu.Unlock()
			m.step(ctx, c, now)
		})
	}
	wg.Wait()
}

// Run runs each check on its schedule until ctx ends: one loop that
// wakes at the earliest due time (at least once a second, at once when a
// check is made or changed); a check still running is not started
// again. Once an hour it deletes the runs past the retention.
func (m *Manager) Run(ctx context.Context) {
	m.running.Store(true)
	defer m.running.Store(false)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-prune.C:
			m.Prune(ctx)
		case <-timer.C:
		case <-m.wake:
		}
		now := m.now()
		for _, c := range m.dueChecks(now) {
			if !c.runMu.TryLock() {
				continue
			}
			wg.Go(func() {
				defer c.runMu.Unlock()
				m.step(ctx, c, now)
			})
		}
		wait := time.Second
		if next := m.nextDue(); !next.IsZero() {
			wait = min(max(next.Sub(m.now()), 20*time.Millisecond), time.Second)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// Prune deletes the runs past the retention.
func (m *Manager) Prune(ctx context.Context) {
	n, err := m.opts.Store.PruneCheckRuns(ctx, m.now().Add(-m.opts.RunRetention))
	if err != nil {
		m.log.Warn("prune check runs", "err", err)
	} else if n > 0 {
		m.log.Info("check runs past the retention deleted", "runs", n)
	}
}

// step runs c when due at now and moves its schedule on; c.runMu is held.
func (m *Manager) step(ctx context.Context, c *check, now time.Time) {
	m.mu.Lock()
	if c.deleted || now.Before(c.next) {
		m.mu.Unlock()
		return
	}
	sp, gen := c.spec, c.gen
	m.mu.Unlock()
	r, reports, err := m.execute(ctx, &sp, now, true)
	if ctx.Err() != nil {
		// Shutting down: what the run saw says nothing of the target.
		return
	}
	if err == nil {
		if _, err := m.record(ctx, c, gen, &sp, r, reports); err != nil && !errors.Is(err, ErrNotFound) {
			m.log.Error("record a check run", "check", c.id, "project", c.project, "err", err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.gen == gen {
		// On schedule, the next run is one interval after this one was
		// due; late (a stopped clock, a long run), one interval after now.
		every, _ := sp.Durations()
		next := c.next.Add(every)
		if !next.After(now) {
			next = now.Add(every)
		}
		c.next = next
	}
}

// reports are a page run's Lighthouse reports.
type reports struct{ json, html []byte }

// execute runs a check at now. A scheduled page run waits for a place
// in the page queue; one asked for now is ErrBusy when there is none.
func (m *Manager) execute(ctx context.Context, sp *Spec, now time.Time, wait bool) (Run, reports, error) {
	if sp.Type == TypeHTTP {
		select {
		case m.sem <- struct{}{}:
		case <-ctx.Done():
			return Run{}, reports{}, ctx.Err()
		}
		defer func() { <-m.sem }()
		r := m.prober.run(ctx, sp)
		r.At = now
		return r, reports{}, nil
	}
	r := Run{Type: TypePage, At: now, Device: sp.Device}
	if ok, why := m.PageAvailable(); !ok {
		r.Error, r.Unavailable = why, true
		return r, reports{}, nil
	}
	if wait {
		select {
		case m.pageSem <- struct{}{}:
		case <-ctx.Done():
			return Run{}, reports{}, ctx.Err()
		}
	} else {
		select {
		case m.pageSem <- struct{}{}:
		default:
			return Run{}, reports{}, fmt.Errorf("%w: %d page runs are running or waiting (--checks-page-concurrency %d plus a queue of %d); try again later",
				ErrBusy, cap(m.pageSem), m.opts.PageConcurrency, m.opts.PageQueue)
		}
	}
	defer func() { <-m.pageSem }()
	_, timeout := sp.Durations()
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	res, err := m.opts.Pages.Run(rctx, sp.URL, sp.Device)
	r.DurationMs = ms(time.Since(start))
	switch {
	case err != nil && rctx.Err() == context.DeadlineExceeded && ctx.Err() == nil:
		r.Error = "timed out after " + duration.Format(timeout) + " (the wait in the page queue included)"
		return r, reports{}, nil
	case err != nil:
		r.Error = err.Error()
		return r, reports{}, nil
	case res == nil:
		r.Error = "the page runner returned no result"
		return r, reports{}, nil
	}
	score := math.Max(0, math.Min(100, float64(res.Score)))
	r.OK, r.Score = true, &score
	r.Metrics = &Metrics{LCP: res.Metrics.LCP, CLS: res.Metrics.CLS, FCP: res.Metrics.FCP, TBT: res.Metrics.TBT, SI: res.Metrics.SI, TTFB: res.Metrics.TTFB}
	r.LCPElement = res.LCPElement
	r.Recommendations = make([]RecommendationJSON, 0, len(res.Recommendations))
	for _, rec := range res.Recommendations {
		r.Recommendations = append(r.Recommendations, RecommendationJSON(rec))
	}
	rep := reports{}
	if len(res.ReportJSON) > 0 {
		rep.json = errtrack.Compress(res.ReportJSON)
	}
	if len(res.ReportHTML) > 0 {
		rep.html = errtrack.Compress(res.ReportHTML)
	}
	r.HasReport = rep.json != nil || rep.html != nil
	return r, rep, nil
}

// record stores a run of c, writes its point and moves c's state; c.runMu
// is held.
func (m *Manager) record(ctx context.Context, c *check, gen int64, sp *Spec, r Run, rep reports) (Run, error) {
	m.mu.Lock()
	if c.deleted {
		m.mu.Unlock()
		return r, fmt.Errorf("check %d: %w", c.id, ErrNotFound)
	}
	failures := c.state.Failures
	if c.gen != gen {
		// The check changed during the run: its state restarted.
		failures = 0
	}
	m.mu.Unlock()
	if !r.Unavailable {
		if r.OK {
			failures = 0
		} else {
			failures++
		}
	}
	id, err := m.opts.Store.AddCheckRun(ctx, RunRecord{Project: c.project, Check: c.id, At: r.At, Run: marshal(r),
		ReportJSON: rep.json, ReportHTML: rep.html}, m.opts.KeepRuns, m.opts.KeepReports)
	if err != nil {
		return r, fmt.Errorf("store the run of check %d: %w", c.id, err)
	}
	r.ID = id
	if !r.Unavailable && m.opts.Write != nil {
		if err := m.opts.Write(ctx, c.project, []point.Point{RunPoint(c.id, sp, &r, failures)}); err != nil {
			// The run is kept; only its point is missing.
			m.log.Warn("write a check run's point", "check", c.id, "project", c.project, "err", err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.deleted || c.gen != gen {
		// The run is kept; the state of a changed check is the new spec's.
		return r, nil
	}
	prev := c.state.Status
	st := State{LastRun: &r, Status: c.state.Status, Failures: c.state.Failures}
	if !r.Unavailable {
		st.Status, st.Failures = StateDown, failures
		if r.OK {
			st.Status = StateUp
		}
	}
	c.state = st
	if st.Status != prev && prev != "" {
		m.log.Info("check "+st.Status, "check", c.id, "project", c.project, "name", sp.Name, "error", r.Error)
	}
	if err := m.opts.Store.PutCheckState(ctx, c.id, marshal(st)); err != nil {
		// The state stays in memory; the next run writes it again.
		m.log.Error("store check state", "check", c.id, "err", err)
	}
	return r, nil
}
