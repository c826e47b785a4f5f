// Package monitors follows Sentry cron monitors: each monitor is made or
// updated by the check-ins that declare its schedule (monitor_config), and
// a sweep, every minute, turns what did not happen into check-ins of its
// own: "missed" when no check-in came by a scheduled time plus the
// monitor's margin, "timeout" when a run that checked in as in_progress
// did not finish within its max runtime. Those become check_ins points
// like the SDKs' (failed = 1), so a missed cron charts, alerts and queries
// like every other metric, and GET /api/v1/monitors lists the monitors.
package monitors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/point"
)

// Sentry's defaults: a check-in may be a minute late, a run may take 30
// minutes.
const (
	DefaultMargin     = time.Minute
	DefaultMaxRuntime = 30 * time.Minute
	// maxMissedPerSweep bounds the missed check-ins one sweep makes for a
	// monitor (after a long downtime of the server, say).
	maxMissedPerSweep = 100
)

// Monitor is a cron monitor's state.
type Monitor struct {
	Project     int64
	Slug        string
	Environment string
	// Config is the latest schedule declared (nil: none yet, nothing is
	// expected).
	Config *errtrack.MonitorConfig
	// LastCheckIn is when the latest check-in came (Unix ms), LastStatus
	// its status (or missed / timeout).
	LastCheckIn int64
	LastStatus  string
	// NextExpected is when the next check-in is due (Unix ms; 0 none).
	NextExpected int64
	// InProgress is the check_in_id of a run that started and has not
	// finished, since InProgressSince (Unix ms).
	InProgress      string
	InProgressSince int64
}

// Store keeps the monitors.
type Store interface {
	Monitors(ctx context.Context) ([]Monitor, error)
	PutMonitor(ctx context.Context, m Monitor) error
}

// SharedStore is a Store that the registries of several servers write at
// once (a cluster's PostgreSQL). Their memories may be behind the store
// (a change another server made is heard a moment later), so a registry
// over one never writes what it remembers: it changes the stored state,
// read under a lock, through UpdateMonitor.
type SharedStore interface {
	Store
	// UpdateMonitor runs fn on the stored state of a monitor (the zero
	// Monitor with its key, and found false, when there is none) while no
	// other UpdateMonitor of that monitor runs, and stores what fn
	// returns when it says store; it returns the state stored after.
	UpdateMonitor(ctx context.Context, project int64, slug, env string,
		fn func(m Monitor, found bool) (next Monitor, store bool, err error)) (Monitor, error)
}

// Writer writes a project's points durably (the ingest pipeline).
type Writer func(ctx context.Context, project int64, pts []point.Point) error

type key struct {
	project   int64
	slug, env string
}

// Registry holds the monitors in memory, in front of their store.
type Registry struct {
	st    Store
	write Writer
	log   *slog.Logger

	mu sync.Mutex
	m  map[key]*Monitor
}

// New loads the monitors.
func New(ctx context.Context, st Store, write Writer, log *slog.Logger) (*Registry, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Registry{st: st, write: write, log: log, m: map[key]*Monitor{}}
	ms, err := st.Monitors(ctx)
	if err != nil {
		return nil, fmt.Errorf("read cron monitors: %w", err)
	}
	for i := range ms {
		m := ms[i]
		r.m[key{m.Project, m.Slug, m.Environment}] = &m
	}
	return r, nil
}

// Reload reads every monitor from the store again and takes it as it is
// there, for a store that other servers change too (a cluster's
// PostgreSQL; the server calls it when one announces a change, and
// before each sweep of the one server that sweeps): check-ins come to
// every server, and each writes what it follows, so the store is the
// newest there is. It is read with the registry's lock held, as every
// write of this registry is made, so that it is never older than what
// this registry wrote.
func (r *Registry) Reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	ms, err := r.st.Monitors(ctx)
	if err != nil {
		return fmt.Errorf("read cron monitors: %w", err)
	}
	m := make(map[key]*Monitor, len(ms))
	for i := range ms {
		m[key{ms[i].Project, ms[i].Slug, ms[i].Environment}] = &ms[i]
	}
	r.m = m
	return nil
}

// Schedule is a parsed monitor schedule.
type Schedule interface {
	// Next is the first scheduled time after t.
	Next(t time.Time) time.Time
}

