package checks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
)

// memStore is a Store in memory.
type memStore struct {
	mu     sync.Mutex
	checks map[int64]Record
	runs   []RunRecord
	nextID int64
	runID  int64
}

func newMemStore() *memStore { return &memStore{checks: map[int64]Record{}} }

func (s *memStore) Checks(context.Context) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range s.checks {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (s *memStore) CreateCheck(_ context.Context, project int64, spec, state string, at time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	s.checks[s.nextID] = Record{ID: s.nextID, Project: project, Spec: spec, State: state, Created: at, Updated: at}
	return s.nextID, nil
}

func (s *memStore) UpdateCheck(_ context.Context, project, id int64, spec, state string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.checks[id]
	if !ok || r.Project != project {
		return ErrNotFound
	}
	r.Spec, r.State, r.Updated = spec, state, at
	s.checks[id] = r
	return nil
}

func (s *memStore) PutCheckState(_ context.Context, id int64, state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.checks[id]; ok {
		r.State = state
		s.checks[id] = r
	}
	return nil
}

func (s *memStore) DeleteCheck(_ context.Context, project, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.checks, id)
	var keep []RunRecord
	for _, r := range s.runs {
		if r.Check != id {
			keep = append(keep, r)
		}
	}
	s.runs = keep
	return nil
}

func (s *memStore) AddCheckRun(_ context.Context, r RunRecord, keepRuns, keepReports int) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runID++
	r.ID = s.runID
	s.runs = append(s.runs, r)
	return r.ID, nil
}

func (s *memStore) CheckRuns(_ context.Context, project, check int64, limit int) ([]RunRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []RunRecord
	for i := len(s.runs) - 1; i >= 0 && len(out) < limit; i-- {
		if r := s.runs[i]; r.Project == project && r.Check == check {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *memStore) CheckReport(_ context.Context, project, check, run int64, html bool) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.runs {
		if r.ID == run && r.Project == project && r.Check == check {
			if html {
				return r.ReportHTML, nil
			}
			return r.ReportJSON, nil
		}
	}
	return nil, nil
}

func (s *memStore) PruneCheckRuns(context.Context, time.Time) (int64, error) { return 0, nil }

// fakePages is a PageRunner of function fields.
type fakePages struct {
	available func() (bool, string)
	run       func(ctx context.Context, url, device string) (*PageResult, error)
}

func (f *fakePages) Available() (bool, string) { return f.available() }
func (f *fakePages) Run(ctx context.Context, url, device string) (*PageResult, error) {
	return f.run(ctx, url, device)
}

// fakeClock is a settable clock.
type fakeClock struct{ ms atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ms.Store(t.UnixMilli())
	return c
}
func (c *fakeClock) Now() time.Time                { return time.UnixMilli(c.ms.Load()).UTC() }
func (c *fakeClock) Add(d time.Duration) time.Time { c.ms.Add(d.Milliseconds()); return c.Now() }

// written collects the points a Manager writes.
type written struct {
	mu  sync.Mutex
	pts []point.Point
}

func (w *written) write(_ context.Context, _ int64, pts []point.Point) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pts = append(w.pts, pts...)
	return nil
}

func (w *written) take() []point.Point {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.pts
	w.pts = nil
	return p
}

func field(t *testing.T, p point.Point, name string) any {
	t.Helper()
	f, err := schema.Resolve(name)
	if err != nil {
		t.Fatal(err)
	}
	switch f.Kind {
	case point.KindBlob:
		return p.Blob(f.Pos)
	case point.KindDouble:
		return p.Double(f.Pos)
	}
	return p.Index
}

type testEnv struct {
	t     *testing.T
	m     *Manager
	st    *memStore
	clock *fakeClock
	out   *written
}

func newTestEnv(t *testing.T, edit func(*Options)) *testEnv {
	t.Helper()
	e := &testEnv{t: t, st: newMemStore(), clock: newFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)), out: &written{}}
	o := DefaultOptions()
	o.Store, o.Write, o.Now = e.st, e.out.write, e.clock.Now
	if edit != nil {
		edit(&o)
	}
	m, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	return e
}

func (e *testEnv) create(body string) View {
	e.t.Helper()
	sp, err := e.m.Decode([]byte(body))
	if err != nil {
		e.t.Fatalf("Decode(%s) = %v", body, err)
	}
	v, err := e.m.Create(context.Background(), 1, sp)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// site is a small test site on loopback.
func site(t *testing.T, h http.HandlerFunc) *httptest.Server {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}
