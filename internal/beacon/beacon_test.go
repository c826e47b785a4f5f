package beacon_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/alidade/alidade/internal/beacon"
	"github.com/alidade/alidade/internal/point"
)

// contract is the example body: one event of each type.
const contract = `{"key":"ald_public_x","events":[
 {"type":"pageview","url":"https://site.example/lessons/7?utm_source=news&utm_medium=email&utm_campaign=fall","referrer":"https://www.google.com/search?q=secret"},
 {"type":"event","name":"chat_message","url":"https://site.example/chat","props":{"course":"bio"}},
 {"type":"vital","name":"LCP","value":1830,"rating":"good","delta":1830,"navigationType":"navigate","url":"https://site.example/lessons/7","attribution":"img.hero","id":"v4-1"},
 {"type":"api_call","endpoint":"GET /api/lessons/:id","url":"https://site.example/lessons/7","requestUrl":"https://api.example/api/lessons/7?token=t","duration":84,"status":200},
 {"type":"error","message":"x is undefined","errorType":"TypeError","stack":"TypeError: x is undefined\n    at f (https://site.example/app.js:1:2)","url":"https://site.example/lessons/7","source":"https://site.example/app.js?v=3","line":1,"column":2},
 {"type":"action","action":"chat/send","duration":3.2,"url":"https://site.example/chat","component":"Composer"},
 {"type":"websocket","kind":"close","channel":"chat","code":1006,"duration":52000,"url":"https://site.example/chat","messagesIn":4,"messagesOut":3},
 {"type":"websocket","kind":"open","reconnect":true,"channel":"chat","url":"https://site.example/chat","user":"5d41402abc4b2a76b9719d911017c592","unknown":{"extra":[1,2]}}]}`

// get reads a point's field by its built-in schema name.
func get(t *testing.T, p point.Point, name string) any {
	t.Helper()
	f, err := point.Builtin(p.Dataset).Resolve(name)
	if err != nil {
		t.Fatalf("%s: %v", p.Dataset, err)
	}
	switch f.Kind {
	case point.KindIndex:
		return p.Index
	case point.KindBlob:
		return p.Blob(f.Pos)
	}
	return p.Double(f.Pos)
}

func decodePoints(t *testing.T, body string) ([]point.Point, []point.Rejection) {
	t.Helper()
	req, err := beacon.Decode([]byte(body))
	if err != nil {
		t.Fatalf("Decode = %v", err)
	}
	pts, pos, rej := req.Points(1_800_000_000_000, 0)
	rej = append(rej, req.Rejected...)
	for i := range pts {
		if pos[i] < 0 || pos[i] >= req.Count {
			t.Errorf("position %d of %d events", pos[i], req.Count)
		}
		if err := pts[i].Validate(); err != nil {
			t.Errorf("point %d: %v", i, err)
		}
	}
	return pts, rej
}

