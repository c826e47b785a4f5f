// Package logs owns the log record of POST /api/v1/logs: its JSON shape, its
// limits, the rules that read its timestamp and its level, and its mapping
// onto a point of the built-in logs dataset (whose schema package point
// fixes). Other entry paths (the browser beacon's log events, the Sentry
// log items) use its level rules. It knows nothing of HTTP, keys or
// projects.
package logs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/textlimit"
)

// Dataset is the built-in dataset log records are stored in.
const Dataset = "logs"

// The limits of one body and of one record, named in the errors.
const (
	// MaxRecords bounds the records of one body.
	MaxRecords = 10_000
	// MaxMessageBytes bounds a record's message.
	MaxMessageBytes = 8192
	// MaxAttributes bounds the keys of a record's attributes (top level).
	MaxAttributes = 64
	// MaxAttributeKeyBytes bounds one attribute key.
	MaxAttributeKeyBytes = 128
	// MaxAttributesBytes bounds the attributes as stored: compact JSON.
	MaxAttributesBytes = 4096
	// MaxAttributesDepth bounds the nesting of the attributes' values.
	MaxAttributesDepth = 8
	// MaxServiceBytes bounds service (it is the dataset's index).
	MaxServiceBytes = point.MaxIndexBytes
	// MaxTraceIDBytes and MaxSpanIDBytes bound trace_id and span_id.
	MaxTraceIDBytes = 64
	MaxSpanIDBytes  = 32
	// MaxNameBytes bounds environment and release.
	MaxNameBytes = 128
)

// Origins of log records: which entry path wrote a record.
const (
	OriginAPI     = "api"     // POST /api/v1/logs
	OriginBrowser = "browser" // the browser beacon's log events
)

// ErrEmptyBody is returned by Decode for a body of whitespace only.
var ErrEmptyBody = errors.New("body is empty; send NDJSON (one log record object per line) or a JSON array of log records")

// TooManyRecordsError is returned by Decode for a body over the record limit.
type TooManyRecordsError struct{ Limit int }

func (e *TooManyRecordsError) Error() string {
	return fmt.Sprintf("body has more than %d log records; the limit is %d records per request: split the batch", e.Limit, e.Limit)
}

// BodyError is returned by Decode for a body that cannot be read as a whole
// (a JSON array with a syntax error).
type BodyError struct{ Msg string }

func (e *BodyError) Error() string { return e.Msg }

// Options tell Decode the context of a body.
type Options struct {
	// Now is the receive time (Unix ms), given to records without a
	// timestamp.
	Now int64
	// MinTimestamp and MaxTimestamp bound a record's timestamp, inclusive
	// (Unix ms); both 0 accept any.
	MinTimestamp, MaxTimestamp int64
	// MaxRecords bounds the records of a body; 0 means MaxRecords.
	MaxRecords int
	// Origin is stored in the origin field (default OriginAPI).
	Origin string
}

// Record is one log record as it is sent.
type Record struct {
	Timestamp   json.RawMessage `json:"timestamp"`
	Level       json.RawMessage `json:"level"`
	Message     *string         `json:"message"`
	Attributes  json.RawMessage `json:"attributes"`
	TraceID     string          `json:"trace_id"`
	SpanID      string          `json:"span_id"`
	Service     string          `json:"service"`
	Environment string          `json:"environment"`
	Release     string          `json:"release"`
}

// keys lists the keys a record may have, for the unknown-key error.
const keys = "timestamp, level, message, attributes, trace_id, span_id, service, environment, release"

