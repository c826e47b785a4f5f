package errtrack

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memShared is an in-memory SharedStore: claims and group ids in maps,
// one transaction at a time, events in the memStore. insert, when set,
// runs at the start of every CommitErrors (the events' insert).
type memShared struct {
	*memStore
	tx     sync.Mutex // one CommitShared or UpdateErrorGroup at a time
	mu     sync.Mutex // guards claims, ids, nextID, log
	claims map[EventKey]bool
	ids    map[GroupKey]int64
	nextID int64
	log    []string // commits in the order they were made

	insert    func()
	inserting atomic.Int32
	maxInsert atomic.Int32
}

var _ SharedStore = (*memShared)(nil)

func newMemShared() *memShared {
	return &memShared{memStore: newMemStore(), claims: map[EventKey]bool{}, ids: map[GroupKey]int64{}, nextID: 1}
}

func (m *memShared) CommitErrors(ctx context.Context, c Commit) error {
	n := m.inserting.Add(1)
	defer m.inserting.Add(-1)
	for {
		was := m.maxInsert.Load()
		if n <= was || m.maxInsert.CompareAndSwap(was, n) {
			break
		}
	}
	if m.insert != nil {
		m.insert()
	}
	return m.memStore.CommitErrors(ctx, c)
}

func (m *memShared) ResolveErrorGroups(_ context.Context, keys []GroupKey, events []EventKey) (map[GroupKey]int64, map[EventKey]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := map[GroupKey]int64{}
	for _, k := range keys {
		id, ok := m.ids[k]
		if !ok {
			id = m.nextID
			m.nextID++
			m.ids[k] = id
		}
		ids[k] = id
	}
	claimed := map[EventKey]bool{}
	for _, k := range events {
		if m.claims[k] {
			claimed[k] = true
		}
	}
	return ids, claimed, nil
}

// memSharedTx stages a transaction's claims.
type memSharedTx struct {
	m      *memShared
	claims []EventKey
}

func (tx *memSharedTx) ClaimEvents(keys []EventKey, _ int64) (map[EventKey]bool, error) {
	tx.m.mu.Lock()
	defer tx.m.mu.Unlock()
	dup := map[EventKey]bool{}
	for _, k := range keys {
		if tx.m.claims[k] {
			dup[k] = true
		} else {
			tx.claims = append(tx.claims, k)
		}
	}
	return dup, nil
}

func (tx *memSharedTx) LockGroups(keys []GroupKey, ids []int64) (map[GroupKey]*Group, error) {
	out := map[GroupKey]*Group{}
	tx.m.memStore.mu.Lock()
	defer tx.m.memStore.mu.Unlock()
	for i, k := range keys {
		g := tx.m.memStore.groups[ids[i]]
		if g == nil {
			g = &Group{ID: ids[i], Project: k.Project, Fingerprint: k.Fingerprint}
		}
		out[k] = g.Clone()
	}
	return out, nil
}

func (m *memShared) CommitShared(_ context.Context, fn func(SharedTx) (Commit, error)) error {
	m.tx.Lock()
	defer m.tx.Unlock()
	tx := &memSharedTx{m: m}
	c, err := fn(tx)
	if err != nil {
		return err
	}
	m.memStore.mu.Lock()
	for _, gs := range [][]*Group{c.New, c.Changed} {
		for _, g := range gs {
			m.memStore.groups[g.ID] = g.Clone()
		}
	}
	m.memStore.mu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range tx.claims {
		m.claims[k] = true
	}
	if len(tx.claims) > 0 {
		m.log = append(m.log, "events "+tx.claims[0].EventID[28:])
	}
	return nil
}

func (m *memShared) UpdateErrorGroup(_ context.Context, project, id int64, fn func(g *Group)) (*Group, error) {
	m.tx.Lock()
	defer m.tx.Unlock()
	m.memStore.mu.Lock()
	defer m.memStore.mu.Unlock()
	g := m.memStore.groups[id]
	if g == nil || g.Project != project || g.Count == 0 {
		return nil, fmt.Errorf("error group %d: %w", id, ErrNotFound)
	}
	g = g.Clone()
	fn(g)
	m.memStore.groups[id] = g
	m.mu.Lock()
	m.log = append(m.log, "status "+g.Status)
	m.mu.Unlock()
	return g.Clone(), nil
}

