package demo

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"time"
)

// Error tracking's side of the demo: what the platform's Sentry SDKs
// send — sentry-go in the API (errors and panics, transactions, logs,
// cron check-ins) and @sentry/browser in the web app (its JavaScript
// errors and its sessions) — as envelopes for POST /api/{project}/envelope/.

const (
	sdkGo      = "sentry.go"
	sdkGoVer   = "0.30.0"
	sdkJS      = "sentry.javascript.browser"
	sdkJSVer   = "8.45.0"
	apiService = "tutor-api"
	environ    = "production"
)

// The cron monitors: a nightly report that always runs, and an hourly
// sync with the LMS that fails and misses runs.
const (
	monitorNightly = "nightly-progress-report"
	monitorRoster  = "lms-roster-sync"
)

var (
	nightlyConfig = monitorConfig{Schedule: monitorSchedule{Type: "crontab", Value: "0 7 * * *"}, Margin: 10, MaxRuntime: 30, Timezone: "UTC"}
	rosterConfig  = monitorConfig{Schedule: monitorSchedule{Type: "crontab", Value: "15 * * * *"}, Margin: 5, MaxRuntime: 10, Timezone: "UTC"}
)

type monitorSchedule struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type monitorConfig struct {
	Schedule   monitorSchedule `json:"schedule"`
	Margin     float64         `json:"checkin_margin"`
	MaxRuntime float64         `json:"max_runtime"`
	Timezone   string          `json:"timezone"`
}

func (c monitorConfig) text() string { return c.Schedule.Type + " " + c.Schedule.Value }

// goEvent is an error of the API to send.
type goEvent struct {
	bug   int
	ts    int64
	user  int // -1: no user
	path  string
	trace string
	seq   uint64
}

// txn is a transaction of the API to send (sentry-go's tracing, sampled).
type txn struct {
	ts     int64
	dur    float64
	route  string
	method string
	path   string
	status float64
	kind   int
	seq    uint64
}

// logRecord is a log line of the API (Sentry logs).
type logRecord struct {
	ts    int64
	level string
	body  string
	attrs map[string]string
}

// sentryGen collects what the SDKs would send over the period: it sees
// the servers' requests and grade passbacks (observer), and takes the
// browsers' errors and sessions from the browser generator.
type sentryGen struct {
	r     rnd
	ids   rnd // event, trace and check-in ids: also vary with the period, so that a second run is not deduplicated
	g     *generator
	tl    timeline
	users int // the students

	goEvents []goEvent
	txns     []txn
	logs     []logRecord
}

// txnRate is the share of requests traced (sentry-go's TracesSampleRate).
const txnRate = 0.0025

func newSentryGen(seed uint64, g *generator, tl timeline, users int) *sentryGen {
	return &sentryGen{r: newRnd(seed, 0xa54ff53a5f1d36f1), ids: newRnd(seed^uint64(tl.start), 0x510e527fade682d1), g: g, tl: tl, users: users}
}

// userOf is the student a request is for: most requests have one.
func (s *sentryGen) userOf() int {
	if s.r.chance(0.15) {
		return -1
	}
	return s.r.IntN(s.users)
}

func (s *sentryGen) addGo(bug int, ts int64, path string, user int) {
	if !s.tl.sendable(ts) {
		return
	}
	if bug == bugAvatarNull {
		user = 7 * s.r.IntN(14) // the same few students without an avatar
	}
	s.goEvents = append(s.goEvents, goEvent{bug: bug, ts: ts, user: user, path: path, trace: s.ids.hex32(), seq: s.r.Uint64()})
	ex := goBugs[bug].exceptions(s.r, max(user, 0))
	attrs := map[string]string{"route": goBugs[bug].route, "error.type": ex[len(ex)-1].Type}
	s.logs = append(s.logs, logRecord{ts: ts, level: "error", body: ex[len(ex)-1].Value, attrs: attrs})
}

