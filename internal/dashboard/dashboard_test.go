package dashboard

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/query"
)

func TestParseRequest(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	nowMs := now.UnixMilli()
	ok := func(q string, want Request) {
		t.Helper()
		v, _ := url.ParseQuery(q)
		got, err := ParseRequest(v, now)
		if err != nil || got != want {
			t.Errorf("ParseRequest(%q) = %+v, %v; want %+v", q, got, err, want)
		}
	}
	ok("", Request{From: nowMs - 24*3600e3, To: nowMs, Top: DefaultTop})
	ok("range=7d&interval=1h&top=5", Request{From: nowMs - 7*24*3600e3, To: nowMs, Interval: 3600e3, Top: 5})
	ok("range=1h30m", Request{From: nowMs - 5400e3, To: nowMs, Top: DefaultTop})
	ok("range=2w", Request{From: nowMs - 14*24*3600e3, To: nowMs, Top: DefaultTop})
	// A relative range ends now, to the millisecond, whatever the minute.
	for _, at := range []time.Time{now.Add(3*time.Minute + 27500*time.Millisecond), now.Add(59*time.Minute + 59999*time.Millisecond), now.Add(time.Millisecond)} {
		v, _ := url.ParseQuery("range=2h")
		if got, err := ParseRequest(v, at); err != nil || got.From != at.UnixMilli()-2*3600e3 || got.To != at.UnixMilli() {
			t.Errorf("ParseRequest(range=2h) at %s = %+v, %v; want exactly the 2h before", at, got, err)
		}
	}
	ok("from=2026-11-26T00:00:00Z&to=1795737600000", Request{From: 1795651200000, To: 1795737600000, Top: DefaultTop})
	ok("from=1795651200000", Request{From: 1795651200000, To: nowMs, Top: DefaultTop})
	for _, tc := range []struct{ q, param string }{
		{"range=", "range"},
		{"range=5x", "range"},
		{"range=0m", "range"},
		{"range=401d", "range"},
		{"range=1h&to=5", "range"},
		{"to=5", "to"},
		{"from=yesterday", "from"},
		{"from=10&to=10", "from"},
		{"from=-5", "from"},
		{"interval=500ms", "interval"},
		{"range=400d&interval=30m", "interval"},
		{"top=101", "top"},
		{"top=x", "top"},
		{"rnage=1h", "rnage"},
		{"top=1&top=2", "top"},
	} {
		v, _ := url.ParseQuery(tc.q)
		_, err := ParseRequest(v, now)
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != tc.param {
			t.Errorf("ParseRequest(%q) = %v; want a *ParamError on %q", tc.q, err, tc.param)
		}
	}
}

// fakeExec answers every Sub with fn and records the Subs.
type fakeExec struct {
	mu   sync.Mutex
	subs []query.Sub
	fn   func(s *query.Sub) (*query.SubResult, error)
}

func (f *fakeExec) Execute(ctx context.Context, s *query.Sub) (*query.SubResult, error) {
	f.mu.Lock()
	f.subs = append(f.subs, *s)
	f.mu.Unlock()
	return f.fn(s)
}

// ungrouped answers an ungrouped Sub with one row of nulls, as a backend
// over no points does; grouped Subs get no rows.
func ungrouped(s *query.Sub) (*query.SubResult, error) {
	if len(s.GroupBy) > 0 || s.Interval > 0 {
		return &query.SubResult{}, nil
	}
	return &query.SubResult{Rows: []query.SubRow{{Values: make([]any, len(s.Aggs))}}}, nil
}