func TestContractMapping(t *testing.T) {
	pts, rej := decodePoints(t, contract)
	if len(rej) != 0 || len(pts) != 8 {
		t.Fatalf("got %d points, rejected %v; want 8 points", len(pts), rej)
	}
	want := []struct {
		dataset string
		fields  map[string]any
	}{
		{"pageviews", map[string]any{"page": "/lessons/7", "path": "/lessons/7", "host": "site.example",
			"referrer": "https://www.google.com/search", "referrer_host": "google.com",
			"utm_source": "news", "utm_medium": "email", "utm_campaign": "fall", "utm_term": "", "load_time": 0.0}},
		{"events", map[string]any{"event_name": "chat_message", "name": "chat_message", "path": "/chat", "props": `{"course":"bio"}`, "host": "site.example"}},
		{"web_vitals", map[string]any{"metric": "LCP", "name": "LCP", "rating": "good", "path": "/lessons/7", "navigation_type": "navigate",
			"attribution": "img.hero", "metric_id": "v4-1", "value": 1830.0, "delta": 1830.0}},
		{"api_calls", map[string]any{"endpoint": "GET /api/lessons/:id", "url": "https://api.example/api/lessons/7", "method": "GET",
			"path": "/lessons/7", "duration": 84.0, "status": 200.0, "success": 1.0}},
		{"client_errors", map[string]any{"error_type": "TypeError", "type": "TypeError", "message": "x is undefined", "path": "/lessons/7",
			"fingerprint": "", "source": "https://site.example/app.js", "count": 1.0, "line": 1.0, "column": 2.0}},
		{"ui_actions", map[string]any{"action_type": "chat/send", "action": "chat/send", "component": "Composer", "path": "/chat", "duration": 3.2}},
		{"websocket", map[string]any{"event_kind": "close", "event": "close", "channel": "chat", "side": "browser", "path": "/chat",
			"code": 1006.0, "duration": 52000.0, "messages_in": 4.0, "messages_out": 3.0}},
		{"websocket", map[string]any{"event_kind": "open", "event": "open", "side": "browser", "attempt": 1.0, "user": "5d41402abc4b2a76b9719d911017c592"}},
	}
	for i, w := range want {
		p := pts[i]
		if p.Dataset != w.dataset || p.Timestamp != 1_800_000_000_000 {
			t.Errorf("point %d: %s at %d; want %s at the receive time", i, p.Dataset, p.Timestamp, w.dataset)
		}
		for name, v := range w.fields {
			if got := get(t, p, name); got != v {
				t.Errorf("%s %s = %#v; want %#v", w.dataset, name, got, v)
			}
		}
	}
	if !strings.Contains(get(t, pts[4], "stack").(string), "at f (") {
		t.Errorf("stack = %q", get(t, pts[4], "stack"))
	}
}

// TestPositions freezes where the beacon's fields are: the contract the web
// analytics answers and any AE SQL over these datasets read.
func TestPositions(t *testing.T) {
	want := map[string]string{
		"pageviews": "index1 page; blob1 path, blob2 referrer, blob3 country, blob4 device, blob5 browser, blob6 utm_source, " +
			"blob7 os, blob8 visitor, blob9 session, blob10 host, blob11 referrer_host, blob12 utm_medium, blob13 utm_campaign, " +
			"blob14 utm_term, blob15 utm_content, blob16 user; double1 load_time, double2 entry, double3 visit_page, double4 bounce, double5 since_previous",
		"events": "index1 event_name; blob1 name, blob2 path, blob3 props, blob4 visitor, blob5 session, blob6 country, blob7 device, " +
			"blob8 browser, blob9 os, blob10 host, blob11 user; double1 value",
		"web_vitals": "index1 metric; blob1 name, blob2 rating, blob3 path, blob4 navigation_type, blob5 attribution, blob6 metric_id, " +
			"blob7 visitor, blob8 session, blob9 country, blob10 device, blob11 browser, blob12 os, blob13 host, blob14 user, blob15 route, blob16 element; double1 value, double2 delta",
		"api_calls": "index1 endpoint; blob1 url, blob2 method, blob3 path, blob4 visitor, blob5 session, blob6 country, blob7 device, " +
			"blob8 browser, blob9 os, blob10 host, blob11 user, blob12 route; double1 duration, double2 status, double3 success",
		"client_errors": "index1 error_type; blob1 type, blob2 message, blob3 path, blob4 fingerprint, blob5 stack, blob6 source, " +
			"blob7 visitor, blob8 session, blob9 country, blob10 device, blob11 browser, blob12 os, blob13 host, blob14 user, blob15 route; double1 count, double2 line, double3 column",
		"ui_actions": "index1 action_type; blob1 action, blob2 component, blob3 path, blob4 visitor, blob5 session, blob6 country, " +
			"blob7 device, blob8 browser, blob9 os, blob10 host, blob11 user; double1 duration",
		"websocket": "index1 event_kind; blob1 event, blob2 channel, blob3 error, blob4 side, blob5 path, blob6 visitor, blob7 session, " +
			"blob8 country, blob9 device, blob10 browser, blob11 os, blob12 host, blob13 user; double1 duration, double2 code, double3 messages_in, " +
			"double4 messages_out, double5 attempt",
		"logs": "index1 service_name; blob1 level, blob2 message, blob3 attributes, blob4 trace_id, blob5 span_id, blob6 service, " +
			"blob7 origin, blob8 environment, blob9 release, blob10 sdk; double1 severity",
	}
	for ds, w := range want {
		s := point.Builtin(ds)
		var blobs, dbls []string
		for i, n := range s.Blobs {
			blobs = append(blobs, fmt.Sprintf("blob%d %s", i+1, n))
		}
		for i, n := range s.Doubles {
			dbls = append(dbls, fmt.Sprintf("double%d %s", i+1, n))
		}
		got := fmt.Sprintf("index1 %s; %s; %s", s.Index, strings.Join(blobs, ", "), strings.Join(dbls, ", "))
		if got != w {
			t.Errorf("%s:\n got %s\nwant %s", ds, got, w)
		}
	}
	if len(want) != len(beacon.Datasets) {
		t.Errorf("%d datasets checked; the beacon writes %d", len(want), len(beacon.Datasets))
	}
}

