package alert

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/query"
)

// memStore keeps rules in memory, as the metadata database would.
type memStore struct {
	mu    sync.Mutex
	last  int64
	recs  map[int64]Record
	puts  int
	fails error
}

func newMemStore() *memStore { return &memStore{recs: map[int64]Record{}} }

func (s *memStore) AlertRules(context.Context) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range s.recs {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (s *memStore) CreateAlertRule(_ context.Context, project int64, spec, state string, at time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last++
	s.recs[s.last] = Record{ID: s.last, Project: project, Spec: spec, State: state, Created: at, Updated: at}
	return s.last, nil
}

func (s *memStore) UpdateAlertRule(_ context.Context, project, id int64, spec, state string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[id]
	if !ok || r.Project != project {
		return ErrNotFound
	}
	r.Spec, r.State, r.Updated = spec, state, at
	s.recs[id] = r
	return nil
}

func (s *memStore) PutAlertState(_ context.Context, id int64, state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fails != nil {
		return s.fails
	}
	r := s.recs[id]
	r.State = state
	s.recs[id] = r
	s.puts++
	return nil
}

func (s *memStore) DeleteAlertRule(_ context.Context, project, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.recs, id)
	return nil
}

// sample is one point of the fake executor: a time and a value.
type sample struct {
	at time.Time
	v  float64
}

// fakeExec answers ungrouped count, sum, avg and max over the samples of
// its datasets whose time is in the Sub's range, as a store would; fail,
// when set, fails every query.
type fakeExec struct {
	mu     sync.Mutex
	data   map[string][]sample
	fail   error
	source string
}

func (f *fakeExec) add(ds string, at time.Time, vs ...float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.data == nil {
		f.data = map[string][]sample{}
	}
	for _, v := range vs {
		f.data[ds] = append(f.data[ds], sample{at, v})
	}
}

func (f *fakeExec) Execute(_ context.Context, s *query.Sub) (*query.SubResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	if s.Source == query.SourceRollup {
		return nil, &query.Error{Part: "source", Msg: "rollups cannot answer this query: a test"}
	}
	var n, sum, mx float64
	for _, p := range f.data[s.Dataset] {
		if ms := p.at.UnixMilli(); ms >= s.From && ms < s.To {
			n++
			sum += p.v
			if n == 1 || p.v > mx {
				mx = p.v
			}
		}
	}
	row := query.SubRow{}
	for _, a := range s.Aggs {
		switch a.Type {
		case query.AggCount:
			row.Values = append(row.Values, n)
		case query.AggSum:
			row.Values = append(row.Values, sum)
		case query.AggAvg:
			if n == 0 {
				row.Values = append(row.Values, nil)
			} else {
				row.Values = append(row.Values, sum/n)
			}
		case query.AggMax:
			if n == 0 {
				row.Values = append(row.Values, nil)
			} else {
				row.Values = append(row.Values, mx)
			}
		default:
			return nil, errors.New("fakeExec: unsupported aggregation")
		}
	}
	src := f.source
	if src == "" {
		src = query.SourceRollup
	}
	return &query.SubResult{Rows: []query.SubRow{row}, RowsScanned: int64(n), Source: src}, nil
}

type env struct {
	t    *testing.T
	st   *memStore
	exec *fakeExec
	m    *Manager
	now  time.Time
	opts Options
}

func newTestEnv(t *testing.T, edit func(*Options)) *env {
	t.Helper()
	e := &env{t: t, st: newMemStore(), exec: &fakeExec{}, now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	o := DefaultOptions()
	o.Store, o.Exec = e.st, e.exec
	o.Now = func() time.Time { return e.now }
	o.Schemas = func(_ int64, ds string) *point.Schema { return point.Builtin(ds) }
	o.RuleURL = func(project, id int64) string { return "https://alidade.example.com/alerts/" + itoa(id) }
	if edit != nil {
		edit(&o)
	}
	e.opts = o
	e.m = e.open()
	return e
}

// open loads a manager from the store (a restart).
func (e *env) open() *Manager {
	e.t.Helper()
	m, err := New(context.Background(), e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func itoa(n int64) string {
	b := []byte{}
	if n == 0 {
		return "0"
	}
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func (e *env) create(body string) View {
	e.t.Helper()
	sp, err := e.m.Decode(1, []byte(body))
	if err != nil {
		e.t.Fatalf("Decode(%s) = %v", body, err)
	}
	v, err := e.m.Create(context.Background(), 1, sp)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// tick advances the clock by d and ticks.
func (e *env) tick(d time.Duration) View {
	e.t.Helper()
	e.now = e.now.Add(d)
	e.m.Tick(context.Background(), e.now)
	return e.rule(1)
}

func (e *env) rule(id int64) View {
	e.t.Helper()
	v, err := e.m.Get(1, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}
