package errtrack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/alidade/alidade/internal/point"
)

// Clock places an item's points in time: it returns the time to store a
// point at (Unix ms) given the item's own (0 when it has none). The server
// clamps times out of the retention window to the receive time.
type Clock func(ts int64) int64

// flexTimeMs is like flexTime with sub-millisecond precision, for
// durations.
type flexTimeMs float64

func (t *flexTimeMs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] != '"' {
		if f, err := strconv.ParseFloat(string(b), 64); err == nil && f > 0 && f < 1e11 {
			*t = flexTimeMs(f * 1000)
			return nil
		}
	}
	*t = flexTimeMs(parseTime(b))
	return nil
}

func durationMs(start, end flexTimeMs) float64 {
	if start <= 0 || end <= 0 || end < start {
		return 0
	}
	return math.Round(float64(end-start)*1000) / 1000
}

func checkJSON(b []byte, what string) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return fmt.Errorf("%w: %s is not a JSON object", ErrBadPayload, what)
	}
	if !utf8.Valid(b) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrBadPayload, what)
	}
	return nil
}

type wireSpan struct {
	Op           flexString            `json:"op"`
	Description  flexString            `json:"description"`
	Name         flexString            `json:"name"`
	Status       flexString            `json:"status"`
	TraceID      flexString            `json:"trace_id"`
	SpanID       flexString            `json:"span_id"`
	ParentSpanID flexString            `json:"parent_span_id"`
	Origin       flexString            `json:"origin"`
	Start        flexTimeMs            `json:"start_timestamp"`
	End          flexTimeMs            `json:"timestamp"`
	EndV2        flexTimeMs            `json:"end_timestamp"`
	Attributes   map[string]wireAttr   `json:"attributes"`
	Data         map[string]flexString `json:"data"`
}

// wireAttr is a typed attribute ({"type": "string", "value": …}) or a
// bare value.
type wireAttr struct{ s string }

func (a *wireAttr) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var v struct {
			Value rawValue `json:"value"`
		}
		if json.Unmarshal(b, &v) == nil {
			b = bytes.TrimSpace(v.Value)
		}
	}
	var s flexString
	_ = s.UnmarshalJSON(b)
	if s == "" && len(b) > 0 && (b[0] == '[' || b[0] == '{') {
		a.s = string(b)
		return nil
	}
	a.s = string(s)
	return nil
}

type wireTransaction struct {
	EventID     flexString       `json:"event_id"`
	Transaction flexString       `json:"transaction"`
	Start       flexTimeMs       `json:"start_timestamp"`
	End         flexTimeMs       `json:"timestamp"`
	Release     flexString       `json:"release"`
	Environment flexString       `json:"environment"`
	Platform    flexString       `json:"platform"`
	ServerName  flexString       `json:"server_name"`
	User        obj[wireUser]    `json:"user"`
	SDK         obj[wireSDK]     `json:"sdk"`
	Request     obj[wireRequest] `json:"request"`
	Tags        pairs            `json:"tags"`
	Contexts    struct {
		Trace *struct {
			Op      flexString            `json:"op"`
			Status  flexString            `json:"status"`
			TraceID flexString            `json:"trace_id"`
			Data    map[string]flexString `json:"data"`
		} `json:"trace"`
		Response *struct {
			StatusCode flexNumber `json:"status_code"`
		} `json:"response"`
	} `json:"contexts"`
	Spans valuesOf[wireSpan] `json:"spans"`
}

// MaxTransactionSpans bounds the spans of one transaction stored as
// points in spans.
const MaxTransactionSpans = 1000

