package checks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A check runs when made, then exactly at each multiple of every on the
// clock: not a millisecond before; a late tick runs it once, and the
// schedule moves on from then. Up, down and back up, each run a point.
func TestScheduleFakeClock(t *testing.T) {
	var fail atomic.Bool
	var hits atomic.Int64
	s := site(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if fail.Load() {
			w.WriteHeader(503)
		}
		fmt.Fprint(w, "ok")
	})
	e := newTestEnv(t, nil)
	ctx := context.Background()
	v := e.create(fmt.Sprintf(`{"name":"api","type":"http","url":%q,"every":"10s","expect":{"status":[200]}}`, s.URL))
	if v.State != StatePending || v.LastRun != nil {
		t.Fatalf("new check: %+v", v)
	}
	t0 := e.clock.Now()
	tick := func(at time.Time, wantHits int64) View {
		t.Helper()
		e.m.Tick(ctx, at)
		if n := hits.Load(); n != wantHits {
			t.Fatalf("at +%v: %d requests; want %d", at.Sub(t0), n, wantHits)
		}
		v, err := e.m.Get(1, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := tick(t0, 1); v.State != StateUp || v.LastRun == nil || !v.LastRun.At.Equal(t0) || !v.NextRun.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("first run: %+v", v)
	}
	tick(t0, 1)
	tick(t0.Add(10*time.Second-time.Millisecond), 1)
	fail.Store(true)
	if v := tick(t0.Add(10*time.Second), 2); v.State != StateDown || v.Failures != 1 || v.LastRun.Error != "status 503, expected 200" {
		t.Fatalf("down: %+v %+v", v, v.LastRun)
	}
	if v := tick(t0.Add(20*time.Second), 3); v.Failures != 2 {
		t.Fatalf("second failure: %+v", v)
	}
	fail.Store(false)
	// Late by 25 s: one run, and the next is every after it.
	if v := tick(t0.Add(55*time.Second), 4); v.State != StateUp || v.Failures != 0 || !v.NextRun.Equal(t0.Add(65*time.Second)) {
		t.Fatalf("recovered late: %+v", v)
	}
	tick(t0.Add(60*time.Second), 4)
	tick(t0.Add(65*time.Second), 5)
	pts := e.out.take()
	if len(pts) != 5 {
		t.Fatalf("%d points; want 5", len(pts))
	}
	for i, want := range []struct{ ok, failures, status float64 }{{1, 0, 200}, {0, 1, 503}, {0, 2, 503}, {1, 0, 200}, {1, 0, 200}} {
		p := pts[i]
		if p.Dataset != Dataset || p.Index != "api" || field(t, p, "ok") != want.ok || field(t, p, "consecutive_failures") != want.failures ||
			field(t, p, "status") != want.status || field(t, p, "type") != "http" || field(t, p, "check_id") != "1" || field(t, p, "url") != s.URL {
			t.Errorf("point %d: %+v; want %+v", i, p, want)
		}
	}
	runs, err := e.m.Runs(ctx, 1, v.ID, 2)
	if err != nil || len(runs) != 2 || runs[0].ID != 5 || !runs[0].At.Equal(t0.Add(65*time.Second)) || runs[1].ID != 4 {
		t.Fatalf("Runs = %+v, %v", runs, err)
	}
	if _, err := e.m.Runs(ctx, 2, v.ID, 2); !errors.Is(err, ErrNotFound) {
		t.Errorf("another project's runs: %v", err)
	}
	// A change restarts the state and runs at once; a reload keeps the
	// schedule.
	sp, _ := e.m.Decode([]byte(fmt.Sprintf(`{"name":"api v2","type":"http","url":%q,"every":"1m"}`, s.URL)))
	if v, err := e.m.Update(ctx, 1, v.ID, sp); err != nil || v.State != StatePending || v.LastRun != nil {
		t.Fatalf("Update = %+v, %v", v, err)
	}
	tick(t0.Add(66*time.Second), 6)
	m2, err := New(ctx, e.m.opts)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := m2.Get(1, v.ID); v.State != StateUp || v.Spec.Name != "api v2" || !v.NextRun.Equal(t0.Add(126*time.Second)) {
		t.Fatalf("reloaded: %+v", v)
	}
}

// A run asked for while the scheduled one is in progress waits for it:
// the target never sees two at once.
func TestNoOverlap(t *testing.T) {
	var active, most, hits atomic.Int64
	entered := make(chan struct{}, 2)
	release := make(chan struct{})
	s := site(t, func(w http.ResponseWriter, r *http.Request) {
		n := active.Add(1)
		defer active.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		hits.Add(1)
		entered <- struct{}{}
		<-release
	})
	e := newTestEnv(t, nil)
	v := e.create(fmt.Sprintf(`{"name":"api","type":"http","url":%q,"every":"10s"}`, s.URL))
	var wg sync.WaitGroup
	wg.Go(func() { e.m.Tick(context.Background(), e.clock.Now()) })
	<-entered
	var now Run
	wg.Go(func() {
		var err error
		if now, err = e.m.RunNow(context.Background(), 1, v.ID); err != nil {
			t.Error(err)
		}
	})
	// The scheduled run holds the check: a second tick finds it running.
	c := e.m.checks[v.ID]
	if c.runMu.TryLock() {
		t.Fatal("the check is not held during its run")
	}
	close(release)
	wg.Wait()
	if most.Load() != 1 || hits.Load() != 2 || now.ID != 2 || !now.OK {
		t.Fatalf("most %d at once, %d requests, run %+v", most.Load(), hits.Load(), now)
	}
}

