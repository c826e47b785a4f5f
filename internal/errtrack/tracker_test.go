package errtrack

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/store"
)

// memStore is an in-memory Store for the tracker's tests.
type memStore struct {
	mu     sync.Mutex
	groups map[int64]*Group
	events []StoredEvent
	fail   error
	finds  int
	loaded store.LogPos
	loads  int // commits that recorded a journal position
}

func newMemStore() *memStore { return &memStore{groups: map[int64]*Group{}} }

func (m *memStore) MaxErrorGroupID(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for id := range m.groups {
		n = max(n, id)
	}
	return n, nil
}

func (m *memStore) FindErrorGroup(_ context.Context, project int64, fp string) (*Group, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finds++
	for _, g := range m.groups {
		if g.Project == project && g.Fingerprint == fp {
			return g.Clone(), nil
		}
	}
	return nil, nil
}

func (m *memStore) ErrorGroup(_ context.Context, project, id int64) (*Group, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if g := m.groups[id]; g != nil && g.Project == project {
		return g.Clone(), nil
	}
	return nil, ErrNotFound
}

func (m *memStore) ErrorGroups(_ context.Context, project int64, f GroupFilter) ([]Group, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Group
	for _, g := range m.groups {
		if g.Project == project && (f.Status == "" || g.Status == f.Status) {
			out = append(out, *g.Clone())
		}
	}
	slices.SortFunc(out, func(a, b Group) int { return int(a.ID - b.ID) })
	return out, nil
}

func (m *memStore) CommitErrors(_ context.Context, c Commit) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	for _, g := range c.New {
		if m.groups[g.ID] != nil {
			return fmt.Errorf("group %d inserted twice", g.ID)
		}
		m.groups[g.ID] = g.Clone()
	}
	for _, g := range c.Changed {
		if m.groups[g.ID] == nil {
			return fmt.Errorf("group %d updated before its insert", g.ID)
		}
		m.groups[g.ID] = g.Clone()
	}
	m.events = append(m.events, c.Events...)
	if c.Loaded != nil {
		m.loaded = *c.Loaded
		m.loads++
	}
	return nil
}

func (m *memStore) ErrorsLoaded(context.Context) (store.LogPos, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loaded, nil
}

func (m *memStore) ErrorEvent(_ context.Context, project int64, id string) (*StoredEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.events {
		if e.Project == project && e.EventID == id {
			return &e, nil
		}
	}
	return nil, ErrNotFound
}

func (m *memStore) ErrorEvents(context.Context, int64, int64, int, int64) ([]StoredEvent, error) {
	return nil, nil
}

func (m *memStore) ErrorAttachments(context.Context, int64, string) ([]Attachment, error) {
	return nil, nil
}

func (m *memStore) RecentErrorEventIDs(_ context.Context, limit int) ([]EventKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []EventKey
	for i := len(m.events) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, EventKey{m.events[i].Project, m.events[i].EventID})
	}
	return out, nil
}

func (m *memStore) ExpireErrors(_ context.Context, project, cutoff int64) (ExpireReport, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var rep ExpireReport
	for id, g := range m.groups {
		if g.Project == project && g.LastSeen < cutoff {
			delete(m.groups, id)
			rep.Groups++
		}
	}
	return rep, nil
}