// TransactionPoints maps a transaction to a transactions point (name, op,
// duration, status, HTTP method and status) and its spans to spans points.
func TransactionPoints(b []byte, clock Clock) ([]point.Point, error) {
	if err := checkJSON(b, "the transaction"); err != nil {
		return nil, err
	}
	var t wireTransaction
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("%w: transaction: %v", ErrBadPayload, jsonErr(err))
	}
	var op, status, traceID, method string
	var httpStatus float64
	if tr := t.Contexts.Trace; tr != nil {
		op, status, traceID = string(tr.Op), string(tr.Status), string(tr.TraceID)
		method = string(tr.Data["http.request.method"])
		if v, err := strconv.ParseFloat(string(tr.Data["http.response.status_code"]), 64); err == nil {
			httpStatus = v
		}
	}
	if r := t.Contexts.Response; r != nil && r.StatusCode > 0 {
		httpStatus = float64(r.StatusCode)
	}
	if httpStatus == 0 {
		if v, err := strconv.ParseFloat(t.Tags.get("http.status_code"), 64); err == nil {
			httpStatus = v
		}
	}
	if rq := t.Request.v; rq != nil && rq.Method != "" {
		method = string(rq.Method)
	}
	if method == "" {
		method = t.Tags.get("http.method")
	}
	user := ""
	if u := t.User.v; u != nil {
		user = firstNonEmpty(string(u.ID), string(u.Email), string(u.Username), string(u.IPAddress))
	}
	sdk := ""
	if v := t.SDK.v; v != nil {
		sdk = string(v.Name)
		if v.Version != "" {
			sdk += "/" + string(v.Version)
		}
	}
	name := cut(string(t.Transaction), 1024)
	env, rel := cleanName(string(t.Environment)), cleanName(string(t.Release))
	ts := clock(int64(t.End))
	pts := []point.Point{newPoint("transactions", ts, name, map[string]any{
		"name": name, "op": cut(op, 128), "status": cut(status, 64), "environment": env, "release": rel,
		"platform": cut(string(t.Platform), 64), "method": cut(strings.ToUpper(method), 16), "trace_id": cut(traceID, 64),
		"user": cut(user, 128), "sdk": cut(sdk, 128), "server_name": cut(string(t.ServerName), 200),
		"duration": durationMs(t.Start, t.End), "http_status": httpStatus, "spans": float64(len(t.Spans)), "failed": b2f(failedStatus(status)),
	})}
	for i, s := range t.Spans {
		if i >= MaxTransactionSpans {
			break
		}
		pts = append(pts, spanPoint(&s, name, env, rel, clock))
	}
	return pts, nil
}

// failedStatus is Sentry's failure rate rule: any status but ok,
// cancelled and unknown is a failure.
func failedStatus(s string) bool {
	switch s {
	case "", "ok", "cancelled", "unknown", "unknown_error":
		return false
	}
	return true
}

func spanPoint(s *wireSpan, transaction, env, rel string, clock Clock) point.Point {
	op := string(s.Op)
	if op == "" {
		op = s.Attributes["sentry.op"].s
	}
	desc := firstNonEmpty(string(s.Description), string(s.Name))
	end := s.End
	if end == 0 {
		end = s.EndV2
	}
	if env == "" {
		env = cleanName(s.Attributes["sentry.environment"].s)
	}
	if rel == "" {
		rel = cleanName(s.Attributes["sentry.release"].s)
	}
	if transaction == "" {
		transaction = cut(s.Attributes["sentry.segment.name"].s, 1024)
	}
	status := string(s.Status)
	return newPoint("spans", clock(int64(end)), op, map[string]any{
		"op": cut(op, 128), "description": cut(desc, 2048), "status": cut(status, 64), "transaction": transaction,
		"trace_id": cut(string(s.TraceID), 64), "span_id": cut(string(s.SpanID), 32), "parent_span_id": cut(string(s.ParentSpanID), 32),
		"environment": env, "release": rel, "origin": cut(string(s.Origin), 128),
		"duration": durationMs(s.Start, end), "failed": b2f(failedStatus(status)),
	})
}