// request sees one request of the servers: a 5xx is an error event
// (which bug depends on the endpoint, the release and the incidents), a
// few are traced, and very slow chat answers are logged.
func (s *sentryGen) request(ts int64, e *endpoint, path string, dur, status float64) {
	if s.r.chance(txnRate) && s.tl.sendable(ts+int64(dur)) {
		s.txns = append(s.txns, txn{ts: ts, dur: dur, route: e.route, method: e.method, path: path, status: status, kind: e.kind, seq: s.r.Uint64()})
	}
	if e.kind == kindChat && dur > 8000 && s.r.chance(0.3) && s.tl.sendable(ts+int64(dur)) {
		s.logs = append(s.logs, logRecord{ts: ts + int64(dur), level: "warn", body: "chat: slow model answer (" + strconv.FormatFloat(math.Round(dur/100)/10, 'f', -1, 64) + " s)",
			attrs: map[string]string{"route": e.route, "model": modelMini}})
	}
	if status < 500 {
		return
	}
	old := ts < s.tl.deploy
	switch {
	case e.kind == kindSubmit && s.g.submitSpike.covers(ts):
		if s.r.chance(0.5) {
			s.addGo(bugGradingNil, ts, path, s.userOf())
		}
		return
	case e.kind == kindChat && status == 502:
		if s.r.chance(0.7) {
			s.addGo(bugOpenAI, ts, path, s.userOf())
		}
		return
	case !s.r.chance(0.7):
		return
	}
	bug := bugAvatarNull
	switch {
	case e.kind == kindChat && (old || ts >= s.tl.regress) && s.r.chance(0.6):
		bug = bugRetriever
	case e.kind == kindChat:
		bug = bugOpenAI
	case e.kind == kindSubmit && old:
		bug = bugDBLocked
	case e.kind == kindSubmit:
		bug = bugGradingNil
	case e.route == "GET /api/progress" && old:
		bug = bugDBLocked
	case e.kind == kindSearch:
		bug = bugVectorize
	}
	s.addGo(bug, ts, path, s.userOf())
}

// passback sees a failed grade passback: a timeout is an error event,
// every failure a warning.
func (s *sentryGen) passback(ts int64, lms, class, course string, attempt int, lat float64) {
	if !s.tl.sendable(ts) {
		return
	}
	s.logs = append(s.logs, logRecord{ts: ts, level: "warn", body: "lti: grade passback to " + lms + " failed (" + class + "), attempt " + strconv.Itoa(attempt),
		attrs: map[string]string{"lms": lms, "course": course, "error_class": class}})
	if class == "timeout" && lms == lmsMoodle && s.r.chance(0.5) {
		s.addGo(bugPassback, ts+int64(lat), "/api/assessments/"+strconv.Itoa(1+s.r.IntN(400))+"/submit", s.userOf())
	}
}

// minEvents is the fewest events of each bug, at any scale: a small
// demo still shows every bug, and the retriever's on both sides of its
// fix.
const minEvents = 3

