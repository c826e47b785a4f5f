package errtrack

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxJSFrames bounds the frames kept of a JavaScript stack string: the
// newest ones (where the error was raised) are kept.
const MaxJSFrames = 50

// ParseJSStack reads a JavaScript Error.stack string into frames, oldest
// first (as Sentry orders them). It reads V8's lines (Chrome, Edge, Node:
// "    at fn (url:line:col)", "    at url:line:col", "    at async fn
// (…)", "    at eval (eval at fn (url:1:2), <anonymous>:3:4)") and
// SpiderMonkey's and JavaScriptCore's (Firefox, Safari: "fn@url:line:col",
// "@url:line:col", "global code@url:line:col", "[native code]"); other
// lines (the "TypeError: message" header, blank lines) are skipped. A
// frame is in_app when its URL is on pageHost (a host name, with or
// without a port); with pageHost "" in_app is left unset. At most
// MaxJSFrames frames are kept, the newest.
func ParseJSStack(stack, pageHost string) []Frame {
	host := hostOnly(pageHost)
	// A V8 stack starts with the message, which may hold anything: only
	// its "at" lines are read.
	v8 := false
	for line := range strings.Lines(stack) {
		if strings.HasPrefix(strings.TrimSpace(line), "at ") {
			v8 = true
			break
		}
	}
	var frames []Frame // newest first while reading
	for line := range strings.Lines(stack) {
		f, ok := parseJSLine(strings.TrimSpace(line), v8)
		if !ok {
			continue
		}
		if host != "" {
			in := urlHost(f.AbsPath) == host
			f.InApp = &in
		}
		frames = append(frames, f)
		if len(frames) == MaxJSFrames {
			break
		}
	}
	for i, j := 0, len(frames)-1; i < j; i, j = i+1, j-1 {
		frames[i], frames[j] = frames[j], frames[i]
	}
	return frames
}

// parseJSLine reads one line of a stack, trimmed.
func parseJSLine(l string, v8 bool) (Frame, bool) {
	if l == "" {
		return Frame{}, false
	}
	if v8 {
		if rest, ok := strings.CutPrefix(l, "at "); ok {
			return parseV8(strings.TrimSpace(rest))
		}
		return Frame{}, false
	}
	return parseGecko(l)
}

// parseV8 reads what follows "at ".
func parseV8(rest string) (Frame, bool) {
	fn, loc, parens := "", rest, false
	if strings.HasSuffix(rest, ")") {
		parens = true
		if i := strings.Index(rest, " ("); i >= 0 {
			fn, loc = rest[:i], rest[i+2:len(rest)-1]
		} else if strings.HasPrefix(rest, "(") {
			loc = rest[1 : len(rest)-1]
		}
	}
	// "eval at fn (url:1:2), <anonymous>:3:4": the script that called eval.
	if inner, ok := strings.CutPrefix(loc, "eval at "); ok {
		if i, j := strings.Index(inner, "("), strings.Index(inner, ")"); i >= 0 && j > i {
			loc = inner[i+1 : j]
		}
	}
	fn = strings.TrimPrefix(fn, "async ")
	if fn == "" && loc == "" {
		return Frame{}, false
	}
	file, line, col := splitLocation(loc)
	if file == "" && line == 0 || !parens && line == 0 && !strings.Contains(file, "://") {
		// "at url" needs a line; anything else is a message's line.
		return Frame{}, false
	}
	if file == "native" || file == "<anonymous>" {
		line, col = 0, 0
	}
	return jsFrame(fn, file, line, col), true
}

// parseGecko reads "fn@location" or a bare location (Safari writes some
// frames without a function or an "@").
func parseGecko(l string) (Frame, bool) {
	fn, loc, found := "", l, false
	if i := strings.Index(l, "@"); i >= 0 {
		fn, loc, found = l[:i], l[i+1:], true
	}
	fn = strings.TrimPrefix(fn, "async*") // Firefox's async boundaries
	if loc == "[native code]" {
		return jsFrame(fn, loc, 0, 0), found
	}
	// Firefox's eval frames: "fn@url line 2 > eval:1:1": the calling script.
	if i := strings.Index(loc, " line "); i >= 0 && strings.Contains(loc[i:], "> ") {
		loc = loc[:i]
		_, line, _ := splitLocation(loc)
		if line == 0 {
			return jsFrame(fn, loc, 0, 0), found
		}
	}
	file, line, col := splitLocation(loc)
	if file == "" || strings.ContainsAny(file, " \t") && !strings.Contains(file, "://") {
		return Frame{}, false
	}
	if line == 0 && !strings.Contains(file, "://") || !found && !strings.Contains(file, "/") {
		// A line must look like a script location, not a message.
		return Frame{}, false
	}
	return jsFrame(fn, file, line, col), true
}

// splitLocation splits "url:line:col" (or "url:line", or "url").
func splitLocation(loc string) (file string, line, col int) {
	file = strings.TrimSpace(loc)
	n, rest, ok := trailingNumber(file)
	if !ok {
		return file, 0, 0
	}
	if m, rest2, ok := trailingNumber(rest); ok {
		return rest2, m, n
	}
	return rest, n, 0
}

