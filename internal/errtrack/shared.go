package errtrack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// SharedStore is a Store that the trackers of several nodes write at once
// (a cluster: groups in PostgreSQL, events in ClickHouse). A tracker over
// one keeps no group of its own and remembers no event id: every batch
// reads the current state of its groups under a lock, in the
// transaction that writes them back, so that the nodes' events of one
// group add up as if one node had recorded them all.
//
// A batch is written in three steps (commitShared): (1) its groups' ids
// are found or created and the ids of its events already claimed are
// dropped (ResolveErrorGroups, no lock kept);
// (2) its events and attachments are stored with those group ids
// (CommitErrors, no lock held); (3) one short transaction (CommitShared)
// claims the events' ids, locks the groups, applies the events whose
// claim it won and writes the groups back. So a group never counts an
// event that cannot be read (step 2 is done before step 3 counts it); an
// event is counted once, by the transaction that claims its id, whatever
// node and batch it came in; a failure in step 1 or 2, or a step 3 that
// does not commit, leaves the ids unclaimed, so that the SDK's retry is
// recorded. What steps 2 and 3 can leave is rows of an event stored more
// than once with the same id (a batch that failed after step 2, and its
// retry; two nodes that got the same event at once, the claim of one
// losing): readers keep one row per event id.
type SharedStore interface {
	Store
	// ResolveErrorGroups returns the ids of the groups of the keys
	// (distinct, in key order), creating those missing with a new id and
	// Count 0 (reads do not see a group without events), and which of the
	// event keys are claimed already (a read: it claims nothing). It keeps
	// no lock.
	ResolveErrorGroups(ctx context.Context, keys []GroupKey, events []EventKey) (ids map[GroupKey]int64, claimed map[EventKey]bool, err error)
	// CommitShared runs fn in one transaction, which it commits with the
	// groups fn returns (Commit.New and Changed, by id; fn's events and
	// attachments were stored before, through CommitErrors). fn claims the
	// batch's event ids and locks its groups through tx. The store may run
	// fn again (a deadlock or a serialization failure it retries): fn must
	// not keep anything of a run that failed.
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
	// whose ids ResolveErrorGroups gave (ids[i] is keys[i]'s), and returns
	// each by key. A group deleted since (retention) is created again
	// with its id, Count 0 and nothing else set; one whose fingerprint
	// another node created again meanwhile comes with that group's id.
	LockGroups(keys []GroupKey, ids []int64) (map[GroupKey]*Group, error)
}

// GroupKey identifies a project's group by its fingerprint.
type GroupKey struct {
	Project     int64
	Fingerprint string
}

// maxSharedTries is how many times commitShared runs a batch whose
// groups moved to another id between its steps 1 and 3.
const maxSharedTries = 2

// errGroupMoved says a group of the batch was deleted and created again
// under another id between the batch's steps 1 and 3.
var errGroupMoved = errors.New("an error group was deleted by retention and created again while the batch was stored")