// Decode decodes a body (already gunzipped and size-limited): NDJSON (one
// record per line; blank lines ignored), a JSON array of records, or one
// record object. Each bad record yields a rejection with its position (its
// index in the array, or among the non-blank lines) and, for NDJSON, its
// line number in the message; the others are returned as points of the
// logs dataset, in body order. err is non-nil only when the body as a whole
// cannot be read: ErrEmptyBody, *BodyError or *TooManyRecordsError.
func Decode(body []byte, opts Options) (pts []point.Point, rejected []point.Rejection, err error) {
	if opts.MaxRecords <= 0 {
		opts.MaxRecords = MaxRecords
	}
	if opts.Origin == "" {
		opts.Origin = OriginAPI
	}
	body = bytes.TrimPrefix(body, []byte("\uFEFF"))
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, nil, ErrEmptyBody
	}
	add := func(pos int, where string, raw []byte) {
		p, err := decodeRecord(raw, &opts)
		if err != nil {
			rejected = append(rejected, point.Rejection{Position: pos, Error: where + err.Error()})
			return
		}
		pts = append(pts, p)
	}
	switch {
	case trimmed[0] == '[':
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		if _, err := dec.Token(); err != nil {
			return nil, nil, &BodyError{Msg: "body: " + jsonError(err)}
		}
		var raws []json.RawMessage
		for dec.More() {
			if len(raws) >= opts.MaxRecords {
				return nil, nil, &TooManyRecordsError{Limit: opts.MaxRecords}
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, nil, &BodyError{Msg: fmt.Sprintf("body: record %d: %s", len(raws), jsonError(err))}
			}
			raws = append(raws, raw)
		}
		if _, err := dec.Token(); err != nil {
			return nil, nil, &BodyError{Msg: "body: the array does not end: " + jsonError(err)}
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, nil, &BodyError{Msg: "body: more than one JSON value after the array; send one array or NDJSON"}
		}
		for i, raw := range raws {
			add(i, fmt.Sprintf("record %d: ", i), raw)
		}
	case trimmed[0] == '{' && json.Valid(trimmed):
		add(0, "", trimmed) // one object, maybe spread over lines
	default:
		n, line := 0, 0
		for len(body) > 0 {
			var l []byte
			l, body, _ = bytes.Cut(body, []byte("\n"))
			line++
			l = bytes.TrimSpace(l)
			if len(l) == 0 {
				continue
			}
			if n >= opts.MaxRecords {
				return nil, nil, &TooManyRecordsError{Limit: opts.MaxRecords}
			}
			add(n, fmt.Sprintf("line %d: ", line), l)
			n++
		}
	}
	return pts, rejected, nil
}

var schema = func() *point.Schema {
	s := point.Builtin(Dataset)
	if s == nil {
		panic("BUG: dataset logs is not built in")
	}
	return s
}()

// decodeRecord reads and checks one record and maps it onto a point.
func decodeRecord(raw []byte, opts *Options) (point.Point, error) {
	var p point.Point
	if raw[0] != '{' {
		return p, fmt.Errorf("a log record is a JSON object, got %s", textlimit.JSONKind(raw))
	}
	var r Record
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return p, errors.New(jsonError(err))
	}
	if dec.More() {
		return p, errors.New("more than one JSON value on the line")
	}
	return r.Point(opts)
}

