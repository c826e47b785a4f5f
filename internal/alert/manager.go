// Package alert owns alert rules: a structured query with one
// aggregation, a condition on its value, how long a breach must last
// (for) and how often to look (every); the state each rule is in (ok,
// pending, firing, resolved) with a bounded history; and the
// notifications of its firing and resolving, to webhooks and Slack,
// retried with backoff and delivered once per transition. A Manager keeps
// the rules in memory in front of a Store (the metadata database) and one
// loop per server evaluates each on its own schedule through the query
// engine (the planner answers from rollups where it can); on a cluster,
// one loop per cluster (the leader's), and every server's Manager
// reloads what the others change (Reload). It never
// decodes HTTP requests (package server does) and never reads points
// other than through a query.Executor.
package alert

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

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
)

// Record is a rule as the store keeps it: its Spec and State as JSON.
type Record struct {
	ID, Project      int64
	Spec, State      string
	Created, Updated time.Time
}

// Store keeps the rules and their states (the DuckDB store has it).
type Store interface {
	// AlertRules returns every rule of every project.
	AlertRules(ctx context.Context) ([]Record, error)
	// CreateAlertRule stores a new rule and returns its id.
	CreateAlertRule(ctx context.Context, project int64, spec, state string, at time.Time) (int64, error)
	// UpdateAlertRule replaces a rule's spec and state; an error wrapping
	// a not-found error when project has no rule id.
	UpdateAlertRule(ctx context.Context, project, id int64, spec, state string, at time.Time) error
	// PutAlertState replaces a rule's state.
	PutAlertState(ctx context.Context, id int64, state string) error
	// DeleteAlertRule deletes a rule.
	DeleteAlertRule(ctx context.Context, project, id int64) error
}

// Options configure a Manager.
type Options struct {
	Store Store
	// Exec answers the rules' queries (the planner: rollups where they
	// cover a query, raw points otherwise).
	Exec query.Executor
	// Schemas returns a project's dataset schema, or nil.
	Schemas func(project int64, dataset string) *point.Schema
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// EvalTimeout bounds one evaluation's query.
	EvalTimeout time.Duration
	// SendTimeout bounds one notification attempt.
	SendTimeout time.Duration
	// MaxAttempts bounds the attempts of one notification; RetryBase is
	// the wait after the first failure, doubled after each next one.
	MaxAttempts int
	RetryBase   time.Duration
	// ForbidPrivate refuses to notify loopback, private and link-local
	// addresses (checked on the connection, after name resolution).
	ForbidPrivate bool
	// RuleURL is a rule's page in the dashboard (the notifications' url);
	// nil means none.
	RuleURL func(project, id int64) string
	// MaxRules bounds a project's rules.
	MaxRules int
	// Workers bounds the rules evaluated at once.
	Workers int
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{EvalTimeout: 30 * time.Second, SendTimeout: 10 * time.Second, MaxAttempts: 5, RetryBase: time.Second, MaxRules: 1000, Workers: 4}
}

// Validate checks the options.
func (o *Options) Validate() error {
	switch {
	case o.Store == nil || o.Exec == nil:
		return errors.New("alert: a store and an executor are required")
	case o.EvalTimeout <= 0 || o.SendTimeout <= 0 || o.RetryBase <= 0:
		return errors.New("alert: timeouts and the retry wait must be positive")
	case o.MaxAttempts < 1 || o.MaxRules < 1 || o.Workers < 1:
		return errors.New("alert: attempts, rules and workers must be at least 1")
	}
	return nil
}

// Manager holds the rules and evaluates them.
type Manager struct {
	opts Options
	log  *slog.Logger
	eng  *query.Engine
	send *sender
	sem  chan struct{}
	wake chan struct{}

	// running is set while Run runs: the rules' states in memory are
	// then this manager's own, newer than the store's (see Reload).
	running atomic.Bool

	mu    sync.Mutex
	rules map[int64]*rule
}

type rule struct {
	id, project      int64
	spec             Spec
	created, updated time.Time
	state            State
	// gen changes with every update: a step begun on an older spec drops
	// what it found.
	gen     int64
	deleted bool
	next    time.Time // the next evaluation
	// stepMu is held by the step that evaluates or notifies.
	stepMu sync.Mutex
}

