package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/alidade/alidade/internal/meta"
	"github.com/alidade/alidade/internal/server"
	"github.com/alidade/alidade/internal/server/servertest"
	"github.com/alidade/alidade/internal/tail"
)

// tailEnv is a real server whose tail hub a test may set up.
func tailEnv(t *testing.T, edit func(*tail.Options), wal *servertest.WALOptions, srv func(*server.Options)) (*env, *servertest.Env) {
	t.Helper()
	se := servertest.Start(t, servertest.Options{RootKey: rootKey, Tail: edit, WAL: wal, Server: srv})
	return &env{t: t, url: se.URL, keys: se.Keys, store: se.Store, srv: se.Server, pipe: se.Pipeline}, se
}

// tailMsg is one message of a tail: a record (Dataset set) or one of the
// stream's events (Event set).
type tailMsg struct {
	Event  string         // ready, sampling, dropped
	Record map[string]any // nil for an event
	Raw    string
}

func parseTailMsg(event, data string) tailMsg {
	m := tailMsg{Event: event, Raw: data}
	var v map[string]any
	_ = json.Unmarshal([]byte(data), &v)
	if _, ok := v["dataset"]; ok && event == "" {
		m.Record = v
	} else if m.Event == "" {
		m.Event, _ = v["event"].(string)
	}
	return m
}

// tailClient reads a tail's messages into a channel until it ends.
type tailClient struct {
	msgs chan tailMsg
	body io.Closer
}

// openSSE opens GET /api/v1/tail?query as server-sent events; it returns
// after the ready event.
func openSSE(t *testing.T, base, key, query string, hdr map[string]string) *tailClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/tail?"+query, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET /api/v1/tail?%s = %d %s %s", query, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	c := &tailClient{msgs: make(chan tailMsg, 100_000), body: resp.Body}
	go func() {
		defer close(c.msgs)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var ev string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				c.msgs <- parseTailMsg(ev, strings.TrimPrefix(line, "data: "))
				ev = ""
			case strings.HasPrefix(line, ":"):
				c.msgs <- tailMsg{Event: "comment", Raw: line}
			}
		}
	}()
	c.waitReady(t)
	return c
}

// openWS opens the tail over a WebSocket; it returns after the ready
// event.
func openWS(t *testing.T, base, key, query string) *tailClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := http.Header{}
	h.Set("Authorization", "Bearer "+key)
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/v1/tail?"+query, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatalf("dial the tail over a WebSocket: %v (%v)", err, resp)
	}
	conn.SetReadLimit(1 << 20)
	c := &tailClient{msgs: make(chan tailMsg, 100_000), body: closerFunc(func() error { return conn.CloseNow() })}
	go func() {
		defer close(c.msgs)
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			c.msgs <- parseTailMsg("", string(b))
		}
	}()
	c.waitReady(t)
	return c
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func (c *tailClient) waitReady(t *testing.T) {
	t.Helper()
	for m := range c.msgs {
		if m.Event == "ready" {
			return
		}
	}
	t.Fatal("the tail ended before its ready event")
}

// next returns the next record or event (comments skipped), failing the
// test after a long while.
func (c *tailClient) next(t *testing.T) tailMsg {
	t.Helper()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				t.Fatal("the tail ended")
			}
			if m.Event == "comment" {
				continue
			}
			return m
		case <-timeout.C:
			t.Fatal("nothing from the tail in 30 s")
		}
	}
}

// tailFixture writes one point each of a mix of datasets; every point
// carries its id in a blob.
var tailFixture = []struct {
	id, dataset string
	body        string
}{
	{"r1", "requests", `{"indexes":["GET /api/chat"],"blobs":["/api/chat?r1","GET","api"],"doubles":[12,200]}`},
	{"r2", "requests", `{"indexes":["POST /api/chat"],"blobs":["/api/chat?r2","POST","api"],"doubles":[80,500]}`},
	{"r3", "requests", `{"indexes":["POST /api/users"],"blobs":["/api/users?r3","POST","api"],"doubles":[30,201]}`},
	{"r4", "requests", `{"indexes":["GET /health"],"blobs":["/health?r4","GET","api"],"doubles":[1,404]}`},
	{"l1", "logs", `{"indexes":["api"],"blobs":["info","started l1"]}`},
	{"l2", "logs", `{"indexes":["api"],"blobs":["error","disk full l2"]}`},
	{"e1", "errors", `{"indexes":["TypeError"],"blobs":["TypeError","x is undefined e1"]}`},
	{"a1", "ai_usage", `{"indexes":["gpt-4o"],"blobs":["gpt-4o","tutor a1"],"doubles":[100,900]}`},
}