// SpanPoints maps a span item (one span, or {"items": [...]} of the span
// v2 format) to spans points.
func SpanPoints(b []byte, clock Clock) ([]point.Point, error) {
	if err := checkJSON(b, "the span"); err != nil {
		return nil, err
	}
	var w struct {
		Items *valuesOf[wireSpan] `json:"items"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: span: %v", ErrBadPayload, jsonErr(err))
	}
	var spans []wireSpan
	if w.Items != nil {
		spans = *w.Items
	} else {
		var s wireSpan
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%w: span: %v", ErrBadPayload, jsonErr(err))
		}
		spans = []wireSpan{s}
	}
	pts := make([]point.Point, 0, len(spans))
	for i := range spans {
		if i >= MaxTransactionSpans {
			break
		}
		pts = append(pts, spanPoint(&spans[i], "", "", "", clock))
	}
	return pts, nil
}

type wireSessionAttrs struct {
	Release     flexString `json:"release"`
	Environment flexString `json:"environment"`
}

type wireSession struct {
	SID       flexString       `json:"sid"`
	DID       flexString       `json:"did"`
	Init      flexBool         `json:"init"`
	Started   flexTime         `json:"started"`
	Timestamp flexTime         `json:"timestamp"`
	Duration  flexNumber       `json:"duration"`
	Status    flexString       `json:"status"`
	Errors    flexNumber       `json:"errors"`
	Attrs     wireSessionAttrs `json:"attrs"`
	// Old SDKs put release and environment at the top.
	Release     flexString `json:"release"`
	Environment flexString `json:"environment"`
}

// SessionPoints maps a session update (item type session) to a sessions
// point: started = 1 on the update that starts it (init), and 1 in the
// field of its status when the update ends it (exited, crashed, abnormal;
// an exited session with errors counts as errored).
func SessionPoints(b []byte, clock Clock, sdk string) ([]point.Point, error) {
	if err := checkJSON(b, "the session"); err != nil {
		return nil, err
	}
	var s wireSession
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%w: session: %v", ErrBadPayload, jsonErr(err))
	}
	status := strings.ToLower(string(s.Status))
	if status == "" {
		status = "ok"
	}
	var exited, errored, abnormal, crashed float64
	switch status {
	case "exited":
		if s.Errors > 0 {
			errored = 1
		} else {
			exited = 1
		}
	case "errored":
		errored = 1
	case "crashed":
		crashed = 1
	case "abnormal":
		abnormal = 1
	}
	rel := cleanName(firstNonEmpty(string(s.Attrs.Release), string(s.Release)))
	env := cleanName(firstNonEmpty(string(s.Attrs.Environment), string(s.Environment)))
	ts := int64(s.Timestamp)
	if ts == 0 {
		ts = int64(s.Started)
	}
	return []point.Point{newPoint("sessions", clock(ts), rel, map[string]any{
		"environment": env, "status": cut(status, 32), "user": cut(string(s.DID), 128), "session": cut(string(s.SID), 64),
		"kind": "session", "sdk": cut(sdk, 128),
		"started": b2f(isTrue(s.Init)), "exited": exited, "errored": errored, "abnormal": abnormal, "crashed": crashed,
		"duration": math.Max(float64(s.Duration), 0), "errors": math.Max(float64(s.Errors), 0),
	})}, nil
}

// MaxSessionAggregates bounds the aggregates of one sessions item.
const MaxSessionAggregates = 100

// SessionAggregatePoints maps a sessions item (aggregates of server-mode
// SDKs) to one sessions point per aggregate: started is the sum of its
// exited, errored, abnormal and crashed sessions.
func SessionAggregatePoints(b []byte, clock Clock, sdk string) ([]point.Point, error) {
	if err := checkJSON(b, "the sessions item"); err != nil {
		return nil, err
	}
	var w struct {
		Aggrs []struct {
			Started  flexTime   `json:"started"`
			DID      flexString `json:"did"`
			Exited   flexNumber `json:"exited"`
			Errored  flexNumber `json:"errored"`
			Abnormal flexNumber `json:"abnormal"`
			Crashed  flexNumber `json:"crashed"`
		} `json:"aggregates"`
		Attrs wireSessionAttrs `json:"attrs"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: sessions: %v", ErrBadPayload, jsonErr(err))
	}
	rel, env := cleanName(string(w.Attrs.Release)), cleanName(string(w.Attrs.Environment))
	var pts []point.Point
	for i, a := range w.Aggrs {
		if i >= MaxSessionAggregates {
			break
		}
		c := func(n flexNumber) float64 { return math.Max(math.Round(float64(n)), 0) }
		started := c(a.Exited) + c(a.Errored) + c(a.Abnormal) + c(a.Crashed)
		pts = append(pts, newPoint("sessions", clock(int64(a.Started)), rel, map[string]any{
			"environment": env, "user": cut(string(a.DID), 128), "kind": "aggregate", "sdk": cut(sdk, 128),
			"started": started, "exited": c(a.Exited), "errored": c(a.Errored), "abnormal": c(a.Abnormal), "crashed": c(a.Crashed),
		}))
	}
	return pts, nil
}

