//go:build cluster

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
)

// TestClusterErrorsTwoNodes: the real sentry-go SDK sends one error to
// node A and node B of a cluster; node B shows one group of them all,
// as the embedded store does of the same events; the events are listed
// and readable on both nodes; an event sent to A and again to B counts
// once; a status set on B is A's; PostgreSQL down makes the Sentry
// endpoint answer 503 with Retry-After and store nothing; so does
// ClickHouse down (both shards), and the SDK's envelope retried once it is
// back is counted once; a cron monitor's check-in sent to A is B's.
func TestClusterErrorsTwoNodes(t *testing.T) {
	e := startClusterEnv(t)
	a, b, keys := e.launchTwo(t)
	embedded := start(t, t.TempDir())
	ekeys := bannerKeys(t, embedded)
	dsn := func(p *proc, key string) string {
		return strings.Replace(p.url, "http://", "http://"+key+"@", 1) + "/1"
	}
	client := func(p *proc, key string) *sentry.Client {
		c, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn(p, key), Environment: "prod", ServerName: "test-host"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	ca, cb, ce := client(a, keys["public"]), client(b, keys["public"]), client(embedded, ekeys["public"])

	// The same error six times, by three users over two releases: events
	// 0-2 to A, 3-5 to B, all six to the embedded server.
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	ev := func(i int) *sentry.Event {
		e := sentry.NewEvent()
		e.EventID = sentry.EventID(fmt.Sprintf("%032x", 0xc0ffee00+i))
		e.Timestamp = t0.Add(time.Duration(i) * time.Minute)
		e.Level = sentry.LevelError
		e.Platform = "go"
		e.Release = "tutor@1.0.0"
		if i >= 3 {
			e.Release = "tutor@1.1.0"
		}
		e.User = sentry.User{ID: fmt.Sprint("u", i%3)}
		e.Exception = []sentry.Exception{{Type: "*errors.errorString", Value: "database is down", Stacktrace: &sentry.Stacktrace{
			Frames: []sentry.Frame{{Function: "main", Module: "main", Lineno: 10, InApp: true}, {Function: "grade", Module: "tutor/grade", Lineno: 42, InApp: true}}}}}
		return e
	}
	send := func(c *sentry.Client, events ...int) {
		t.Helper()
		hub := sentry.NewHub(c, sentry.NewScope())
		for _, i := range events {
			hub.CaptureEvent(ev(i))
		}
		if !c.Flush(10 * time.Second) {
			t.Fatal("sentry-go did not deliver within 10 s")
		}
	}
	send(ca, 0, 1, 2)
	send(cb, 3, 4, 5)
	send(ce, 0, 1, 2, 3, 4, 5)

	type group struct {
		ID, Count, Users int64
		Status           string
	}
	groups := func(p *proc, key string) (raw []map[string]any, gs []group) {
		t.Helper()
		code, resp := do(t, "GET", p.url+"/api/v1/error-groups", key, "")
		var out struct{ Groups []map[string]any }
		var typed struct{ Groups []group }
		if code != 200 || json.Unmarshal([]byte(resp), &out) != nil || json.Unmarshal([]byte(resp), &typed) != nil {
			t.Fatalf("GET %s/api/v1/error-groups = %d %s", p.url, code, resp)
		}
		return out.Groups, typed.Groups
	}
	rawB, gb := groups(b, keys["read"])
	rawE, _ := groups(embedded, ekeys["read"])
	if len(gb) != 1 || gb[0].Count != 6 || gb[0].Users != 3 {
		t.Fatalf("node B's groups = %+v; want one of 6 events by 3 users", gb)
	}
	// The same JSON as the embedded server's, ids apart.
	for _, r := range [][]map[string]any{rawB, rawE} {
		for _, g := range r {
			delete(g, "id")
		}
	}
	if !reflect.DeepEqual(rawB, rawE) {
		jb, _ := json.Marshal(rawB)
		je, _ := json.Marshal(rawE)
		t.Errorf("node B's groups:\n%s\nembedded:\n%s", jb, je)
	}
	id := gb[0].ID

	// Listed and readable on both nodes.
	for _, p := range []*proc{a, b} {
		code, resp := do(t, "GET", fmt.Sprintf("%s/api/v1/error-groups/%d/events", p.url, id), keys["read"], "")
		var evs struct{ Events []struct{ ID string } }
		if code != 200 || json.Unmarshal([]byte(resp), &evs) != nil || len(evs.Events) != 6 {
			t.Fatalf("GET %s events of group %d = %d %s; want 6", p.url, id, code, resp)
		}
		if want := fmt.Sprintf("%032x", 0xc0ffee05); evs.Events[0].ID != want {
			t.Errorf("newest event on %s = %s; want %s", p.url, evs.Events[0].ID, want)
		}
		for _, x := range evs.Events {
			code, resp := do(t, "GET", p.url+"/api/v1/events/"+x.ID, keys["read"], "")
			if code != 200 || !strings.Contains(resp, fmt.Sprintf(`"groupId":%d`, id)) || !strings.Contains(resp, "database is down") {
				t.Fatalf("GET %s/api/v1/events/%s = %d %s", p.url, x.ID, code, resp)
			}
		}
	}

	// Event 6 to A, then again (an SDK's retry) to B: counted once.
	send(ca, 6)
	send(cb, 6)
	if _, gs := groups(a, keys["read"]); len(gs) != 1 || gs[0].Count != 7 {
		t.Fatalf("after event 6 sent to A and to B: %+v; want one group of 7 events", gs)
	}

	// Resolved on B, seen on A.
	if code, resp := do(t, "PATCH", fmt.Sprintf("%s/api/v1/error-groups/%d", b.url, id), keys["admin"], `{"status":"resolved"}`); code != 200 {
		t.Fatalf("PATCH on B = %d %s", code, resp)
	}
	if _, gs := groups(a, keys["read"]); gs[0].Status != "resolved" {
		t.Fatalf("on A after B resolved the group: %+v", gs)
	}

	// PostgreSQL down: 503 with Retry-After, nothing stored; once it is
	// back the same event is recorded.
	envelope := func(p *proc, i int) (int, string, string) {
		t.Helper()
		id := fmt.Sprintf("%032x", 0xc0ffee00+i)
		body := fmt.Sprintf(`{"event_id":%q}`+"\n"+`{"type":"event"}`+"\n"+
			`{"event_id":%q,"level":"error","release":"tutor@1.2.0","exception":{"values":[{"type":"*errors.errorString","value":"database is down",`+
			`"stacktrace":{"frames":[{"function":"main","module":"main","lineno":10,"in_app":true},{"function":"grade","module":"tutor/grade","lineno":42,"in_app":true}]}}]}}`+"\n", id, id)
		req, _ := http.NewRequest("POST", p.url+"/api/1/envelope/?sentry_key="+keys["public"], strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sb strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		sb.Write(buf[:n])
		return resp.StatusCode, resp.Header.Get("Retry-After"), sb.String()
	}
	e.pg.Stop()
	code, retry, resp := envelope(b, 7)
	e.pg.Start()
	if code != 503 || retry == "" {
		t.Fatalf("an event with PostgreSQL down = %d (Retry-After %q) %s; want 503 with Retry-After", code, retry, resp)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, _, resp = envelope(b, 7)
		if code == 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code != 200 {
		t.Fatalf("the event again once PostgreSQL is back = %d %s", code, resp)
	}
	// Node A's pool may hold a connection of the server that stopped:
	// its first use answers 503 (Retry-After), the next a new one.
	for {
		code, resp = do(t, "GET", a.url+"/api/v1/error-groups", keys["read"], "")
		if code != 503 || time.Now().After(deadline) {
			break
		}
		t.Logf("node A after PostgreSQL's restart: %d %s (a stale connection; again)", code, resp)
		time.Sleep(200 * time.Millisecond)
	}
	// 1.2.0 is newer than the release the group was resolved in (1.1.0).
	if _, gs := groups(a, keys["read"]); len(gs) != 1 || gs[0].Count != 8 || gs[0].Status != "unresolved" {
		t.Fatalf("after the event sent during the outage and again: %+v; want one unresolved (regressed) group of 8 events", gs)
	}

	// ClickHouse down (both shards): the real SDK's event is answered 503
	// with Retry-After and nothing of it is counted; once ClickHouse is
	// back, the envelope the SDK sent, sent again as its retry would be,
	// is stored once, and a second retry adds nothing.
	rec := &recordingTransport{}
	cr, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn(b, keys["public"]), Environment: "prod", ServerName: "test-host", HTTPTransport: rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cr.Close() })
	for _, s := range e.ch.Shards {
		s.Stop()
	}
	chDown := time.Now()
	sentry.NewHub(cr, sentry.NewScope()).CaptureEvent(ev(8))
	flushed := cr.Flush(10 * time.Second)
	sent := rec.last()
	for _, s := range e.ch.Shards {
		s.Start()
	}
	t.Logf("ClickHouse down for %v", time.Since(chDown).Round(time.Millisecond))
	if !flushed || sent == nil {
		t.Fatalf("sentry-go sent nothing with ClickHouse down (flushed %v)", flushed)
	}
	if sent.status != 503 || sent.retryAfter == "" {
		t.Fatalf("the SDK's event with ClickHouse down = %d (Retry-After %q) %s; want 503 with Retry-After", sent.status, sent.retryAfter, sent.answer)
	}
	if _, gs := groups(a, keys["read"]); len(gs) != 1 || gs[0].Count != 8 {
		t.Fatalf("after the 503: %+v; want the group's 8 events, the refused one not counted", gs)
	}
	resend := func() (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", sent.url, bytes.NewReader(sent.body))
		req.Header = sent.header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		code, resp = resend()
		if code == 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if code != 200 {
		t.Fatalf("the SDK's envelope again once ClickHouse is back = %d %s", code, resp)
	}
	if code, resp = resend(); code != 200 {
		t.Fatalf("the SDK's envelope a third time = %d %s", code, resp)
	}
	if _, gs := groups(a, keys["read"]); len(gs) != 1 || gs[0].Count != 9 {
		t.Fatalf("after the SDK's event retried twice once ClickHouse is back: %+v; want one group of 9 events", gs)
	}
	want8 := fmt.Sprintf("%032x", 0xc0ffee08)
	if code, resp := do(t, "GET", a.url+"/api/v1/events/"+want8, keys["read"], ""); code != 200 || !strings.Contains(resp, "database is down") {
		t.Fatalf("GET /api/v1/events/%s after the retries = %d %s", want8, code, resp)
	}
	code, resp = do(t, "GET", fmt.Sprintf("%s/api/v1/error-groups/%d/events", b.url, id), keys["read"], "")
	if n := strings.Count(resp, `"`+want8+`"`); code != 200 || n != 1 {
		t.Fatalf("the group's events list event 8 %d times (%d); want once\n%s", n, code, resp)
	}

	// A cron monitor's check-in sent to A is listed on B.
	hub := sentry.NewHub(ca, sentry.NewScope())
	hub.CaptureCheckIn(&sentry.CheckIn{MonitorSlug: "nightly-grades", Status: sentry.CheckInStatusInProgress},
		&sentry.MonitorConfig{Schedule: sentry.CrontabSchedule("0 3 * * *"), CheckInMargin: 5, MaxRuntime: 30})
	if !ca.Flush(10 * time.Second) {
		t.Fatal("sentry-go did not deliver the check-in within 10 s")
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		code, resp := do(t, "GET", b.url+"/api/v1/monitors", keys["read"], "")
		if code == 200 && strings.Contains(resp, `"nightly-grades"`) && strings.Contains(resp, `"inProgress"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s/api/v1/monitors = %d %s; want nightly-grades in progress", b.url, code, resp)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// recordingTransport is the SDK's HTTP transport: it sends each request
// and keeps the last one with its answer, for the test to send again as
// the SDK's retry.
type recordingTransport struct {
	mu  sync.Mutex
	req *recorded
}

type recorded struct {
	url        string
	header     http.Header
	body       []byte
	status     int
	retryAfter string
	answer     string
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	r := &recorded{url: req.URL.String(), header: req.Header.Clone(), body: body}
	req.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	r.status, r.retryAfter, r.answer = resp.StatusCode, resp.Header.Get("Retry-After"), string(answer)
	rt.mu.Lock()
	rt.req = r
	rt.mu.Unlock()
	return resp, nil
}

func (rt *recordingTransport) last() *recorded {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.req
}