func TestLogEvents(t *testing.T) {
	pts, rej := decodePoints(t, `{"events":[
	 {"type":"log","level":"warn","message":"low memory","url":"https://site.example/chat?x=1","user":"u1","props":{"free":12,"path":"ignored"}},
	 {"type":"log","level":"ERROR","message":"boom","url":"https://site.example/"},
	 {"type":"log","level":"loud","message":"x"},
	 {"type":"log","level":"error"}]}`)
	if len(pts) != 2 || len(rej) != 2 || !strings.Contains(rej[0].Error, `level "loud" is not one of`) || !strings.Contains(rej[1].Error, "a log needs a message") {
		t.Fatalf("got %d points, rejected %v; want 2 points, 2 rejected", len(pts), rej)
	}
	for i, w := range []map[string]any{
		{"level": "warn", "message": "low memory", "service": "browser", "origin": "browser", "severity": 13.0,
			"attributes": `{"free":12,"host":"site.example","path":"/chat","user":"u1"}`},
		{"level": "error", "message": "boom", "severity": 17.0, "attributes": `{"host":"site.example","path":"/"}`},
	} {
		if pts[i].Dataset != "logs" || pts[i].Index != "browser" {
			t.Errorf("point %d: %s %q; want logs \"browser\"", i, pts[i].Dataset, pts[i].Index)
		}
		for name, v := range w {
			if got := get(t, pts[i], name); got != v {
				t.Errorf("log %d: %s = %#v; want %#v", i, name, got, v)
			}
		}
	}
}

func TestZarazNames(t *testing.T) {
	pts, rej := decodePoints(t, `{"events":[
	 {"type":"event","name":"page_view","url":"https://site.example/x?utm_source=a","props":{"path":"/lessons/7","timestamp":"2026-12-05T10:00:00Z","user_id":"u1","session_id":"s1"}},
	 {"type":"event","name":"api_call","url":"https://site.example/x","props":{"endpoint":"/api/chat","duration_ms":412,"status_code":503,"success":false,"user_id":"u1"}},
	 {"type":"event","name":"api_call","props":{"endpoint":"/api/chat","duration_ms":"slow"}},
	 {"type":"event","name":"lesson_opened","props":{"path":"/lessons/7"}}]}`)
	if len(pts) != 3 || len(rej) != 1 || rej[0].Position != 2 || !strings.Contains(rej[0].Error, "props.duration_ms must be a number") {
		t.Fatalf("got %d points, rejected %v", len(pts), rej)
	}
	pv, api, ev := pts[0], pts[1], pts[2]
	if pv.Dataset != "pageviews" || get(t, pv, "path") != "/lessons/7" || get(t, pv, "utm_source") != "a" || get(t, pv, "host") != "site.example" {
		t.Errorf("page_view = %s %v", pv.Dataset, pv.Blobs)
	}
	if api.Dataset != "api_calls" || api.Index != "/api/chat" || get(t, api, "duration") != 412.0 || get(t, api, "status") != 503.0 || get(t, api, "success") != 0.0 {
		t.Errorf("api_call = %s %s %v %v", api.Dataset, api.Index, api.Blobs, api.Doubles)
	}
	for _, b := range append(pv.Blobs, api.Blobs...) {
		if strings.Contains(b, "u1") {
			t.Errorf("user_id kept: %q", b)
		}
	}
	if ev.Dataset != "events" || get(t, ev, "props") != `{"path":"/lessons/7"}` {
		t.Errorf("custom event = %s %v", ev.Dataset, ev.Blobs)
	}
}

