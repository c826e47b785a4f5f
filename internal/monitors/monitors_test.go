package monitors

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/errtrack"
	"github.com/alidade/alidade/internal/point"
)

// memStore keeps monitors in memory for the registry's tests.
type memStore struct {
	mu sync.Mutex
	m  map[key]Monitor
}

func (s *memStore) Monitors(context.Context) ([]Monitor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Monitor
	for _, m := range s.m {
		out = append(out, m)
	}
	return out, nil
}

func (s *memStore) PutMonitor(_ context.Context, m Monitor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key{m.Project, m.Slug, m.Environment}] = m
	return nil
}

// written collects the points a registry writes.
type written struct {
	mu   sync.Mutex
	pts  []point.Point
	fail error
}

func (w *written) write(_ context.Context, project int64, pts []point.Point) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail != nil {
		return w.fail
	}
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

var checkIns = point.Builtin("check_ins")

// field reads a check_ins field by name: a string or a float64.
func field(p point.Point, name string) any {
	f, err := checkIns.Resolve(name)
	if err != nil {
		panic(err)
	}
	switch f.Kind {
	case point.KindIndex:
		return p.Index
	case point.KindBlob:
		return p.Blob(f.Pos)
	default:
		return p.Double(f.Pos)
	}
}

func newRegistry(t *testing.T, st *memStore, w *written) *Registry {
	t.Helper()
	r, err := New(context.Background(), st, w.write, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ms(s string) int64 { return at(s).UnixMilli() }

func crontabCheckIn(slug, status, schedule, tz string, margin, maxRuntime float64) *errtrack.CheckIn {
	return &errtrack.CheckIn{ID: "c-" + slug, Slug: slug, Status: status, Environment: "prod",
		Config: &errtrack.MonitorConfig{ScheduleType: "crontab", Schedule: schedule, Timezone: tz, Margin: margin, MaxRuntime: maxRuntime}}
}

// sweepAt sweeps at an instant and returns the check-ins made.
func sweepAt(t *testing.T, r *Registry, w *written, when string) []point.Point {
	t.Helper()
	if _, err := r.Sweep(context.Background(), at(when)); err != nil {
		t.Fatal(err)
	}
	return w.take()
}

func wantMissed(t *testing.T, what string, pts []point.Point, times ...string) {
	t.Helper()
	if len(pts) != len(times) {
		t.Fatalf("%s: %d check-ins made, want %d (%v)", what, len(pts), len(times), times)
	}
	for i, p := range pts {
		if p.Timestamp != ms(times[i]) || field(p, "status") != "missed" || field(p, "failed") != 1.0 || field(p, "slug") == "" {
			t.Errorf("%s: check-in %d = %v at %v; want missed at %s", what, i, field(p, "status"), time.UnixMilli(p.Timestamp).UTC(), times[i])
		}
	}
}

// A daily crontab with a 5-minute margin: missed exactly at 02:05:00.000
// the next day, once, then due the day after.
func TestMissedAtTheMarginToTheMillisecond(t *testing.T) {
	st, w := &memStore{m: map[key]Monitor{}}, &written{}
	r := newRegistry(t, st, w)
	ctx := context.Background()
	if err := r.CheckIn(ctx, 1, crontabCheckIn("nightly", "ok", "0 2 * * *", "", 5, 0), ms("2026-12-06T02:00:30Z")); err != nil {
		t.Fatal(err)
	}
	if m := r.List(1)[0]; m.NextExpected != ms("2026-12-07T02:00:00Z") || m.LastStatus != "ok" {
		t.Fatalf("after the check-in: %+v", m)
	}
	wantMissed(t, "1 ms before the margin ends", sweepAt(t, r, w, "2026-12-07T02:04:59.999Z"))
	wantMissed(t, "at the margin's end", sweepAt(t, r, w, "2026-12-07T02:05:00Z"), "2026-12-07T02:00:00Z")
	wantMissed(t, "swept again", sweepAt(t, r, w, "2026-12-07T02:05:00.001Z"))
	if m := r.List(1)[0]; m.NextExpected != ms("2026-12-08T02:00:00Z") || m.LastStatus != "missed" {
		t.Fatalf("after the miss: %+v", m)
	}
	// Another project sees nothing of it.
	if len(r.List(2)) != 0 {
		t.Error("project 2 lists project 1's monitor")
	}
	// A restart reads the state back.
	r2 := newRegistry(t, st, w)
	if m := r2.List(1); len(m) != 1 || m[0].NextExpected != ms("2026-12-08T02:00:00Z") || m[0].Config.Schedule != "0 2 * * *" {
		t.Fatalf("after a restart: %+v", m)
	}
}

// Every minute, with the default 1-minute margin, at minute and hour edges.
func TestMinuteAndHourEdges(t *testing.T) {
	st, w := &memStore{m: map[key]Monitor{}}, &written{}
	r := newRegistry(t, st, w)
	ctx := context.Background()
	r.CheckIn(ctx, 1, crontabCheckIn("minutely", "ok", "* * * * *", "", 0, 0), ms("2026-12-06T12:59:00Z"))
	wantMissed(t, "next minute + margin − 1 ms", sweepAt(t, r, w, "2026-12-06T13:00:59.999Z"))
	wantMissed(t, "next minute + margin", sweepAt(t, r, w, "2026-12-06T13:01:00Z"), "2026-12-06T13:00:00Z")
	// A check-in at the next minute's first millisecond is in time.
	r.CheckIn(ctx, 1, crontabCheckIn("minutely", "ok", "* * * * *", "", 0, 0), ms("2026-12-06T13:01:00.000Z"))
	wantMissed(t, "after an in-time check-in", sweepAt(t, r, w, "2026-12-06T13:02:59.999Z"))

	// An hourly interval from 1 ms before the hour.
	iv := &errtrack.CheckIn{Slug: "hourly", Status: "ok", Config: &errtrack.MonitorConfig{ScheduleType: "interval", Schedule: "1", Unit: "hour"}}
	r.CheckIn(ctx, 1, iv, ms("2026-12-06T09:59:59.999Z"))
	pts := sweepAt(t, r, w, "2026-12-06T11:00:59.998Z")
	for _, p := range pts {
		if field(p, "slug") == "hourly" {
			t.Fatalf("hourly missed 1 ms early: %v", time.UnixMilli(p.Timestamp).UTC())
		}
	}
	var hourly []point.Point
	for _, p := range sweepAt(t, r, w, "2026-12-06T11:00:59.999Z") {
		if field(p, "slug") == "hourly" {
			hourly = append(hourly, p)
		}
	}
	wantMissed(t, "hourly at its margin", hourly, "2026-12-06T10:59:59.999Z")
}

// After three days without a sweep (the server was down), each missed day
// is a check-in of its own.
func TestMissedDaysAfterDowntime(t *testing.T) {
	st, w := &memStore{m: map[key]Monitor{}}, &written{}
	r := newRegistry(t, st, w)
	r.CheckIn(context.Background(), 1, crontabCheckIn("nightly", "ok", "@daily", "", 0, 0), ms("2026-12-01T00:00:10Z"))
	wantMissed(t, "three days later", sweepAt(t, r, w, "2026-12-04T12:00:00Z"), "2026-12-02T00:00:00Z", "2026-12-03T00:00:00Z", "2026-12-04T00:00:00Z")
	if m := r.List(1)[0]; m.NextExpected != ms("2026-12-05T00:00:00Z") {
		t.Fatalf("next = %v", time.UnixMilli(m.NextExpected).UTC())
	}
}

// A crontab in a timezone keeps its local time across DST: on the day the
// clocks go back, 02:30 happens twice and is expected once; on the day
// they go forward, 02:30 does not exist and nothing is missed.
func TestCrontabAcrossDST(t *testing.T) {
	st, w := &memStore{m: map[key]Monitor{}}, &written{}
	r := newRegistry(t, st, w)
	ctx := context.Background()
	c := crontabCheckIn("paris", "ok", "30 2 * * *", "Europe/Paris", 5, 0)
	// 2026-10-25 02:30:10 CEST, the first 02:30 of that night.
	r.CheckIn(ctx, 1, c, ms("2026-10-25T00:30:10Z"))
	if m := r.List(1)[0]; m.NextExpected != ms("2026-10-26T01:30:00Z") {
		t.Fatalf("after the first 02:30 of the night clocks go back: next = %v; want 2026-10-26 02:30 CET", time.UnixMilli(m.NextExpected).UTC())
	}
	wantMissed(t, "the repeated 02:30", sweepAt(t, r, w, "2026-10-25T12:00:00Z"))
	// Spring: 2026-03-28 02:30 CET ran; 2026-03-29 02:30 does not exist.
	r.CheckIn(ctx, 1, c, ms("2026-03-28T01:30:10Z"))
	wantMissed(t, "the night 02:30 does not exist", sweepAt(t, r, w, "2026-03-29T23:00:00Z"))
	wantMissed(t, "the next night", sweepAt(t, r, w, "2026-03-30T00:35:00Z"), "2026-03-30T00:30:00Z")
}

// A run that started and did not finish within its max runtime times out;
// one that finished does not.
func TestTimeout(t *testing.T) {
	st, w := &memStore{m: map[key]Monitor{}}, &written{}
	r := newRegistry(t, st, w)
	ctx := context.Background()
	c := crontabCheckIn("import", "in_progress", "0 * * * *", "", 0, 30)
	r.CheckIn(ctx, 1, c, ms("2026-12-06T10:00:00Z"))
	if m := r.List(1)[0]; m.InProgress != "c-import" {
		t.Fatalf("in progress: %+v", m)
	}
	if pts := sweepAt(t, r, w, "2026-12-06T10:29:59.999Z"); len(pts) != 0 {
		t.Fatalf("timed out 1 ms early: %d", len(pts))
	}
	pts := sweepAt(t, r, w, "2026-12-06T10:30:00Z")
	if len(pts) != 1 || field(pts[0], "status") != "timeout" || pts[0].Timestamp != ms("2026-12-06T10:30:00Z") || field(pts[0], "check_in_id") != "c-import" {
		t.Fatalf("timeout check-ins = %+v", pts)
	}
	if m := r.List(1)[0]; m.InProgress != "" || m.LastStatus != "timeout" {
		t.Fatalf("after the timeout: %+v", m)
	}
	// Started and finished: no timeout.
	r.CheckIn(ctx, 1, c, ms("2026-12-06T11:00:00Z"))
	done := *c
	done.Status = "ok"
	r.CheckIn(ctx, 1, &done, ms("2026-12-06T11:10:00Z"))
	if pts := sweepAt(t, r, w, "2026-12-06T11:45:00Z"); len(pts) != 0 {
		t.Fatalf("a finished run timed out: %+v", pts)
	}
}

// A sweep whose write fails moves nothing: the next one makes the same
// check-ins.
func TestFailedWriteIsRetried(t *testing.T) {
	st, w := &memStore{m: map[key]Monitor{}}, &written{}
	r := newRegistry(t, st, w)
	r.CheckIn(context.Background(), 1, crontabCheckIn("nightly", "ok", "0 2 * * *", "", 5, 0), ms("2026-12-06T02:00:30Z"))
	w.fail = errors.New("ingest queue is full")
	if _, err := r.Sweep(context.Background(), at("2026-12-07T03:00:00Z")); err == nil || !strings.Contains(err.Error(), "ingest queue is full") {
		t.Fatalf("sweep = %v; want the write's error", err)
	}
	w.fail = nil
	wantMissed(t, "retried", sweepAt(t, r, w, "2026-12-07T03:00:00Z"), "2026-12-07T02:00:00Z")
}

func TestParseScheduleErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  errtrack.MonitorConfig
		want string
	}{
		{errtrack.MonitorConfig{ScheduleType: "crontab", Schedule: "61 * * * *"}, "crontab"},
		{errtrack.MonitorConfig{ScheduleType: "crontab", Schedule: "0 2 * * *", Timezone: "Mars/Olympus"}, "timezone"},
		{errtrack.MonitorConfig{ScheduleType: "interval", Schedule: "0", Unit: "hour"}, "interval"},
		{errtrack.MonitorConfig{ScheduleType: "interval", Schedule: "5", Unit: "fortnight"}, "unit"},
		{errtrack.MonitorConfig{ScheduleType: "solar", Schedule: "noon"}, "schedule type"},
	} {
		if _, err := ParseSchedule(&c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseSchedule(%+v) = %v; want an error about %s", c.cfg, err, c.want)
		}
	}
	// An invalid schedule is refused by CheckIn, and makes no monitor.
	r := newRegistry(t, &memStore{m: map[key]Monitor{}}, &written{})
	if err := r.CheckIn(context.Background(), 1, crontabCheckIn("bad", "ok", "every day", "", 0, 0), 1); err == nil {
		t.Error("CheckIn with a bad crontab = nil")
	}
	if len(r.List(1)) != 0 {
		t.Error("a bad schedule made a monitor")
	}
}

