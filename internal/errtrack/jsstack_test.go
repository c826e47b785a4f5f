package errtrack

import (
	"fmt"
	"strings"
	"testing"
)

type jsf struct {
	fn, file  string
	line, col int
	inApp     bool
}

func TestParseJSStack(t *testing.T) {
	cases := []struct {
		name  string
		stack string
		want  []jsf // newest first, as the browser writes them
	}{
		{"chrome", "TypeError: Cannot read properties of undefined (reading 'name')\n" +
			"    at renderLesson (https://tutor.example.com/assets/index-3f2a9c1b.js:12:3456)\n" +
			"    at async Promise.all (index 0)\n" +
			"    at HTMLButtonElement.<anonymous> (https://tutor.example.com/assets/index-3f2a9c1b.js:40:17)\n" +
			"    at https://cdn.jsdelivr.net/npm/lodash@4.17.21/lodash.min.js:9:100\n" +
			"    at new Promise (<anonymous>)\n" +
			"    at Array.map (native)",
			[]jsf{
				{"renderLesson", "https://tutor.example.com/assets/index-3f2a9c1b.js", 12, 3456, true},
				{"Promise.all", "index 0", 0, 0, false},
				{"HTMLButtonElement.<anonymous>", "https://tutor.example.com/assets/index-3f2a9c1b.js", 40, 17, true},
				{"", "https://cdn.jsdelivr.net/npm/lodash@4.17.21/lodash.min.js", 9, 100, false},
				{"new Promise", "<anonymous>", 0, 0, false},
				{"Array.map", "native", 0, 0, false},
			}},
		{"chrome eval", "Error: boom\n    at eval (eval at run (https://tutor.example.com/app.js:5:9), <anonymous>:1:7)\n    at run (https://tutor.example.com/app.js:5:9)",
			[]jsf{
				{"eval", "https://tutor.example.com/app.js", 5, 9, true},
				{"run", "https://tutor.example.com/app.js", 5, 9, true},
			}},
		{"chrome message with at and @", "Error: mail a@b.c failed\n  at line two\n    at send (https://tutor.example.com:8443/app.js:1:2)",
			[]jsf{
				{"send", "https://tutor.example.com:8443/app.js", 1, 2, true},
			}},
		{"firefox", "renderLesson@https://tutor.example.com/assets/index-3f2a9c1b.js:12:3456\n" +
			"onClick/<@https://tutor.example.com/assets/index-3f2a9c1b.js:40:17\n" +
			"async*@https://tutor.example.com/assets/index-3f2a9c1b.js:50:1\n" +
			"run@https://tutor.example.com/app.js line 2 > eval:1:7\n" +
			"map@[native code]\n",
			[]jsf{
				{"renderLesson", "https://tutor.example.com/assets/index-3f2a9c1b.js", 12, 3456, true},
				{"onClick/<", "https://tutor.example.com/assets/index-3f2a9c1b.js", 40, 17, true},
				{"", "https://tutor.example.com/assets/index-3f2a9c1b.js", 50, 1, true},
				{"run", "https://tutor.example.com/app.js", 0, 0, true},
				{"map", "[native code]", 0, 0, false},
			}},
		{"safari", "renderLesson@https://tutor.example.com/assets/index.js:12:3456\n" +
			"forEach@[native code]\n" +
			"global code@https://tutor.example.com/assets/index.js:80:5\n" +
			"https://widgets.example.net/w.js:3:14",
			[]jsf{
				{"renderLesson", "https://tutor.example.com/assets/index.js", 12, 3456, true},
				{"forEach", "[native code]", 0, 0, false},
				{"global code", "https://tutor.example.com/assets/index.js", 80, 5, true},
				{"", "https://widgets.example.net/w.js", 3, 14, false},
			}},
		{"message only", "x is not defined", nil},
		{"empty", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ParseJSStack(c.stack, "tutor.example.com")
			if len(got) != len(c.want) {
				t.Fatalf("%d frames, want %d: %+v", len(got), len(c.want), got)
			}
			for i, w := range c.want {
				f := got[len(got)-1-i] // oldest first
				if f.Function != w.fn || f.Filename != w.file || f.Lineno != w.line || f.Colno != w.col || f.InApp == nil || *f.InApp != w.inApp {
					t.Errorf("frame %d: got %q %q %d:%d in_app=%v, want %+v", i, f.Function, f.Filename, f.Lineno, f.Colno, *f.InApp, w)
				}
			}
		})
	}
}

func TestParseJSStackLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("RangeError: Maximum call stack size exceeded\n")
	for i := range 200 {
		fmt.Fprintf(&b, "    at f%d (https://a.example/app.js:%d:1)\n", i, i+1)
	}
	got := ParseJSStack(b.String(), "")
	if len(got) != MaxJSFrames {
		t.Fatalf("%d frames, want %d", len(got), MaxJSFrames)
	}
	if got[len(got)-1].Function != "f0" || got[0].Function != "f49" || got[0].InApp != nil {
		t.Fatalf("kept %q … %q (in_app %v), want the newest frames f49 … f0 without in_app", got[0].Function, got[len(got)-1].Function, got[0].InApp)
	}
}

func TestBrowserErrorGroupsLikeSentry(t *testing.T) {
	b := BrowserError{Type: "TypeError", Message: "x is undefined", URL: "https://tutor.example.com/lessons/7",
		Stack:   "TypeError: x is undefined\n    at renderLesson (https://tutor.example.com/assets/index-3f2a9c1b.js:12:3456)\n    at https://cdn.example.net/lib.js:1:2",
		Browser: "Chrome 131", OS: "macOS 14", User: "v1", Timestamp: 1_700_000_000_000}
	in := ReadBrowserError(b, 1, 1_700_000_000_000, 0)
	if in.Event.EventID == "" || in.Event.Platform != "javascript" || in.Event.Level != "error" || in.Event.User.ID != "v1" ||
		in.Event.Request == nil || in.Event.Request.URL != b.URL || !IsBeaconEvent(in.Event) {
		t.Fatalf("event %+v", in.Event)
	}
	if got := Title(in.Event); got != "TypeError: x is undefined" {
		t.Fatalf("title %q", got)
	}
	if in.Grouping.Method != "stacktrace" || len(in.Grouping.Components) != 2 {
		t.Fatalf("grouping %+v", in.Grouping)
	}
	// @sentry/browser's event of the same error.
	sentry := `{"platform":"javascript","exception":{"values":[{"type":"TypeError","value":"x is undefined","mechanism":{"type":"onerror","handled":false},
	"stacktrace":{"frames":[{"filename":"https://cdn.example.net/lib.js","function":"?","lineno":1,"colno":2,"in_app":false},
	{"filename":"https://tutor.example.com/assets/index-3f2a9c1b.js","function":"renderLesson","lineno":12,"colno":3456,"in_app":true}]}}]},
	"sdk":{"name":"sentry.javascript.browser","version":"9.0.0"}}`
	se, err := ReadEvent([]byte(sentry), 1, 1_700_000_000_000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if se.Grouping.Fingerprint != in.Grouping.Fingerprint {
		t.Fatalf("fingerprints differ: beacon %v, sentry %v", in.Grouping, se.Grouping)
	}
	// Without a stack, the source is the frame.
	in = ReadBrowserError(BrowserError{Message: "Script error.", Source: "https://tutor.example.com/a.js", Line: 3, Column: 4, URL: "https://tutor.example.com/"}, 1, 1, 0)
	if st := in.Event.Exceptions[0].Stacktrace; st == nil || len(st.Frames) != 1 || st.Frames[0].Lineno != 3 || in.Event.Exceptions[0].Type != "Error" {
		t.Fatalf("exceptions %+v", in.Event.Exceptions)
	}
}

func FuzzParseJSStack(f *testing.F) {
	f.Add("TypeError: x\n    at f (https://a.example/app.js:1:2)\n    at https://a.example/b.js:3:4", "a.example")
	f.Add("f@https://a.example/app.js:1:2\n@https://a.example/app.js line 2 > eval:1:1\nmap@[native code]", "a.example:8080")
	f.Add("    at eval (eval at run (x:1:2), <anonymous>:1:7)\n    at (", "[::1]:80")
	f.Add("@:::\n:1:2\n@", "")
	f.Fuzz(func(t *testing.T, stack, host string) {
		frames := ParseJSStack(stack, host)
		if len(frames) > MaxJSFrames {
			t.Fatalf("%d frames", len(frames))
		}
		for _, fr := range frames {
			if fr.Lineno < 0 || fr.Colno < 0 || (hostOnly(host) != "" && fr.InApp == nil) {
				t.Fatalf("frame %+v", fr)
			}
		}
		b := BrowserError{Type: "E", Message: stack, Stack: stack, URL: "https://" + host + "/", Timestamp: 1}
		if _, err := ReadEvent(b.Payload(), 1, 1, 0); err != nil {
			t.Fatalf("payload unreadable: %v", err)
		}
	})
}
