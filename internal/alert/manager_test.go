package alert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the zones, wherever the tests run
)

// The states through a breach and back, on a fake clock ticking every
// 10 s, for each for around the breach's length: firing exactly when the
// breach has lasted for (not a tick before), one tick later for 1 ms more,
// never when the breach ends first.
func TestStatesForEdges(t *testing.T) {
	const (
		O = StateOK
		P = StatePending
		F = StateFiring
		R = StateResolved
	)
	// Ticks 1 to 6 see 3 requests in their 10 s window (a breach of > 2);
	// ticks 0 and 7 to 9 see none.
	for _, c := range []struct {
		forD string
		want []string // the state after ticks 0..9
	}{
		{"0s", []string{O, F, F, F, F, F, F, R, O, O}},
		{"10s", []string{O, P, F, F, F, F, F, R, O, O}},
		{"29999ms", []string{O, P, P, P, F, F, F, R, O, O}},
		{"30s", []string{O, P, P, P, F, F, F, R, O, O}},
		{"30001ms", []string{O, P, P, P, P, F, F, R, O, O}},
		{"50s", []string{O, P, P, P, P, P, F, R, O, O}},
		{"50001ms", []string{O, P, P, P, P, P, P, O, O, O}},
		{"2m", []string{O, P, P, P, P, P, P, O, O, O}},
	} {
		t.Run("for="+c.forD, func(t *testing.T) {
			e := newTestEnv(t, nil)
			t0 := e.now
			for k := 1; k <= 6; k++ {
				e.exec.add("requests", t0.Add(time.Duration(k)*10*time.Second-5*time.Second), 1, 1, 1)
			}
			e.create(fmt.Sprintf(`{"name":"chat errors","query":{"dataset":"requests","range":"10s","aggregations":{"n":{"type":"count"}}},
				"condition":{"op":">","value":2},"for":%q,"every":"10s"}`, c.forD))
			var got []string
			for k := 0; k < 10; k++ {
				d := 10 * time.Second
				if k == 0 {
					d = 0
				}
				got = append(got, e.tick(d).State.State)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("states = %v\n          want %v", got, c.want)
			}
			// Every transition is in the history, with its value and time.
			h, _ := e.m.History(1, 1)
			var trans []string
			for i := len(h) - 1; i >= 0; i-- {
				if h[i].Kind == EntryTransition {
					trans = append(trans, h[i].From+">"+h[i].To)
					if h[i].Value == nil || h[i].At.IsZero() || h[i].Source != "rollup" {
						t.Errorf("entry %+v lacks a value, a time or a source", h[i])
					}
				}
			}
			var want []string
			for k := 1; k < len(c.want); k++ {
				if c.want[k] != c.want[k-1] {
					want = append(want, c.want[k-1]+">"+c.want[k])
				}
			}
			if fmt.Sprint(trans) != fmt.Sprint(want) {
				t.Errorf("history transitions = %v; want %v", trans, want)
			}
		})
	}
}

// An evaluation runs only when due: ticks between two evaluations change
// nothing, and a late tick evaluates once.
func TestSchedule(t *testing.T) {
	e := newTestEnv(t, nil)
	e.create(`{"name":"x","query":{"dataset":"requests","range":"1m","aggregations":{"n":{"type":"count"}}},"condition":{"op":">","value":0},"every":"30s"}`)
	v := e.tick(0)
	if !v.State.LastEvaluation.Equal(e.now) || !v.NextEvaluation.Equal(e.now.Add(30*time.Second)) {
		t.Fatalf("after the first tick: %+v", v)
	}
	first := e.now
	e.exec.add("requests", e.now.Add(time.Second), 1)
	if v = e.tick(29*time.Second + 999*time.Millisecond); !v.State.LastEvaluation.Equal(first) || v.State.State != StateOK {
		t.Fatalf("a tick 1 ms early evaluated: %+v", v.State)
	}
	if v = e.tick(time.Millisecond); v.State.State != StateFiring {
		t.Fatalf("the due tick did not fire: %+v", v.State)
	}
	// Two intervals late: one evaluation, the next one an interval on.
	e.tick(75 * time.Second)
	if v = e.rule(1); !v.NextEvaluation.Equal(e.now.Add(30 * time.Second)) {
		t.Fatalf("next evaluation %v; want %v", v.NextEvaluation, e.now.Add(30*time.Second))
	}
}