// tailCases are the filters tested, each with the ids it keeps and a
// last point it keeps too (the sentinel: what comes before it is all
// the tail gets of the fixture).
var tailCases = []struct {
	name, query string
	want        []string
	sentinel    string // dataset/body
}{
	{"all", "", []string{"r1", "r2", "r3", "r4", "l1", "l2", "e1", "a1"}, `requests {"blobs":["/s/all"]}`},
	{"datasets", "dataset=requests&dataset=logs", []string{"r1", "r2", "r3", "r4", "l1", "l2"}, `logs {"blobs":["info","/s/datasets"]}`},
	{"errors", "status=error", []string{"r2", "r4", "l2", "e1"}, `requests {"blobs":["/s/errors"],"doubles":[1,503]}`},
	{"ok", "status=ok", []string{"r1", "r3", "l1", "a1"}, `requests {"blobs":["/s/ok"],"doubles":[1,200]}`},
	{"method", "method=post", []string{"r2", "r3"}, `requests {"blobs":["/s/method","POST"]}`},
	{"search", "search=CHAT", []string{"r1", "r2"}, `logs {"blobs":["info","/s/search chat"]}`},
	{"field", "field=status:>=:400", []string{"r2", "r4"}, `requests {"blobs":["/s/field"],"doubles":[1,400]}`},
	{"contains", "dataset=requests&field=url:contains:/API/", []string{"r1", "r2", "r3"}, `requests {"blobs":["/s/contains/api/"]}`},
	{"combined", "status=error&method=GET&field=duration:<:10", []string{"r4"}, `requests {"blobs":["/s/combined","GET"],"doubles":[1,500]}`},
}

func writeNDJSON(t *testing.T, base, key, dataset string, lines ...string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v1/datasets/"+dataset+"/points", strings.NewReader(strings.Join(lines, "\n")))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(b, fmt.Appendf(nil, `"accepted":%d`, len(lines))) {
		t.Fatalf("write %s = %d %s", dataset, resp.StatusCode, b)
	}
}

// idOf finds a fixture id at the end of a record's string.
func idOf(rec map[string]any) string {
	for _, v := range rec {
		str, _ := v.(string)
		for _, f := range tailFixture {
			if strings.HasSuffix(str, "?"+f.id) || strings.HasSuffix(str, " "+f.id) {
				return f.id
			}
		}
	}
	return ""
}

// Every filter, over SSE and over a WebSocket, gets exactly the records
// of the key's project that pass it, named by the dataset's schema.
func TestTailFilters(t *testing.T) {
	for _, walOn := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "wal"}[walOn], func(t *testing.T) {
			var wal *servertest.WALOptions
			if walOn {
				wal = &servertest.WALOptions{}
			}
			e, _ := tailEnv(t, nil, wal, nil)
			read := e.keys[meta.KindRead]
			type open struct {
				name, transport string
				c               *tailClient
				want            []string
				sentinel        string
			}
			var opens []open
			for _, tc := range tailCases {
				opens = append(opens, open{tc.name, "sse", openSSE(t, e.url, read, tc.query, nil), tc.want, tc.sentinel})
				if !walOn {
					opens = append(opens, open{tc.name, "ws", openWS(t, e.url, e.keys[meta.KindAdmin], tc.query), tc.want, tc.sentinel})
				}
			}
			// Another project's writes are never seen.
			var p struct{ Keys map[string]string }
			if code := e.call("POST", "/api/v1/projects", rootKey, map[string]string{"name": "other"}, nil, &p); code != 201 {
				t.Fatalf("create project = %d", code)
			}
			for _, f := range tailFixture {
				writeNDJSON(t, e.url, p.Keys["write"], f.dataset, f.body)
			}
			for _, f := range tailFixture {
				writeNDJSON(t, e.url, e.keys[meta.KindWrite], f.dataset, f.body)
			}
			for _, tc := range tailCases {
				ds, body, _ := strings.Cut(tc.sentinel, " ")
				writeNDJSON(t, e.url, e.keys[meta.KindWrite], ds, body)
			}
			for _, o := range opens {
				var got []string
				first := true
				for {
					m := o.c.next(t)
					if m.Record == nil {
						t.Fatalf("%s over %s: event %s", o.name, o.transport, m.Raw)
					}
					if first && m.Record["dataset"] == "requests" {
						// Fields go by the schema's names.
						for _, k := range []string{"timestamp", "endpoint", "url", "method", "status", "duration"} {
							if _, ok := m.Record[k]; !ok && !strings.Contains(m.Raw, "/s/") {
								t.Errorf("%s over %s: record %s has no %q", o.name, o.transport, m.Raw, k)
							}
						}
						first = false
					}
					if raw := m.Raw; strings.Contains(raw, "/s/") {
						if strings.Contains(raw, "/s/"+o.name+`"`) || strings.Contains(raw, "/s/"+o.name+" ") || strings.Contains(raw, "/s/"+o.name+"/") {
							break
						}
						continue
					}
					got = append(got, idOf(m.Record))
				}
				if !slices.Equal(got, o.want) {
					t.Errorf("tail %s over %s got %v; want %v", o.name, o.transport, got, o.want)
				}
				o.c.body.Close()
			}
		})
	}
}