// Point checks the record and maps it onto a point of the logs dataset.
func (r *Record) Point(opts *Options) (point.Point, error) {
	p := point.Point{Dataset: Dataset}
	ts, err := Timestamp(r.Timestamp, opts.Now)
	if err != nil {
		return p, err
	}
	if lo, hi := opts.MinTimestamp, opts.MaxTimestamp; (lo != 0 || hi != 0) && (ts < lo || ts > hi) {
		return p, fmt.Errorf("timestamp %s is outside the accepted window %s to %s (the retention and the allowed clock skew)",
			fmtMillis(ts), fmtMillis(lo), fmtMillis(hi))
	}
	p.Timestamp = ts
	level, severity, err := LevelOf(r.Level)
	if err != nil {
		return p, err
	}
	msg := ""
	if r.Message != nil {
		msg = *r.Message
	}
	if len(msg) > MaxMessageBytes {
		return p, fmt.Errorf("message is %d bytes; the limit is %d bytes", len(msg), MaxMessageBytes)
	}
	attrs, err := Attributes(r.Attributes)
	if err != nil {
		return p, err
	}
	if msg == "" && attrs == "" {
		return p, errors.New(`a log record needs a "message" (or attributes)`)
	}
	for _, f := range []struct {
		name  string
		v     string
		limit int
	}{
		{"service", r.Service, MaxServiceBytes}, {"trace_id", r.TraceID, MaxTraceIDBytes}, {"span_id", r.SpanID, MaxSpanIDBytes},
		{"environment", r.Environment, MaxNameBytes}, {"release", r.Release, MaxNameBytes},
	} {
		if len(f.v) > f.limit {
			return p, fmt.Errorf("%s is %d bytes; the limit is %d bytes", f.name, len(f.v), f.limit)
		}
		if strings.ContainsFunc(f.v, isControl) {
			return p, fmt.Errorf("%s %q has a control character", f.name, textlimit.Cut(f.v, 40))
		}
	}
	p.Index = r.Service
	set := func(name string, v any) {
		if !schema.Set(&p, name, v) {
			panic(fmt.Sprintf("BUG: logs has no field %q of %T", name, v))
		}
	}
	set("level", level)
	set("message", msg)
	set("attributes", attrs)
	set("trace_id", r.TraceID)
	set("span_id", r.SpanID)
	set("service", r.Service)
	set("origin", opts.Origin)
	set("environment", r.Environment)
	set("release", r.Release)
	set("severity", severity)
	if err := p.Validate(); err != nil {
		return p, err // not expected: the limits above fit in a point
	}
	return p, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// Timestamp reads a record's timestamp into Unix milliseconds: absent or
// null is now; an RFC 3339 string (fractions and any offset allowed); a
// number, or a string of one, is Unix time whose unit is told by its size:
// below 1e11 seconds (fractions kept to the millisecond), below 1e14
// milliseconds, below 1e17 microseconds, else nanoseconds.
func Timestamp(raw json.RawMessage, now int64) (int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return now, nil
	}
	var num string
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, errors.New("timestamp: " + jsonError(err))
		}
		s = strings.TrimSpace(s)
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UnixMilli(), nil
		}
		if _, err := strconv.ParseFloat(s, 64); err != nil || s == "" {
			return 0, fmt.Errorf(`timestamp %q is neither RFC 3339 (e.g. "2026-01-02T15:04:05.123Z") nor Unix time`, textlimit.Cut(s, 60))
		}
		num = s
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		num = string(raw)
	default:
		return 0, fmt.Errorf("timestamp is %s; send an RFC 3339 string or Unix time (s, ms, µs or ns) as a number", textlimit.JSONKind(raw))
	}
	if n, err := strconv.ParseInt(num, 10, 64); err == nil && n > 0 {
		switch { // whole numbers exactly
		case n < 1e11:
			return n * 1e3, nil
		case n < 1e14:
			return n, nil
		case n < 1e17:
			return n / 1e3, nil
		}
		return n / 1e6, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("timestamp %s is not a number", textlimit.Cut(num, 40))
	}
	if f <= 0 {
		return 0, fmt.Errorf("timestamp %s is not after 1970", textlimit.Cut(num, 40))
	}
	var ms float64
	switch {
	case f < 1e11:
		ms = f * 1e3
	case f < 1e14:
		ms = f
	case f < 1e17:
		ms = f / 1e3
	default:
		ms = f / 1e6
	}
	if ms >= 1e15 { // past year 33658: nanoseconds can go no further
		return 0, fmt.Errorf("timestamp %s is too large", textlimit.Cut(num, 40))
	}
	return int64(ms), nil
}

// The levels, in order, with the OpenTelemetry severity number each starts
// at (each spans four numbers: trace 1–4, debug 5–8, … fatal 21–24).
var (
	Levels     = []string{"trace", "debug", "info", "warn", "error", "fatal"}
	severities = map[string]int{"trace": 1, "debug": 5, "info": 9, "warn": 13, "error": 17, "fatal": 21}
	synonyms   = map[string]string{
		"trace": "trace", "verbose": "trace", "finest": "trace",
		"debug": "debug", "dbg": "debug", "fine": "debug",
		"info": "info", "information": "info", "informational": "info", "notice": "info", "log": "info",
		"warn": "warn", "warning": "warn",
		"error": "error", "err": "error", "severe": "error",
		"fatal": "fatal", "critical": "fatal", "crit": "fatal", "panic": "fatal", "alert": "fatal", "emergency": "fatal", "emerg": "fatal",
	}
)

// LevelOf reads a record's level: absent, null or "" is info; a name
// (case-insensitive, with the common synonyms: warning, err, critical…),
// maybe followed by a digit 2–4 as OpenTelemetry's severity texts
// (WARN2) or by an offset as slog's (ERROR+2, DEBUG-4); or an
// OpenTelemetry severity number 1–24, as a number or a string. It returns
// the level's name and its severity number.
func LevelOf(raw json.RawMessage) (string, float64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "info", 9, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", 0, errors.New("level: " + jsonError(err))
		}
		return Level(s)
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return "", 0, fmt.Errorf("level is %s; send a name (%s) or a severity number 1–24", textlimit.JSONKind(raw), strings.Join(Levels, ", "))
	}
	return severityLevel(f, string(raw))
}