// receiver is a webhook target on loopback that answers with the statuses
// it is given, then 200, and keeps what it received.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	bodies   []string
	ids      []string
	srv      *httptest.Server
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.bodies = append(r.bodies, string(b))
		r.ids = append(r.ids, req.Header.Get("X-Alidade-Delivery"))
		code := 200
		if len(r.statuses) > 0 {
			code, r.statuses = r.statuses[0], r.statuses[1:]
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "answer %d", code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) take() (bodies, ids []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	bodies, ids, r.bodies, r.ids = r.bodies, r.ids, nil, nil
	return bodies, ids
}

// A webhook that fails twice is retried after 1 s and 2 s, with the same
// body and delivery id; each attempt is in the history; a restart neither
// repeats a delivered notification nor forgets a firing rule.
func TestNotificationRetriesAndRestart(t *testing.T) {
	e := newTestEnv(t, nil)
	rc := newReceiver(t, 500, 503)
	e.exec.add("requests", e.now.Add(-time.Second), 1, 1, 1)
	e.create(fmt.Sprintf(`{"name":"chat errors","query":{"dataset":"requests","range":"5m","aggregations":{"n":{"type":"count"}}},
		"condition":{"op":">","value":2},"for":"0s","every":"10s","notify":[{"type":"webhook","url":%q}]}`, rc.srv.URL))
	t0 := e.now
	want := `{"rule":{"id":1,"name":"chat errors"},"state":"firing","value":3,"condition":{"op":">","value":2},"at":"2026-11-27T10:00:00Z","url":"https://alidade.example.com/alerts/1"}`
	v := e.tick(0)
	if v.State.State != StateFiring || v.Pending != 1 {
		t.Fatalf("after the breach: %+v pending %d", v.State, v.Pending)
	}
	bodies, ids := rc.take()
	if len(bodies) != 1 || bodies[0] != want || ids[0] != "1-1-0" {
		t.Fatalf("first attempt: %q %q\nwant %q", bodies, ids, want)
	}
	// 999 ms later: not yet; at 1 s: the second attempt (503); 2 s after it: the third (200).
	e.tick(999 * time.Millisecond)
	if b, _ := rc.take(); len(b) != 0 {
		t.Fatalf("retried before its time: %q", b)
	}
	e.tick(time.Millisecond)
	if b, _ := rc.take(); len(b) != 1 || b[0] != want {
		t.Fatalf("second attempt: %q", b)
	}
	e.tick(1999 * time.Millisecond)
	if b, _ := rc.take(); len(b) != 0 {
		t.Fatalf("retried before its time: %q", b)
	}
	v = e.tick(time.Millisecond)
	if b, ids := rc.take(); len(b) != 1 || b[0] != want || ids[0] != "1-1-0" {
		t.Fatalf("third attempt: %q %q", b, ids)
	}
	if v.Pending != 0 {
		t.Fatalf("delivered, yet %d pending", v.Pending)
	}
	h, _ := e.m.History(1, 1)
	var got []string
	for i := len(h) - 1; i >= 0; i-- {
		if x := h[i]; x.Kind == EntryNotification {
			got = append(got, fmt.Sprintf("%d:%d:%v:%s:%s", x.Attempt, x.Status, x.OK, x.Message, x.At.Sub(t0)))
		}
	}
	if w := "[1:500:false:answer 500:0s 2:503:false:answer 503:1s 3:200:true:answer 200:3s]"; fmt.Sprint(got) != w {
		t.Fatalf("notification history = %v\nwant %s", got, w)
	}

	// A restart: the rule is firing still and notifies nothing more while
	// the breach lasts.
	e.m = e.open()
	if v := e.rule(1); v.State.State != StateFiring || v.State.Seq != 1 {
		t.Fatalf("after a restart: %+v", v.State)
	}
	e.tick(10 * time.Second)
	if b, _ := rc.take(); len(b) != 0 {
		t.Fatalf("a restart notified again: %q", b)
	}
	// The breach ends (its points leave the 5 m window): resolved, once.
	e.tick(5 * time.Minute)
	e.tick(10 * time.Second)
	b, ids := rc.take()
	wantResolved := `{"rule":{"id":1,"name":"chat errors"},"state":"resolved","value":0,"condition":{"op":">","value":2},"at":"` +
		t0.Add(5*time.Minute+13*time.Second).UTC().Format(time.RFC3339Nano) + `","url":"https://alidade.example.com/alerts/1"}`
	if len(b) != 1 || b[0] != wantResolved || ids[0] != "1-2-0" {
		t.Fatalf("resolved: %q %q\nwant %q", b, ids, wantResolved)
	}
	if v := e.rule(1); v.State.State != StateOK {
		t.Fatalf("after resolved and a clean tick: %s; want ok", v.State.State)
	}
}