// CheckIn is a cron monitor's check-in as Alidade keeps it.
type CheckIn struct {
	ID          string
	Slug        string
	Status      string  // in_progress, ok, error (as sent, lower case)
	Duration    float64 // seconds
	Release     string
	Environment string
	// Config is the monitor's schedule when the check-in declares it
	// (monitor_config: the monitor is made or updated from it).
	Config *MonitorConfig
}

// MonitorConfig is a check-in's monitor_config.
type MonitorConfig struct {
	ScheduleType string  // crontab or interval
	Schedule     string  // "0 2 * * *", or the interval's count ("10")
	Unit         string  // the interval's unit: minute, hour, day, week, month, year
	Timezone     string  // of a crontab ("" UTC)
	Margin       float64 // minutes a check-in may be late
	MaxRuntime   float64 // minutes a run may take
}

// ScheduleText is the schedule as one line ("crontab 0 2 * * *",
// "interval 10 minute").
func (c *MonitorConfig) ScheduleText() string {
	if c == nil {
		return ""
	}
	return strings.TrimSpace(c.ScheduleType + " " + c.Schedule + " " + c.Unit)
}

// ReadCheckIn reads a check_in item.
func ReadCheckIn(b []byte) (*CheckIn, error) {
	if err := checkJSON(b, "the check-in"); err != nil {
		return nil, err
	}
	var c struct {
		ID          flexString `json:"check_in_id"`
		Slug        flexString `json:"monitor_slug"`
		Status      flexString `json:"status"`
		Duration    flexNumber `json:"duration"`
		Release     flexString `json:"release"`
		Environment flexString `json:"environment"`
		Config      *struct {
			Schedule struct {
				Type  flexString `json:"type"`
				Value flexString `json:"value"`
				Unit  flexString `json:"unit"`
			} `json:"schedule"`
			Margin     flexNumber `json:"checkin_margin"`
			MaxRuntime flexNumber `json:"max_runtime"`
			Timezone   flexString `json:"timezone"`
		} `json:"monitor_config"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%w: check-in: %v", ErrBadPayload, jsonErr(err))
	}
	ci := &CheckIn{ID: cut(string(c.ID), 64), Slug: cut(string(c.Slug), 96), Status: cut(strings.ToLower(string(c.Status)), 32),
		Duration: math.Max(float64(c.Duration), 0), Release: cleanName(string(c.Release)), Environment: cleanName(string(c.Environment))}
	if c.Config != nil {
		ci.Config = &MonitorConfig{ScheduleType: cut(strings.ToLower(string(c.Config.Schedule.Type)), 16), Schedule: cut(string(c.Config.Schedule.Value), 96),
			Unit: cut(strings.ToLower(string(c.Config.Schedule.Unit)), 16), Timezone: cut(string(c.Config.Timezone), 64),
			Margin: math.Max(float64(c.Config.Margin), 0), MaxRuntime: math.Max(float64(c.Config.MaxRuntime), 0)}
	}
	return ci, nil
}

// CheckInPoints maps a check_in item to its check_ins point.
func CheckInPoints(b []byte, clock Clock, received int64) ([]point.Point, error) {
	c, err := ReadCheckIn(b)
	if err != nil {
		return nil, err
	}
	return []point.Point{c.Point(clock(received))}, nil
}

// Point is the check-in's check_ins point at ts. A missed or timeout
// check-in (made by the monitors, not sent) counts as failed.
func (c *CheckIn) Point(ts int64) point.Point {
	var margin, maxRuntime float64
	if c.Config != nil {
		margin, maxRuntime = c.Config.Margin, c.Config.MaxRuntime
	}
	failed := c.Status == "error" || c.Status == "timeout" || c.Status == "missed"
	return newPoint("check_ins", ts, c.Slug, map[string]any{
		"slug": c.Slug, "status": c.Status, "environment": c.Environment, "release": c.Release,
		"check_in_id": c.ID, "schedule": cut(c.Config.ScheduleText(), 128),
		"duration": c.Duration * 1000, "ok": b2f(c.Status == "ok"), "failed": b2f(failed),
		"in_progress": b2f(c.Status == "in_progress"), "margin": margin, "max_runtime": maxRuntime,
	})
}

// MaxLogItems bounds the records of one log item.
const MaxLogItems = 1000

// LogPoints maps a log item ({"items": [...]}) to logs points.
func LogPoints(b []byte, clock Clock) ([]point.Point, error) {
	if err := checkJSON(b, "the log item"); err != nil {
		return nil, err
	}
	var w struct {
		Items []struct {
			Timestamp  flexTime            `json:"timestamp"`
			TraceID    flexString          `json:"trace_id"`
			SpanID     flexString          `json:"span_id"`
			Level      flexString          `json:"level"`
			Severity   flexNumber          `json:"severity_number"`
			Body       flexString          `json:"body"`
			Attributes map[string]wireAttr `json:"attributes"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: log: %v", ErrBadPayload, jsonErr(err))
	}
	pts := make([]point.Point, 0, len(w.Items))
	for i, it := range w.Items {
		if i >= MaxLogItems {
			break
		}
		attrs := map[string]string{}
		for k, v := range it.Attributes {
			attrs[k] = v.s
		}
		service := attrs["service.name"]
		pts = append(pts, newPoint("logs", clock(int64(it.Timestamp)), service, map[string]any{
			"level": cut(strings.ToLower(string(it.Level)), 16), "message": cut(string(it.Body), 8192), "attributes": compactAttrs(attrs, 4096),
			"trace_id": cut(string(it.TraceID), 64), "span_id": cut(string(it.SpanID), 32), "service": cut(service, 200), "origin": "sentry",
			"environment": cleanName(attrs["sentry.environment"]), "release": cleanName(attrs["sentry.release"]),
			"sdk":      cut(strings.TrimSuffix(attrs["sentry.sdk.name"]+"/"+attrs["sentry.sdk.version"], "/"), 128),
			"severity": math.Max(float64(it.Severity), 0),
		}))
	}
	return pts, nil
}

