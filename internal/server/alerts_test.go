package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/server"
	"github.com/alidade/alidade/internal/server/servertest"
)

// hookReceiver is a notification target on loopback: it answers with the
// statuses it is given, then 200, and keeps every body.
type hookReceiver struct {
	mu       sync.Mutex
	statuses []int
	bodies   []string
	srv      *httptest.Server
}

func newHookReceiver(t *testing.T, statuses ...int) *hookReceiver {
	h := &hookReceiver{statuses: statuses}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if r.Header.Get("Content-Type") != "application/json" {
			b = append([]byte("BAD CONTENT TYPE "), b...)
		}
		h.bodies = append(h.bodies, string(b))
		code := 200
		if len(h.statuses) > 0 {
			code, h.statuses = h.statuses[0], h.statuses[1:]
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "status %d", code)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.bodies
	h.bodies = nil
	return b
}

// writeNamed writes points in the named form to a dataset.
func (e *env) writeNamed(ds string, pts ...map[string]any) {
	e.t.Helper()
	var a struct{ Accepted int }
	if code := e.call("POST", "/api/v1/datasets/"+ds+"/points", e.keys[meta.KindWrite], pts, nil, &a); code != 200 || a.Accepted != len(pts) {
		e.t.Fatalf("write %s = %d, %d accepted of %d", ds, code, a.Accepted, len(pts))
	}
}

func chatRequests(at time.Time, n int, status float64) []map[string]any {
	var out []map[string]any
	for range n {
		out = append(out, map[string]any{"index": "POST /api/chat", "timestamp": at.UnixMilli(),
			"fields": map[string]any{"method": "POST", "duration": 120, "status": status}})
	}
	return out
}

type alertRule struct {
	ID                   int64
	Name, State, Error   string
	Source, SourceNote   string
	Value                *float64
	PendingNotifications int
	URL                  string
	Notify               []struct{ Type, URL string }
}

type alertEntry struct {
	At                            time.Time
	Kind, From, To, Type, Message string
	Value                         *float64
	Seq                           int64
	Target                        *int
	Attempt, Status               int
	OK, Final                     bool
}

func (e *env) alert(key string, id int64) alertRule {
	e.t.Helper()
	var a alertRule
	if code := e.call("GET", fmt.Sprintf("/api/v1/alerts/%d", id), key, nil, nil, &a); code != 200 {
		e.t.Fatalf("GET alert %d = %d", id, code)
	}
	return a
}

func (e *env) alertHistory(id int64) []alertEntry {
	e.t.Helper()
	var h struct{ History []alertEntry }
	if code := e.call("GET", fmt.Sprintf("/api/v1/alerts/%d/history", id), e.keys[meta.KindRead], nil, nil, &h); code != 200 {
		e.t.Fatalf("GET history %d = %d", id, code)
	}
	return h.History
}