// A notification queued but not delivered when the server stops is sent
// after the restart, as the next attempt of the same delivery.
func TestOutboxSurvivesRestart(t *testing.T) {
	e := newTestEnv(t, nil)
	rc := newReceiver(t, 500)
	e.exec.add("requests", e.now.Add(-time.Second), 1)
	e.create(fmt.Sprintf(`{"name":"x","query":{"dataset":"requests","range":"5m","aggregations":{"n":{"type":"count"}}},
		"condition":{"op":">","value":0},"notify":[{"type":"webhook","url":%q}]}`, rc.srv.URL))
	e.tick(0)
	if b, _ := rc.take(); len(b) != 1 {
		t.Fatalf("first attempt: %q", b)
	}
	e.m = e.open()
	if v := e.rule(1); v.Pending != 1 {
		t.Fatalf("after a restart %d pending; want 1", v.Pending)
	}
	e.tick(time.Second)
	if b, ids := rc.take(); len(b) != 1 || ids[0] != "1-1-0" {
		t.Fatalf("after the restart: %q %q", b, ids)
	}
	h, _ := e.m.History(1, 1)
	if h[0].Kind != EntryNotification || h[0].Attempt != 2 || !h[0].OK {
		t.Fatalf("latest entry %+v; want the second attempt, delivered", h[0])
	}
}

// Attempts are bounded; a 4xx other than 408 and 429 is not retried; both
// failures are final in the history.
func TestNotificationGivesUp(t *testing.T) {
	e := newTestEnv(t, func(o *Options) { o.MaxAttempts = 3 })
	always := newReceiver(t, 500, 500, 500, 500)
	gone := newReceiver(t, 404)
	e.exec.add("requests", e.now.Add(-time.Second), 1)
	e.create(fmt.Sprintf(`{"name":"x","query":{"dataset":"requests","range":"5m","aggregations":{"n":{"type":"count"}}},
		"condition":{"op":">","value":0},"notify":[{"type":"webhook","url":%q},{"type":"slack","url":%q}]}`, always.srv.URL, gone.srv.URL))
	for _, d := range []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		e.tick(d)
	}
	if b, _ := always.take(); len(b) != 3 {
		t.Errorf("the failing webhook got %d attempts; want 3", len(b))
	}
	if b, _ := gone.take(); len(b) != 1 {
		t.Errorf("the 404 target got %d attempts; want 1", len(b))
	}
	h, _ := e.m.History(1, 1)
	finals := 0
	for _, x := range h {
		if x.Kind == EntryNotification && x.Final {
			finals++
		}
	}
	if finals != 2 || e.rule(1).Pending != 0 {
		t.Errorf("%d final failures, %d pending; want 2 and 0: %+v", finals, e.rule(1).Pending, h)
	}
}

// The Slack body: text and one mrkdwn section, escaped.
func TestSlackBody(t *testing.T) {
	v := 12.5
	got := string(SlackBody(Message{Rule: RuleRef{ID: 3, Name: "p95 <chat>"}, State: StateFiring, Value: &v,
		Condition: Condition{Op: ">", Value: 2000}, At: "2026-11-27T10:00:00Z", URL: "https://a.example/alerts/3"}))
	text := `:rotating_light: *p95 &lt;chat&gt;* FIRING: value 12.5 (condition &gt; 2000) at 2026-11-27T10:00:00Z <https://a.example/alerts/3|open the rule>`
	want := `{"blocks":[{"text":{"text":"` + text + `","type":"mrkdwn"},"type":"section"}],"text":"` + text + `"}`
	want = strings.ReplaceAll(want, "<", `\u003c`)
	want = strings.ReplaceAll(want, ">", `\u003e`)
	want = strings.ReplaceAll(want, "&", `\u0026`)
	if got != want {
		t.Fatalf("SlackBody =\n%s\nwant\n%s", got, want)
	}
}

