package errtrack

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// SharedStore is a Store that the trackers of several nodes write at once
// (a cluster: groups in PostgreSQL, events in ClickHouse). A tracker over
// one keeps no group of its own and remembers no event id: every batch
// reads the current state of its groups under a lock, in the
// transaction that writes them back, so that the nodes' events of one
// group add up as if one node had recorded them all.
type SharedStore interface {
	Store
	// CommitShared runs fn in one transaction, which it commits with
	// what fn returns: the events and attachments (stored first, so that
	// a group never counts an event that cannot be read) and the groups,
	// by id. fn claims the batch's event ids and locks its groups through
	// tx. The store may run fn again (a deadlock or a serialization
	// failure it retries): fn must not keep anything of a run that failed.
	CommitShared(ctx context.Context, fn func(tx SharedTx) (Commit, error)) error
	// UpdateErrorGroup runs fn on a project's group locked in a
	// transaction and writes back what fn did (ErrNotFound: no group).
	UpdateErrorGroup(ctx context.Context, project, id int64, fn func(g *Group)) (*Group, error)
}

// SharedTx is what CommitShared's callback does in its transaction.
// Claims come before locks, each in key order (project, then bytes of the
// id or fingerprint), so that two transactions never wait for each other
// in a cycle.
type SharedTx interface {
	// ClaimEvents records the event keys (distinct, in key order) as
	// stored, received at now (Unix ms; retention expires the claims
	// with the events), and returns those stored before: duplicates,
	// which a transaction claiming them at the same time also sees once
	// the other commits.
	ClaimEvents(keys []EventKey, now int64) (dup map[EventKey]bool, err error)
	// LockGroups locks the groups of the keys (distinct, in key order),
	// creating those missing with a new id, Count 0 and nothing else
	// set, and returns each by key.
	LockGroups(keys []GroupKey) (map[GroupKey]*Group, error)
}

// GroupKey identifies a project's group by its fingerprint.
type GroupKey struct {
	Project     int64
	Fingerprint string
}

// commitShared is commitEvents on a SharedStore.
func (t *Tracker) commitShared(ops []*op) {
	ctx := context.Background()
	now := t.now().UnixMilli()
	nEvents := 0
	err := t.shared.CommitShared(ctx, func(tx SharedTx) (Commit, error) {
		var keys []EventKey
		seenKey := map[EventKey]bool{}
		for _, o := range ops {
			for _, in := range o.events {
				k := EventKey{in.Project, in.Event.EventID}
				if _, ok := makeRecentKey(k.Project, k.EventID); ok && !seenKey[k] {
					seenKey[k] = true
					keys = append(keys, k)
				}
			}
		}
		slices.SortFunc(keys, func(a, b EventKey) int {
			return cmp.Or(cmp.Compare(a.Project, b.Project), cmp.Compare(a.EventID, b.EventID))
		})
		dup, err := tx.ClaimEvents(keys, now)
		if err != nil {
			return Commit{}, err
		}
		// Which events are recorded: not claimed before, and the first
		// of the batch with their id.
		keep := make([][]bool, len(ops))
		clear(seenKey)
		var gkeys []GroupKey
		seenGroup := map[GroupKey]bool{}
		for i, o := range ops {
			keep[i] = make([]bool, len(o.events))
			for j, in := range o.events {
				k := EventKey{in.Project, in.Event.EventID}
				if _, ok := makeRecentKey(k.Project, k.EventID); ok {
					if dup[k] || seenKey[k] {
						continue
					}
					seenKey[k] = true
				}
				keep[i][j] = true
				gk := GroupKey{in.Project, in.Grouping.Fingerprint}
				if !seenGroup[gk] {
					seenGroup[gk] = true
					gkeys = append(gkeys, gk)
				}
			}
		}
		slices.SortFunc(gkeys, func(a, b GroupKey) int {
			return cmp.Or(cmp.Compare(a.Project, b.Project), cmp.Compare(a.Fingerprint, b.Fingerprint))
		})
		locked, err := tx.LockGroups(gkeys)
		if err != nil {
			return Commit{}, err
		}
		var c Commit
		work := map[GroupKey]*Group{}
		for i, o := range ops {
			o.outcomes = make([]Outcome, len(o.events))
			for j, in := range o.events {
				if !keep[i][j] {
					o.outcomes[j].Duplicate = true
					continue
				}
				gk := GroupKey{in.Project, in.Grouping.Fingerprint}
				g := work[gk]
				if g == nil {
					if g = locked[gk]; g == nil {
						return Commit{}, fmt.Errorf("BUG: error group %d/%q was not locked", gk.Project, gk.Fingerprint)
					}
					g = g.Clone()
					if g.Count == 0 {
						g.Grouping = GroupingVersion
						o.outcomes[j].New = true
						c.New = append(c.New, g)
					} else {
						c.Changed = append(c.Changed, g)
					}
					work[gk] = g
				}
				o.outcomes[j].GroupID = g.ID
				o.outcomes[j].Regressed = g.observe(in, now)
				e := in.Event
				c.Events = append(c.Events, StoredEvent{Project: in.Project, EventID: e.EventID, GroupID: g.ID, Timestamp: in.Timestamp,
					Received: in.Received, Level: e.Level, Release: e.Release, Environment: e.Environment, User: cut(e.User.Key(), maxTitle),
					Title: Title(e), Payload: in.Payload, Size: in.Size})
				for _, a := range in.Attachments {
					a.Project, a.EventID = in.Project, e.EventID
					c.Attachments = append(c.Attachments, a)
				}
			}
		}
		nEvents = len(c.Events)
		return c, nil
	})
	if err != nil {
		t.log.Error("commit error events", "events", nEvents, "err", err)
		for _, o := range ops {
			o.err = fmt.Errorf("store error events: %w", err)
			t.finish(o, len(o.events))
		}
		return
	}
	// The events are stored: callers write their points, in one write
	// for the batch.
	w := &wave{done: make(chan struct{})}
	for _, o := range ops {
		if o.prepare != nil {
			w.left++
			o.wave = w
		}
		o.grouped = true
	}
	for _, o := range ops {
		t.finish(o, len(o.events))
	}
}

// commitSharedStatus is commitStatus on a SharedStore.
func (t *Tracker) commitSharedStatus(o *op) {
	defer t.finish(o, 1)
	g, err := t.shared.UpdateErrorGroup(context.Background(), o.project, o.group, func(g *Group) {
		g.setStatus(o.status, t.now().UnixMilli())
	})
	if err != nil {
		if !IsNotFound(err) {
			err = fmt.Errorf("store the status of error group %d: %w", o.group, err)
		}
		o.err = err
		return
	}
	o.changed = g
}