// finish tops up the bugs that the traffic left with too few events,
// at times each bug can happen, and adds the deploy's log lines.
func (s *sentryGen) finish(js []jsError, b *browserGen) []jsError {
	var goCount [numGoBugs]int
	afterRegress := 0
	for _, e := range s.goEvents {
		goCount[e.bug]++
		if e.bug == bugRetriever && e.ts >= s.tl.regress {
			afterRegress++
		}
	}
	between := func(from, to int64) int64 {
		from, to = max(from, s.tl.start+int64(time.Hour/time.Millisecond)), min(to, s.tl.end-1)
		if to <= from {
			return from
		}
		return from + s.r.Int64N(to-from)
	}
	for bug := range numGoBugs {
		for goCount[bug] < minEvents {
			goCount[bug]++
			from, to := s.tl.start, s.tl.end
			switch bug {
			case bugDBLocked, bugRetriever:
				to = s.tl.deploy
			case bugGradingNil:
				from, to = s.g.submitSpike.from, s.g.submitSpike.to
			case bugPassback:
				from, to = s.g.lmsDown.from, s.g.lmsDown.to
			case bugOpenAI:
				from, to = s.g.chatBurst.from, s.g.chatBurst.to
			}
			s.addGo(bug, between(from, to), goBugs[bug].routePath(s.r), s.userOf())
		}
	}
	for ; afterRegress < minEvents; afterRegress++ {
		s.addGo(bugRetriever, between(s.tl.regress, s.tl.end), "/api/chat/messages", s.userOf())
	}
	var jsCount [numJSBugs]int
	kept := js[:0]
	for _, e := range js {
		if s.tl.sendable(e.ts) {
			kept = append(kept, e)
			jsCount[e.bug]++
		}
	}
	js = kept
	for bug := range numJSBugs {
		for ; jsCount[bug] < minEvents; jsCount[bug]++ {
			from, to, release := s.tl.start, s.tl.end, ""
			prof := &profiles[s.r.pick(b.profileWeights)]
			path := "/chat"
			switch bug {
			case bugTooltip:
				from, path = s.tl.deploy, "/lessons/"+strconv.Itoa(1+s.r.IntN(30))
			case bugChunk:
				from, to, release, path = s.tl.deploy, s.tl.deploy+staleHours*3600*1000, releaseOld, "/dashboard"
			case bugResize:
				prof = &profiles[0]
			case bugAutosave, bugSyntax:
				path = "/assessments/" + strconv.Itoa(1+s.r.IntN(20))
			}
			ts := between(from, to)
			if release == "" {
				release = s.tl.release(ts)
			}
			js = append(js, jsError{bug: bug, ts: ts, path: path, prof: prof, user: userID(s.r.IntN(s.users)), release: release, seq: s.r.Uint64()})
		}
	}
	if s.tl.sendable(s.tl.deploy - 90000) {
		s.logs = append(s.logs,
			logRecord{ts: s.tl.deploy - 90000, level: "info", body: "deploy " + releaseNew + " started", attrs: map[string]string{"release": releaseNew}},
			logRecord{ts: s.tl.deploy, level: "info", body: "deploy " + releaseNew + " finished", attrs: map[string]string{"release": releaseNew}})
	}
	sort.SliceStable(s.goEvents, func(i, j int) bool { return s.goEvents[i].ts < s.goEvents[j].ts })
	sort.SliceStable(js, func(i, j int) bool { return js[i].ts < js[j].ts })
	sort.SliceStable(s.logs, func(i, j int) bool { return s.logs[i].ts < s.logs[j].ts })
	return js
}

// routePath is a URL path of the bug's route.
func (b goBug) routePath(r rnd) string {
	switch b.route {
	case "POST /api/assessments/{id}/submit":
		return "/api/assessments/" + strconv.Itoa(1+r.IntN(400)) + "/submit"
	case "POST /api/chat/messages":
		return "/api/chat/messages"
	case "GET /api/search":
		return "/api/search"
	}
	return "/api/users/me"
}

// The JSON of the envelopes' items.

type sentrySDK struct {
	Name         string          `json:"name"`
	Version      string          `json:"version"`
	Integrations []string        `json:"integrations,omitempty"`
	Packages     []sentryPackage `json:"packages,omitempty"`
}

type sentryPackage struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

var (
	goSDK = sentrySDK{Name: sdkGo, Version: sdkGoVer, Integrations: []string{"ContextifyFrames", "Environment", "GlobalTags", "IgnoreErrors", "IgnoreTransactions", "Modules"},
		Packages: []sentryPackage{{"sentry-go", sdkGoVer}}}
	jsSDK = sentrySDK{Name: sdkJS, Version: sdkJSVer, Integrations: []string{"InboundFilters", "FunctionToString", "BrowserApiErrors", "Breadcrumbs",
		"GlobalHandlers", "LinkedErrors", "Dedupe", "HttpContext", "BrowserSession"}, Packages: []sentryPackage{{"npm:@sentry/browser", sdkJSVer}}}
)