// commitShared is commitEvents on a SharedStore (see SharedStore for its
// three steps). Several run at once (runShared), each on its own ops.
func (t *Tracker) commitShared(ops []*op) {
	var err error
	nEvents := 0
	for try := 1; ; try++ {
		nEvents, err = t.tryShared(context.Background(), ops)
		if errors.Is(err, errGroupMoved) && try < maxSharedTries {
			continue
		}
		break
	}
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

// sharedEvent is an event of a batch that step 2 stores.
type sharedEvent struct {
	op, ev int
	key    EventKey
	hasID  bool // a well-formed id: claimed in step 3
	group  GroupKey
}

// tryShared runs the three steps of a batch once and sets its ops'
// outcomes; it returns how many events it stored.
func (t *Tracker) tryShared(ctx context.Context, ops []*op) (int, error) {
	now := t.now().UnixMilli()
	// The events to store: the first of the batch with its id, unless
	// the id is claimed already.
	var all []sharedEvent
	var keys []EventKey
	seenKey := map[EventKey]bool{}
	for i, o := range ops {
		for j, in := range o.events {
			k := EventKey{in.Project, in.Event.EventID}
			_, hasID := makeRecentKey(k.Project, k.EventID)
			if hasID {
				if seenKey[k] {
					continue
				}
				seenKey[k] = true
				keys = append(keys, k)
			}
			all = append(all, sharedEvent{op: i, ev: j, key: k, hasID: hasID, group: GroupKey{in.Project, in.Grouping.Fingerprint}})
		}
	}
	sortEventKeys(keys)
	// Step 1: the groups' ids, and the ids claimed before.
	var gkeys []GroupKey
	seenGroup := map[GroupKey]bool{}
	for _, se := range all {
		if !seenGroup[se.group] {
			seenGroup[se.group] = true
			gkeys = append(gkeys, se.group)
		}
	}
	sortGroupKeys(gkeys)
	ids, claimed, err := t.shared.ResolveErrorGroups(ctx, gkeys, keys)
	if err != nil {
		return 0, err
	}
	stored := all[:0]
	for _, se := range all {
		if !(se.hasID && claimed[se.key]) {
			stored = append(stored, se)
		}
	}
	// Step 2: the events and attachments, named by their groups.
	var c Commit
	for _, se := range stored {
		in := ops[se.op].events[se.ev]
		gid, ok := ids[se.group]
		if !ok {
			return 0, fmt.Errorf("BUG: error group %d/%q has no id", se.group.Project, se.group.Fingerprint)
		}
		e := in.Event
		c.Events = append(c.Events, StoredEvent{Project: in.Project, EventID: e.EventID, GroupID: gid, Timestamp: in.Timestamp,
			Received: in.Received, Level: e.Level, Release: e.Release, Environment: e.Environment, User: cut(e.User.Key(), maxTitle),
			Title: Title(e), Payload: in.Payload, Size: in.Size})
		for _, a := range in.Attachments {
			a.Project, a.EventID = in.Project, e.EventID
			c.Attachments = append(c.Attachments, a)
		}
	}
	if len(c.Events) > 0 {
		if err := t.shared.CommitErrors(ctx, Commit{Events: c.Events, Attachments: c.Attachments}); err != nil {
			return len(c.Events), err
		}
	}
	// Step 3: claim, lock, count.
	var claimKeys []EventKey
	for _, se := range stored {
		if se.hasID {
			claimKeys = append(claimKeys, se.key)
		}
	}
	sortEventKeys(claimKeys)
	err = t.shared.CommitShared(ctx, func(tx SharedTx) (Commit, error) {
		dup, err := tx.ClaimEvents(claimKeys, now)
		if err != nil {
			return Commit{}, err
		}
		var lockKeys []GroupKey
		var lockIDs []int64
		clear(seenGroup)
		for _, se := range stored {
			if !(se.hasID && dup[se.key]) && !seenGroup[se.group] {
				seenGroup[se.group] = true
				lockKeys = append(lockKeys, se.group)
			}
		}
		sortGroupKeys(lockKeys)
		for _, k := range lockKeys {
			lockIDs = append(lockIDs, ids[k])
		}
		locked, err := tx.LockGroups(lockKeys, lockIDs)
		if err != nil {
			return Commit{}, err
		}
		for _, o := range ops {
			o.outcomes = make([]Outcome, len(o.events))
			for j := range o.outcomes {
				o.outcomes[j].Duplicate = true
			}
		}
		var gc Commit
		work := map[GroupKey]*Group{}
		for _, se := range stored {
			if se.hasID && dup[se.key] {
				continue // another batch claimed it first: its rows are a duplicate
			}
			in, out := ops[se.op].events[se.ev], &ops[se.op].outcomes[se.ev]
			out.Duplicate = false
			g := work[se.group]
			if g == nil {
				if g = locked[se.group]; g == nil {
					return Commit{}, fmt.Errorf("BUG: error group %d/%q was not locked", se.group.Project, se.group.Fingerprint)
				}
				if g.ID != ids[se.group] {
					return Commit{}, fmt.Errorf("error group %d/%q: id %d, events stored with %d: %w", se.group.Project, se.group.Fingerprint, g.ID, ids[se.group], errGroupMoved)
				}
				g = g.Clone()
				if g.Count == 0 {
					g.Grouping = GroupingVersion
					out.New = true
					gc.New = append(gc.New, g)
				} else {
					gc.Changed = append(gc.Changed, g)
				}
				work[se.group] = g
			}
			out.GroupID = g.ID
			out.Regressed = g.observe(in, now)
		}
		return gc, nil
	})
	return len(c.Events), err
}

func sortEventKeys(keys []EventKey) {
	slices.SortFunc(keys, func(a, b EventKey) int {
		return cmp.Or(cmp.Compare(a.Project, b.Project), cmp.Compare(a.EventID, b.EventID))
	})
}

func sortGroupKeys(keys []GroupKey) {
	slices.SortFunc(keys, func(a, b GroupKey) int {
		return cmp.Or(cmp.Compare(a.Project, b.Project), cmp.Compare(a.Fingerprint, b.Fingerprint))
	})
}

// runShared is run over a SharedStore: up to SharedCommits batches
// commit at once. A batch starts as soon as an op is queued while none
// commits; while some do, another starts only once a full batch
// (MaxBatch events) is queued, else when a commit ends, with what was
// queued meanwhile. So a backlog commits in parallel, while a stream that
// one commit at a time keeps up with costs as few inserts as before
// (measured on a loaded 2-core machine, more and smaller inserts halved
// the rate: ClickHouse's work per insert, not its latency, bounds it).
// A status change waits for every batch taken before it and runs before
// any taken after it, as with one committer.
func (t *Tracker) runShared() {
	defer close(t.done)
	n := t.opts.SharedCommits
	if n <= 0 {
		n = 4
	}
	ended := make(chan struct{}, n) // a batch committed
	running := 0
	// taken is the events of the ops taken from the queue: queued-taken
	// of them are in it now (or about to be taken).
	var taken int64
	end := func() { running-- }
	waitAll := func() {
		for running > 0 {
			<-ended
			end()
		}
	}
	stopping := false
	for {
		// What ended is free again.
		for drained := false; !drained; {
			select {
			case <-ended:
				end()
			default:
				drained = true
			}
		}
		var first *op
		switch {
		case running == n:
			<-ended
			end()
			continue
		case running > 0 && t.queued.Load()-taken < int64(t.opts.MaxBatch) && !stopping:
			select {
			case <-ended:
				end()
			case <-t.stop:
				stopping = true
			case <-time.After(2 * time.Millisecond):
			}
			continue
		case stopping:
			// Drain what was queued before the stop.
			select {
			case first = <-t.queue:
			default:
				waitAll()
				return
			}
		default:
			select {
			case first = <-t.queue:
			case <-t.stop:
				stopping = true
				continue
			}
		}
		batch := t.fill(first)
		for _, o := range batch {
			taken += int64(len(o.events))
		}
		var evOps, statusOps []*op
		for _, o := range batch {
			if o.status == "" {
				evOps = append(evOps, o)
			} else {
				statusOps = append(statusOps, o)
			}
		}
		if len(evOps) > 0 {
			running++
			go func() {
				defer func() { ended <- struct{}{} }()
				t.commitShared(evOps)
			}()
		}
		if len(statusOps) > 0 {
			waitAll()
			for _, o := range statusOps {
				t.commitSharedStatus(o)
			}
		}
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
