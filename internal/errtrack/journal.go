package errtrack

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/alidade/alidade/internal/store"
	"github.com/alidade/alidade/internal/wal"
)

// Journal makes a Tracker's commits durable before they reach the store:
// a write-ahead log of opaque records (internal/wal with Options.Opaque).
// With one, an event is acknowledged once its commit is in the journal
// (one append and one fdatasync a batch, about a millisecond), and a
// loader moves the commits into the store behind, many at once: the
// store's cost a commit (milliseconds, whatever its size) is paid once a
// load instead of once a batch. The store records, with each load, how
// far the journal is loaded; at start what a crash left unloaded is
// loaded first, exactly once.
type Journal interface {
	// AppendFramed logs a record made by wal.ReserveFrame and appending
	// the payload to it.
	AppendFramed(ctx context.Context, rec []byte) (store.LogPos, error)
	ReplayRaw(from store.LogPos, fn func(pos store.LogPos, payload []byte) error) error
	// Release lets the journal drop what is loaded up to a position.
	Release(upTo store.LogPos) error
	// End is the position after the last record.
	End() store.LogPos
}

// loadItem is a journaled commit waiting for the loader.
type loadItem struct {
	c      Commit
	points []store.Batch
	pos    store.LogPos
	events int
}

// loader is the state shared by the committer, the loader goroutine and
// readers.
type loader struct {
	mu     sync.Mutex
	queue  []loadItem
	events int // events journaled and not loaded yet
	queued int // events of the queue (not taken by the loader yet)
	// journaled and loaded count commits: a reader waits until loaded
	// reaches journaled as it was when the read began.
	journaled, loaded uint64
	// changed is closed (and replaced) whenever loaded advances.
	changed chan struct{}
	// byKey and byID hold the latest state of the groups of commits not
	// loaded yet: the committer finds them there when the cache has let
	// them go (the store does not have them yet).
	byKey map[groupKey]*Group
	byID  map[[2]int64]*Group

	wake      chan struct{}
	hurry     chan struct{} // a reader waits
	closing   chan struct{}
	closeOnce sync.Once
	done      chan struct{}
}

func newLoader() *loader {
	return &loader{changed: make(chan struct{}), byKey: map[groupKey]*Group{}, byID: map[[2]int64]*Group{},
		wake: make(chan struct{}, 1), hurry: make(chan struct{}, 1), closing: make(chan struct{}), done: make(chan struct{})}
}

// replayJournal loads what the journal holds past the store's mark, in
// loads of at most maxEvents events, and returns the records loaded.
func replayJournal(ctx context.Context, st Store, j Journal, opts Options, maxEvents int) (int, error) {
	from, err := st.ErrorsLoaded(ctx)
	if err != nil {
		return 0, fmt.Errorf("read how far the error journal is loaded: %w", err)
	}
	if end := j.End(); end.Less(from) {
		// The journal was made anew (its directory removed): nothing in
		// it is unloaded. Mark its end so later records load.
		if err := st.CommitErrors(ctx, Commit{Loaded: &end}); err != nil {
			return 0, fmt.Errorf("mark the error journal loaded: %w", err)
		}
		return 0, nil
	}
	loadedPoints, err := opts.PointsLoaded(ctx)
	if err != nil {
		return 0, fmt.Errorf("read how far the error journal's points are loaded: %w", err)
	}
	state := map[int64]*Group{}
	var pending []Commit
	var points []store.Batch
	events, records := 0, 0
	var last store.LogPos
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		// Points first: a record at or before the events' mark has its
		// points stored (the loader keeps that order too).
		if len(points) > 0 {
			if err := opts.LoadPoints(ctx, points, last); err != nil {
				return fmt.Errorf("load the error journal's points up to %v: %w", last, err)
			}
		}
		c := mergeCommits(pending)
		c.Loaded = &last
		if err := st.CommitErrors(ctx, c); err != nil {
			return fmt.Errorf("load the error journal up to %v: %w", last, err)
		}
		pending, points, events = nil, nil, 0
		return nil
	}
	err = j.ReplayRaw(from, func(pos store.LogPos, payload []byte) error {
		rec, err := decodeJournalRecord(payload)
		if err != nil {
			return err
		}
		var c Commit
		for _, jg := range rec.groups {
			g := jg.g
			if !jg.full {
				base := state[g.ID]
				if base == nil {
					if base, err = st.ErrorGroup(ctx, g.Project, g.ID); err != nil && !IsNotFound(err) {
						return fmt.Errorf("read error group %d: %w", g.ID, err)
					}
				}
				if base != nil {
					g.Users = base.Users.Clone()
				}
				for _, h := range jg.added {
					g.Users.Add(h)
				}
			}
			state[g.ID] = g
			if jg.isNew {
				c.New = append(c.New, g)
			} else {
				c.Changed = append(c.Changed, g)
			}
		}
		c.Events, c.Attachments = rec.events, rec.attachments
		pending = append(pending, c)
		points = append(points, pointsToLoad(rec.points, loadedPoints, pos)...)
		last = pos
		records++
		if events += len(c.Events); events >= maxEvents {
			return flush()
		}
		return nil
	})
	if err != nil {
		return records, fmt.Errorf("replay the error journal: %w", err)
	}
	if err := flush(); err != nil {
		return records, err
	}
	if records > 0 {
		if err := j.Release(last); err != nil {
			return records, err
		}
	}
	return records, nil
}