type sentryUser struct {
	ID string `json:"id,omitempty"`
}

type sentryRequest struct {
	URL     string            `json:"url"`
	Method  string            `json:"method,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

type sentryEvent struct {
	EventID     string            `json:"event_id"`
	Timestamp   any               `json:"timestamp"` // RFC 3339 (sentry-go) or epoch seconds (JS)
	Platform    string            `json:"platform"`
	Level       string            `json:"level"`
	Release     string            `json:"release"`
	Environment string            `json:"environment"`
	ServerName  string            `json:"server_name,omitempty"`
	Transaction string            `json:"transaction,omitempty"`
	User        *sentryUser       `json:"user,omitempty"`
	Request     *sentryRequest    `json:"request,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Contexts    map[string]any    `json:"contexts,omitempty"`
	SDK         sentrySDK         `json:"sdk"`
	Exception   any               `json:"exception"` // a list (sentry-go) or {"values": [...]} (JS)
	Breadcrumbs any               `json:"breadcrumbs,omitempty"`
}

func rfc3339(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z") }

func epochSec(ms int64) float64 { return float64(ms) / 1000 }

func (s *sentryGen) server(seq uint64) string {
	return "tutor-api-7d9f8c6b4-" + []string{"x2kqp", "m8wzt", "c4hvn", "r7jls"}[seq%4]
}

// goEventJSON is an error of the API as sentry-go sends it.
func (s *sentryGen) goEventJSON(e *goEvent, id string) []byte {
	b := &goBugs[e.bug]
	r := newRnd(e.seq, 1)
	ev := sentryEvent{EventID: id, Timestamp: rfc3339(e.ts), Platform: "go", Level: b.level, Release: s.tl.release(e.ts), Environment: environ,
		ServerName: s.server(e.seq), Transaction: b.route, SDK: goSDK, Exception: b.exceptions(r, max(e.user, 0)),
		Request: &sentryRequest{URL: siteURL + e.path, Method: b.route[:indexByte(b.route, ' ')],
			Headers: map[string]string{"User-Agent": profiles[e.seq%uint64(len(profiles))].ua, "Accept": "application/json"}},
		Tags: map[string]string{"route": b.route},
		Contexts: map[string]any{
			"device":  map[string]any{"arch": "amd64", "num_cpu": 4},
			"os":      map[string]any{"name": "linux"},
			"runtime": map[string]any{"name": "go", "version": "go1.23.4"},
			"trace":   map[string]any{"trace_id": e.trace, "span_id": e.trace[:16], "op": "http.server"},
		}}
	if e.user >= 0 {
		ev.User = &sentryUser{ID: userID(e.user)}
	}
	data, _ := json.Marshal(ev)
	return data
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return len(s)
}

// jsEventJSON is an error of the web app as @sentry/browser sends it.
func jsEventJSON(e *jsError, id string) []byte {
	b := &jsBugs[e.bug]
	r := newRnd(e.seq, 2)
	ex := sentryException{Type: b.typ, Value: b.values[e.prof.engine], Mechanism: &sentryMechanism{Type: b.mech, Handled: b.handled}}
	if b.frames != nil {
		ex.Stacktrace = &sentryStack{Frames: b.frames(mainJS(e.release), r)}
	}
	level := "error"
	ev := sentryEvent{EventID: id, Timestamp: epochSec(e.ts), Platform: "javascript", Level: level, Release: e.release, Environment: environ,
		SDK: jsSDK, Exception: map[string]any{"values": []sentryException{ex}},
		Request: &sentryRequest{URL: siteURL + e.path, Headers: map[string]string{"User-Agent": e.prof.ua}},
		Tags:    map[string]string{"page": pageKindOf(e.path)},
		Breadcrumbs: map[string]any{"values": []map[string]any{
			{"timestamp": epochSec(e.ts - 4000 - int64(r.IntN(20000))), "category": "navigation", "data": map[string]string{"from": "/dashboard", "to": e.path}},
			{"timestamp": epochSec(e.ts - 200), "category": "ui.click", "message": "button.primary"},
		}}}
	if e.user != "" {
		ev.User = &sentryUser{ID: e.user}
	}
	data, _ := json.Marshal(ev)
	return data
}

func pageKindOf(path string) string {
	if path == "/" {
		return "home"
	}
	p := path[1:]
	if i := indexByte(p, '/'); i < len(p) {
		p = p[:i]
	}
	return p
}

type sentrySpan struct {
	TraceID      string  `json:"trace_id"`
	SpanID       string  `json:"span_id"`
	ParentSpanID string  `json:"parent_span_id"`
	Op           string  `json:"op"`
	Description  string  `json:"description"`
	Start        float64 `json:"start_timestamp"`
	End          float64 `json:"timestamp"`
	Status       string  `json:"status"`
	Origin       string  `json:"origin"`
}

// spanStatus is Sentry's status of an HTTP status.
func spanStatus(status float64) string {
	switch {
	case status == 401:
		return "unauthenticated"
	case status == 404:
		return "not_found"
	case status >= 500:
		return "internal_error"
	case status >= 400:
		return "invalid_argument"
	}
	return "ok"
}

// txnJSON is a transaction of the API as sentry-go sends it, with its
// child spans: the database queries, retrieval and the model call.
func (s *sentryGen) txnJSON(t *txn) []byte {
	r := newRnd(t.seq, 3)
	trace, root := s.ids.hex32(), s.ids.hex16()
	start, end := t.ts, t.ts+int64(math.Max(t.dur, 1))
	type part struct {
		op, desc string
		share    float64
	}
	var parts []part
	switch t.kind {
	case kindChat:
		parts = []part{{"db.query", "conversations.append", 0.01}, {"ai.embeddings", modelEmbed, 0.04}, {"db.vector.query", "course-content", 0.05}, {"ai.chat_completions", modelMini, 0.85}}
	case kindSearch:
		parts = []part{{"ai.embeddings", modelEmbed, 0.25}, {"db.vector.query", "lesson-notes", 0.3}, {"db.query", "search_log.insert", 0.05}}
	case kindSubmit:
		parts = []part{{"db.query", "submissions.insert", 0.05}, {"db.query", "progress.update", 0.05}, {"ai.chat_completions", modelHaiku, 0.6}, {"http.client", "POST https://canvas.instructure.com/api/lti/scores", 0.2}}
	case kindLogin:
		parts = []part{{"db.query", "users.by_email", 0.05}, {"auth.bcrypt", "compare", 0.6}, {"db.query", "sessions.insert", 0.05}}
	default:
		parts = []part{{"db.query", t.route[indexByte(t.route, ' ')+1:], 0.4}}
	}
	var spans []sentrySpan
	at := float64(start) + 1
	for _, p := range parts {
		d := math.Max(t.dur*p.share*(0.8+0.4*r.Float64()), 0.1)
		spans = append(spans, sentrySpan{TraceID: trace, SpanID: s.ids.hex16(), ParentSpanID: root, Op: p.op, Description: p.desc,
			Start: at / 1000, End: (at + d) / 1000, Status: "ok", Origin: "manual"})
		at += d
	}
	status := spanStatus(t.status)
	ev := map[string]any{
		"type": "transaction", "event_id": s.ids.hex32(), "transaction": t.route, "start_timestamp": epochSec(start), "timestamp": epochSec(end),
		"platform": "go", "release": s.tl.release(t.ts), "environment": environ, "server_name": s.server(t.seq), "sdk": goSDK,
		"request": map[string]any{"method": t.method, "url": siteURL + t.path},
		"contexts": map[string]any{
			"trace": map[string]any{"trace_id": trace, "span_id": root, "op": "http.server", "status": status, "origin": "auto.http.stdlib",
				"data": map[string]any{"http.request.method": t.method, "http.response.status_code": t.status}},
			"response": map[string]any{"status_code": t.status},
		},
		"spans": spans,
	}
	data, _ := json.Marshal(ev)
	return data
}

// logsJSON is a log item of up to 1,000 records.
func (s *sentryGen) logsJSON(recs []logRecord) []byte {
	sev := map[string]int{"debug": 5, "info": 9, "warn": 13, "error": 17}
	type attr struct {
		Value string `json:"value"`
		Type  string `json:"type"`
	}
	items := make([]map[string]any, 0, len(recs))
	for _, l := range recs {
		attrs := map[string]attr{"service.name": {apiService, "string"}, "sentry.environment": {environ, "string"},
			"sentry.release": {s.tl.release(l.ts), "string"}, "sentry.sdk.name": {sdkGo, "string"}, "sentry.sdk.version": {sdkGoVer, "string"}}
		for k, v := range l.attrs {
			attrs[k] = attr{v, "string"}
		}
		items = append(items, map[string]any{"timestamp": epochSec(l.ts), "trace_id": s.ids.hex32(), "level": l.level,
			"severity_number": sev[l.level], "body": l.body, "attributes": attrs})
	}
	data, _ := json.Marshal(map[string]any{"items": items})
	return data
}

// sessionsJSON are the web app's sessions of one release by hour, as
// session aggregates (at most 100 a sessions item).
func sessionsJSON(release string, hours []int64, counts []*sessionCounts) []byte {
	aggs := make([]map[string]any, len(hours))
	for i, h := range hours {
		c := counts[i]
		aggs[i] = map[string]any{"started": rfc3339(h), "exited": c.started - c.errored - c.crashed, "errored": c.errored, "crashed": c.crashed}
	}
	data, _ := json.Marshal(map[string]any{"aggregates": aggs, "attrs": map[string]string{"release": release, "environment": environ}})
	return data
}

// envelope is one envelope to post: its body, the User-Agent it is sent
// with, and what it holds.
type envelope struct {
	header  map[string]any
	items   []envItem
	ua      string
	ts      int64  // its items' time (the phase it is sent in)
	phase   int    // 0: before the deploy, 1: after, 2: the check-ins of now, in order
	events  int    // error events
	bug     string // the error's bug
	summary string // what it holds
}

type envItem struct {
	typ     string
	payload []byte
}

// body writes the envelope; sentAt is when it is sent (Unix ms, 0: not
// said).
func (e *envelope) body(sentAt int64) []byte {
	var b bytes.Buffer
	h := map[string]any{}
	for k, v := range e.header {
		h[k] = v
	}
	if sentAt > 0 {
		h["sent_at"] = rfc3339(sentAt)
	}
	hj, _ := json.Marshal(h)
	b.Write(hj)
	b.WriteByte('\n')
	for _, it := range e.items {
		ih, _ := json.Marshal(map[string]any{"type": it.typ, "length": len(it.payload)})
		b.Write(ih)
		b.WriteByte('\n')
		b.Write(it.payload)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Batch sizes: items an envelope holds.
const (
	txnsPerEnvelope = 50
	logsPerItem     = 1000
	aggsPerItem     = 100
)

// envelopes turns the period's error tracking traffic into envelopes:
// one a error event (as the SDKs send them), transactions 50 an envelope,
// logs 1,000 an item, session aggregates 100 an item; the check-ins
// that declare the two monitors come last, at the time they are sent.
func (s *sentryGen) envelopes(js []jsError, sessions map[sessionKey]*sessionCounts, now int64) []envelope {
	var out []envelope
	phase := func(ts int64) int {
		if ts < s.tl.deploy {
			return 0
		}
		return 1
	}
	// Every event in time order, the API's and the browsers' merged.
	gi, ji := 0, 0
	for gi < len(s.goEvents) || ji < len(js) {
		if ji >= len(js) || gi < len(s.goEvents) && s.goEvents[gi].ts <= js[ji].ts {
			e := &s.goEvents[gi]
			gi++
			id := s.ids.hex32()
			out = append(out, envelope{header: map[string]any{"event_id": id, "sdk": map[string]string{"name": sdkGo, "version": sdkGoVer}},
				items: []envItem{{"event", s.goEventJSON(e, id)}}, ua: "sentry-go/" + sdkGoVer, ts: e.ts, phase: phase(e.ts), events: 1,
				bug: goBugs[e.bug].key, summary: "event"})
			continue
		}
		e := &js[ji]
		ji++
		id := s.ids.hex32()
		out = append(out, envelope{header: map[string]any{"event_id": id, "sdk": map[string]string{"name": sdkJS, "version": sdkJSVer}},
			items: []envItem{{"event", jsEventJSON(e, id)}}, ua: e.prof.ua, ts: e.ts, phase: phase(e.ts), events: 1,
			bug: jsBugs[e.bug].key, summary: "event"})
	}
	for i := 0; i < len(s.txns); i += txnsPerEnvelope {
		batch := s.txns[i:min(i+txnsPerEnvelope, len(s.txns))]
		env := envelope{header: map[string]any{"sdk": map[string]string{"name": sdkGo, "version": sdkGoVer}}, ua: "sentry-go/" + sdkGoVer,
			ts: batch[0].ts, summary: "transactions"}
		for j := range batch {
			env.items = append(env.items, envItem{"transaction", s.txnJSON(&batch[j])})
		}
		out = append(out, env)
	}
	for i := 0; i < len(s.logs); i += logsPerItem {
		batch := s.logs[i:min(i+logsPerItem, len(s.logs))]
		out = append(out, envelope{header: map[string]any{"sdk": map[string]string{"name": sdkGo, "version": sdkGoVer}}, ua: "sentry-go/" + sdkGoVer,
			ts: batch[0].ts, items: []envItem{{"log", s.logsJSON(batch)}}, summary: "logs"})
	}
	// Sessions: by release, then hour.
	byRelease := map[string][]int64{}
	for k := range sessions {
		if s.tl.sendable(k.hour) {
			byRelease[k.release] = append(byRelease[k.release], k.hour)
		}
	}
	for _, rel := range []string{releaseOld, releaseNew} {
		hours := byRelease[rel]
		sort.Slice(hours, func(i, j int) bool { return hours[i] < hours[j] })
		env := envelope{header: map[string]any{"sdk": map[string]string{"name": sdkJS, "version": sdkJSVer}}, ua: profiles[0].ua, summary: "sessions"}
		for i := 0; i < len(hours); i += aggsPerItem {
			hs := hours[i:min(i+aggsPerItem, len(hours))]
			cs := make([]*sessionCounts, len(hs))
			for j, h := range hs {
				cs[j] = sessions[sessionKey{h, rel}]
			}
			env.items = append(env.items, envItem{"sessions", sessionsJSON(rel, hs, cs)})
		}
		if len(env.items) > 0 {
			out = append(out, env)
		}
	}
	// The check-ins of now: each monitor's run starts and ends, with its
	// schedule; the sync fails.
	checkIn := func(slug, status string, dur float64, cfg monitorConfig, id string) envelope {
		c := map[string]any{"check_in_id": id, "monitor_slug": slug, "status": status, "environment": environ, "release": s.tl.release(now),
			"monitor_config": cfg}
		if dur > 0 {
			c["duration"] = dur
		}
		data, _ := json.Marshal(c)
		return envelope{header: map[string]any{"sdk": map[string]string{"name": sdkGo, "version": sdkGoVer}}, ua: "sentry-go/" + sdkGoVer,
			ts: now, phase: 2, items: []envItem{{"check_in", data}}, summary: "check_in"}
	}
	nid, rid := uuid(s.ids), uuid(s.ids)
	out = append(out,
		checkIn(monitorNightly, "in_progress", 0, nightlyConfig, nid), checkIn(monitorNightly, "ok", 142.7, nightlyConfig, nid),
		checkIn(monitorRoster, "in_progress", 0, rosterConfig, rid), checkIn(monitorRoster, "error", 31.2, rosterConfig, rid))
	for i := range out {
		if out[i].phase != 2 && out[i].events == 0 {
			out[i].phase = 0 // transactions, logs and sessions go with the first phase
		}
	}
	return out
}

func uuid(r rnd) string {
	h := r.hex32()
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

// checkInHistory writes the two monitors' check-ins of the period as
// check_ins points, as error tracking would have stored them: the SDK's
// in_progress and ok or error, and the missed and timeout check-ins the
// monitors' sweep makes. (Check-ins carry no time of their own: sent now,
// they are stamped now, so the week before is written directly.)
func (s *sentryGen) checkInHistory(emit func(*Point)) {
	const hour = int64(time.Hour / time.Millisecond)
	write := func(slug, status string, ts int64, id string, cfg monitorConfig, durMs float64) {
		ok, failed, inProgress := 0.0, 0.0, 0.0
		switch status {
		case "ok":
			ok = 1
		case "in_progress":
			inProgress = 1
		default:
			failed = 1
		}
		r := newRow("check_ins", ts, slug).b("slug", slug).b("status", status).b("environment", environ).b("release", s.tl.release(ts)).
			b("check_in_id", id).b("schedule", cfg.text()).d("duration", durMs).d("ok", ok).d("failed", failed).d("in_progress", inProgress).
			d("margin", cfg.Margin).d("max_runtime", cfg.MaxRuntime)
		if ts >= s.tl.start && ts < s.tl.end {
			emit(&r.p)
		}
	}
	run := func(slug string, at int64, cfg monitorConfig, status string, durMs float64) {
		id := uuid(s.ids)
		write(slug, "in_progress", at, id, cfg, 0)
		switch status {
		case "timeout":
			write(slug, "timeout", at+int64(cfg.MaxRuntime)*60000, id, cfg, 0)
		default:
			write(slug, status, at+int64(durMs), id, cfg, durMs)
		}
	}
	day := 24 * hour
	for d := s.tl.start - s.tl.start%day; d < s.tl.end; d += day {
		at := d + 7*hour + s.r.Int64N(20000)
		run(monitorNightly, at, nightlyConfig, "ok", math.Round(s.r.lognormal(150000, 0.25)))
	}
	// The roster sync's worker is down for five hours once: those runs
	// are missed.
	down := s.tl.start + (s.tl.end-s.tl.start)*64/100
	for h := s.tl.start - s.tl.start%hour; h < s.tl.end; h += hour {
		at := h + 15*60000
		switch x := s.r.Float64(); {
		case at >= down && at < down+5*hour || x < 0.02:
			write(monitorRoster, "missed", at, "", rosterConfig, 0)
		case s.g.lmsDown.covers(at) || s.g.lmsDown.covers(at+hour/2) || x < 0.06:
			run(monitorRoster, at+s.r.Int64N(5000), rosterConfig, "error", math.Round(s.r.lognormal(30000, 0.1)))
		case x < 0.075:
			run(monitorRoster, at+s.r.Int64N(5000), rosterConfig, "timeout", 0)
		default:
			run(monitorRoster, at+s.r.Int64N(5000), rosterConfig, "ok", math.Round(s.r.lognormal(40000, 0.3)))
		}
	}
}