func startTracker(t *testing.T, st Store) *Tracker {
	t.Helper()
	tr, err := New(context.Background(), st, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	tr.Start()
	t.Cleanup(func() { tr.Close(context.Background()) })
	return tr
}

func incoming(t *testing.T, project int64, n int, body string) *Incoming {
	t.Helper()
	in, err := ReadEvent([]byte(body), project, 1_800_000_000_000+int64(n), 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	in.Event.EventID = fmt.Sprintf("%032x", n)
	return in
}

func TestTrackerGroupsDedupesAndRegresses(t *testing.T) {
	st := newMemStore()
	tr := startTracker(t, st)
	ctx := context.Background()
	ev := func(n int, user, release string) *Incoming {
		return incoming(t, 1, n, fmt.Sprintf(`{"message":"boom %d","user":{"id":%q},"release":%q,"environment":"prod"}`, n, user, release))
	}
	out, err := tr.Record(ctx, []*Incoming{ev(1, "u1", "1.0"), ev(2, "u2", "1.0"), ev(1, "u1", "1.0")})
	if err != nil {
		t.Fatal(err)
	}
	if !out[0].New || out[1].New || out[1].GroupID != out[0].GroupID || !out[2].Duplicate {
		t.Fatalf("outcomes = %+v; want one new group, a second event in it, a duplicate", out)
	}
	// Another project's same message is another group.
	other, _ := tr.Record(ctx, []*Incoming{incoming(t, 2, 3, `{"message":"boom 3"}`)})
	if other[0].GroupID == out[0].GroupID || !other[0].New {
		t.Errorf("another project's event joined the group: %+v", other)
	}
	g, _ := tr.GroupByID(ctx, 1, out[0].GroupID)
	if g.Count != 2 || g.Users.Count() != 2 || g.Title != "boom 2" || g.FirstSeen != 1_800_000_000_001 || g.LastSeen != 1_800_000_000_002 ||
		!slices.Equal(g.Releases, []string{"1.0"}) || !slices.Equal(g.Environments, []string{"prod"}) {
		t.Errorf("group = %+v", g)
	}
	if _, err := tr.GroupByID(ctx, 2, out[0].GroupID); !errors.Is(err, ErrNotFound) {
		t.Errorf("group of project 1 read by project 2: %v", err)
	}
	// Resolved in 1.0: 1.0 stays resolved; 0.9 too (older); 1.1 reopens.
	if g, err := tr.SetStatus(ctx, 1, out[0].GroupID, StatusResolved); err != nil || g.Status != StatusResolved || g.ResolvedRelease != "1.0" {
		t.Fatalf("resolve = %+v, %v", g, err)
	}
	for i, c := range []struct {
		release   string
		regressed bool
	}{{"1.0", false}, {"0.9", false}, {"1.1", true}} {
		o, err := tr.Record(ctx, []*Incoming{ev(10+i, "u3", c.release)})
		if err != nil || o[0].Regressed != c.regressed {
			t.Errorf("event of %s: %+v, %v; want regressed %v", c.release, o, err, c.regressed)
		}
	}
	g, _ = tr.GroupByID(ctx, 1, out[0].GroupID)
	if g.Status != StatusUnresolved || !g.Regressed || g.RegressedRelease != "1.1" || g.Regressions != 1 || g.Count != 5 || g.Users.Count() != 3 {
		t.Errorf("after the regression: %+v", g)
	}
	// Ignored groups stay ignored.
	tr.SetStatus(ctx, 1, out[0].GroupID, StatusIgnored)
	tr.Record(ctx, []*Incoming{ev(20, "u1", "2.0")})
	if g, _ := tr.GroupByID(ctx, 1, out[0].GroupID); g.Status != StatusIgnored || g.Count != 6 {
		t.Errorf("ignored group after an event: %+v", g)
	}
	if _, err := tr.SetStatus(ctx, 1, 999, StatusResolved); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetStatus of an unknown group: %v", err)
	}

	// A restarted tracker remembers the ids and continues the ids.
	tr.Close(ctx)
	tr2 := startTracker(t, st)
	o, _ := tr2.Record(ctx, []*Incoming{ev(2, "u2", "2.0"), incoming(t, 1, 30, `{"message":"new one"}`)})
	if !o[0].Duplicate || !o[1].New || o[1].GroupID <= other[0].GroupID {
		t.Errorf("after a restart: %+v", o)
	}
}

func TestTrackerFailedCommit(t *testing.T) {
	st := newMemStore()
	tr := startTracker(t, st)
	ctx := context.Background()
	st.fail = errors.New("disk on fire")
	if _, err := tr.Record(ctx, []*Incoming{incoming(t, 1, 1, `{"message":"a"}`)}); err == nil {
		t.Fatal("a failed commit was acknowledged")
	}
	st.fail = nil
	o, err := tr.Record(ctx, []*Incoming{incoming(t, 1, 1, `{"message":"a"}`)})
	if err != nil || o[0].Duplicate || !o[0].New || o[0].GroupID != 1 {
		t.Errorf("retry after a failed commit: %+v, %v; want stored as new, group 1", o, err)
	}
}

func TestTrackerConcurrent(t *testing.T) {
	st := newMemStore()
	tr := startTracker(t, st)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				n := w*1000 + i
				if _, err := tr.Record(context.Background(), []*Incoming{incoming(t, 1, n, fmt.Sprintf(`{"message":"m %d","user":{"id":"u%d"}}`, i%5, n%7))}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	gs, _ := tr.Groups(context.Background(), 1, GroupFilter{})
	if len(gs) != 1 || gs[0].Count != 400 || gs[0].Users.Count() != 7 || len(st.events) != 400 {
		t.Errorf("groups = %d, count %d users %d, events %d; want 1 group of 400 events by 7 users", len(gs), gs[0].Count, gs[0].Users.Count(), len(st.events))
	}
}

func TestUsersSketch(t *testing.T) {
	var u Users
	for i := range 100 {
		u.Add(UserHash(fmt.Sprint("user", i%60)))
	}
	if u.Count() != 60 {
		t.Errorf("exact count = %d; want 60", u.Count())
	}
	back := UnmarshalUsers(u.MarshalBinary())
	if back.Count() != 60 {
		t.Errorf("round trip = %d", back.Count())
	}
	for _, n := range []int{129, 1000, 50_000} {
		var v Users
		for i := range n {
			v.Add(UserHash(fmt.Sprint("u", i)))
			v.Add(UserHash(fmt.Sprint("u", i/2)))
		}
		got := float64(v.Count())
		if math.Abs(got-float64(n))/float64(n) > 0.06 {
			t.Errorf("%d users counted as %v", n, got)
		}
		if c := UnmarshalUsers(v.MarshalBinary()).Count(); c != v.Count() {
			t.Errorf("round trip of %d users: %d != %d", n, c, v.Count())
		}
	}
	if UnmarshalUsers([]byte("junk")).Count() != 0 {
		t.Error("junk sketch counts users")
	}
}

func TestVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		cmp  int
	}{{"1.2.3", "1.2.10", -1}, {"app@2.0.0", "app@1.9.9", 1}, {"v1.0", "1.0.0", 0}, {"1.0.0-rc.1", "1.0.0", -1}, {"1.0.0+build7", "1.0.0", 0}} {
		a, ok1 := parseVersion(c.a)
		b, ok2 := parseVersion(c.b)
		if !ok1 || !ok2 || compareVersions(a, b) != c.cmp {
			t.Errorf("compare(%s, %s) = %d; want %d", c.a, c.b, compareVersions(a, b), c.cmp)
		}
	}
	for _, s := range []string{"abc123", "deadbeef-2024", "1.2.3.4.5"} {
		if _, ok := parseVersion(s); ok {
			t.Errorf("parseVersion(%q) read a version", s)
		}
	}
	// Releases that are not versions: a release the group had seen before
	// the resolution does not reopen it; a new one does.
	g := &Group{Status: StatusResolved, ResolvedRelease: "deadbeef", Releases: []string{"deadbeef", "cafe01"}}
	if recurs(g, "cafe01") || !recurs(g, "f00d02") || !recurs(g, "") {
		t.Errorf("recurs by releases seen is wrong")
	}
}
