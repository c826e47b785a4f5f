// Package errtrack is Alidade's error tracking, compatible with every
// Sentry SDK: it parses Sentry envelopes and the payloads of their items
// (events, transactions, sessions, check-ins, logs, spans, attachments,
// client reports) in the shapes real SDKs send, groups error events into
// error groups by a versioned fingerprint, maps every item to points of
// the built-in datasets (errors, client_errors, transactions, spans,
// sessions, check_ins, logs), and keeps the groups and the events' payloads
// through a small Store interface.
//
// A Tracker owns the groups' state: one committer goroutine dedupes event
// ids, finds or creates each event's group, applies its counts, users,
// releases and regressions, and commits groups and events in one
// transaction per batch (group commit), so that an acknowledged event is
// durable. Over a SharedStore (a cluster, where the nodes' trackers write
// the same groups) it keeps no group state and no event ids: each batch
// stores its events, then claims their ids and locks its groups in the
// store's transaction and applies its events to what it reads there, and
// several batches commit at once (shared.go). It knows
// nothing of HTTP or keys. The points that recorded
// events imply (named by their groups) are written by Options.WritePoints:
// once per batch, for every request grouped in it, while it commits.
package errtrack

import (
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/store"
)

// Options configure a Tracker.
type Options struct {
	// MaxPending bounds the events waiting for a commit; past it Record
	// fails with ErrOverloaded.
	MaxPending int
	// MaxBatch bounds the events of one commit.
	MaxBatch int
	// SharedCommits is how many batches commit at once over a
	// SharedStore (a cluster), where a commit waits mostly on the events'
	// insert; 0 means 4. A batch starts while another commits only when
	// a full batch (MaxBatch events) is queued; a status change waits for
	// the batches queued before it. Over another store one batch commits
	// at a time.
	SharedCommits int
	// CacheGroups is how many groups are kept in memory (the others are
	// read from the store when an event needs them).
	CacheGroups int
	// RecentIDs is how many recent event ids are remembered to store a
	// repeated event once (they are reloaded from the store at start).
	RecentIDs int
	// WritePoints writes, durably, the points of the requests whose events
	// were grouped in one batch (RecordThen), all in one call, while the
	// batch's events commit; nil refuses RecordThen's points.
	WritePoints func(ctx context.Context, writes []PointWrite) error
	// Journal, when set, is where commits are made durable; the store
	// gets them behind, from a loader (see Journal). Nil: each batch
	// commits to the store.
	Journal Journal
	// LoadBacklog bounds the journaled events the store has not taken
	// yet: past it a batch waits for the loader (default 5,000).
	LoadBacklog int
	// LoadEvery is how often the loader stores what was journaled at
	// most, unless a read waits for it or half of LoadBacklog is queued
	// (default 250 ms).
	LoadEvery time.Duration
	// LoadPoints, with a journal, stores the points of journaled
	// requests (RecordThen's prepare) and records, in every day written,
	// that the journal's points are loaded up to pos (planner.AppendAtLog
	// with store.ErrorJournal); PointsLoaded reads those positions. Both
	// are needed with a journal.
	LoadPoints   func(ctx context.Context, batches []store.Batch, pos store.LogPos) error
	PointsLoaded func(ctx context.Context) (map[int64]store.LogPos, error)
	// ReadWait bounds how long a read waits for the loader to store what
	// was acknowledged before it (default 2 s).
	ReadWait time.Duration
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// PointWrite is the points one request writes once its events are
// grouped: its events' points (which name their groups) and any others.
type PointWrite struct {
	Project int64
	Points  []point.Point
	// Size is the request bytes the points were decoded from.
	Size int
}

// PointsError is RecordThen's answer when the events were stored but
// their request's points were not written.
type PointsError struct{ Err error }

func (e *PointsError) Error() string { return "write the points of error events: " + e.Err.Error() }
func (e *PointsError) Unwrap() error { return e.Err }

// DefaultOptions returns room for 20,000 pending events, commits of up to
// 2,000 events, 10,000 cached groups and 100,000 remembered event ids.
func DefaultOptions() Options {
	return Options{MaxPending: 20_000, MaxBatch: 2_000, CacheGroups: 10_000, RecentIDs: 100_000}
}

// Validate checks the options.
func (o *Options) Validate() error {
	if o.MaxPending < 1 || o.MaxBatch < 1 || o.CacheGroups < 1 || o.RecentIDs < 1 {
		return fmt.Errorf("error tracking options must be positive: %+v", *o)
	}
	return nil
}

// Incoming is an error event to record.
type Incoming struct {
	Project  int64
	Event    *Event
	Grouping Grouping
	// Timestamp is the event's time as stored (Unix ms): its own, or the
	// receive time when it has none or one out of bounds (ClampTimestamp).
	Timestamp int64
	Received  int64
	// Payload is the event's JSON as sent, compressed (Compress), and
	// Size its size before compression.
	Payload     []byte
	Size        int
	Attachments []Attachment
}

// Outcome is what recording an event did.
type Outcome struct {
	GroupID   int64
	New       bool // the event created its group
	Regressed bool // the event reopened its resolved group
	Duplicate bool // an event of that id was stored before: nothing stored
}

// Tracker records error events into groups.
type Tracker struct {
	st   Store
	opts Options
	log  *slog.Logger
	now  func() time.Time

	queue chan *op
	// queued counts the events of the ops sent into queue (after the
	// send: as many are in the queue or taken from it).
	queued atomic.Int64
	mu     sync.Mutex // guards pending and closed
	pend   int
	done   chan struct{}
	stop   chan struct{}
	once   sync.Once

	ld *loader // nil without a journal
	// shared is st when it is a SharedStore: no cache, no recent ids.
	shared SharedStore

	// Owned by the committer goroutine.
	nextID int64
	cache  *groupCache
	recent *recentIDs
}

type op struct {
	events   []*Incoming
	outcomes []Outcome
	// A status change instead of events.
	project, group int64
	status         string
	changed        *Group
	err            error
	done           chan struct{}
	// assigned, when set, is closed once outcomes are known (grouped set)
	// or once there will be none, before the store commit.
	assigned chan struct{}
	grouped  bool
	// prepare makes the op's points from its outcomes; wave gathers
	// those of the batch's ops into one write.
	prepare func([]Outcome) PointWrite
	wave    *wave
	// pointsErr is a prepare that failed (with a journal, the committer
	// calls prepare).
	pointsErr error
}

// wave gathers the point writes of one batch's requests: the last to
// deposit writes them all, and every depositor gets that write's error.
type wave struct {
	mu     sync.Mutex
	left   int
	writes []PointWrite
	err    error
	done   chan struct{}
}

func (w *wave) deposit(ctx context.Context, pw PointWrite, write func(context.Context, []PointWrite) error) error {
	w.mu.Lock()
	if len(pw.Points) > 0 {
		w.writes = append(w.writes, pw)
	}
	w.left--
	last := w.left == 0
	w.mu.Unlock()
	if !last {
		<-w.done
		return w.err
	}
	if len(w.writes) > 0 {
		w.err = write(ctx, w.writes)
	}
	close(w.done)
	return w.err
}

// New makes a Tracker over a store, reading the largest group id and the
// latest event ids; Start runs its committer.
func New(ctx context.Context, st Store, opts Options) (*Tracker, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Journal != nil && (opts.LoadPoints == nil || opts.PointsLoaded == nil) {
		return nil, errors.New("error tracking with a journal needs LoadPoints and PointsLoaded")
	}
	if ss, ok := st.(SharedStore); ok {
		if opts.Journal != nil {
			return nil, errors.New("error tracking on a shared store (a cluster) keeps no journal: its commits go to the store")
		}
		t := &Tracker{st: st, shared: ss, opts: opts, log: opts.Logger, now: opts.Now,
			queue: make(chan *op, 1024), done: make(chan struct{}), stop: make(chan struct{}),
			cache: newGroupCache(1), recent: newRecentIDs(1)}
		if t.log == nil {
			t.log = slog.New(slog.DiscardHandler)
		}
		if t.now == nil {
			t.now = time.Now
		}
		return t, nil
	}
	t := &Tracker{st: st, opts: opts, log: opts.Logger, now: opts.Now,
		queue: make(chan *op, 1024), done: make(chan struct{}), stop: make(chan struct{}),
		cache: newGroupCache(opts.CacheGroups), recent: newRecentIDs(opts.RecentIDs)}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if t.now == nil {
		t.now = time.Now
	}
	if opts.Journal != nil {
		if t.opts.LoadBacklog <= 0 {
			t.opts.LoadBacklog = 5_000
		}
		if t.opts.LoadEvery <= 0 {
			t.opts.LoadEvery = 250 * time.Millisecond
		}
		if t.opts.ReadWait <= 0 {
			t.opts.ReadWait = 2 * time.Second
		}
		start := time.Now()
		n, err := replayJournal(ctx, st, opts.Journal, opts, t.opts.LoadBacklog)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			t.log.Info("error journal: loaded what the store lacked", "records", n, "elapsed", time.Since(start).Round(time.Millisecond))
		}
		t.ld = newLoader()
	}
	var err error
	if t.nextID, err = st.MaxErrorGroupID(ctx); err != nil {
		return nil, fmt.Errorf("read error groups: %w", err)
	}
	t.nextID++
	ids, err := st.RecentErrorEventIDs(ctx, opts.RecentIDs)
	if err != nil {
		return nil, fmt.Errorf("read recent error events: %w", err)
	}
	for i := len(ids) - 1; i >= 0; i-- {
		t.recent.add(ids[i].Project, ids[i].EventID)
	}
	return t, nil
}