// mergeCommits makes one commit of several, in order: every event and
// attachment, and each group's latest state (new if any made it).
func mergeCommits(cs []Commit) Commit {
	if len(cs) == 1 {
		return cs[0]
	}
	type entry struct {
		g     *Group
		isNew bool
	}
	var out Commit
	idx := map[int64]int{}
	var gs []entry
	for _, c := range cs {
		for i, list := range [][]*Group{c.New, c.Changed} {
			for _, g := range list {
				if k, ok := idx[g.ID]; ok {
					gs[k].g = g
					gs[k].isNew = gs[k].isNew || i == 0
					continue
				}
				idx[g.ID] = len(gs)
				gs = append(gs, entry{g, i == 0})
			}
		}
		out.Events = append(out.Events, c.Events...)
		out.Attachments = append(out.Attachments, c.Attachments...)
		out.Loaded = c.Loaded
	}
	for _, e := range gs {
		if e.isNew {
			out.New = append(out.New, e.g)
		} else {
			out.Changed = append(out.Changed, e.g)
		}
	}
	return out
}

// backlogWait bounds how long a commit waits for the loader.
const backlogWait = 10 * time.Second

// journalCommit makes a commit durable in the journal and queues it for
// the loader; while the loader is LoadBacklog events behind, it waits.
func (t *Tracker) journalCommit(ctx context.Context, c Commit, points []store.Batch) error {
	ld := t.ld
	var timer <-chan time.Time
	ld.mu.Lock()
	for ld.events > 0 && ld.events+len(c.Events) > t.opts.LoadBacklog {
		ch := ld.changed
		ld.mu.Unlock()
		if timer == nil {
			tm := time.NewTimer(backlogWait)
			defer tm.Stop()
			timer = tm.C
		}
		select {
		case <-ch:
		case <-timer:
			return fmt.Errorf("%w: the store has not taken the %d error events before these for %v", ErrOverloaded, t.opts.LoadBacklog, backlogWait)
		}
		ld.mu.Lock()
	}
	ld.mu.Unlock()
	rec := wal.ReserveFrame(make([]byte, 0, wal.FrameHeaderSize+journalRecordSize(&c)))
	pos, err := t.opts.Journal.AppendFramed(ctx, appendJournalRecord(rec, &c, points))
	if err != nil {
		return fmt.Errorf("write the error journal: %w", err)
	}
	ld.mu.Lock()
	ld.queue = append(ld.queue, loadItem{c: c, points: points, pos: pos, events: len(c.Events)})
	ld.events += len(c.Events)
	ld.queued += len(c.Events)
	ld.journaled++
	for _, gs := range [][]*Group{c.New, c.Changed} {
		for _, g := range gs {
			ld.byKey[groupKey{g.Project, g.Fingerprint}] = g
			ld.byID[[2]int64{g.Project, g.ID}] = g
		}
	}
	ld.mu.Unlock()
	select {
	case ld.wake <- struct{}{}:
	default:
	}
	return nil
}

// preparePoints makes the points of a batch's requests (their prepare,
// which must not block) once their outcomes are known; a prepare that
// panics fails its request's points only.
func (t *Tracker) preparePoints(ops []*op) []store.Batch {
	var out []store.Batch
	for _, o := range ops {
		if o.prepare == nil {
			continue
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					o.pointsErr = fmt.Errorf("make the points of error events: %v", r)
					t.log.Error("make the points of error events", "panic", r)
				}
			}()
			if pw := o.prepare(o.outcomes); len(pw.Points) > 0 {
				out = append(out, store.Batch{Project: pw.Project, Points: pw.Points})
			}
		}()
	}
	return out
}

// pointsToLoad returns the points of batches whose day's points are not
// loaded up to pos yet (loaded: PointsLoaded), so that a load or replay
// after a partial one stores each point once.
func pointsToLoad(bs []store.Batch, loaded map[int64]store.LogPos, pos store.LogPos) []store.Batch {
	if len(loaded) == 0 {
		return bs
	}
	var out []store.Batch
	for _, b := range bs {
		keep := b
		keep.Points = nil
		for _, p := range b.Points {
			if l, ok := loaded[store.DayStart(p.Timestamp)]; ok && !l.Less(pos) {
				continue
			}
			keep.Points = append(keep.Points, p)
		}
		if len(keep.Points) > 0 {
			out = append(out, keep)
		}
	}
	return out
}

