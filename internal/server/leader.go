package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// On a cluster, several servers share one metadata store. What must
// happen once per cluster, not once per server, runs on one server at a
// time — the leader, the holder of the store's lock LeaderLock: the alert
// rules' evaluations and notifications (two servers evaluating a rule
// would notify each transition twice), the checks' runs and their
// pruning, the cron monitors' sweep (missed check-ins made twice) and the
// expiry of error events. Every server keeps the rules, checks and
// monitors in memory for its API, and reloads them when another server
// announces a change (ApplyMetaChange); the leader reloads them too
// before it begins, so that it goes on from where the former one
// stopped. The dashboard sessions' sweep and the enrichment's upkeep stay
// on every server: they are per server, or harmless twice.

// LeaderLock is the name of the lock under which a cluster's leader runs
// the alert rules, checks, cron monitor sweeps and error expiry.
const LeaderLock = "alidade-leader"

// leaderStore is a store other servers share (a cluster's PostgreSQL):
// Lead runs fn while this server alone holds the lock name, and returns
// when ctx ends.
type leaderStore interface {
	Lead(ctx context.Context, name string, fn func(ctx context.Context))
}

// reloads holds the requests to reload what other servers changed: a
// token each, so that a burst of changes makes one reload, and none is
// lost while one runs.
type reloads struct {
	alerts, checks, monitors chan struct{}
}

func newReloads() reloads {
	return reloads{alerts: make(chan struct{}, 1), checks: make(chan struct{}, 1), monitors: make(chan struct{}, 1)}
}

func ask(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// reloadTimeout bounds one reload from the store.
const reloadTimeout = 30 * time.Second

// startShared starts, on a server whose store others share, the reloads
// of what they change and the bid for leadership; the loops that run
// once per cluster run while this server leads. loopsDone is closed once
// the leadership (and so the loops) ended.
func (s *Server) startShared(ctx context.Context, ld leaderStore) {
	if s.errors != nil {
		s.errors.Start()
	}
	go s.followReloads(ctx)
	s.loopsDone = make(chan struct{})
	go func() {
		defer close(s.loopsDone)
		ld.Lead(ctx, LeaderLock, s.lead)
	}()
}

// followReloads reloads what the requests ask for until ctx ends.
func (s *Server) followReloads(ctx context.Context) {
	for {
		var what string
		var reload func(context.Context) error
		select {
		case <-ctx.Done():
			return
		case <-s.reloads.alerts:
			what, reload = "alert rules", s.reloadAlerts
		case <-s.reloads.checks:
			what, reload = "checks", s.reloadChecks
		case <-s.reloads.monitors:
			what, reload = "cron monitors", s.reloadMonitors
		}
		rctx, cancel := context.WithTimeout(ctx, reloadTimeout)
		err := reload(rctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			// What is in memory stays; the next change, or the resync
			// after the store is back, reloads it.
			s.log.Warn("reload "+what+" changed by another node", "err", err)
		}
	}
}

func (s *Server) reloadAlerts(ctx context.Context) error {
	if s.alerts == nil {
		return nil
	}
	return s.alerts.Reload(ctx)
}

func (s *Server) reloadChecks(ctx context.Context) error {
	if s.checks == nil {
		return nil
	}
	return s.checks.Reload(ctx)
}

func (s *Server) reloadMonitors(ctx context.Context) error {
	if s.monitors == nil {
		return nil
	}
	return s.monitors.Reload(ctx)
}

// lead runs the cluster's once-only loops until ctx ends (the leadership
// is lost or the server stops), after reloading what they work on: the
// former leader's last states are in the store. It waits for them to end.
func (s *Server) lead(ctx context.Context) {
	for {
		rctx, cancel := context.WithTimeout(ctx, reloadTimeout)
		err := errors.Join(s.reloadAlerts(rctx), s.reloadChecks(rctx), s.reloadMonitors(rctx))
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("leader: reload before leading failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	s.leading.Store(true)
	defer s.leading.Store(false)
	s.log.Info("this node leads: it evaluates the alert rules, runs the checks and sweeps the cron monitors")
	var wg sync.WaitGroup
	if s.alerts != nil {
		wg.Go(func() { s.alerts.Run(ctx) })
	}
	if s.checks != nil {
		wg.Go(func() { s.checks.Run(ctx) })
	}
	if s.monitors != nil {
		wg.Go(func() { s.sweepSharedMonitors(ctx, time.Minute) })
	}
	if s.errors != nil {
		wg.Go(func() { s.maintainErrors(ctx, 10*time.Minute) })
	}
	wg.Wait()
}

// sweepSharedMonitors sweeps the cron monitors every interval until ctx
// ends, each sweep after a reload: the check-ins came to every node, and
// a state a moment old could make a missed check-in of a run that did
// check in.
func (s *Server) sweepSharedMonitors(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, reloadTimeout)
		err := s.monitors.Reload(rctx)
		cancel()
		if err == nil {
			_, err = s.monitors.Sweep(ctx, s.clock())
		} else {
			err = fmt.Errorf("reload before the sweep: %w", err)
		}
		if err != nil && ctx.Err() == nil {
			s.log.Warn("sweep cron monitors", "err", err)
		}
	}
}