func TestRejections(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	for _, c := range []struct{ event, want string }{
		{`5`, "an event is a JSON object, got a number"},
		{`{}`, "type is missing; use pageview, event, vital, api_call, error, action, websocket"},
		{`{"type":"click"}`, `unknown type "click"`},
		{`{"type":"pageview"}`, "a pageview needs url (location.href) or path"},
		{`{"type":"pageview","path":"lessons"}`, "must start with /"},
		{`{"type":"pageview","url":"https://x/` + long(2100) + `"}`, "url is 2110 bytes; the limit is 2048 bytes"},
		{`{"type":"pageview","url":"http://[::1"}`, "is not a URL"},
		{`{"type":"event"}`, "an event needs a name"},
		{`{"type":"event","name":"` + long(97) + `"}`, "name is 97 bytes; the limit is 96 bytes"},
		{`{"type":"event","name":"x","props":[1]}`, "props is a JSON object, got an array"},
		{`{"type":"event","name":"x","props":{"a":"` + long(5000) + `"}}`, "the limit is 4096 bytes"},
		{`{"type":"event","name":"x","props":` + strings.Repeat(`{"a":`, 17) + `1` + strings.Repeat(`}`, 17) + `}`, "props nests 17 levels deep; the limit is 16"},
		{`{"type":"vital","name":"LCX","value":1}`, `vital name "LCX" is not one of LCP, INP, CLS, FCP, TTFB, FID`},
		{`{"type":"vital","name":"CLS","value":-1}`, "a vital is never negative"},
		{`{"type":"vital","name":"CLS","value":0.1,"rating":"meh"}`, `rating "meh" is not one of good, needs-improvement, poor`},
		{`{"type":"api_call","duration":5}`, "an api_call needs an endpoint"},
		{`{"type":"api_call","endpoint":"/x","duration":"5"}`, "field duration must be a number, got JSON string"},
		{`{"type":"api_call","endpoint":"/x","status":200.5}`, "status is 200.5; it must be a whole number"},
		{`{"type":"api_call","endpoint":"/x","status":1000}`, "status is 1000; it must be from 0 to 999"},
		{`{"type":"api_call","endpoint":"/x","method":"GE T"}`, "is not an HTTP method"},
		{`{"type":"error"}`, "an error needs a message, an errorType or a stack"},
		{`{"type":"action"}`, "an action needs action"},
		{`{"type":"websocket","kind":"ping"}`, `websocket kind "ping" is not one of`},
		{`{"type":"websocket","kind":"close","code":-1}`, "code is -1"},
		{`{"type":"action","action":"a","component":"` + long(600) + `"}`, "component is 600 bytes; the limit is 512 bytes"},
		{`{"type":"action","action":"a","duration":-3}`, "duration is -3"},
		{`{"type":"pageview","url":"/","success":"yes"}`, "field success must be true or false"},
	} {
		_, rej := decodePoints(t, `{"events":[{"type":"pageview","url":"/ok"},`+c.event+`]}`)
		if len(rej) != 1 || rej[0].Position != 1 || !strings.Contains(rej[0].Error, c.want) {
			t.Errorf("event %.80s: rejected %v; want position 1 with %q", c.event, rej, c.want)
		}
	}
}