// trailingNumber cuts ":123" off the end of s.
func trailingNumber(s string) (int, string, bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || i == len(s)-1 {
		return 0, s, false
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 0 {
		return 0, s, false
	}
	return n, s[:i], true
}

func jsFrame(fn, file string, line, col int) Frame {
	fn = strings.TrimSpace(fn)
	if fn == "<anonymous>" {
		fn = ""
	}
	file = cut(file, 2048)
	return Frame{Function: cut(fn, maxTitle), Filename: file, AbsPath: file, Lineno: line, Colno: col}
}

// hostOnly is a host name without its port, in lower case.
func hostOnly(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if strings.HasPrefix(h, "[") {
		if i := strings.Index(h, "]"); i >= 0 {
			return h[1:i]
		}
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.Count(h, ":") == 1 {
		h = h[:i]
	}
	return h
}

// urlHost is an absolute URL's host name, "" for anything else.
func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// BrowserError is a JavaScript error a page reported through the beacon
// (POST /api/v1/events, type "error").
type BrowserError struct {
	EventID   string // "" for a new one
	Type      string // errorType ("Error" when the page sent none)
	Message   string
	Stack     string // Error.stack as the browser wrote it
	Source    string // the script's URL, when the page sent no stack
	Line      int
	Column    int
	URL       string // the page
	Browser   string // from the enrichment ("Chrome 131")
	OS        string
	UserAgent string
	User      string // the page's user id (hashed by the SDK), else the visitor id
	Timestamp int64  // Unix ms
}

// browserSDK names the beacon as the events' SDK.
const browserSDK = "alidade.beacon"

// Payload is the error as a Sentry event's JSON, as @sentry/browser would
// send it: an exception with the stack's frames, the page as the request,
// the browser and OS as contexts. The payload is what the event API shows.
func (b BrowserError) Payload() []byte {
	type frameJSON struct {
		Function string `json:"function,omitempty"`
		Filename string `json:"filename,omitempty"`
		AbsPath  string `json:"abs_path,omitempty"`
		Lineno   int    `json:"lineno,omitempty"`
		Colno    int    `json:"colno,omitempty"`
		InApp    *bool  `json:"in_app,omitempty"`
	}
	host := urlHost(b.URL)
	frames := ParseJSStack(b.Stack, host)
	if len(frames) == 0 && b.Source != "" {
		f := jsFrame("", b.Source, b.Line, b.Column)
		if host != "" {
			in := urlHost(b.Source) == host
			f.InApp = &in
		}
		frames = []Frame{f}
	}
	exc := map[string]any{"type": firstNonEmpty(b.Type, "Error"), "value": b.Message}
	if len(frames) > 0 {
		fj := make([]frameJSON, len(frames))
		for i, f := range frames {
			fj[i] = frameJSON{Function: f.Function, Filename: f.Filename, AbsPath: f.AbsPath, Lineno: f.Lineno, Colno: f.Colno, InApp: f.InApp}
		}
		exc["stacktrace"] = map[string]any{"frames": fj}
	}
	ev := map[string]any{
		"platform":  "javascript",
		"level":     "error",
		"timestamp": float64(b.Timestamp) / 1000,
		"exception": map[string]any{"values": []any{exc}},
		"sdk":       map[string]string{"name": browserSDK},
	}
	if b.EventID != "" {
		ev["event_id"] = b.EventID
	}
	if b.URL != "" {
		req := map[string]any{"url": b.URL}
		if b.UserAgent != "" {
			req["headers"] = map[string]string{"User-Agent": b.UserAgent}
		}
		ev["request"] = req
	}
	if b.User != "" {
		ev["user"] = map[string]string{"id": b.User}
	}
	ctx := map[string]any{}
	if name, version := splitNameVersion(b.Browser); name != "" {
		ctx["browser"] = map[string]string{"name": name, "version": version}
	}
	if name, version := splitNameVersion(b.OS); name != "" {
		ctx["os"] = map[string]string{"name": name, "version": version}
	}
	if len(ctx) > 0 {
		ev["contexts"] = ctx
	}
	out, err := json.Marshal(ev)
	if err != nil {
		panic("BUG: browser error payload: " + err.Error())
	}
	return out
}

// splitNameVersion splits "Chrome 131" into its name and its version (the
// last word when it starts with a digit).
func splitNameVersion(s string) (string, string) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, ' '); i > 0 && s[i+1] >= '0' && s[i+1] <= '9' {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// ReadBrowserError makes an Incoming of a beacon error, grouped exactly as
// an equivalent Sentry event (its payload is one). The event id is set.
func ReadBrowserError(b BrowserError, project, received int64, maxAge time.Duration) *Incoming {
	if b.EventID == "" {
		b.EventID = NewEventID()
	}
	in, err := ReadEvent(b.Payload(), project, received, maxAge)
	if err != nil {
		panic("BUG: browser error payload unreadable: " + err.Error())
	}
	return in
}

// IsBeaconEvent reports whether an event came from the beacon (its
// client_errors point is the beacon's own).
func IsBeaconEvent(e *Event) bool { return e.SDK.Name == browserSDK }