// Two registries over one store are two nodes of a cluster: a check-in
// that came to B keeps the monitor sweeping on A from making a missed
// check-in once A reloads (the sweeping node reloads before each sweep).
func TestReloadFromAnotherNode(t *testing.T) {
	st, w := &memStore{m: map[key]Monitor{}}, &written{}
	a, b := newRegistry(t, st, w), newRegistry(t, st, w)
	ctx := context.Background()
	if err := b.CheckIn(ctx, 1, crontabCheckIn("nightly", "ok", "0 2 * * *", "", 5, 0), ms("2026-12-06T02:00:30Z")); err != nil {
		t.Fatal(err)
	}
	if l := a.List(1); len(l) != 0 {
		t.Fatalf("A's List before Reload = %+v", l)
	}
	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if l := a.List(1); len(l) != 1 || l[0].NextExpected != ms("2026-12-07T02:00:00Z") {
		t.Fatalf("A's List after Reload = %+v", l)
	}
	// The next day's run checks in on B, in time.
	if err := b.CheckIn(ctx, 1, crontabCheckIn("nightly", "ok", "0 2 * * *", "", 5, 0), ms("2026-12-07T02:01:00Z")); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	wantMissed(t, "A after B's check-in", sweepAt(t, a, w, "2026-12-07T02:05:00Z"))
	// Without a reload, A would have made one: B's is the newer state.
	if err := b.CheckIn(ctx, 1, crontabCheckIn("nightly", "ok", "0 2 * * *", "", 5, 0), ms("2026-12-08T02:01:00Z")); err != nil {
		t.Fatal(err)
	}
	wantMissed(t, "A without a reload", sweepAt(t, a, w, "2026-12-08T02:05:00Z"), "2026-12-08T02:00:00Z")
}