func TestCutFields(t *testing.T) {
	msg := strings.Repeat("é", 600) // 1200 bytes
	stack := strings.Repeat("at f (x.js:1:2)\n", 1000)
	pts, rej := decodePoints(t, `{"events":[{"type":"error","message":"`+msg+`","stack":`+string(must(json.Marshal(stack)))+`}]}`)
	if len(rej) != 0 {
		t.Fatal(rej)
	}
	m, s := get(t, pts[0], "message").(string), get(t, pts[0], "stack").(string)
	if len(m) > beacon.MaxMessageBytes || !strings.HasSuffix(m, "…") || !strings.HasPrefix(msg, strings.TrimSuffix(m, "…")) {
		t.Errorf("message cut to %d bytes: %q…", len(m), m[:20])
	}
	if len(s) > beacon.MaxStackBytes || !strings.HasSuffix(s, "…") {
		t.Errorf("stack cut to %d bytes", len(s))
	}
	long := "/" + strings.Repeat("ü", 100)
	pts, _ = decodePoints(t, `{"events":[{"type":"pageview","path":"`+long+`"}]}`)
	if p := pts[0]; len(p.Index) > point.MaxIndexBytes || get(t, p, "path") != long {
		t.Errorf("page = %d bytes, path = %q", len(p.Index), get(t, p, "path"))
	}
}