// Page checks through a fake runner: without one they are unavailable and
// their runs say why (no point, no down); with one, a run keeps its
// score, metrics, recommendations and compressed report; a failed run is
// down; a full queue refuses a run asked for now.
func TestPageChecks(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t, nil)
	v := e.create(`{"name":"lesson page","type":"page","url":"https://app.example.com/lessons/7","every":"24h"}`)
	if v.State != StateUnavailable || !strings.Contains(v.Why, "lighthouse@12.2.3") {
		t.Fatalf("no runner: %+v", v)
	}
	r, err := e.m.RunNow(ctx, 1, v.ID)
	if err != nil || r.OK || !r.Unavailable || r.Error != NoRunnerWhy {
		t.Fatalf("RunNow without a runner = %+v, %v", r, err)
	}
	if pts := e.out.take(); len(pts) != 0 {
		t.Fatalf("an unavailable run wrote %d points", len(pts))
	}

	avail := atomic.Bool{}
	var gate chan struct{}
	pages := &fakePages{
		available: func() (bool, string) {
			if !avail.Load() {
				return false, "install Chromium: apt-get install chromium"
			}
			return true, ""
		},
		run: func(ctx context.Context, url, device string) (*PageResult, error) {
			if gate != nil {
				<-gate
			}
			if strings.Contains(url, "broken") {
				return nil, errors.New("lighthouse exited with status 1: NO_FCP")
			}
			res := &PageResult{Score: 72, ReportJSON: []byte(`{"lighthouseVersion":"12.2.3"}`), ReportHTML: []byte("<html>report</html>")}
			res.Metrics.LCP, res.Metrics.CLS, res.Metrics.TTFB = 4100, 0.12, 300
			res.Recommendations = []Recommendation{{Audit: "uses-responsive-images", Title: "Properly size images", SavingsMs: 1200, SavingsBytes: 350000}}
			return res, nil
		},
	}
	e = newTestEnv(t, func(o *Options) { o.Pages, o.PageConcurrency, o.PageQueue = pages, 1, 1 })
	v = e.create(`{"name":"lesson page","type":"page","url":"https://app.example.com/lessons/7","every":"24h","device":"desktop"}`)
	if v.State != StateUnavailable || v.Why != "install Chromium: apt-get install chromium" {
		t.Fatalf("runner unavailable: %+v", v)
	}
	avail.Store(true)
	e.m.availAt = time.Time{}
	e.m.Tick(ctx, e.clock.Now())
	v, _ = e.m.Get(1, v.ID)
	r = *v.LastRun
	if v.State != StateUp || !r.OK || r.Score == nil || *r.Score != 72 || r.Metrics.LCP != 4100 || r.Device != "desktop" || !r.HasReport ||
		len(r.Recommendations) != 1 || r.Recommendations[0].Title != "Properly size images" {
		t.Fatalf("page run: %+v %+v", v, r)
	}
	html, err := e.m.Report(ctx, 1, v.ID, r.ID, true)
	if err != nil || string(html) != "<html>report</html>" {
		t.Fatalf("HTML report = %q, %v", html, err)
	}
	if z := e.st.runs[len(e.st.runs)-1].ReportHTML; string(z) == "<html>report</html>" {
		t.Error("the report is stored uncompressed")
	}
	if js, err := e.m.Report(ctx, 1, v.ID, r.ID, false); err != nil || !strings.Contains(string(js), "12.2.3") {
		t.Fatalf("JSON report = %q, %v", js, err)
	}
	pts := e.out.take()
	if len(pts) != 1 || field(t, pts[0], "score") != 72.0 || field(t, pts[0], "lcp") != 4100.0 || field(t, pts[0], "device") != "desktop" || field(t, pts[0], "type") != "page" {
		t.Fatalf("page point: %+v", pts)
	}
	b, _ := r.MarshalJSON()
	for _, key := range []string{`"score":72`, `"metrics":{"lcp":4100,"cls":0.12,"fcp":0,"tbt":0,"si":0,"ttfb":300}`,
		`"recommendations":[{"audit":"uses-responsive-images","title":"Properly size images","savingsMs":1200,"savingsBytes":350000}]`, `"device":"desktop"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("run JSON %s lacks %s", b, key)
		}
	}
	if _, err := e.m.Report(ctx, 2, v.ID, r.ID, true); !errors.Is(err, ErrNotFound) {
		t.Errorf("another project's report: %v", err)
	}

	broken := e.create(`{"name":"broken","type":"page","url":"https://app.example.com/broken","every":"1h"}`)
	if r, err := e.m.RunNow(ctx, 1, broken.ID); err != nil || r.OK || r.Error != "lighthouse exited with status 1: NO_FCP" || r.Score != nil {
		t.Fatalf("failed page run = %+v, %v", r, err)
	}
	if v, _ := e.m.Get(1, broken.ID); v.State != StateDown {
		t.Fatalf("failed page check: %+v", v)
	}
	if _, err := e.m.Report(ctx, 1, broken.ID, 3, true); !errors.Is(err, ErrNoReport) {
		t.Errorf("report of a failed run: %v", err)
	}

	// Concurrency 1 and a queue of 1: two runs held, a third is refused.
	gate = make(chan struct{})
	var wg sync.WaitGroup
	held := func(id int64, places int) {
		wg.Go(func() {
			if _, err := e.m.RunNow(ctx, 1, id); err != nil {
				t.Error(err)
			}
		})
		for len(e.m.pageSem) < places { // until the run holds its place
			time.Sleep(time.Millisecond)
		}
	}
	held(v.ID, 1)
	held(broken.ID, 2)
	third := e.create(`{"name":"third","type":"page","url":"https://app.example.com/3","every":"1h"}`)
	if _, err := e.m.RunNow(ctx, 1, third.ID); !errors.Is(err, ErrBusy) {
		t.Errorf("a third page run: %v; want ErrBusy", err)
	}
	close(gate)
	wg.Wait()
}