// A failing query shows in the state and once in the history (not once a
// tick), and its recovery too.
func TestQueryErrorVisible(t *testing.T) {
	e := newTestEnv(t, nil)
	e.create(`{"name":"x","query":{"dataset":"requests","range":"5m","aggregations":{"n":{"type":"count"}}},"condition":{"op":">","value":0},"every":"1s"}`)
	e.exec.fail = errors.New("disk on fire")
	for range 3 {
		e.tick(time.Second)
	}
	v := e.rule(1)
	if !strings.Contains(v.State.Error, "disk on fire") || v.State.State != StateOK {
		t.Fatalf("state %+v; want the error shown", v.State)
	}
	h, _ := e.m.History(1, 1)
	if len(h) != 1 || h[0].Kind != EntryError || !strings.Contains(h[0].Message, "disk on fire") {
		t.Fatalf("history %+v; want one error entry", h)
	}
	e.exec.fail = nil
	if v = e.tick(time.Second); v.State.Error != "" {
		t.Fatalf("after recovery: %+v", v.State)
	}
	if h, _ = e.m.History(1, 1); h[0].Kind != EntryRecovered {
		t.Fatalf("latest entry %+v; want recovered", h[0])
	}
	// A query the schema no longer answers is an error too, naming the part.
	e2 := newTestEnv(t, nil)
	e2.create(`{"name":"x","query":{"dataset":"requests","range":"5m","aggregations":{"d":{"type":"avg","field":"duration"}}},"condition":{"op":">","value":0}}`)
	e2.m.opts.Schemas = nil
	if v := e2.tick(0); !strings.Contains(v.State.Error, "query.aggregations.d.field") {
		t.Fatalf("state %+v; want the query's error", v.State)
	}
}

// No value (an average over no points): noData decides.
func TestNoData(t *testing.T) {
	for _, c := range []struct{ noData, want string }{{"", StateOK}, {"ok", StateOK}, {"firing", StateFiring}, {"keep", StatePending}} {
		e := newTestEnv(t, nil)
		nd := ""
		if c.noData != "" {
			nd = fmt.Sprintf(`,"noData":%q`, c.noData)
		}
		e.exec.add("requests", e.now.Add(-time.Second), 3000)
		e.create(`{"name":"p95","query":{"dataset":"requests","range":"1m","aggregations":{"d":{"type":"avg","field":"duration"}}},
			"condition":{"op":">","value":2000},"for":"1m","every":"1m"` + nd + `}`)
		e.tick(0) // pending: 3000 > 2000
		v := e.tick(2 * time.Minute)
		if v.State.State != c.want || v.State.Value != nil {
			t.Errorf("noData %q: %s value %v; want %s and no value", c.noData, v.State.State, v.State.Value, c.want)
		}
	}
}

// Where the answers come from is in the state, with the planner's reason
// when rollups cannot answer, and a change is in the history.
func TestSourceNote(t *testing.T) {
	e := newTestEnv(t, nil)
	e.create(`{"name":"x","query":{"dataset":"requests","range":"5m","aggregations":{"n":{"type":"count"}}},"condition":{"op":">","value":0},"every":"1s"}`)
	if v := e.tick(0); v.State.Source != "rollup" || v.State.SourceNote != "" {
		t.Fatalf("state %+v; want rollup", v.State)
	}
	e.exec.source = "raw"
	v := e.tick(time.Second)
	if v.State.Source != "raw" || v.State.SourceNote != "rollups cannot answer this query: a test" {
		t.Fatalf("state %+v; want raw and the planner's reason", v.State)
	}
	if h, _ := e.m.History(1, 1); h[0].Kind != EntrySource || !strings.Contains(h[0].Message, "raw points: rollups cannot") {
		t.Fatalf("latest entry %+v", h[0])
	}
}