// ParseSchedule reads a monitor_config's schedule: a crontab (five
// fields, or @hourly, @daily, …, in its timezone) or an interval (a count
// of minute, hour, day, week, month or year).
func ParseSchedule(c *errtrack.MonitorConfig) (Schedule, error) {
	if c == nil {
		return nil, errors.New("no schedule")
	}
	loc := time.UTC
	if c.Timezone != "" {
		l, err := time.LoadLocation(c.Timezone)
		if err != nil {
			return nil, fmt.Errorf("timezone %q: %v", c.Timezone, err)
		}
		loc = l
	}
	switch c.ScheduleType {
	case "crontab", "":
		s, err := cron.ParseStandard(c.Schedule)
		if err != nil {
			return nil, fmt.Errorf("crontab %q: %v", c.Schedule, err)
		}
		return crontab{s, loc}, nil
	case "interval":
		n, err := strconv.Atoi(strings.TrimSpace(c.Schedule))
		if err != nil || n < 1 || n > 10_000 {
			return nil, fmt.Errorf("interval %q: want a count from 1 to 10000", c.Schedule)
		}
		switch strings.TrimSuffix(c.Unit, "s") {
		case "minute", "hour", "day", "week", "month", "year":
		default:
			return nil, fmt.Errorf("interval unit %q: want minute, hour, day, week, month or year", c.Unit)
		}
		return interval{n, strings.TrimSuffix(c.Unit, "s")}, nil
	}
	return nil, fmt.Errorf("schedule type %q: want crontab or interval", c.ScheduleType)
}

type crontab struct {
	s   cron.Schedule
	loc *time.Location
}

// Next skips a time whose wall clock does not come after t's: when
// clocks go back, a crontab's time happens twice, and cron runs the job
// once.
func (c crontab) Next(t time.Time) time.Time {
	t = t.In(c.loc)
	wall := t.Format("2006-01-02 15:04:05")
	n := c.s.Next(t)
	for i := 0; i < 4 && !n.IsZero() && n.In(c.loc).Format("2006-01-02 15:04:05") <= wall; i++ {
		n = c.s.Next(n)
	}
	return n
}

type interval struct {
	n    int
	unit string
}

func (iv interval) Next(t time.Time) time.Time {
	t = t.UTC()
	switch iv.unit {
	case "minute":
		return t.Add(time.Duration(iv.n) * time.Minute)
	case "hour":
		return t.Add(time.Duration(iv.n) * time.Hour)
	case "day":
		return t.AddDate(0, 0, iv.n)
	case "week":
		return t.AddDate(0, 0, 7*iv.n)
	case "month":
		return t.AddDate(0, iv.n, 0)
	default:
		return t.AddDate(iv.n, 0, 0)
	}
}

func margin(c *errtrack.MonitorConfig) time.Duration {
	if c == nil || c.Margin < 1 {
		return DefaultMargin
	}
	return time.Duration(c.Margin * float64(time.Minute))
}

func maxRuntime(c *errtrack.MonitorConfig) time.Duration {
	if c == nil || c.MaxRuntime < 1 {
		return DefaultMaxRuntime
	}
	return time.Duration(c.MaxRuntime * float64(time.Minute))
}