// Requests to /api/chat driven into an error rate over 5 % and back, on a
// fake clock: ok → pending → firing (after for) → resolved → ok; the
// webhook's exact bodies, received on loopback, its two 500s retried and
// visible in the history; the Slack body.
func TestAlertBreachAndBack(t *testing.T) {
	base := time.Now().UTC().Truncate(time.Minute).Add(-30 * time.Minute)
	var now atomic.Int64
	now.Store(base.UnixMilli())
	clock := func() time.Time { return time.UnixMilli(now.Load()).UTC() }
	e := newEnv(t, envOptions{server: func(o *server.Options) {
		o.Clock = clock
		o.PublicURL = "https://alidade.example.com"
	}})
	hook, slack := newHookReceiver(t, 500, 500), newHookReceiver(t)
	var created alertRule
	body := fmt.Sprintf(`{"name":"chat errors","query":{"dataset":"requests","range":"5m","filter":[{"field":"endpoint","op":"=","value":"POST /api/chat"}],
		"aggregations":{"errorRate":{"type":"percentage","filter":{"field":"status","op":">=","value":500}}}},
		"condition":{"op":">","value":5},"for":"1m","every":"30s","notify":[{"type":"webhook","url":%q},{"type":"slack","url":%q}]}`, hook.srv.URL, slack.srv.URL)
	if code := e.call("POST", "/api/v1/alerts", e.keys[meta.KindAdmin], body, nil, &created); code != 201 || created.ID != 1 || created.State != "ok" {
		t.Fatalf("POST /api/v1/alerts = %d %+v", code, created)
	}
	tick := func(d time.Duration) alertRule {
		t.Helper()
		now.Add(d.Milliseconds())
		e.srv.TickAlerts(context.Background(), clock())
		return e.alert(e.keys[meta.KindRead], 1)
	}
	if a := tick(0); a.State != "ok" || a.Value != nil || a.Error != "" {
		t.Fatalf("no data: %+v", a)
	}
	// 10 requests, 2 of them 500: 20 %.
	e.writeNamed("requests", append(chatRequests(base.Add(10*time.Second), 8, 200), chatRequests(base.Add(11*time.Second), 2, 500)...)...)
	if a := tick(30 * time.Second); a.State != "pending" || a.Value == nil || *a.Value != 20 {
		t.Fatalf("breach: %+v", a)
	}
	if a := tick(30 * time.Second); a.State != "pending" {
		t.Fatalf("30 s into a 1 m for: %+v", a)
	}
	if b := hook.take(); len(b) != 0 {
		t.Fatalf("notified while pending: %q", b)
	}
	firedAt := base.Add(90 * time.Second)
	if a := tick(30 * time.Second); a.State != "firing" || a.PendingNotifications != 1 {
		t.Fatalf("1 m into the breach: %+v", a)
	}
	want := `{"rule":{"id":1,"name":"chat errors"},"state":"firing","value":20,"condition":{"op":">","value":5},"at":"` +
		firedAt.Format(time.RFC3339Nano) + `","url":"https://alidade.example.com/alerts/1?project=1"}`
	if b := hook.take(); len(b) != 1 || b[0] != want {
		t.Fatalf("webhook bodies %q\nwant %q", b, want)
	}
	if b := slack.take(); len(b) != 1 || !strings.HasPrefix(b[0], `{"blocks":[{"text":{"text":":rotating_light: *chat errors* FIRING: value 20 (condition \u0026gt; 5) at `+firedAt.Format(time.RFC3339Nano)) {
		t.Fatalf("slack bodies %q", b)
	}
	// Retried after 1 s (500 again), then 2 s later (200): the same body.
	tick(time.Second)
	tick(2 * time.Second)
	if b := hook.take(); len(b) != 2 || b[0] != want || b[1] != want {
		t.Fatalf("retries %q", b)
	}
	if b := slack.take(); len(b) != 0 {
		t.Fatalf("slack notified twice: %q", b)
	}
	// Back under 5 %: 30 more good requests make 2 of 40, 5 %.
	e.writeNamed("requests", chatRequests(base.Add(100*time.Second), 30, 200)...)
	resolvedAt := base.Add(120 * time.Second)
	if a := tick(resolvedAt.Sub(clock())); a.State != "resolved" || *a.Value != 5 {
		t.Fatalf("back under: %+v", a)
	}
	wantResolved := `{"rule":{"id":1,"name":"chat errors"},"state":"resolved","value":5,"condition":{"op":">","value":5},"at":"` +
		resolvedAt.Format(time.RFC3339Nano) + `","url":"https://alidade.example.com/alerts/1?project=1"}`
	if b := hook.take(); len(b) != 1 || b[0] != wantResolved {
		t.Fatalf("resolved bodies %q\nwant %q", b, wantResolved)
	}
	if b := slack.take(); len(b) != 1 || !strings.Contains(b[0], "RESOLVED") {
		t.Fatalf("slack resolved %q", b)
	}
	if a := tick(30 * time.Second); a.State != "ok" {
		t.Fatalf("after resolved: %+v", a)
	}

	// The history: every transition and every attempt, newest first.
	var got []string
	h := e.alertHistory(1)
	for i := len(h) - 1; i >= 0; i-- {
		x := h[i]
		switch x.Kind {
		case "transition":
			got = append(got, fmt.Sprintf("%s>%s@%s", x.From, x.To, x.At.Sub(base)))
		case "notification":
			got = append(got, fmt.Sprintf("%s:%s#%d:%d:%v:%s", x.To, x.Type, x.Attempt, x.Status, x.OK, x.At.Sub(base)))
		}
	}
	wantHist := "[ok>pending@30s pending>firing@1m30s firing:webhook#1:500:false:1m30s firing:slack#1:200:true:1m30s " +
		"firing:webhook#2:500:false:1m31s firing:webhook#3:200:true:1m33s firing>resolved@2m0s resolved:webhook#1:200:true:2m0s " +
		"resolved:slack#1:200:true:2m0s resolved>ok@2m30s]"
	if fmt.Sprint(got) != wantHist {
		t.Fatalf("history\n%v\nwant\n%s", got, wantHist)
	}
	if h[len(h)-3].Message != "status 500" {
		t.Errorf("the failure's answer is not in the history: %+v", h[len(h)-3])
	}
}

