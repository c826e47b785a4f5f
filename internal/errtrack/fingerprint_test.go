package errtrack

import (
	"testing"
)

func mustEvent(t *testing.T, body string) *Event {
	t.Helper()
	e, err := DecodeEvent([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestNormalizeMessage(t *testing.T) {
	for in, want := range map[string]string{
		"user 42 not found": "user <num> not found",
		"order 3f2a9c1e-8b7d-4c6a-9e5f-1a2b3c4d5e6f failed":       "order <uuid> failed",
		"order 3f2a9c1e8b7d4c6a9e5f1a2b3c4d5e6f failed":           "order <uuid> failed",
		"pointer 0x7ffd1234 is bad":                               "pointer <hex> is bad",
		"commit deadbeef12 missing":                               "commit <hex> missing",
		`key 'lesson_7' and "lesson_8" and ` + "`x`" + ` missing`: "key <quoted> and <quoted> and <quoted> missing",
		"took 12.5ms at 10:04:33":                                 "took <num>ms at <num>",
		"  spaces\t\tcollapse ":                                   "spaces collapse",
		"cafe is not hex enough":                                  "cafe is not hex enough",
	} {
		if got := NormalizeMessage(in); got != want {
			t.Errorf("NormalizeMessage(%q) = %q; want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"https://cdn.example.com/static/js/main.3f9a8c21.chunk.js?v=1#x": "/static/js/main.<hash>.chunk.js",
		"https://cdn.example.com/assets/app-4b8e2f9a1c.js":               "/assets/app-<hash>.js",
		"/srv/app/releases/1.4.2/handlers/grade.py":                      "/srv/app/releases/<version>/handlers/grade.py",
		"app.js": "app.js",
	} {
		if got := NormalizeFilename(in); got != want {
			t.Errorf("NormalizeFilename(%q) = %q; want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"TestX.func12":           "TestX.funcN",
		"main.handler.gowrap3":   "main.handler.gowrapN",
		"Foo.lambda$7":           "Foo.lambda$N",
		"crash+0x1f":             "crash",
		"(*Server).handleSentry": "(*Server).handleSentry",
	} {
		if got := NormalizeFunction(in); got != want {
			t.Errorf("NormalizeFunction(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestGroupOf(t *testing.T) {
	// The same bug raised from two lines of one function (and through
	// different anonymous functions) groups together; frames that are not
	// in the app do not count when some are.
	stack := func(line int, closure, lib string) string {
		return `{"exception":[{"type":"*errors.errorString","value":"db down at 10:04","stacktrace":{"frames":[
			{"module":"` + lib + `","function":"Serve","lineno":99,"in_app":false},
			{"module":"app/handlers","function":"Grade.` + closure + `","lineno":` + itoa(line) + `,"in_app":true},
			{"module":"app/store","function":"Save","lineno":` + itoa(line*2) + `,"in_app":true}]}}]}`
	}
	a := GroupOf(mustEvent(t, stack(10, "func1", "net/http")))
	b := GroupOf(mustEvent(t, stack(20, "func2", "net/http2")))
	if a.Fingerprint != b.Fingerprint || a.Method != "stacktrace" {
		t.Errorf("the same bug from two lines: %+v and %+v; want one fingerprint by stacktrace", a, b)
	}
	other := GroupOf(mustEvent(t, `{"exception":[{"type":"*errors.errorString","value":"db down","stacktrace":{"frames":[
		{"module":"app/handlers","function":"Submit","lineno":10,"in_app":true}]}}]}`))
	if other.Fingerprint == a.Fingerprint {
		t.Errorf("a bug raised elsewhere groups with it")
	}
	typ := GroupOf(mustEvent(t, `{"exception":[{"type":"*fs.PathError","value":"db down at 10:04","stacktrace":{"frames":[
			{"module":"app/handlers","function":"Grade.func1","lineno":10,"in_app":true},
			{"module":"app/store","function":"Save","lineno":20,"in_app":true}]}}]}`))
	if typ.Fingerprint == a.Fingerprint {
		t.Errorf("another exception type from the same frames groups with it")
	}
	// Without frames: type and normalized value.
	v1 := GroupOf(mustEvent(t, `{"exception":{"values":[{"type":"KeyError","value":"'lesson_7' (user 12)"}]}}`))
	v2 := GroupOf(mustEvent(t, `{"exception":{"values":[{"type":"KeyError","value":"'lesson_9' (user 31)"}]}}`))
	v3 := GroupOf(mustEvent(t, `{"exception":{"values":[{"type":"KeyError","value":"missing config"}]}}`))
	if v1.Fingerprint != v2.Fingerprint || v1.Fingerprint == v3.Fingerprint || v1.Method != "exception" {
		t.Errorf("exception without frames: %+v %+v %+v", v1, v2, v3)
	}
	// Messages: the template first, else the normalized message.
	m1 := GroupOf(mustEvent(t, `{"logentry":{"message":"user %s failed","params":["ann"]}}`))
	m2 := GroupOf(mustEvent(t, `{"logentry":{"message":"user %s failed","params":["bob"]}}`))
	m3 := GroupOf(mustEvent(t, `{"message":"cache miss 42 for 3f2a9c1e-8b7d-4c6a-9e5f-1a2b3c4d5e6f"}`))
	m4 := GroupOf(mustEvent(t, `{"message":"cache miss 7 for 11111111-2222-3333-4444-555555555555"}`))
	if m1.Fingerprint != m2.Fingerprint || m3.Fingerprint != m4.Fingerprint || m1.Fingerprint == m3.Fingerprint || m1.Method != "message" {
		t.Errorf("messages: %+v %+v %+v %+v", m1, m2, m3, m4)
	}
	// The event's own fingerprint, with {{ default }} and variables.
	f1 := GroupOf(mustEvent(t, `{"message":"x","fingerprint":["payments","{{ transaction }}"],"transaction":"/pay"}`))
	f2 := GroupOf(mustEvent(t, `{"message":"y","fingerprint":["payments","{{transaction}}"],"transaction":"/pay"}`))
	f3 := GroupOf(mustEvent(t, `{"message":"x","fingerprint":["{{ default }}","tenant-a"]}`))
	f4 := GroupOf(mustEvent(t, `{"message":"x","fingerprint":["{{ default }}","tenant-b"]}`))
	if f1.Fingerprint != f2.Fingerprint || f1.Method != "fingerprint" || f3.Fingerprint == f4.Fingerprint || f3.Method != "fingerprint+message" {
		t.Errorf("custom fingerprints: %+v %+v %+v %+v", f1, f2, f3, f4)
	}
	if f := GroupOf(mustEvent(t, `{"message":"x","fingerprint":["{{ default }}"]}`)); f.Fingerprint != GroupOf(mustEvent(t, `{"message":"x"}`)).Fingerprint {
		t.Errorf("[{{ default }}] alone differs from the default")
	}
	// Nothing at all still groups.
	if g := GroupOf(mustEvent(t, `{}`)); g.Fingerprint == "" || len(g.Fingerprint) != 16 {
		t.Errorf("empty event: %+v", g)
	}
}

// TestGroupingV1Golden pins algorithm v1: a change to these fingerprints
// regroups every stored event silently. Change GroupingVersion (and say
// how old groups are matched) instead of this table.
func TestGroupingV1Golden(t *testing.T) {
	for body, want := range map[string]string{
		`{"exception":[{"type":"TypeError","value":"x is undefined","stacktrace":{"frames":[{"filename":"https://a.example/app.3f9a8c21.js","function":"render","lineno":3,"in_app":true}]}}]}`: "9962555ed2d6a5b7",
		`{"exception":[{"type":"KeyError","value":"'lesson_7'"}]}`: "d0bb5ae9c17f15c6",
		`{"message":"cache miss 42"}`:                              "b61d9fac6a7ae557",
		`{"message":"x","fingerprint":["{{ default }}","a"]}`:      "8007fd07c7d348ba",
	} {
		if got := GroupOf(mustEvent(t, body)).Fingerprint; got != want {
			t.Errorf("v1 fingerprint of %s = %s; want %s", body, got, want)
		}
	}
}

func TestTitleAndCulprit(t *testing.T) {
	e := mustEvent(t, `{"exception":[{"type":"Inner","value":"cause"},{"type":"ValueError","value":"bad value\nsecond line","stacktrace":{"frames":[
		{"module":"lib","function":"call","in_app":false},{"module":"app.views","function":"grade","in_app":true},{"module":"lib2","function":"inner","in_app":false}]}}]}`)
	if Title(e) != "ValueError: bad value" || Culprit(e) != "app.views in grade" {
		t.Errorf("title %q culprit %q", Title(e), Culprit(e))
	}
	e = mustEvent(t, `{"message":"hello\nworld","transaction":"/api/x"}`)
	if Title(e) != "hello" || Culprit(e) != "/api/x" {
		t.Errorf("title %q culprit %q", Title(e), Culprit(e))
	}
}