func TestMetricsAsksScopedSubs(t *testing.T) {
	f := &fakeExec{fn: ungrouped}
	d, err := New(Options{Exec: f})
	if err != nil {
		t.Fatal(err)
	}
	from, to := int64(1795651200000), int64(1795737600000)
	m, err := d.Metrics(context.Background(), Request{Project: 7, From: from, To: to, Interval: 6 * 3600e3})
	if err != nil {
		t.Fatal(err)
	}
	periods := map[[2]int64]int{}
	datasets := map[string]bool{}
	for _, s := range f.subs {
		if s.Project != 7 {
			t.Errorf("Sub of %s for project %d; want 7", s.Dataset, s.Project)
		}
		periods[[2]int64{s.From, s.To}]++
		datasets[s.Dataset] = true
		if s.MaxGroups <= 0 {
			t.Errorf("Sub of %s has no group bound", s.Dataset)
		}
	}
	for _, want := range [][2]int64{{from, to}, {from - (to - from), from}, {0, to}, {0, from}} {
		if periods[want] == 0 {
			t.Errorf("no Sub over [%d, %d); periods asked: %v", want[0], want[1], periods)
		}
	}
	for _, ds := range []string{"requests", "ai_usage", "embeddings", "vector_search", "db_queries", "websocket", "grade_passback"} {
		if !datasets[ds] {
			t.Errorf("no Sub reads %s", ds)
		}
	}
	// Zeros and nulls, never errors; empty lists, not null.
	if m.Requests != 0 || m.Latency != 0 || m.LatencyPercentiles.P95 != nil || m.ErrorRateByEndpoint == nil || m.AI.UnpricedModels == nil {
		t.Errorf("metrics over no data = %+v", m)
	}
	if m.Series == nil || len(m.Series.Buckets) != 4 || m.Series.Buckets[0].T != "2026-11-26T00:00:00Z" {
		t.Errorf("series = %+v; want 4 buckets from 2026-11-26T00:00:00Z", m.Series)
	}
	if m.Meta == nil || len(m.Meta.Warnings) != 1 || !strings.Contains(m.Meta.Warnings[0], "intent") {
		t.Errorf("meta = %+v; want a warning that intent needs SQL", m.Meta)
	}
}

func TestMetricsFailures(t *testing.T) {
	ctx := context.Background()
	req := Request{Project: 1, From: 1795651200000, To: 1795737600000}

	// Too many groups leaves the list out with a warning.
	f := &fakeExec{fn: func(s *query.Sub) (*query.SubResult, error) {
		if len(s.GroupBy) > 0 && s.Dataset == "requests" {
			return nil, query.ErrTooManyGroups
		}
		return ungrouped(s)
	}}
	d, _ := New(Options{Exec: f})
	m, err := d.Metrics(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, w := range m.Meta.Warnings {
		found = found || strings.Contains(w, "errorRateByEndpoint")
	}
	if !found || len(m.ErrorRateByEndpoint) != 0 {
		t.Errorf("warnings = %v; want one naming errorRateByEndpoint", m.Meta.Warnings)
	}

	// A backend failure fails the answer.
	boom := errors.New("disk on fire")
	f = &fakeExec{fn: func(s *query.Sub) (*query.SubResult, error) {
		if s.Dataset == "db_queries" {
			return nil, boom
		}
		return ungrouped(s)
	}}
	d, _ = New(Options{Exec: f})
	if _, err := d.Metrics(ctx, req); !errors.Is(err, boom) {
		t.Errorf("Metrics with a failing backend = %v; want %v", err, boom)
	}

	// A malformed answer is an error, not a panic.
	f = &fakeExec{fn: func(s *query.Sub) (*query.SubResult, error) {
		return &query.SubResult{Rows: []query.SubRow{{Values: []any{1.0}}}}, nil
	}}
	d, _ = New(Options{Exec: f})
	if _, err := d.Metrics(ctx, req); !errors.Is(err, query.ErrBadResult) {
		t.Errorf("Metrics with a malformed answer = %v; want ErrBadResult", err)
	}

	if _, err := New(Options{}); err == nil {
		t.Error("New without an executor succeeded")
	}
	if _, err := d.Metrics(ctx, Request{From: 5, To: 5}); err == nil {
		t.Error("Metrics over an empty period succeeded")
	}
}