// Level normalizes a level name (see LevelOf).
func Level(s string) (string, float64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" {
		return "info", 9, nil
	}
	if name, ok := synonyms[t]; ok {
		return name, float64(severities[name]), nil
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil {
		return severityLevel(f, t)
	}
	// WARN2 (OpenTelemetry), ERROR+2 and DEBUG-4 (slog).
	if i := strings.IndexAny(t, "+-0123456789"); i > 0 {
		if name, ok := synonyms[t[:i]]; ok {
			off := t[i:]
			n, err := strconv.Atoi(off)
			if err == nil && off[0] >= '2' && off[0] <= '4' && len(off) == 1 {
				return name, float64(severities[name] + n - 1), nil
			}
			if err == nil && (off[0] == '+' || off[0] == '-') && n >= -24 && n <= 24 {
				sev := min(max(severities[name]+n, 1), 24)
				return Levels[(sev-1)/4], float64(sev), nil
			}
		}
	}
	return "", 0, fmt.Errorf("level %q is not one of %s (or a severity number 1–24)", textlimit.Cut(s, 40), strings.Join(Levels, ", "))
}

func severityLevel(f float64, text string) (string, float64, error) {
	if f != math.Trunc(f) || f < 1 || f > 24 {
		return "", 0, fmt.Errorf("level %s is not an OpenTelemetry severity number (a whole number from 1 to 24)", textlimit.Cut(text, 40))
	}
	return Levels[(int(f)-1)/4], f, nil
}

// Attributes checks a record's attributes (a JSON object or null) and
// returns them as stored: compact JSON with the keys sorted, "" for none.
func Attributes(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] != '{' {
		return "", fmt.Errorf("attributes is a JSON object, got %s", textlimit.JSONKind(raw))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", errors.New("attributes: " + jsonError(err))
	}
	if len(m) == 0 {
		return "", nil
	}
	if len(m) > MaxAttributes {
		return "", fmt.Errorf("attributes has %d keys; the limit is %d keys", len(m), MaxAttributes)
	}
	names := make([]string, 0, len(m))
	for k := range m {
		if k == "" {
			return "", errors.New("attributes has an empty key")
		}
		if len(k) > MaxAttributeKeyBytes {
			return "", fmt.Errorf("attribute key %q is %d bytes; the limit is %d bytes", textlimit.Cut(k, 40), len(k), MaxAttributeKeyBytes)
		}
		names = append(names, k)
	}
	slices.Sort(names)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		kj, _ := json.Marshal(k)
		b.Write(kj)
		b.WriteByte(':')
		if err := json.Compact(&b, m[k]); err != nil {
			return "", fmt.Errorf("attribute %q: %v", textlimit.Cut(k, 40), err) // not expected: Unmarshal checked it
		}
		if b.Len() > MaxAttributesBytes {
			break
		}
	}
	b.WriteByte('}')
	if b.Len() > MaxAttributesBytes {
		return "", fmt.Errorf("attributes are over %d bytes as compact JSON; the limit is %d bytes", MaxAttributesBytes, MaxAttributesBytes)
	}
	if d := textlimit.JSONDepth(b.Bytes()); d > MaxAttributesDepth+1 {
		return "", fmt.Errorf("attributes nest %d levels deep; the limit is %d", d-1, MaxAttributesDepth)
	}
	if !utf8.Valid(b.Bytes()) {
		return "", errors.New("attributes are not valid UTF-8") // encoding/json replaces it; a guard
	}
	return b.String(), nil
}

// jsonError rewrites encoding/json's errors in the words of this API.
func jsonError(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		if te.Field == "" {
			return fmt.Sprintf("expected %s, got JSON %s", te.Type, te.Value)
		}
		return fmt.Sprintf("%s must be a string, got JSON %s", te.Field, te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte offset %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "invalid JSON: it ends early"
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if strings.HasPrefix(msg, "unknown field ") {
		return strings.Replace(msg, "unknown field", "unknown key", 1) + "; a log record has " + keys
	}
	return msg
}

func fmtMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