// Start runs the committer (and the loader, with a journal).
func (t *Tracker) Start() {
	if t.shared != nil {
		go t.runShared()
		return
	}
	go t.run()
	if t.ld != nil {
		go t.load()
	}
}

// Close stops taking events, commits those queued and stops the committer.
func (t *Tracker) Close(ctx context.Context) error {
	t.once.Do(func() {
		t.mu.Lock()
		close(t.stop)
		t.mu.Unlock()
	})
	select {
	case <-t.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if t.ld == nil {
		return nil
	}
	// The committer is done: the loader stores what is queued and stops.
	t.ld.closeOnce.Do(func() { close(t.ld.closing) })
	select {
	case <-t.ld.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Record groups and stores events, durably, and says for each what it did.
// Events of one call are committed together. Event ids must be set.
func (t *Tracker) Record(ctx context.Context, events []*Incoming) ([]Outcome, error) {
	return t.RecordThen(ctx, events, nil)
}

// RecordThen is Record that also writes the request's points: prepare
// makes them from the outcomes as soon as the events are grouped, and
// Options.WritePoints writes them with those of the other requests grouped
// in the same batch, in one call, while the events commit. It returns
// once both are durable; a *PointsError says the events were stored but
// the points not. prepare must not block.
func (t *Tracker) RecordThen(ctx context.Context, events []*Incoming, prepare func([]Outcome) PointWrite) ([]Outcome, error) {
	if len(events) == 0 {
		if prepare == nil {
			return nil, nil
		}
		if pw := prepare(nil); len(pw.Points) > 0 {
			if err := t.writePoints(ctx, []PointWrite{pw}); err != nil {
				return nil, &PointsError{err}
			}
		}
		return nil, nil
	}
	o := &op{events: events, done: make(chan struct{}), assigned: make(chan struct{}), prepare: prepare}
	if err := t.submitAsync(ctx, o, len(events)); err != nil {
		return nil, err
	}
	<-o.assigned
	var pointsErr error
	if o.grouped && o.wave != nil {
		var pw PointWrite
		func() {
			// A panic in prepare must not hold the batch's other requests.
			defer func() {
				if pointsErr = o.wave.deposit(ctx, pw, t.writePoints); pointsErr != nil {
					pointsErr = &PointsError{pointsErr}
				}
			}()
			pw = prepare(o.outcomes)
		}()
	}
	<-o.done
	if o.err != nil {
		return nil, o.err
	}
	if o.pointsErr != nil {
		pointsErr = &PointsError{o.pointsErr}
	}
	return o.outcomes, pointsErr
}

func (t *Tracker) writePoints(ctx context.Context, w []PointWrite) error {
	if t.opts.WritePoints == nil {
		return errors.New("error tracking has no point writer")
	}
	return t.opts.WritePoints(ctx, w)
}

// Attach stores attachments that came without their event (each names
// its project and event), durably.
func (t *Tracker) Attach(ctx context.Context, atts []Attachment) error {
	if len(atts) == 0 {
		return nil
	}
	if err := t.st.CommitErrors(ctx, Commit{Attachments: atts}); err != nil {
		return fmt.Errorf("store attachments: %w", err)
	}
	return nil
}

// SetStatus changes a group's status (unresolved, resolved or ignored)
// and returns the group.
func (t *Tracker) SetStatus(ctx context.Context, project, group int64, status string) (*Group, error) {
	if _, err := ParseStatus(status); err != nil {
		return nil, err
	}
	o := &op{project: project, group: group, status: status, done: make(chan struct{})}
	if err := t.submit(ctx, o, 1); err != nil {
		return nil, err
	}
	return o.changed, o.err
}

func (t *Tracker) submit(ctx context.Context, o *op, n int) error {
	if err := t.submitAsync(ctx, o, n); err != nil {
		return err
	}
	// Once queued the op is committed whatever the caller does: wait for
	// it, so that an answer is only given for what is durable.
	<-o.done
	return nil
}

// submitAsync queues an op without waiting for it.
func (t *Tracker) submitAsync(ctx context.Context, o *op, n int) error {
	t.mu.Lock()
	select {
	case <-t.stop:
		t.mu.Unlock()
		return ErrClosed
	default:
	}
	if t.pend+n > t.opts.MaxPending && t.pend > 0 {
		t.mu.Unlock()
		return ErrOverloaded
	}
	t.pend += n
	t.mu.Unlock()
	select {
	case t.queue <- o:
		t.queued.Add(int64(len(o.events)))
	case <-ctx.Done():
		t.release(n)
		return ctx.Err()
	}
	return nil
}

func (t *Tracker) release(n int) {
	t.mu.Lock()
	t.pend -= n
	t.mu.Unlock()
}

func (t *Tracker) run() {
	defer close(t.done)
	for {
		var first *op
		select {
		case first = <-t.queue:
		case <-t.stop:
			// Drain what was queued before the stop.
			for {
				select {
				case o := <-t.queue:
					t.commit([]*op{o})
				default:
					return
				}
			}
		}
		t.commit(t.fill(first))
	}
}

// fill makes a batch of first and the ops queued after it: up to MaxBatch
// events, and up to the first status change (a status change first is a
// batch of its own).
func (t *Tracker) fill(first *op) []*op {
	batch := []*op{first}
	n := len(first.events)
	for n < t.opts.MaxBatch && first.status == "" {
		select {
		case o := <-t.queue:
			batch = append(batch, o)
			n += len(o.events)
			if o.status != "" {
				return batch
			}
		default:
			return batch
		}
	}
	return batch
}

// commit runs a batch of ops: the events' ops in one store commit, then
// any status change on its own.
func (t *Tracker) commit(batch []*op) {
	var evOps []*op
	for _, o := range batch {
		if o.status == "" {
			evOps = append(evOps, o)
		}
	}
	if len(evOps) > 0 {
		t.commitEvents(evOps)
	}
	for _, o := range batch {
		if o.status != "" {
			t.commitStatus(o)
		}
	}
}

func (t *Tracker) finish(o *op, n int) {
	t.release(n)
	markAssigned(o)
	close(o.done)
}

// markAssigned closes an op's assigned channel once.
func markAssigned(o *op) {
	if o.assigned != nil {
		select {
		case <-o.assigned:
		default:
			close(o.assigned)
		}
	}
}

func (t *Tracker) commitEvents(ops []*op) {
	if t.shared != nil {
		t.commitShared(ops)
		return
	}
	ctx := context.Background()
	now := t.now().UnixMilli()
	work := map[groupKey]*Group{}
	var order []*Group
	isNew := map[*Group]bool{}
	var events []StoredEvent
	var atts []Attachment
	seen := map[recentKey]bool{}
	startID := t.nextID
	var failed error
	for _, o := range ops {
		o.outcomes = make([]Outcome, len(o.events))
		for i, in := range o.events {
			rk, ok := makeRecentKey(in.Project, in.Event.EventID)
			if ok && (seen[rk] || t.recent.has(rk)) {
				o.outcomes[i].Duplicate = true
				continue
			}
			seen[rk] = true
			gk := groupKey{in.Project, in.Grouping.Fingerprint}
			g := work[gk]
			if g == nil {
				cached, err := t.group(ctx, gk)
				if err != nil {
					failed = err
					break
				}
				if cached == nil {
					g = &Group{ID: t.nextID, Project: in.Project, Fingerprint: in.Grouping.Fingerprint, Grouping: GroupingVersion}
					t.nextID++
					o.outcomes[i].New = true
					isNew[g] = true
				} else {
					g = cached.Clone()
				}
				work[gk] = g
				order = append(order, g)
			}
			o.outcomes[i].GroupID = g.ID
			o.outcomes[i].Regressed = g.observe(in, now)
			e := in.Event
			events = append(events, StoredEvent{Project: in.Project, EventID: e.EventID, GroupID: g.ID, Timestamp: in.Timestamp,
				Received: in.Received, Level: e.Level, Release: e.Release, Environment: e.Environment, User: cut(e.User.Key(), maxTitle),
				Title: Title(e), Payload: in.Payload, Size: in.Size})
			for _, a := range in.Attachments {
				a.Project, a.EventID = in.Project, e.EventID
				atts = append(atts, a)
			}
		}
		if failed != nil {
			break
		}
	}
	var points []store.Batch
	if failed == nil && t.ld != nil {
		// With a journal the requests' points go in the batch's record.
		points = t.preparePoints(ops)
	}
	if failed == nil && t.ld == nil {
		// The outcomes are known: callers write what depends on them, in
		// one write for the batch, while the commit runs.
		w := &wave{done: make(chan struct{})}
		for _, o := range ops {
			if o.prepare != nil {
				w.left++
				o.wave = w
			}
		}
	}
	if failed == nil {
		for _, o := range ops {
			o.grouped = true
			markAssigned(o)
		}
	}
	if failed == nil && (len(events) > 0 || len(points) > 0) {
		c := Commit{Events: events, Attachments: atts}
		for _, g := range order {
			if isNew[g] {
				c.New = append(c.New, g)
			} else {
				c.Changed = append(c.Changed, g)
			}
		}
		if t.ld != nil {
			failed = t.journalCommit(ctx, c, points)
		} else {
			failed = t.st.CommitErrors(ctx, c)
		}
	}
	if failed != nil {
		t.nextID = startID
		t.log.Error("commit error events", "events", len(events), "err", failed)
		if t.ld != nil {
			for _, o := range ops {
				o.pointsErr = nil // the op fails as a whole
			}
		}
		for _, o := range ops {
			o.err = fmt.Errorf("store error events: %w", failed)
			t.finish(o, len(o.events))
		}
		return
	}
	for _, g := range order {
		t.cache.put(g)
	}
	for _, ev := range events {
		if rk, ok := makeRecentKey(ev.Project, ev.EventID); ok {
			t.recent.add(rk.project, ev.EventID)
		}
	}
	for _, o := range ops {
		t.finish(o, len(o.events))
	}
}

func (t *Tracker) commitStatus(o *op) {
	if t.shared != nil {
		t.commitSharedStatus(o)
		return
	}
	defer t.finish(o, 1)
	ctx := context.Background()
	g := t.cache.byID(o.project, o.group)
	if g == nil {
		g = t.unloadedGroup(nil, o.project, o.group)
	}
	if g == nil {
		var err error
		if g, err = t.st.ErrorGroup(ctx, o.project, o.group); err != nil {
			o.err = err
			return
		}
	}
	c := g.Clone()
	c.setStatus(o.status, t.now().UnixMilli())
	if err := t.store(ctx, Commit{Changed: []*Group{c}}); err != nil {
		o.err = fmt.Errorf("store the status of error group %d: %w", o.group, err)
		return
	}
	t.cache.put(c)
	o.changed = c.Clone()
}

// store makes a commit durable: in the journal, or the store.
func (t *Tracker) store(ctx context.Context, c Commit) error {
	if t.ld != nil {
		return t.journalCommit(ctx, c, nil)
	}
	return t.st.CommitErrors(ctx, c)
}

// group returns a group from the cache, the commits not loaded yet or
// the store (nil: none yet).
func (t *Tracker) group(ctx context.Context, k groupKey) (*Group, error) {
	if g := t.cache.get(k); g != nil {
		return g, nil
	}
	if g := t.unloadedGroup(&k, 0, 0); g != nil {
		t.cache.put(g)
		return g, nil
	}
	g, err := t.st.FindErrorGroup(ctx, k.project, k.fingerprint)
	if err != nil {
		return nil, fmt.Errorf("find error group: %w", err)
	}
	if g != nil {
		t.cache.put(g)
	}
	return g, nil
}

// Reads go to the store, which holds what was committed; with a journal
// they first wait (up to ReadWait) for the loader to store what was
// acknowledged before.

// Groups lists a project's groups.
func (t *Tracker) Groups(ctx context.Context, project int64, f GroupFilter) ([]Group, error) {
	t.waitLoaded(ctx, t.opts.ReadWait)
	return t.st.ErrorGroups(ctx, project, f)
}

// GroupByID returns a project's group.
func (t *Tracker) GroupByID(ctx context.Context, project, id int64) (*Group, error) {
	t.waitLoaded(ctx, t.opts.ReadWait)
	return t.st.ErrorGroup(ctx, project, id)
}

// Events lists a group's events, newest first.
func (t *Tracker) Events(ctx context.Context, project, group int64, limit int, before int64) ([]StoredEvent, error) {
	t.waitLoaded(ctx, t.opts.ReadWait)
	return t.st.ErrorEvents(ctx, project, group, limit, before)
}

// EventByID returns a project's stored event with its payload.
func (t *Tracker) EventByID(ctx context.Context, project int64, id string) (*StoredEvent, error) {
	id = NormalizeEventID(id)
	if id == "" {
		return nil, ErrNotFound
	}
	t.waitLoaded(ctx, t.opts.ReadWait)
	return t.st.ErrorEvent(ctx, project, id)
}

// Attachments lists an event's attachments.
func (t *Tracker) Attachments(ctx context.Context, project int64, id string) ([]Attachment, error) {
	t.waitLoaded(ctx, t.opts.ReadWait)
	return t.st.ErrorAttachments(ctx, project, id)
}

// Expire deletes a project's events older than cutoff (Unix ms) and the
// groups last seen before it; cached groups of the project are dropped.
func (t *Tracker) Expire(ctx context.Context, project int64, cutoff int64) (ExpireReport, error) {
	// What is acknowledged is in the store first (else a later load could
	// bring back an expired event).
	t.waitLoaded(ctx, time.Minute)
	rep, err := t.st.ExpireErrors(ctx, project, cutoff)
	if err == nil && rep.Groups > 0 {
		// The cache may still hold an expired group.
		t.cache.dropProject(project, cutoff)
	}
	return rep, err
}

// ClampTimestamp is the time an event is stored at: its own when it has
// one within [received − maxAge, received + 5 min], else the receive time.
func ClampTimestamp(ts, received int64, maxAge time.Duration) int64 {
	if ts <= 0 || ts > received+5*60*1000 || ts < received-maxAge.Milliseconds() {
		return received
	}
	return ts
}

// NewEventID makes a random event id for an event that came without one.
func NewEventID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("BUG: crypto/rand failed: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

// groupKey identifies a group in the cache.
type groupKey struct {
	project     int64
	fingerprint string
}

// groupCache is an LRU of groups, by fingerprint and by id. It is used by
// the committer goroutine and by Expire (hence its lock).
type groupCache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	byKey map[groupKey]*list.Element
	ids   map[[2]int64]*list.Element
}

func newGroupCache(max int) *groupCache {
	return &groupCache{max: max, ll: list.New(), byKey: map[groupKey]*list.Element{}, ids: map[[2]int64]*list.Element{}}
}

func (c *groupCache) get(k groupKey) *Group {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.byKey[k]; el != nil {
		c.ll.MoveToFront(el)
		return el.Value.(*Group)
	}
	return nil
}

func (c *groupCache) byID(project, id int64) *Group {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.ids[[2]int64{project, id}]; el != nil {
		return el.Value.(*Group)
	}
	return nil
}

func (c *groupCache) put(g *Group) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := groupKey{g.Project, g.Fingerprint}
	if el := c.byKey[k]; el != nil {
		el.Value = g
		c.ll.MoveToFront(el)
		return
	}
	el := c.ll.PushFront(g)
	c.byKey[k] = el
	c.ids[[2]int64{g.Project, g.ID}] = el
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		old := last.Value.(*Group)
		delete(c.byKey, groupKey{old.Project, old.Fingerprint})
		delete(c.ids, [2]int64{old.Project, old.ID})
		c.ll.Remove(last)
	}
}

func (c *groupCache) dropProject(project, cutoff int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.ll.Front(); el != nil; {
		next := el.Next()
		g := el.Value.(*Group)
		if g.Project == project && g.LastSeen < cutoff {
			delete(c.byKey, groupKey{g.Project, g.Fingerprint})
			delete(c.ids, [2]int64{g.Project, g.ID})
			c.ll.Remove(el)
		}
		el = next
	}
}

// recentIDs remembers the latest event ids (a ring and a set). Both grow
// as ids come, up to max: 100,000 ids take about 7 MB, which a server
// that has seen few events does not spend.
type recentIDs struct {
	max  int
	ring []recentKey
	next int
	set  map[recentKey]struct{}
}

type recentKey struct {
	project int64
	id      [16]byte
}

func makeRecentKey(project int64, eventID string) (recentKey, bool) {
	k := recentKey{project: project}
	if len(eventID) != 32 {
		return k, false
	}
	if _, err := hex.Decode(k.id[:], []byte(eventID)); err != nil {
		return k, false
	}
	return k, true
}

func newRecentIDs(n int) *recentIDs {
	return &recentIDs{max: n, set: map[recentKey]struct{}{}}
}

func (r *recentIDs) has(k recentKey) bool {
	_, ok := r.set[k]
	return ok
}

func (r *recentIDs) add(project int64, eventID string) {
	k, ok := makeRecentKey(project, eventID)
	if !ok || r.has(k) {
		return
	}
	if len(r.ring) < r.max {
		r.ring = append(r.ring, k)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = k
		r.next = (r.next + 1) % len(r.ring)
	}
	r.set[k] = struct{}{}
}

// IsNotFound reports whether err says a group or event does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