// CheckIn follows a project's check-in that arrived at received (Unix
// ms): the monitor is made or its schedule updated when the check-in
// declares one, and its next expected time moves past the check-in. An
// invalid schedule is an error (the check-in itself is kept by its
// point).
func (r *Registry) CheckIn(ctx context.Context, project int64, c *errtrack.CheckIn, received int64) error {
	if c.Slug == "" {
		return nil
	}
	var sched Schedule
	if c.Config != nil {
		var err error
		if sched, err = ParseSchedule(c.Config); err != nil {
			return fmt.Errorf("monitor %q: %w", c.Slug, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := key{project, c.Slug, c.Environment}
	if sh, ok := r.st.(SharedStore); ok {
		next, err := sh.UpdateMonitor(ctx, project, c.Slug, c.Environment, func(m Monitor, _ bool) (Monitor, bool, error) {
			return checkIn(m, c, sched, received), true, nil
		})
		if err != nil {
			return err
		}
		r.m[k] = &next
		return nil
	}
	m := r.m[k]
	if m == nil {
		m = &Monitor{Project: project, Slug: c.Slug, Environment: c.Environment}
	}
	next := checkIn(*m, c, sched, received)
	if err := r.st.PutMonitor(ctx, next); err != nil {
		return err
	}
	r.m[k] = &next
	return nil
}

// checkIn is m after check-in c received at received (Unix ms); sched is
// c's schedule, nil when it declares none.
func checkIn(m Monitor, c *errtrack.CheckIn, sched Schedule, received int64) Monitor {
	next := m
	if c.Config != nil {
		cfg := *c.Config
		next.Config = &cfg
	} else if next.Config != nil {
		sched, _ = ParseSchedule(next.Config)
	}
	next.LastCheckIn, next.LastStatus = received, c.Status
	switch c.Status {
	case "in_progress":
		next.InProgress, next.InProgressSince = c.ID, received
	default:
		if next.InProgress == c.ID || c.ID == "" {
			next.InProgress, next.InProgressSince = "", 0
		}
	}
	if sched != nil {
		// A run's start or end both say the job ran at its time: the next
		// one is due at the schedule's next time.
		next.NextExpected = sched.Next(time.UnixMilli(received)).UnixMilli()
	}
	return next
}

// Sweep makes the missed and timeout check-ins due at now: for each
// monitor whose next expected time plus margin has passed, a missed
// check-in at that time (and at each scheduled time after it that also
// passed), and for a run in progress past its max runtime, a timeout.
// Their points are written before the monitors move on, so a failed write
// is retried by the next sweep.
func (r *Registry) Sweep(ctx context.Context, now time.Time) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	nowMs := now.UnixMilli()
	keys := make([]key, 0, len(r.m))
	for k := range r.m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.project != b.project {
			return a.project < b.project
		}
		if a.slug != b.slug {
			return a.slug < b.slug
		}
		return a.env < b.env
	})
	made := 0
	var errs []error
	sh, shared := r.st.(SharedStore)
	for _, k := range keys {
		if shared {
			// The stored state, not the remembered one: a check-in another
			// server took since the last reload moved the monitor on.
			n, exists := 0, true
			next, err := sh.UpdateMonitor(ctx, k.project, k.slug, k.env, func(m Monitor, found bool) (Monitor, bool, error) {
				exists = found
				next, pts := due(m, nowMs)
				if !found || len(pts) == 0 {
					return m, false, nil
				}
				// Written while the monitor is locked: no other server
				// writes them again (a failed commit leaves them to the
				// next sweep, at least once).
				if err := r.write(ctx, next.Project, pts); err != nil {
					return m, false, fmt.Errorf("monitor %q: write its check-ins: %w", next.Slug, err)
				}
				n = len(pts)
				return next, true, nil
			})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !exists {
				delete(r.m, k)
				continue
			}
			r.m[k] = &next
			if n > 0 {
				made += n
				r.log.Info("cron monitor", "project", next.Project, "slug", next.Slug, "environment", next.Environment, "status", next.LastStatus, "check_ins", n)
			}
			continue
		}
		next, pts := due(*r.m[k], nowMs)
		if len(pts) == 0 {
			continue
		}
		if err := r.write(ctx, next.Project, pts); err != nil {
			errs = append(errs, fmt.Errorf("monitor %q: write its check-ins: %w", next.Slug, err))
			continue
		}
		if err := r.st.PutMonitor(ctx, next); err != nil {
			// The points are written: the monitor moves on in memory all
			// the same, so they are not written twice.
			errs = append(errs, fmt.Errorf("monitor %q: %w", next.Slug, err))
		}
		r.m[k] = &next
		made += len(pts)
		r.log.Info("cron monitor", "project", next.Project, "slug", next.Slug, "environment", next.Environment, "status", next.LastStatus, "check_ins", len(pts))
	}
	return made, errors.Join(errs...)
}

// due is m at nowMs (Unix ms) and the check-ins it makes: a timeout for a
// run past its max runtime, a missed check-in for each scheduled time
// whose margin has passed (at most maxMissedPerSweep of them).
func due(m Monitor, nowMs int64) (Monitor, []point.Point) {
	next := m
	var pts []point.Point
	if next.InProgress != "" && nowMs >= next.InProgressSince+maxRuntime(next.Config).Milliseconds() {
		c := &errtrack.CheckIn{ID: next.InProgress, Slug: next.Slug, Status: "timeout", Environment: next.Environment, Config: next.Config}
		pts = append(pts, c.Point(next.InProgressSince+maxRuntime(next.Config).Milliseconds()))
		next.InProgress, next.InProgressSince, next.LastStatus = "", 0, "timeout"
	}
	if sched, err := ParseSchedule(next.Config); err == nil {
		late := margin(next.Config).Milliseconds()
		for n := 0; next.NextExpected > 0 && nowMs >= next.NextExpected+late; n++ {
			if n < maxMissedPerSweep {
				c := &errtrack.CheckIn{Slug: next.Slug, Status: "missed", Environment: next.Environment, Config: next.Config}
				pts = append(pts, c.Point(next.NextExpected))
			}
			next.LastStatus = "missed"
			next.NextExpected = sched.Next(time.UnixMilli(next.NextExpected)).UnixMilli()
		}
	}
	return next, pts
}

// List returns a project's monitors by slug and environment.
func (r *Registry) List(project int64) []Monitor {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Monitor
	for k, m := range r.m {
		if k.project == project {
			out = append(out, *m)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Slug != out[j].Slug {
			return out[i].Slug < out[j].Slug
		}
		return out[i].Environment < out[j].Environment
	})
	return out
}

// Run sweeps every interval until ctx ends.
func (r *Registry) Run(ctx context.Context, every time.Duration, now func() time.Time) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := r.Sweep(ctx, now()); err != nil && ctx.Err() == nil {
			r.log.Warn("sweep cron monitors", "err", err)
		}
	}
}