// New loads the rules from the store.
func New(ctx context.Context, opts Options) (*Manager, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{opts: opts, log: log, rules: map[int64]*rule{}, sem: make(chan struct{}, opts.Workers), wake: make(chan struct{}, 1),
		eng: &query.Engine{Exec: opts.Exec, Schemas: opts.Schemas}, send: newSender(opts.SendTimeout, opts.ForbidPrivate)}
	recs, err := opts.Store.AlertRules(ctx)
	if err != nil {
		return nil, fmt.Errorf("read alert rules: %w", err)
	}
	now := m.now().UTC().Truncate(time.Millisecond)
	for _, rec := range recs {
		r, err := load(rec, now)
		if err != nil {
			return nil, err
		}
		r.next = now
		m.rules[rec.ID] = r
	}
	return m, nil
}

// load reads a rule from its record; a state that cannot be read
// restarts at ok, with an entry in its history that says so.
func load(rec Record, now time.Time) (*rule, error) {
	r := &rule{id: rec.ID, project: rec.Project, created: rec.Created, updated: rec.Updated}
	if err := json.Unmarshal([]byte(rec.Spec), &r.spec); err != nil {
		return nil, fmt.Errorf("alert rule %d: %w", rec.ID, err)
	}
	if err := json.Unmarshal([]byte(rec.State), &r.state); err != nil || r.state.State == "" {
		r.state = State{State: StateOK, Since: now}
		r.state.add(Entry{At: now, Kind: EntryError, Message: "the stored state could not be read; the rule restarts at ok"})
	}
	return r, nil
}