func TestBodyErrors(t *testing.T) {
	many := `{"events":[` + strings.Repeat(`{"type":"pageview","url":"/"},`, 500) + `{"type":"pageview","url":"/"}]}`
	for _, c := range []struct{ body, want string }{
		{"  ", "body is empty"},
		{`[{"type":"pageview"}]`, "body: expected an object, got JSON array"},
		{`{"events":[`, "the body ends early"},
		{`{"events":{}}`, "body: events must be an array"},
		{`{"key":"k"}`, `body has no "events" array`},
		{`{"events":[]} {}`, "more than one JSON value"},
		{`{"key":5,"events":[]}`, "key must be a string"},
		{`{"key":"` + strings.Repeat("k", 300) + `","events":[]}`, "key is 300 bytes; the limit is 256 bytes"},
		{`{"sentAt":-1,"events":[]}`, "sentAt must be Unix milliseconds"},
		{`{"events":[}`, "invalid JSON at byte offset"},
		{many, "body has 501 events; the limit is 500 events per request"},
	} {
		_, err := beacon.Decode([]byte(c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Decode(%.40q) = %v; want %q", c.body, err, c.want)
		}
	}
	var tooMany *beacon.TooManyEventsError
	if _, err := beacon.Decode([]byte(many)); !errors.As(err, &tooMany) {
		t.Errorf("Decode(501 events) = %T; want *TooManyEventsError", err)
	}
	req, err := beacon.Decode([]byte("\uFEFF" + `{"key":"k","sentAt":5,"events":[],"other":1}`))
	if err != nil || req.Key != "k" || req.SentAt != 5 || req.Count != 0 {
		t.Errorf("Decode with a BOM and an unknown field = %+v, %v", req, err)
	}
}

func TestTimestamps(t *testing.T) {
	const now = 1_800_000_000_000
	req, err := beacon.Decode([]byte(`{"sentAt":100000000,"events":[
	 {"type":"pageview","url":"/a","timestamp":99997000},
	 {"type":"pageview","url":"/b","timestamp":100001000},
	 {"type":"pageview","url":"/c"},
	 {"type":"pageview","url":"/d","timestamp":1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	pts, _, rej := req.Points(now, now-48*3600_000)
	if len(pts) != 3 || pts[0].Timestamp != now-3000 || pts[1].Timestamp != now || pts[2].Timestamp != now {
		t.Errorf("timestamps %v; want now-3s, now (a future event is now), now", pts)
	}
	if len(rej) != 1 || rej[0].Position != 3 || !strings.Contains(rej[0].Error, "the limit is 24h0m0s") {
		t.Errorf("rejected %v; want position 3 over the 24-hour limit", rej)
	}
	req, _ = beacon.Decode([]byte(`{"events":[{"type":"pageview","url":"/a","timestamp":1}]}`))
	if pts, _, _ := req.Points(now, 0); pts[0].Timestamp != now {
		t.Errorf("without sentAt the timestamp is %d; want the receive time", pts[0].Timestamp)
	}
	req, _ = beacon.Decode([]byte(`{"sentAt":100000000,"events":[{"type":"pageview","url":"/a","timestamp":99000000}]}`))
	if _, _, rej := req.Points(now, now-1000); len(rej) != 1 || !strings.Contains(rej[0].Error, "retention") {
		t.Errorf("an event before the retention: rejected %v", rej)
	}
}

func TestParsePage(t *testing.T) {
	for _, c := range []struct {
		url  string
		want beacon.Page
	}{
		{"https://Site.Example:8443/lessons/7?utm_source=news&utm_medium=email&utm_campaign=c&utm_term=t&utm_content=x#top",
			beacon.Page{Host: "site.example:8443", Path: "/lessons/7", UTM: beacon.UTM{Source: "news", Medium: "email", Campaign: "c", Term: "t", Content: "x"}}},
		{"https://site.example", beacon.Page{Host: "site.example", Path: "/"}},
		{"https://site.example/#/lessons/7?tab=2", beacon.Page{Host: "site.example", Path: "/#/lessons/7"}},
		{"https://site.example/app#!/chat", beacon.Page{Host: "site.example", Path: "/app#!/chat"}},
		{"/lessons/%C3%A9t%C3%A9?ref=hn", beacon.Page{Path: "/lessons/été", UTM: beacon.UTM{Source: "hn"}}},
		{"/x/%FF", beacon.Page{Path: "/x/%FF"}},
		{"https://site.example/?source=tw&utm_source=", beacon.Page{Host: "site.example", Path: "/", UTM: beacon.UTM{Source: "tw"}}},
	} {
		got, err := beacon.ParsePage(c.url)
		if err != nil || got != c.want {
			t.Errorf("ParsePage(%q) = %+v, %v; want %+v", c.url, got, err, c.want)
		}
	}
	if _, err := beacon.ParsePage("http://[::1"); err == nil {
		t.Error("ParsePage of a broken URL: no error")
	}
}

func TestReferrerHost(t *testing.T) {
	for _, c := range []struct{ ref, page, want string }{
		{"https://www.google.com/", "site.example", "google.com"},
		{"https://news.ycombinator.com/item?id=1", "site.example", "news.ycombinator.com"},
		{"https://site.example/other", "site.example", ""},
		{"https://www.site.example/", "site.example:8443", ""},
		{"android-app://com.slack/", "site.example", "com.slack"},
		{"", "site.example", ""},
		{"not a url at all", "site.example", ""},
	} {
		if got := beacon.ReferrerHost(c.ref, c.page); got != c.want {
			t.Errorf("ReferrerHost(%q, %q) = %q; want %q", c.ref, c.page, got, c.want)
		}
	}
}

func TestStripURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw@api.example/x/7?token=t#f": "https://api.example/x/7",
		"/api/x?y=1":  "/api/x",
		"":            "",
		"http://[::1": "",
	} {
		if got := beacon.StripURL(in); got != want {
			t.Errorf("StripURL(%q) = %q; want %q", in, got, want)
		}
	}
	if got := beacon.StripURL("https://x/" + strings.Repeat("é", 2000)); len(got) > beacon.MaxURLBytes {
		t.Errorf("StripURL of a long URL is %d bytes", len(got))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestWebSocketKinds(t *testing.T) {
	pts, rej := decodePoints(t, `{"events":[{"type":"websocket","kind":"connect"},{"type":"websocket","kind":"reconnect","attempt":3},
	 {"type":"websocket","kind":"open","reconnect":true},{"type":"websocket","kind":"open"}]}`)
	if len(rej) != 0 {
		t.Fatal(rej)
	}
	for i, want := range []struct {
		kind    string
		attempt float64
	}{{"open", 0}, {"reconnect", 3}, {"open", 1}, {"open", 0}} {
		if pts[i].Index != want.kind || get(t, pts[i], "event") != want.kind || get(t, pts[i], "attempt") != want.attempt {
			t.Errorf("event %d: kind %q attempt %v; want %q %v", i, pts[i].Index, get(t, pts[i], "attempt"), want.kind, want.attempt)
		}
	}
}