func TestTailRefusals(t *testing.T) {
	e, _ := tailEnv(t, func(o *tail.Options) { o.MaxClients = 1 }, nil, nil)
	for _, tc := range []struct {
		query, key string
		code       int
		text       string
	}{
		{"status=bad", e.keys[meta.KindRead], 400, "parameter status"},
		{"field=status:>:x", e.keys[meta.KindRead], 400, "parameter field"},
		{"sampling=2", e.keys[meta.KindRead], 400, "parameter sampling"},
		{"colour=red", e.keys[meta.KindRead], 400, "parameter colour: unknown parameter"},
		{"", e.keys[meta.KindWrite], 403, "forbidden"},
		{"", "", 401, "unauthorized"},
	} {
		var ans errorAnswer
		if code := e.call("GET", "/api/v1/tail?"+tc.query, tc.key, nil, nil, &ans); code != tc.code || !strings.Contains(ans.Error.Code+" "+ans.Error.Message, tc.text) {
			t.Errorf("GET /api/v1/tail?%s = %d %+v; want %d %q", tc.query, code, ans, tc.code, tc.text)
		}
	}
	c := openSSE(t, e.url, e.keys[meta.KindRead], "", nil)
	var ans errorAnswer
	if code := e.call("GET", "/api/v1/tail", e.keys[meta.KindRead], nil, nil, &ans); code != 429 || ans.Error.Code != "too_many_tails" {
		t.Errorf("a second tail past --tail-max-clients 1 = %d %+v; want 429 too_many_tails", code, ans)
	}
	c.body.Close()
}

type errorAnswer struct {
	Error struct{ Code, Message string }
}

// A browser tails with its dashboard session cookie, as /api/v1/live.
func TestTailWithDashboardSession(t *testing.T) {
	d := newDash(t, dashOptions{})
	b := d.signIn(d.keys[meta.KindRead])
	c := openSSE(t, d.url, "", "dataset=requests", map[string]string{"Cookie": "alidade_session=" + b.cookie})
	writeNDJSON(t, d.url, d.keys[meta.KindWrite], "requests", `{"blobs":["/from-session","GET"],"doubles":[3,200]}`)
	if m := c.next(t); m.Record["url"] != "/from-session" {
		t.Errorf("session tail got %s", m.Raw)
	}
}

// An idle tail gets heartbeat comments.
func TestTailHeartbeat(t *testing.T) {
	e, _ := tailEnv(t, nil, nil, func(o *server.Options) { o.TailHeartbeat = 5 * time.Millisecond })
	c := openSSE(t, e.url, e.keys[meta.KindRead], "", nil)
	for m := range c.msgs {
		if m.Event == "comment" && m.Raw == ": ping" {
			return
		}
	}
	t.Fatal("the tail ended without a heartbeat")
}

// Past --tail-max-rate the stream is sampled and says so, then says when
// the sampling ends (the hub's clock is the test's).
func TestTailSamplingEvent(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	e, _ := tailEnv(t, func(o *tail.Options) { o.MaxRate, o.Now, o.Seed = 10, clock, 7 }, nil, nil)
	c := openSSE(t, e.url, e.keys[meta.KindRead], "dataset=requests", nil)
	lines := make([]string, 200)
	for i := range lines {
		lines[i] = `{"blobs":["/a","GET"],"doubles":[1,200]}`
	}
	writeNDJSON(t, e.url, e.keys[meta.KindWrite], "requests", lines...)
	for range 20 { // a burst is capped at twice the rate
		if m := c.next(t); m.Record == nil {
			t.Fatalf("got %s; want a record", m.Raw)
		}
	}
	now.Add(int64(time.Second))
	writeNDJSON(t, e.url, e.keys[meta.KindWrite], "requests", lines...)
	m := c.next(t)
	var ev struct {
		Event            string
		Rate             float64
		MatchedPerSecond float64 `json:"matched_per_second"`
		Message          string
	}
	if err := json.Unmarshal([]byte(m.Raw), &ev); err != nil || m.Event != "sampling" || ev.Rate != 0.05 || ev.MatchedPerSecond != 200 || !strings.Contains(ev.Message, "5% of them") {
		t.Fatalf("after 200 matches a second at a rate of 10: %s %s; want a sampling event at 0.05", m.Event, m.Raw)
	}
	now.Add(int64(5 * time.Second))
	writeNDJSON(t, e.url, e.keys[meta.KindWrite], "requests", lines[:1]...)
	for {
		m = c.next(t)
		if m.Record == nil {
			break
		}
	}
	if m.Event != "sampling" || !strings.Contains(m.Raw, `"rate":1`) {
		t.Errorf("after a quiet spell: %s %s; want sampling at rate 1", m.Event, m.Raw)
	}
}

