package errtrack

import (
	"strings"
	"testing"
	"time"
)

func TestDecodeEventShapes(t *testing.T) {
	// exception as {values} and as a bare list; breadcrumbs likewise; tags
	// as an object and as pairs; RFC 3339 and epoch times.
	a, err := DecodeEvent([]byte(`{"event_id":"FB3D5A4E-0E28-4F4B-9E63-7A1F2C3D4E5F","timestamp":"2026-12-01T10:00:00.5Z","level":"warn",
		"exception":{"values":[{"type":"ValueError","value":"bad","stacktrace":{"frames":[{"function":"f","module":"m","lineno":"12","in_app":"true"}]}}]},
		"breadcrumbs":{"values":[{"timestamp":1796119200,"message":"b1"}]},
		"tags":{"b":"2","a":1},"user":{"id":7,"email":"x@y"},"release":"r\n1","environment":"prod"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := DecodeEvent([]byte(`{"timestamp":1796119200.5,"exception":[{"type":"ValueError","value":"bad",
		"stacktrace":{"frames":[{"function":"f","module":"m","lineno":12,"in_app":true}]}}],
		"breadcrumbs":[{"timestamp":"2026-12-01T10:00:00Z","message":"b1"}],"tags":[["b","2"],["a",1]],"user":{"id":"7","email":"x@y"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if a.EventID != "fb3d5a4e0e284f4b9e637a1f2c3d4e5f" || a.Timestamp != b.Timestamp || a.Timestamp != time.Date(2026, 12, 1, 10, 0, 0, 5e8, time.UTC).UnixMilli() {
		t.Errorf("id %q, times %d and %d", a.EventID, a.Timestamp, b.Timestamp)
	}
	if a.Level != "warning" || b.Level != "error" || a.Release != "r1" {
		t.Errorf("levels %q %q release %q", a.Level, b.Level, a.Release)
	}
	for _, e := range []*Event{a, b} {
		if len(e.Exceptions) != 1 || e.Exceptions[0].Stacktrace == nil || e.Exceptions[0].Stacktrace.Frames[0].Lineno != 12 ||
			!*e.Exceptions[0].Stacktrace.Frames[0].InApp || len(e.Breadcrumbs) != 1 || e.Breadcrumbs[0].Timestamp != 1796119200000 ||
			e.User.Key() != "7" || len(e.Tags) != 2 {
			t.Errorf("event = %+v", e)
		}
	}
	if a.Tags[0] != (Pair{"a", "1"}) || b.Tags[0] != (Pair{"b", "2"}) {
		t.Errorf("tags %v %v: an object sorted by key, pairs in order", a.Tags, b.Tags)
	}
	if GroupOf(a).Fingerprint != GroupOf(b).Fingerprint {
		t.Errorf("the same event in two shapes groups differently")
	}

	// message vs logentry; legacy interfaces; odd types read as empty.
	for _, c := range []struct{ body, msg, tmpl string }{
		{`{"message":"plain"}`, "plain", ""},
		{`{"logentry":{"message":"user %s of %d","params":["ann",3]}}`, "user ann of 3", "user %s of %d"},
		{`{"logentry":{"message":"t","formatted":"f"}}`, "f", "t"},
		{`{"message":{"message":"obj %s","params":["x"]}}`, "obj x", "obj %s"},
		{`{"sentry.interfaces.Message":{"message":"legacy"}}`, "legacy", ""},
		{`{"message":12}`, "12", ""},
		{`{"message":null,"exception":"nope","tags":"x","user":5,"timestamp":"soon","breadcrumbs":7}`, "", ""},
	} {
		e, err := DecodeEvent([]byte(c.body))
		if err != nil || e.Message != c.msg || e.Template != c.tmpl {
			t.Errorf("DecodeEvent(%s) = %+v, %v; want message %q template %q", c.body, e, err, c.msg, c.tmpl)
		}
	}
	e, _ := DecodeEvent([]byte(`{"sentry.interfaces.Exception":{"values":[{"type":"E"}]},"sentry.interfaces.User":{"username":"u"},"sentry.interfaces.Http":{"url":"https://x/y","headers":[["A","b"]],"query_string":{"q":"1"}}}`))
	if len(e.Exceptions) != 1 || e.User.Key() != "u" || e.Request == nil || e.Request.URL != "https://x/y" || e.Request.QueryString != "q=1" || e.Request.Headers[0] != (Pair{"A", "b"}) {
		t.Errorf("legacy interfaces = %+v %+v", e, e.Request)
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{"a":`, "{\"a\":\"\xff\"}"} {
		if _, err := DecodeEvent([]byte(bad)); err == nil {
			t.Errorf("DecodeEvent(%q) accepted", bad)
		}
	}
	// A message event with attach_stacktrace keeps its thread's stack.
	e, _ = DecodeEvent([]byte(`{"message":"m","threads":{"values":[{"current":false,"stacktrace":{"frames":[{"function":"a"}]}},{"current":true,"stacktrace":{"frames":[{"function":"b"}]}}]}}`))
	if e.Stacktrace == nil || e.Stacktrace.Frames[0].Function != "b" {
		t.Errorf("thread stack = %+v", e.Stacktrace)
	}
	// Long strings are cut on a rune boundary.
	e, _ = DecodeEvent([]byte(`{"message":"` + strings.Repeat("é", 10000) + `"}`))
	if len(e.Message) > maxMessage || !strings.HasSuffix(e.Message, "…") {
		t.Errorf("long message: %d bytes", len(e.Message))
	}
}

func TestClampTimestamp(t *testing.T) {
	now := int64(1_800_000_000_000)
	for _, c := range []struct{ ts, want int64 }{
		{0, now}, {now - 1000, now - 1000}, {now + 10*60_000, now}, {now - 100*86_400_000, now}, {now + 60_000, now + 60_000},
	} {
		if got := ClampTimestamp(c.ts, now, 90*24*time.Hour); got != c.want {
			t.Errorf("ClampTimestamp(%d) = %d; want %d", c.ts, got, c.want)
		}
	}
}