// compactAttrs writes attributes as a JSON object sorted by key, at most
// limit bytes (the attributes past it are left out).
func compactAttrs(attrs map[string]string, limit int) string {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for _, k := range keys {
		kj, _ := json.Marshal(k)
		vj, _ := json.Marshal(cut(attrs[k], 1024))
		if b.Len()+len(kj)+len(vj)+3 > limit {
			break
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.Write(kj)
		b.WriteByte(':')
		b.Write(vj)
	}
	b.WriteByte('}')
	return b.String()
}

// Discard is one line of a client report: what the SDK dropped and why.
type Discard struct {
	Reason, Category string
	Quantity         int64
}

// ClientReport reads a client_report item.
func ClientReport(b []byte) ([]Discard, error) {
	if err := checkJSON(b, "the client report"); err != nil {
		return nil, err
	}
	type line struct {
		Reason   flexString `json:"reason"`
		Category flexString `json:"category"`
		Quantity flexNumber `json:"quantity"`
	}
	var w struct {
		Discarded       []line `json:"discarded_events"`
		RateLimited     []line `json:"rate_limited_events"`
		Filtered        []line `json:"filtered_events"`
		FilteredSampled []line `json:"filtered_sampling_events"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: client report: %v", ErrBadPayload, jsonErr(err))
	}
	var out []Discard
	add := func(ls []line, reason string) {
		for _, l := range ls {
			r := reason
			if r == "" {
				r = string(l.Reason)
			}
			if q := int64(l.Quantity); q > 0 && len(out) < 100 {
				out = append(out, Discard{Reason: cut(label(r), 64), Category: cut(label(string(l.Category)), 64), Quantity: q})
			}
		}
	}
	add(w.Discarded, "")
	add(w.RateLimited, "ratelimit_backoff")
	add(w.Filtered, "event_processor")
	add(w.FilteredSampled, "sample_rate")
	return out, nil
}

// label keeps [a-z0-9_.] of a reason or category (they become metric
// labels).
func label(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '.':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 32
		}
		return -1
	}, s)
	if s == "" {
		return "unknown"
	}
	return s
}