// The API: validation naming the field, keys' kinds, another project's
// 404s, read keys seeing targets cut to their host, the test-send, a
// restart keeping rules and states.
func TestAlertRulesAPI(t *testing.T) {
	dir := t.TempDir()
	hook := newHookReceiver(t, 502)
	secret := hook.srv.URL + "/services/T000/B000/secret"
	body := fmt.Sprintf(`{"name":"silence","query":{"dataset":"requests","range":"10m","aggregations":{"n":{"type":"count"}}},
		"condition":{"op":"==","value":0},"every":"1m","notify":[{"type":"webhook","url":%q}]}`, secret)
	var keys map[meta.KeyKind]string
	t.Run("first start", func(t *testing.T) {
		e := newEnvDir(t, dir, nil)
		keys = e.keys
		alertRulesFirstStart(t, e, body, secret, hook)
	})
	// A restart keeps the rule and its state.
	t.Run("restart", func(t *testing.T) {
		e := newEnvDir(t, dir, keys)
		admin, read := e.keys[meta.KindAdmin], e.keys[meta.KindRead]
		if got := e.alert(read, 1); got.State != "firing" || got.Name != "silence" {
			t.Fatalf("after a restart: %+v", got)
		}
		// PUT replaces it; DELETE removes it.
		var u alertRule
		if code := e.call("PUT", "/api/v1/alerts/1", admin, strings.Replace(body, "silence", "quiet", 1), nil, &u); code != 200 || u.Name != "quiet" || u.State != "ok" {
			t.Fatalf("PUT = %d %+v", code, u)
		}
		if code := e.call("DELETE", "/api/v1/alerts/1", admin, nil, nil, nil); code != 204 {
			t.Fatalf("DELETE = %d", code)
		}
		if code := e.call("GET", "/api/v1/alerts/1", read, nil, nil, nil); code != 404 {
			t.Fatalf("GET after DELETE = %d", code)
		}
	})
}

// newEnvDir starts a server on dir; keys are the default project's, from
// its first start (nil: this is it).
func newEnvDir(t *testing.T, dir string, keys map[meta.KeyKind]string) *env {
	t.Helper()
	se := servertest.Start(t, servertest.Options{RootKey: rootKey, Dir: dir})
	if keys == nil {
		keys = se.Keys
	}
	return &env{t: t, url: se.URL, keys: keys, store: se.Store, srv: se.Server, pipe: se.Pipeline}
}