// waitFor polls cond until it holds, or fails t after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Over a shared store several batches insert their events at once; a
// status change waits for the batches queued before it, and the batches
// queued after it wait for it.
func TestSharedCommitsPipelineWithStatusBarrier(t *testing.T) {
	st := newMemShared()
	entered := make(chan struct{}, 10)
	release := make(chan struct{})
	st.insert = func() {
		entered <- struct{}{}
		<-release
	}
	opts := DefaultOptions()
	opts.SharedCommits = 3
	opts.MaxBatch = 8
	tr, err := New(context.Background(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	tr.Start()
	t.Cleanup(func() { tr.Close(context.Background()) })
	ctx := context.Background()
	ev := func(n int, release string) *Incoming {
		return incoming(t, 1, n, fmt.Sprintf(`{"message":"boom","release":%q}`, release))
	}
	type result struct {
		out []Outcome
		err error
	}
	results := map[int]chan result{}
	record := func(i int, in *Incoming) {
		results[i] = make(chan result, 1)
		go func() {
			out, err := tr.Record(ctx, []*Incoming{in})
			results[i] <- result{out, err}
		}()
	}
	started := func(what string) {
		t.Helper()
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not start its insert", what)
		}
	}
	// Event 1 alone starts at once; while it inserts, a batch starts once
	// a full one (MaxBatch, 8 events) is queued: events 2-9, then 10-17.
	record(1, ev(1, "1.0"))
	started("batch 1")
	next := 2
	for b := 2; b <= 3; b++ {
		for range opts.MaxBatch {
			record(next, ev(next, "1.0"))
			next++
		}
		started(fmt.Sprint("batch ", b))
	}
	if got := st.inserting.Load(); got != 3 {
		t.Fatalf("%d inserts at once; want 3", got)
	}
	// Every slot is busy: what comes now queues, in this order: event 18,
	// a status change, event 19 (a newer release).
	record(18, ev(18, "1.0"))
	waitFor(t, "event 18 to queue", func() bool { return len(tr.queue) == 1 })
	status := make(chan result, 1)
	go func() {
		g, err := tr.SetStatus(ctx, 1, 1, StatusResolved)
		if g != nil {
			status <- result{[]Outcome{{GroupID: g.Count}}, err}
			return
		}
		status <- result{nil, err}
	}()
	waitFor(t, "the status change to queue", func() bool { return len(tr.queue) == 2 })
	record(19, ev(19, "2.0"))
	waitFor(t, "event 19 to queue", func() bool { return len(tr.queue) == 3 })
	close(release)

	for i := 1; i <= 19; i++ {
		r := <-results[i]
		if r.err != nil || len(r.out) != 1 || r.out[0].Duplicate || r.out[0].GroupID != 1 {
			t.Fatalf("event %d: %+v, %v; want recorded in group 1", i, r.out, r.err)
		}
		if r.out[0].Regressed != (i == 19) {
			t.Errorf("event %d: regressed %v; want %v (only the event after the resolve, of a newer release)", i, r.out[0].Regressed, i == 19)
		}
	}
	s := <-status
	if s.err != nil || s.out[0].GroupID != 18 {
		t.Fatalf("SetStatus = count %+v, %v; want the group resolved with the 18 events queued before it", s.out, s.err)
	}
	st.mu.Lock()
	log := fmt.Sprint(st.log)
	st.mu.Unlock()
	// Batches 1-3 commit in any order, event 18 after a slot came free,
	// the status after all four, event 19 last.
	if len(st.log) != 6 || st.log[3] != "events 0012" || st.log[4] != "status resolved" || st.log[5] != "events 0013" {
		t.Errorf("commits in the order %s; want 3 batches, event 18 (0012), the status, then event 19 (0013)", log)
	}
	if got := st.maxInsert.Load(); got != 3 {
		t.Errorf("at most %d inserts at once; want 3", got)
	}
}

// Many callers, duplicates among them and status changes, over a shared
// store with several commits at once (run with -race): every event id is
// counted once, and no more than SharedCommits batches insert at once.
func TestSharedCommitsConcurrent(t *testing.T) {
	st := newMemShared()
	st.insert = func() { time.Sleep(time.Millisecond) }
	opts := DefaultOptions()
	opts.SharedCommits = 4
	opts.MaxBatch = 5
	tr, err := New(context.Background(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	tr.Start()
	ctx := context.Background()
	var wg sync.WaitGroup
	var recorded atomic.Int64
	for w := range 8 {
		wg.Go(func() {
			for i := range 60 {
				// Workers 2k and 2k+1 send the same ids: each is recorded once.
				n := (w/2)*1000 + i
				out, err := tr.Record(ctx, []*Incoming{incoming(t, 1, n, fmt.Sprintf(`{"message":"m %d","user":{"id":"u%d"}}`, i%3, n%7))})
				if err != nil {
					t.Error(err)
					return
				}
				if !out[0].Duplicate {
					recorded.Add(1)
				}
				if i%20 == 19 {
					if _, err := tr.SetStatus(ctx, 1, out[0].GroupID, StatusUnresolved); err != nil && !out[0].Duplicate {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := tr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Record(ctx, []*Incoming{incoming(t, 1, 99, `{"message":"late"}`)}); !errors.Is(err, ErrClosed) {
		t.Errorf("Record after Close = %v; want ErrClosed", err)
	}
	gs, _ := tr.Groups(ctx, 1, GroupFilter{})
	var count int64
	for _, g := range gs {
		count += g.Count
	}
	if recorded.Load() != 240 || count != 240 || len(st.claims) != 240 {
		t.Errorf("recorded %d, groups count %d, ids claimed %d; want 240 each (4 pairs of workers × 60 ids)", recorded.Load(), count, len(st.claims))
	}
	if got := st.maxInsert.Load(); got > 4 || got < 1 {
		t.Errorf("at most %d inserts at once; want 1 to 4", got)
	}
}