// The tail's own sampling=0.5 sends about half.
func TestTailClientSampling(t *testing.T) {
	e, _ := tailEnv(t, func(o *tail.Options) { o.Seed = 3 }, nil, nil)
	c := openSSE(t, e.url, e.keys[meta.KindRead], "sampling=0.5", nil)
	lines := make([]string, 400)
	for i := range lines {
		lines[i] = `{"blobs":["/a"]}`
	}
	writeNDJSON(t, e.url, e.keys[meta.KindWrite], "requests", lines...)
	// Then 100 sentinels, of which some pass: all before the first are in.
	for i := range 100 {
		lines[i] = `{"blobs":["/sentinel"]}`
	}
	writeNDJSON(t, e.url, e.keys[meta.KindWrite], "requests", lines[:100]...)
	got := 0
	for c.next(t).Record["url"] != "/sentinel" {
		got++
	}
	if got < 140 || got > 260 {
		t.Errorf("sampling=0.5 of 400 sent %d; want about 200", got)
	}
}

// A tail that stops reading is cut off while writes go on being
// acknowledged; a reading tail next to it gets every record.
func TestTailDropsStalledClient(t *testing.T) {
	e, se := tailEnv(t, func(o *tail.Options) { o.Buffer, o.MaxRate = 1000, 1_000_000 }, nil, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /api/v1/tail HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", e.keys[meta.KindRead])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body := bufio.NewReader(resp.Body)
	for {
		line, err := body.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "event: ready") {
			break
		}
	}
	// The stalled client reads nothing more. Large records fill its
	// socket, then its buffer.
	reader := openSSE(t, e.url, e.keys[meta.KindRead], "", nil)
	big := `{"blobs":["` + strings.Repeat("x", 8000) + `"]}`
	lines := make([]string, 100)
	for i := range lines {
		lines[i] = big
	}
	writes := 0
	for se.Tail.Clients(1) == 2 {
		if writes++; writes > 1000 {
			t.Fatal("the stalled tail was not dropped after 100,000 records")
		}
		writeNDJSON(t, e.url, e.keys[meta.KindWrite], "events", lines...)
	}
	// Its stream ends (after what the socket held).
	if _, err := io.Copy(io.Discard, body); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Errorf("reading the dropped tail: %v", err)
	}
	writeNDJSON(t, e.url, e.keys[meta.KindWrite], "events", `{"blobs":["last"]}`)
	for range writes*100 + 1 {
		if m := reader.next(t); m.Record == nil {
			t.Fatalf("the reading tail got %s", m.Raw)
		}
	}
}

// TestTailSeesErrorEvents: a Sentry error event, acknowledged once it is
// in error tracking's journal, reaches a tail as an errors record when
// it is loaded.
func TestTailSeesErrorEvents(t *testing.T) {
	e, _ := tailEnv(t, nil, nil, nil)
	c := openSSE(t, e.url, e.keys["read"], "dataset=errors&dataset=client_errors", nil)
	auth := map[string]string{"X-Sentry-Auth": "Sentry sentry_key=" + e.keys["public"]}
	if code, a, _ := e.sentryPost("/api/1/envelope/", envelope(`{"event_id":"`+eventID(7)+`"}`, true, [2]string{"event", jsEvent(7, "tailed")}), auth); code != 200 {
		t.Fatalf("envelope = %d %+v", code, a)
	}
	m := c.next(t)
	if m.Record == nil || m.Record["dataset"] != "errors" && m.Record["dataset"] != "client_errors" || !strings.Contains(m.Raw, "tailed") {
		t.Fatalf("first tail message = %s; want the error event's record", m.Raw)
	}
}