func alertRulesFirstStart(t *testing.T, e *env, body, secret string, hook *hookReceiver) {
	admin, read := e.keys[meta.KindAdmin], e.keys[meta.KindRead]
	var a alertRule
	if code := e.call("POST", "/api/v1/alerts", read, body, nil, nil); code != 403 {
		t.Fatalf("read key POST = %d; want 403", code)
	}
	if code := e.call("POST", "/api/v1/alerts", admin, body, nil, &a); code != 201 || a.Notify[0].URL != secret {
		t.Fatalf("POST = %d %+v", code, a)
	}
	for _, c := range []struct{ body, want string }{
		{`{"name":"x"}`, "alert rule: query: is required"},
		{strings.Replace(body, `"every":"1m"`, `"every":"500ms"`, 1), "alert rule: every: is 500ms; it must be from 1s"},
		{strings.Replace(body, `"op":"=="`, `"op":"=>"`, 1), "alert rule: condition.op:"},
		{strings.Replace(body, `"type":"webhook"`, `"type":"pager"`, 1), "alert rule: notify[0].type:"},
		{strings.Replace(body, secret, "ftp://example.com/x", 1), "alert rule: notify[0].url: must be an http or https URL"},
		{strings.Replace(body, `"count"`, `"avg","field":"nope"`, 1), "alert rule: query.aggregations.n.field:"},
	} {
		var ae apiError
		if code := e.call("POST", "/api/v1/alerts", admin, c.body, nil, &ae); code != 400 || !strings.HasPrefix(ae.Error.Message, c.want) {
			t.Errorf("POST %s = %d %q; want 400 starting %q", c.body, code, ae.Error.Message, c.want)
		}
	}
	// A read key lists and reads, with the target cut to its host.
	var list struct{ Alerts []alertRule }
	if code := e.call("GET", "/api/v1/alerts", read, nil, nil, &list); code != 200 || len(list.Alerts) != 1 ||
		list.Alerts[0].Notify[0].URL != "http://"+hook.srv.Listener.Addr().String()+"/…" {
		t.Fatalf("GET /api/v1/alerts = %d %+v", code, list)
	}
	// No data for 10 minutes: count == 0 fires at once (for 0s).
	e.srv.TickAlerts(context.Background(), time.Now())
	if got := e.alert(read, 1); got.State != "firing" || got.Value == nil || *got.Value != 0 {
		t.Fatalf("silence rule: %+v", got)
	}
	// The test-send answers what the target said; it is in the history.
	var tr struct {
		Results []struct {
			Target, Status int
			Type, Message  string
			OK             bool
		}
	}
	if code := e.call("POST", "/api/v1/alerts/1/test", admin, nil, nil, &tr); code != 200 || len(tr.Results) != 1 || !tr.Results[0].OK ||
		tr.Results[0].Status != 200 || tr.Results[0].Message != "status 200" {
		t.Fatalf("POST test = %d %+v", code, tr)
	}
	// The firing notification got the 502 (its retry is due in 1 s); the
	// test-send is in the history after it.
	b := hook.take()
	if len(b) != 2 || !strings.Contains(b[0], `"state":"firing","value":0`) || !strings.Contains(b[1], `"state":"test","value":0`) {
		t.Fatalf("bodies %q", b)
	}
	h := e.alertHistory(1)
	if len(h) < 3 || h[0].To != "test" || !h[0].OK || h[1].To != "firing" || h[1].Status != 502 || h[1].OK || h[1].Final || h[1].Message != "status 502" {
		t.Fatalf("history %+v", h)
	}
	// Another project: 404 everywhere.
	var p struct{ Keys map[string]string }
	if code := e.call("POST", "/api/v1/projects", rootKey, map[string]string{"name": "other"}, nil, &p); code != 201 {
		t.Fatalf("create project = %d", code)
	}
	for _, c := range []struct{ method, path, key string }{
		{"GET", "/api/v1/alerts/1", p.Keys["read"]}, {"GET", "/api/v1/alerts/1/history", p.Keys["read"]},
		{"PUT", "/api/v1/alerts/1", p.Keys["admin"]}, {"DELETE", "/api/v1/alerts/1", p.Keys["admin"]},
		{"POST", "/api/v1/alerts/1/test", p.Keys["admin"]},
	} {
		var b any
		if c.method == "PUT" {
			b = body
		}
		if code := e.call(c.method, c.path, c.key, b, nil, nil); code != 404 {
			t.Errorf("project 2 %s %s = %d; want 404", c.method, c.path, code)
		}
	}
	var l2 struct{ Alerts []alertRule }
	if code := e.call("GET", "/api/v1/alerts", p.Keys["read"], nil, nil, &l2); code != 200 || len(l2.Alerts) != 0 {
		t.Errorf("project 2 lists %+v", l2)
	}
	if code := e.call("GET", "/api/v1/alerts/x", read, nil, nil, nil); code != 400 {
		t.Errorf("GET /api/v1/alerts/x = %d; want 400", code)
	}
}