// unloadedGroup returns a group of a commit not loaded yet, by key or by
// id (key nil).
func (t *Tracker) unloadedGroup(k *groupKey, project, id int64) *Group {
	if t.ld == nil {
		return nil
	}
	t.ld.mu.Lock()
	defer t.ld.mu.Unlock()
	if k != nil {
		return t.ld.byKey[*k]
	}
	return t.ld.byID[[2]int64{project, id}]
}

// load is the loader goroutine: it moves the queued commits into the
// store, all that are queued in one commit, retrying a failed one (the
// journal keeps them) until the tracker closes.
func (t *Tracker) load() {
	ld := t.ld
	defer close(ld.done)
	ctx := context.Background()
	var last time.Time
	for {
		select {
		case <-ld.wake:
		case <-ld.closing:
		}
		// A load costs the store milliseconds whatever its size: gather
		// LoadEvery's worth unless a reader waits, or LoadBacklog/2
		// events are queued, or the tracker closes.
		if wait := time.Until(last.Add(t.opts.LoadEvery)); wait > 0 {
			tm := time.NewTimer(wait)
		gather:
			for {
				ld.mu.Lock()
				full := ld.queued >= t.opts.LoadBacklog/2
				ld.mu.Unlock()
				if full {
					break
				}
				select {
				case <-tm.C:
					break gather
				case <-ld.hurry:
					break gather
				case <-ld.closing:
					break gather
				case <-ld.wake:
				}
			}
			tm.Stop()
		}
		last = time.Now()
		ld.mu.Lock()
		items := ld.queue
		ld.queued = 0
		ld.queue = nil
		ld.mu.Unlock()
		if len(items) == 0 {
			select {
			case <-ld.closing:
				return
			default:
				continue
			}
		}
		cs := make([]Commit, len(items))
		var points []store.Batch
		n := 0
		for i := range items {
			cs[i] = items[i].c
			points = append(points, items[i].points...)
			n += items[i].events
		}
		c := mergeCommits(cs)
		pos := items[len(items)-1].pos
		c.Loaded = &pos
		pointsDone := false
		for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
			err := t.loadOnce(ctx, &c, &pointsDone, &points, pos)
			if err == nil {
				break
			}
			t.log.Error("load error events from the journal into the store; retrying", "events", n, "err", err, "retry_in", wait)
			select {
			case <-time.After(wait):
			case <-ld.closing:
				// The journal keeps them for the next start.
				t.log.Error("error events not loaded at shutdown stay in the journal, loaded at the next start", "events", n)
				return
			}
		}
		if err := t.opts.Journal.Release(pos); err != nil {
			t.log.Warn("release the loaded error journal", "err", err)
		}
		ld.mu.Lock()
		ld.loaded += uint64(len(items))
		ld.events -= n
		for _, g := range append(c.New, c.Changed...) {
			if k := (groupKey{g.Project, g.Fingerprint}); ld.byKey[k] == g {
				delete(ld.byKey, k)
			}
			if k := [2]int64{g.Project, g.ID}; ld.byID[k] == g {
				delete(ld.byID, k)
			}
		}
		close(ld.changed)
		ld.changed = make(chan struct{})
		ld.mu.Unlock()
	}
}

// loadOnce stores a load's points (unless done), then its events with
// the journal's mark: a record at or before the mark has all it holds
// stored. After a failed try of the points it keeps only those of the
// days not loaded.
func (t *Tracker) loadOnce(ctx context.Context, c *Commit, pointsDone *bool, points *[]store.Batch, pos store.LogPos) error {
	if !*pointsDone && len(*points) > 0 {
		if err := t.opts.LoadPoints(ctx, *points, pos); err != nil {
			// Some days may be stored: the next try loads the others.
			loaded, lerr := t.opts.PointsLoaded(ctx)
			if lerr != nil {
				return errors.Join(err, lerr)
			}
			*points = pointsToLoad(*points, loaded, pos)
			return err
		}
	}
	*pointsDone = true
	return t.st.CommitErrors(ctx, *c)
}

// WaitLoaded waits (up to Options.ReadWait) until the store has what was
// acknowledged before the call: the events and their points. Without a
// journal it returns at once.
func (t *Tracker) WaitLoaded(ctx context.Context) { t.waitLoaded(ctx, t.opts.ReadWait) }

// waitLoaded waits until what was journaled before it was called is in
// the store, for at most wait (or until ctx ends): reads then see every
// acknowledged event.
func (t *Tracker) waitLoaded(ctx context.Context, wait time.Duration) {
	if t.ld == nil {
		return
	}
	ld := t.ld
	var timer <-chan time.Time
	ld.mu.Lock()
	target := ld.journaled
	if ld.loaded < target {
		select {
		case ld.hurry <- struct{}{}:
		default:
		}
	}
	for ld.loaded < target {
		ch := ld.changed
		ld.mu.Unlock()
		if timer == nil {
			tm := time.NewTimer(wait)
			defer tm.Stop()
			timer = tm.C
		}
		select {
		case <-ch:
		case <-timer:
			return
		case <-ctx.Done():
			return
		}
		ld.mu.Lock()
	}
	ld.mu.Unlock()
}