// Editing a rule restarts its state at ok and says so; deleting it stops
// it; another project sees neither.
func TestUpdateDelete(t *testing.T) {
	e := newTestEnv(t, nil)
	e.exec.add("requests", e.now.Add(-time.Second), 1)
	body := `{"name":"x","query":{"dataset":"requests","range":"5m","aggregations":{"n":{"type":"count"}}},"condition":{"op":">","value":0}}`
	e.create(body)
	if v := e.tick(0); v.State.State != StateFiring {
		t.Fatalf("%+v", v.State)
	}
	sp, _ := e.m.Decode(1, []byte(strings.Replace(body, `"value":0`, `"value":5`, 1)))
	if _, err := e.m.Update(context.Background(), 2, 1, sp); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another project's update: %v", err)
	}
	v, err := e.m.Update(context.Background(), 1, 1, sp)
	if err != nil || v.State.State != StateOK || v.Spec.Condition.Value != 5 {
		t.Fatalf("Update = %+v, %v", v, err)
	}
	if h, _ := e.m.History(1, 1); h[0].Kind != EntryUpdated || h[0].From != StateFiring {
		t.Fatalf("latest entry %+v", h[0])
	}
	if err := e.m.Delete(context.Background(), 2, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another project's delete: %v", err)
	}
	if err := e.m.Delete(context.Background(), 1, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Get(1, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	e.m.Tick(context.Background(), e.now.Add(time.Hour))
}

// Test sends to each target once and says what each answered.
func TestTestSend(t *testing.T) {
	e := newTestEnv(t, nil)
	ok, bad := newReceiver(t), newReceiver(t, 400)
	e.create(fmt.Sprintf(`{"name":"x","query":{"dataset":"requests","range":"5m","aggregations":{"n":{"type":"count"}}},
		"condition":{"op":">","value":0},"notify":[{"type":"webhook","url":%q},{"type":"slack","url":%q}]}`, ok.srv.URL, bad.srv.URL))
	res, err := e.m.Test(context.Background(), 1, 1)
	if err != nil || len(res) != 2 || !res[0].OK || res[0].Status != 200 || res[1].OK || res[1].Status != 400 || res[1].Message != "answer 400" {
		t.Fatalf("Test = %+v, %v", res, err)
	}
	b, _ := ok.take()
	if len(b) != 1 || !strings.Contains(b[0], `"state":"test"`) {
		t.Fatalf("test body %q", b)
	}
	if sb, _ := bad.take(); len(sb) != 1 || !strings.Contains(sb[0], `"text":`) {
		t.Fatalf("slack test body %q", sb)
	}
	if _, err := e.m.Test(context.Background(), 2, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another project's test: %v", err)
	}
}

// With ForbidPrivate, a loopback target is refused on the connection,
// without retries.
func TestForbidPrivate(t *testing.T) {
	e := newTestEnv(t, func(o *Options) { o.ForbidPrivate = true })
	rc := newReceiver(t)
	e.create(fmt.Sprintf(`{"name":"x","query":{"dataset":"requests","range":"5m","aggregations":{"n":{"type":"count"}}},
		"condition":{"op":">","value":0},"notify":[{"type":"webhook","url":%q}]}`, rc.srv.URL))
	res, _ := e.m.Test(context.Background(), 1, 1)
	if len(res) != 1 || res[0].OK || !strings.Contains(res[0].Message, "not allowed") {
		t.Fatalf("Test = %+v; want the address refused", res)
	}
	if b, _ := rc.take(); len(b) != 0 {
		t.Fatalf("the loopback target received %q", b)
	}
}

// "today" starts at midnight in the rule's timezone, on days when clocks
// change too (23 and 25 hour days).
func TestTodayRange(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal("no tz database:", err)
	}
	for _, c := range []struct{ now, from string }{
		{"2026-11-01T20:00:00Z", "2026-11-01T04:00:00Z"}, // fall back: a 25 h day starting in EDT
		{"2026-11-02T12:00:00Z", "2026-11-02T05:00:00Z"},
		{"2026-03-08T20:00:00Z", "2026-03-08T05:00:00Z"}, // spring forward: a 23 h day starting in EST
		{"2026-03-09T03:59:59Z", "2026-03-08T05:00:00Z"},
		{"2026-03-09T04:00:00Z", "2026-03-09T04:00:00Z"},
	} {
		now, _ := time.Parse(time.RFC3339, c.now)
		want, _ := time.Parse(time.RFC3339, c.from)
		from, to := TodayRange(now, ny)
		if from != want.UnixMilli() || to != max(now.UnixMilli(), from+1) {
			t.Errorf("TodayRange(%s) = [%s, %s); want from %s", c.now, time.UnixMilli(from).UTC(), time.UnixMilli(to).UTC(), c.from)
		}
	}
	from, to := TodayRange(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	if to != from+1 {
		t.Errorf("at midnight: [%d, %d); want one millisecond", from, to)
	}
}