// A rule evaluated every 10 s (and one every second, with for 1 s)
// against a real server on the real clock fires within one interval plus
// for of the breach (and a 2 s margin for the write, the query and a
// loaded machine).
func TestAlertFiresOnRealClock(t *testing.T) {
	for _, c := range []struct{ every, forD time.Duration }{{10 * time.Second, 0}, {time.Second, time.Second}} {
		t.Run(c.every.String(), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			hook := newHookReceiver(t)
			body := fmt.Sprintf(`{"name":"p95","query":{"dataset":"requests","range":"1m","aggregations":{"p95":{"type":"quantile","field":"duration","q":0.95}}},
		"condition":{"op":">","value":2000},"for":%q,"every":%q,"notify":[{"type":"webhook","url":%q}]}`, c.forD.String(), c.every.String(), hook.srv.URL)
			if code := e.call("POST", "/api/v1/alerts", e.keys[meta.KindAdmin], body, nil, nil); code != 201 {
				t.Fatalf("POST = %d", code)
			}
			var slow []map[string]any
			for range 20 {
				slow = append(slow, map[string]any{"index": "POST /api/chat", "fields": map[string]any{"duration": 2500, "status": 200}})
			}
			breach := time.Now()
			e.writeNamed("requests", slow...)
			limit := c.every + c.forD + 2*time.Second
			for time.Since(breach) < limit+5*time.Second {
				if b := hook.take(); len(b) > 0 {
					var m struct {
						State string
						Value float64
					}
					if err := json.Unmarshal([]byte(b[0]), &m); err != nil || m.State != "firing" || m.Value < 2500*0.99 || m.Value > 2500*1.01 {
						t.Fatalf("body %q", b[0])
					}
					t.Logf("fired %v after the breach", time.Since(breach))
					if took := time.Since(breach); took > limit {
						t.Fatalf("fired %v after the breach; want within every + for (%v) and a 2 s margin", took, c.every+c.forD)
					}
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Fatalf("no notification; rule %+v", e.alert(e.keys[meta.KindRead], 1))
		})
	}
}

// The seed's rules on a real server and real points, on a fake clock:
// AI cost today, a new error group, grade passback success, intent
// accuracy and p95 latency by endpoint all fire with the value expected.
func TestAlertSeedRules(t *testing.T) {
	base := time.Now().UTC().Truncate(time.Minute).Add(-30*time.Minute + 30*time.Second)
	midnight := base.Truncate(24 * time.Hour)
	clock := func() time.Time { return base }
	e := newEnv(t, envOptions{server: func(o *server.Options) { o.Clock = clock }})
	rules := []struct {
		query, cond string
		want        float64
		group       string
	}{
		{`{"dataset":"ai_usage","range":"today","aggregations":{"cost":{"type":"sum","field":"cost"}}}`, `{"op":">","value":50}`, 60, ""},
		{`{"dataset":"errors","range":"1m","aggregations":{"newGroups":{"type":"sum","field":"new_group"}}}`, `{"op":">","value":0}`, 1, ""},
		{`{"dataset":"grade_passback","range":"1h","aggregations":{"ok":{"type":"percentage","filter":{"field":"success","op":"=","value":1}}}}`, `{"op":"<","value":99}`, 98, ""},
		{`{"dataset":"intent","range":"1h","filter":[{"field":"kind","op":"=","value":"labelled"}],"aggregations":{"accuracy":{"type":"avg","field":"correct"}}}`, `{"op":"<","value":0.9}`, 0.8, ""},
		{`{"dataset":"requests","range":"5m","groupBy":["endpoint"],"aggregations":{"p95":{"type":"quantile","field":"duration","q":0.95}}}`, `{"op":">","value":2000}`, 3000, "GET /b"},
	}
	at := func(d time.Duration) int64 { return base.Add(-d).UnixMilli() }
	today := midnight.Add(base.Sub(midnight) / 2).UnixMilli()
	var pts []map[string]any
	for range 3 {
		pts = append(pts, map[string]any{"index": "gpt-4o", "timestamp": today, "fields": map[string]any{"model": "gpt-4o", "tokens": 10, "cost": 20}})
	}
	e.writeNamed("ai_usage", pts...)
	e.writeNamed("errors", map[string]any{"index": "TypeError", "timestamp": at(10 * time.Second), "fields": map[string]any{"count": 1, "new_group": 1}},
		map[string]any{"index": "TypeError", "timestamp": at(20 * time.Second), "fields": map[string]any{"count": 1}})
	pts = nil
	for i := range 100 {
		pts = append(pts, map[string]any{"index": "canvas", "timestamp": at(time.Minute), "fields": map[string]any{"success": float64(min(1, max(0, i-1)))}})
	}
	e.writeNamed("grade_passback", pts...)
	pts = nil
	for i := range 10 {
		pts = append(pts, map[string]any{"index": "clf", "timestamp": at(time.Minute), "fields": map[string]any{"kind": "labelled", "correct": float64(min(1, max(0, i-1)))}})
	}
	pts = append(pts, map[string]any{"index": "clf", "timestamp": at(time.Minute), "fields": map[string]any{"kind": "prediction", "correct": 0}})
	e.writeNamed("intent", pts...)
	pts = nil
	for range 10 {
		pts = append(pts, map[string]any{"index": "GET /a", "timestamp": at(time.Minute), "fields": map[string]any{"duration": 100, "status": 200}},
			map[string]any{"index": "GET /b", "timestamp": at(time.Minute), "fields": map[string]any{"duration": 3000, "status": 200}})
	}
	e.writeNamed("requests", pts...)

	// The rules come after the points: the server's own loop (on the same
	// fake clock) may evaluate them as soon as they exist.
	for i, r := range rules {
		body := fmt.Sprintf(`{"name":"rule %d","query":%s,"condition":%s,"every":"1m"}`, i, r.query, r.cond)
		if code := e.call("POST", "/api/v1/alerts", e.keys[meta.KindAdmin], body, nil, nil); code != 201 {
			t.Fatalf("POST %s = %d", body, code)
		}
	}
	e.srv.TickAlerts(context.Background(), base)
	for i, r := range rules {
		var a struct {
			alertRule
			Group map[string]any
		}
		if code := e.call("GET", fmt.Sprintf("/api/v1/alerts/%d", i+1), e.keys[meta.KindRead], nil, nil, &a); code != 200 {
			t.Fatalf("GET = %d", code)
		}
		if a.State != "firing" || a.Value == nil || *a.Value < r.want*0.99 || *a.Value > r.want*1.01 || a.Error != "" {
			t.Errorf("%s: %s value %v error %q; want firing at %v", r.query, a.State, a.Value, a.Error, r.want)
		}
		if r.group != "" && (a.Group == nil || a.Group["endpoint"] != r.group) {
			t.Errorf("%s: group %v; want endpoint %q", r.query, a.Group, r.group)
		}
	}
}