// Reload reads every rule from the store again and makes the rules in
// memory agree, for a store that other servers change too (a cluster's
// PostgreSQL; the server calls it when one announces a change): a rule
// made elsewhere is added (and evaluated at once when this manager
// runs), one deleted is removed, one whose spec changed takes its new
// spec and state (a step under way drops what it found, as after
// Update). A rule's state alone is taken from the store only while Run
// does not run here: the running manager (one in a cluster, see
// postgres.Store.Lead) wrote every state there is, and what it holds is
// newer than what it reads (a notification sent since, say, which must
// not be sent again). A record that cannot be read keeps the rule as it
// was and makes Reload's error.
//
// The store is read with the manager's lock held: every change this
// manager makes to the store is made under it too, so what Reload reads
// is never older than what it knows.
func (m *Manager) Reload(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	recs, err := m.opts.Store.AlertRules(ctx)
	if err != nil {
		return fmt.Errorf("read alert rules: %w", err)
	}
	now := m.now().UTC().Truncate(time.Millisecond)
	running := m.running.Load()
	seen := make(map[int64]bool, len(recs))
	var errs []error
	for _, rec := range recs {
		seen[rec.ID] = true
		nr, err := load(rec, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r := m.rules[rec.ID]
		switch {
		case r == nil:
			nr.next = m.nextAfter(nr, now, running)
			m.rules[rec.ID] = nr
		case r.project != nr.project || !r.updated.Equal(nr.updated) || marshal(r.spec) != marshal(nr.spec):
			r.project, r.spec, r.created, r.updated, r.state = nr.project, nr.spec, nr.created, nr.updated, nr.state
			r.next = m.nextAfter(r, now, running)
			r.gen++
		case !running && marshal(r.state) != marshal(nr.state):
			r.state = nr.state
			r.next = m.nextAfter(r, now, running)
		}
	}
	for id, r := range m.rules {
		if !seen[id] {
			r.deleted = true
			delete(m.rules, id)
		}
	}
	m.poke()
	return errors.Join(errs...)
}

// nextAfter is when a rule read by Reload is evaluated next: at once by a
// running manager; else one interval after its last evaluation, as the
// running one will (what the API shows).
func (m *Manager) nextAfter(r *rule, now time.Time, running bool) time.Time {
	if running || r.state.LastEvaluation.IsZero() {
		return now
	}
	_, every := r.spec.Durations()
	return r.state.LastEvaluation.Add(every)
}

func (m *Manager) now() time.Time {
	if m.opts.Now == nil {
		return time.Now()
	}
	return m.opts.Now()
}

func (m *Manager) schemas(project int64) func(string) *point.Schema {
	if m.opts.Schemas == nil {
		return nil
	}
	return func(ds string) *point.Schema { return m.opts.Schemas(project, ds) }
}

// Decode reads and validates a rule body for project (see package-level
// Decode).
func (m *Manager) Decode(project int64, body []byte) (*Spec, error) {
	return Decode(body, m.now(), m.schemas(project))
}

// View is a rule and its state as the API shows them (State without its
// history and outbox).
type View struct {
	ID, Project      int64
	Spec             Spec
	Created, Updated time.Time
	State            State
	// Pending counts the notifications not yet delivered.
	Pending int
	// NextEvaluation is when the rule is evaluated next.
	NextEvaluation time.Time
	URL            string
}

func (m *Manager) view(r *rule) View {
	st := r.state
	st.History, st.Outbox = nil, nil
	v := View{ID: r.id, Project: r.project, Spec: r.spec, Created: r.created, Updated: r.updated, State: st,
		Pending: len(r.state.Outbox), NextEvaluation: r.next}
	if m.opts.RuleURL != nil {
		v.URL = m.opts.RuleURL(r.project, r.id)
	}
	return v
}

func (m *Manager) get(project, id int64) (*rule, error) {
	r, ok := m.rules[id]
	if !ok || r.project != project {
		return nil, fmt.Errorf("alert rule %d: %w", id, ErrNotFound)
	}
	return r, nil
}

// List returns a project's rules by name.
func (m *Manager) List(project int64) []View {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []View{}
	for _, r := range m.rules {
		if r.project == project {
			out = append(out, m.view(r))
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

// Get returns one rule of project.
func (m *Manager) Get(project, id int64) (View, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.get(project, id)
	if err != nil {
		return View{}, err
	}
	return m.view(r), nil
}

// History returns a rule's history, newest first.
func (m *Manager) History(project, id int64) ([]Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.get(project, id)
	if err != nil {
		return nil, err
	}
	h := r.state.History
	out := make([]Entry, len(h))
	for i := range h {
		out[len(h)-1-i] = h[i]
	}
	return out, nil
}

func marshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("BUG: marshal an alert rule: " + err.Error())
	}
	return string(b)
}

// Create adds a rule to project; it is evaluated at once.
func (m *Manager) Create(ctx context.Context, project int64, sp *Spec) (View, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, r := range m.rules {
		if r.project == project {
			n++
		}
	}
	if n >= m.opts.MaxRules {
		return View{}, fmt.Errorf("the project has %d alert rules, the limit: %w; delete one first", n, ErrTooMany)
	}
	now := m.now().UTC().Truncate(time.Millisecond)
	st := State{State: StateOK, Since: now}
	id, err := m.opts.Store.CreateAlertRule(ctx, project, marshal(sp), marshal(st), now)
	if err != nil {
		return View{}, err
	}
	r := &rule{id: id, project: project, spec: *sp, created: now, updated: now, state: st, next: now}
	m.rules[id] = r
	m.poke()
	return m.view(r), nil
}

// Update replaces a rule's spec. Its state restarts at ok (an entry in
// its history says so) and undelivered notifications are dropped: a
// changed query or condition makes the old state meaningless.
func (m *Manager) Update(ctx context.Context, project, id int64, sp *Spec) (View, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.get(project, id)
	if err != nil {
		return View{}, err
	}
	now := m.now().UTC().Truncate(time.Millisecond)
	st := r.state.clone()
	st.add(Entry{At: now, Kind: EntryUpdated, From: st.State, To: StateOK, Message: "the rule was changed; its state restarts at ok"})
	st.State, st.Since, st.Value, st.Group, st.Error, st.Outbox = StateOK, now, nil, nil, "", nil
	st.Source, st.SourceNote, st.LastEvaluation = "", "", time.Time{}
	if err := m.opts.Store.UpdateAlertRule(ctx, project, id, marshal(sp), marshal(st), now); err != nil {
		return View{}, err
	}
	r.spec, r.state, r.updated, r.next = *sp, st, now, now
	r.gen++
	m.poke()
	return m.view(r), nil
}

// Delete removes a rule.
func (m *Manager) Delete(ctx context.Context, project, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.get(project, id); err != nil {
		return err
	}
	if err := m.opts.Store.DeleteAlertRule(ctx, project, id); err != nil {
		return err
	}
	m.rules[id].deleted = true
	delete(m.rules, id)
	return nil
}

func (m *Manager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// due reports whether r has an evaluation or a notification due at now;
// m.mu is held.
func (r *rule) due(now time.Time) bool {
	if !now.Before(r.next) {
		return true
	}
	for _, d := range r.state.Outbox {
		if !now.Before(d.NextAt) {
			return true
		}
	}
	return false
}

// nextDue returns the earliest time a rule has something due.
func (m *Manager) nextDue() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	var t time.Time
	for _, r := range m.rules {
		c := r.next
		for _, d := range r.state.Outbox {
			if d.NextAt.Before(c) {
				c = d.NextAt
			}
		}
		if t.IsZero() || c.Before(t) {
			t = c
		}
	}
	return t
}

func (m *Manager) dueRules(now time.Time) []*rule {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*rule
	for _, r := range m.rules {
		if r.due(now) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// Tick evaluates every rule due at now and sends every notification due,
// and returns when they are done (waiting for a step the loop has begun).
// Tests drive a fake clock with it; Run calls the same steps.
func (m *Manager) Tick(ctx context.Context, now time.Time) {
	now = now.UTC().Truncate(time.Millisecond)
	var wg sync.WaitGroup
	for _, r := range m.dueRules(now) {
		wg.Go(func() {
			r.stepMu.Lock()
			defer r.stepMu.Unlock()
			m.sem <- struct{}{}
			defer func() { <-m.sem }()
			m.step(ctx, r, now)
		})
	}
	wg.Wait()
}

// Run evaluates each rule on its schedule until ctx ends: one loop that
// wakes at the earliest due time (at least once a second, at once when a
// rule is created or changed) and hands due rules to at most Workers
// goroutines; a rule still being evaluated is not started twice.
func (m *Manager) Run(ctx context.Context) {
	m.running.Store(true)
	defer m.running.Store(false)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-m.wake:
		}
		now := m.now().UTC().Truncate(time.Millisecond)
		for _, r := range m.dueRules(now) {
			if !r.stepMu.TryLock() {
				continue
			}
			wg.Go(func() {
				defer r.stepMu.Unlock()
				select {
				case m.sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				defer func() { <-m.sem }()
				m.step(ctx, r, now)
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

// step evaluates r when due and sends its due notifications; r.stepMu is
// held.
func (m *Manager) step(ctx context.Context, r *rule, now time.Time) {
	m.mu.Lock()
	if r.deleted {
		m.mu.Unlock()
		return
	}
	gen, spec, st, evalDue := r.gen, r.spec, r.state.clone(), !now.Before(r.next)
	m.mu.Unlock()
	if evalDue {
		persist := m.evaluate(ctx, r.id, r.project, &spec, &st, now)
		if !m.commit(ctx, r, gen, st, persist, now) {
			return
		}
	}
	if m.deliver(ctx, r.id, r.project, &spec, &st, now) {
		m.commit(ctx, r, gen, st, true, time.Time{})
	}
}

// commit keeps st as r's state unless r changed meanwhile, persists it
// when asked, and moves r's next evaluation past evaluated (unless zero).
func (m *Manager) commit(ctx context.Context, r *rule, gen int64, st State, persist bool, evaluated time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.deleted || r.gen != gen {
		return false
	}
	r.state = st
	if !evaluated.IsZero() {
		// On schedule, the next evaluation is one interval after the
		// last one was due; late (a slow query, a stopped clock), one
		// interval after now.
		_, every := r.spec.Durations()
		next := r.next.Add(every)
		if !next.After(evaluated) {
			next = evaluated.Add(every)
		}
		r.next = next
	}
	if persist {
		if err := m.opts.Store.PutAlertState(ctx, r.id, marshal(st)); err != nil {
			// The state stays in memory; the next change writes it again.
			m.log.Error("store alert state", "rule", r.id, "err", err)
		}
	}
	return true
}

// evaluate runs the rule's query at now and moves its state; it reports
// whether the state changed in a way worth persisting (a transition, an
// error, a notification queued).
func (m *Manager) evaluate(ctx context.Context, id, project int64, sp *Spec, st *State, now time.Time) (persist bool) {
	st.LastEvaluation = now.UTC()
	o, err := m.run(ctx, project, sp, now)
	if err != nil {
		msg := err.Error()
		if st.Error != msg {
			st.Error = msg
			st.add(Entry{At: now.UTC(), Kind: EntryError, Message: msg})
			m.log.Warn("alert rule query failed", "rule", id, "project", project, "err", msg)
			return true
		}
		return false
	}
	if st.Error != "" {
		st.Error = ""
		st.add(Entry{At: now.UTC(), Kind: EntryRecovered, Message: "the query answers again"})
		persist = true
	}
	if wasRaw, isRaw := st.Source == query.SourceRaw, o.source == query.SourceRaw; st.Source == "" || wasRaw != isRaw {
		st.SourceNote = ""
		if isRaw {
			st.SourceNote = m.whyRaw(ctx, project, sp, now)
		}
		if st.Source != "" {
			msg := "answered from rollups again"
			if isRaw {
				msg = "answered from raw points: " + st.SourceNote
			}
			st.add(Entry{At: now.UTC(), Kind: EntrySource, Source: o.source, Message: msg})
		}
		persist = true
	}
	st.Source = o.source
	forD, _ := sp.Durations()
	prev := st.State
	if st.step(o, forD, now.UTC()) {
		st.Seq++
		for i := range sp.Notify {
			st.Outbox = append(st.Outbox, Delivery{Seq: st.Seq, Target: i, State: st.State, Value: o.value, Group: o.group, At: now.UTC(), NextAt: now})
		}
		m.log.Info("alert rule "+st.State, "rule", id, "project", project, "name", sp.Name)
	}
	return persist || st.State != prev
}

// run runs the rule's query and reads its value.
func (m *Manager) run(ctx context.Context, project int64, sp *Spec, now time.Time) (outcome, error) {
	plan, err := sp.Parse(now, m.schemas(project))
	if err != nil {
		return outcome{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.EvalTimeout)
	defer cancel()
	resp, err := m.eng.Execute(ctx, project, plan.Query)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return outcome{}, fmt.Errorf("the query ran past the %v evaluation limit; narrow its range or groups", m.opts.EvalTimeout)
		}
		return outcome{}, err
	}
	return read(plan, resp, sp), nil
}

// whyRaw asks the planner, by forcing rollups, why they cannot answer
// the rule's query.
func (m *Manager) whyRaw(ctx context.Context, project int64, sp *Spec, now time.Time) string {
	plan, err := sp.Parse(now, m.schemas(project))
	if err != nil {
		return ""
	}
	for i := range plan.Query.Subs {
		if plan.Query.Subs[i].Source != query.SourceAuto {
			return "the query asks for raw points (\"source\": \"raw\")"
		}
		plan.Query.Subs[i].Source = query.SourceRollup
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.EvalTimeout)
	defer cancel()
	_, err = m.eng.Execute(ctx, project, plan.Query)
	var qe *query.Error
	if errors.As(err, &qe) {
		return qe.Msg
	}
	return "rollups did not cover the range at that time"
}

// read takes the rule's value from an answer: with groups, the group that
// breaches most (or, when none does, the one nearest to it); no rows mean
// 0 for count, sum and uniq and no value otherwise.
func read(plan *Plan, resp *query.Response, sp *Spec) outcome {
	o := outcome{source: resp.Meta.Source}
	var best *float64
	var bestGroup map[string]any
	bestBreach := false
	for _, row := range resp.Rows {
		v, _ := row.Get(plan.Column)
		f, ok := v.(float64)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		breach := sp.Condition.Holds(f)
		if best == nil || breach && !bestBreach || breach == bestBreach && worse(sp.Condition.Op, f, *best) {
			best, bestBreach = &f, breach
			bestGroup = nil
			if len(plan.Query.GroupBy) > 0 {
				bestGroup = map[string]any{}
				for _, g := range plan.Query.GroupBy {
					bestGroup[g], _ = row.Get(g)
				}
			}
		}
	}
	if best == nil {
		switch plan.Agg {
		case query.AggCount, query.AggSum, query.AggUniq:
			zero := 0.0
			best, bestBreach = &zero, sp.Condition.Holds(0)
		default:
			switch sp.NoData {
			case NoDataFiring:
				o.breach = true
			case NoDataKeep:
				o.keep = true
			}
			return o
		}
	}
	o.value, o.group, o.breach = best, bestGroup, bestBreach
	return o
}

// worse reports whether a is further than b on the breaching side of op.
func worse(op string, a, b float64) bool {
	switch op {
	case ">", ">=":
		return a > b
	case "<", "<=":
		return a < b
	}
	return false
}

func (m *Manager) message(id, project int64, sp *Spec, state string, value *float64, group map[string]any, at time.Time) Message {
	msg := Message{Rule: RuleRef{ID: id, Name: sp.Name}, State: state, Value: value, Condition: sp.Condition,
		At: at.UTC().Truncate(time.Millisecond).Format(time.RFC3339Nano), Group: group}
	if m.opts.RuleURL != nil {
		msg.URL = m.opts.RuleURL(project, id)
	}
	return msg
}

// deliver sends the notifications due at now, recording each attempt in
// the history; it reports whether it sent any.
func (m *Manager) deliver(ctx context.Context, id, project int64, sp *Spec, st *State, now time.Time) bool {
	sent := false
	var keep []Delivery
	for _, d := range st.Outbox {
		if now.Before(d.NextAt) || ctx.Err() != nil || d.Target >= len(sp.Notify) {
			keep = append(keep, d)
			continue
		}
		t := sp.Notify[d.Target]
		res := m.send.send(ctx, t, body(t, m.message(id, project, sp, d.State, d.Value, d.Group, d.At)), fmt.Sprintf("%d-%d-%d", id, d.Seq, d.Target))
		if ctx.Err() != nil {
			// Shutting down: the attempt does not count; the next start
			// sends it.
			keep = append(keep, d)
			continue
		}
		d.Attempts++
		target := d.Target
		e := Entry{At: now.UTC(), Kind: EntryNotification, To: d.State, Value: d.Value, Seq: d.Seq, Target: &target, Type: t.Type,
			Attempt: d.Attempts, Status: res.Status, OK: res.OK, Message: res.Message}
		if !res.OK {
			if !res.Retry || d.Attempts >= m.opts.MaxAttempts {
				e.Final = true
				m.log.Warn("alert notification failed", "rule", id, "target", d.Target, "attempts", d.Attempts, "status", res.Status)
			} else {
				d.NextAt = now.Add(m.opts.RetryBase << (d.Attempts - 1))
				keep = append(keep, d)
			}
		}
		st.add(e)
		sent = true
	}
	st.Outbox = keep
	return sent
}

// TestResult is what one target said to a test notification.
type TestResult struct {
	Target  int    `json:"target"`
	Type    string `json:"type"`
	OK      bool   `json:"ok"`
	Status  int    `json:"status"`
	Message string `json:"message,omitempty"`
}

// Test sends a test notification (state "test", the latest value) to
// each of a rule's targets, once, and returns what each said; the
// attempts go into the history.
func (m *Manager) Test(ctx context.Context, project, id int64) ([]TestResult, error) {
	m.mu.Lock()
	r, err := m.get(project, id)
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	spec, value, group := r.spec, r.state.Value, r.state.Group
	m.mu.Unlock()
	now := m.now().UTC().Truncate(time.Millisecond)
	msg := m.message(id, project, &spec, "test", value, group, now)
	out := make([]TestResult, len(spec.Notify))
	var wg sync.WaitGroup
	for i, t := range spec.Notify {
		wg.Go(func() {
			res := m.send.send(ctx, t, body(t, msg), fmt.Sprintf("%d-test-%d", id, now.UnixMilli()))
			out[i] = TestResult{Target: i, Type: t.Type, OK: res.OK, Status: res.Status, Message: res.Message}
		})
	}
	wg.Wait()
	r.stepMu.Lock()
	defer r.stepMu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if !r.deleted {
		for i, res := range out {
			target := i
			r.state.add(Entry{At: now, Kind: EntryNotification, To: "test", Value: value, Target: &target, Type: res.Type, Attempt: 1,
				Status: res.Status, OK: res.OK, Final: !res.OK, Message: res.Message})
		}
		if err := m.opts.Store.PutAlertState(ctx, r.id, marshal(r.state)); err != nil {
			m.log.Error("store alert state", "rule", r.id, "err", err)
		}
	}
	return out, nil
}
