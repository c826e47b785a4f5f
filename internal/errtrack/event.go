package errtrack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// DecodeEvent reads an error event's JSON. Only a body that is not a JSON
// object is an error: every field of an unknown or odd shape reads as
// empty instead.
//
// It parses the event once with fastjson (and validates it with fastjson's
// validator, as strict as encoding/json's), then reads the parsed values
// with the semantics the flex types (flex.go) have with encoding/json,
// which decoded events before: event_reference_test.go keeps that
// decoder, and the differential tests and fuzzers in event_diff_test.go
// hold the two to the same results:
//
//   - member names match as encoding/json matches them: the exact name,
//     else case-insensitively (bytes.EqualFold), and of a name sent twice
//     the last one counts;
//   - strings, numbers and booleans read as strings, null, objects and
//     arrays as ""; lists bare or as {"values": […]}, their items that do
//     not read as the item's type skipped (a null item is an empty item);
//     tags an object (sorted by key) or a list of pairs; times RFC 3339
//     or epoch seconds, as numbers or strings;
//   - string escapes decode as encoding/json decodes them, an invalid
//     UTF-16 surrogate escape (a lone \ud800) to U+FFFD.
//
// It differs from it in three corners, on purpose:
//
//   - the JSON values kept as sent (Contexts, Extra, Modules, Frame.Vars,
//     Breadcrumb.Data, User.Data, Request.Data) are kept compact: the same
//     tokens, without the whitespace between them, as json.Compact makes
//     them (SDKs send compact JSON, and the API's json.Marshal compacts
//     them anyway);
//   - in those values an invalid surrogate escape reads \ufffd, which is
//     what encoding/json decodes it to (fixSurrogates);
//   - JSON nested deeper than fastjson.MaxDepth (300) levels is refused
//     (ErrBadPayload) instead of read: encoding/json read up to 10,000
//     levels. SDKs cut the data they send at a few levels
//     (normalizeDepth), so only a made-up event is that deep.
func DecodeEvent(b []byte) (*Event, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, fmt.Errorf("%w: the event is not a JSON object", ErrBadPayload)
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: the event is not valid UTF-8", ErrBadPayload)
	}
	src := fixSurrogates(b)
	p := eventParsers.Get()
	if len(src) <= maxPooledEvent {
		defer eventParsers.Put(p)
	}
	// The parser stops at MaxDepth but accepts more than JSON (NaN,
	// 1-2, control characters and unknown escapes in strings); the
	// validator (no depth limit, hence second) accepts exactly JSON.
	v, err := p.ParseBytes(src)
	if err == nil {
		err = fastjson.ValidateBytes(src)
	}
	if err != nil {
		return nil, eventSyntaxError(b, err)
	}
	d := eventDecoders.Get().(*eventDecoder)
	e := d.event(v.GetObject())
	if cap(d.buf) <= maxPooledEvent && cap(d.ends) <= maxPooledEvent {
		eventDecoders.Put(d)
	}
	return e, nil
}

// eventParsers are DecodeEvent's parsers. A parser's memory is reused by
// the next parse: every string and value an Event keeps is copied out.
var eventParsers fastjson.ParserPool

// eventDecoders hold DecodeEvent's scratch memory.
var eventDecoders = sync.Pool{New: func() any { return &eventDecoder{buf: make([]byte, 0, 1024)} }}

// maxPooledEvent is the largest event whose parser (and scratch) is
// pooled, so that a rare large event does not keep its memory.
const maxPooledEvent = 128 << 10

// eventSyntaxError is DecodeEvent's answer to JSON it cannot read: the
// answer encoding/json gives (the one DecodeEvent always gave), else, for
// JSON nested too deep for fastjson, its own.
func eventSyntaxError(b []byte, err error) error {
	var v struct{}
	if jerr := json.Unmarshal(b, &v); jerr != nil {
		return fmt.Errorf("%w: event: %v", ErrBadPayload, jsonErr(jerr))
	}
	if strings.Contains(err.Error(), "too big depth") {
		return fmt.Errorf("%w: event: JSON nested deeper than %d levels", ErrBadPayload, fastjson.MaxDepth)
	}
	return fmt.Errorf("%w: event: %v", ErrBadPayload, err)
}

// fixSurrogates returns b, or when b holds a \u escape of a UTF-16
// surrogate that is not half of a valid pair, a copy where each such
// escape reads \ufffd. encoding/json decodes such an escape to U+FFFD and
// fastjson keeps it as is (or swallows the escape after it): with the
// copy both decode every string to the same text.
func fixSurrogates(b []byte) []byte {
	var out []byte
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\\')
		if j < 0 || i+j+1 >= len(b) {
			break
		}
		i += j
		if b[i+1] != 'u' {
			i += 2 // \\, \" and the others: the next byte is not an escape
			continue
		}
		r := hex4(b[i+2:])
		switch {
		case r < 0:
			i += 2 // not JSON: the validator refuses it
			continue
		case !utf16.IsSurrogate(r):
			i += 6
			continue
		case r < 0xdc00 && len(b) >= i+12 && b[i+6] == '\\' && b[i+7] == 'u':
			if r2 := hex4(b[i+8:]); r2 >= 0xdc00 && r2 < 0xe000 {
				i += 12 // a valid pair
				continue
			}
		}
		if out == nil {
			out = bytes.Clone(b)
		}
		copy(out[i+2:i+6], "fffd")
		i += 6
	}
	if out == nil {
		return b
	}
	return out
}

// hex4 reads 4 hex digits, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// The members DecodeEvent reads, by object (with the legacy
// "sentry.interfaces.*" aliases Relay still reads); fieldsOf fills an
// array of values indexed by these constants.
var (
	eventNames = memberNames("event_id", "timestamp", "level", "platform", "logger", "transaction", "culprit", "server_name",
		"release", "dist", "environment", "message", "logentry", "sentry.interfaces.Message", "exception",
		"sentry.interfaces.Exception", "stacktrace", "sentry.interfaces.Stacktrace", "threads", "breadcrumbs", "tags",
		"contexts", "extra", "user", "sentry.interfaces.User", "request", "sentry.interfaces.Http", "sdk", "fingerprint", "modules")
	logentryNames   = memberNames("message", "formatted", "params")
	exceptionNames  = memberNames("type", "value", "module", "mechanism", "stacktrace")
	mechanismNames  = memberNames("type", "handled")
	stacktraceNames = memberNames("frames")
	frameNames      = memberNames("function", "raw_function", "module", "package", "filename", "abs_path", "lineno", "colno",
		"in_app", "context_line", "pre_context", "post_context", "vars", "platform")
	threadNames  = memberNames("crashed", "current", "stacktrace")
	crumbNames   = memberNames("timestamp", "type", "category", "message", "level", "data")
	userNames    = memberNames("id", "email", "username", "ip_address", "name", "data")
	requestNames = memberNames("url", "method", "query_string", "headers", "data")
	sdkNames     = memberNames("name", "version")
	valuesNames  = memberNames("values")
)

const (
	evEventID = iota
	evTimestamp
	evLevel
	evPlatform
	evLogger
	evTransaction
	evCulprit
	evServerName
	evRelease
	evDist
	evEnvironment
	evMessage
	evLogentry
	evLegacyMsg
	evException
	evLegacyExc
	evStacktrace
	evLegacyStack
	evThreads
	evBreadcrumbs
	evTags
	evContexts
	evExtra
	evUser
	evLegacyUser
	evRequest
	evLegacyHTTP
	evSDK
	evFingerprint
	evModules
	evCount
)

const (
	frFunction = iota
	frRawFunction
	frModule
	frPackage
	frFilename
	frAbsPath
	frLineno
	frColno
	frInApp
	frContextLine
	frPreContext
	frPostContext
	frVars
	frPlatform
	frCount
)

type memberName struct {
	s string
	b []byte
}

func memberNames(names ...string) []memberName {
	out := make([]memberName, len(names))
	for i, n := range names {
		out[i] = memberName{n, []byte(n)}
	}
	return out
}

// fieldsOf reads an object's members into vals (vals[i] is names[i]'s;
// nil when absent) as encoding/json matches members to a struct's fields:
// the exact name, else one equal under Unicode case folding; of a name
// sent twice the last counts. o may be nil (a null item: no members).
func fieldsOf(o *fastjson.Object, names []memberName, vals []*fastjson.Value) {
	o.Visit(func(k []byte, v *fastjson.Value) {
		for i := range names {
			if string(k) == names[i].s {
				vals[i] = v
				return
			}
		}
		for i := range names {
			if bytes.EqualFold(k, names[i].b) {
				vals[i] = v
				return
			}
		}
	})
}

// eventDecoder reads the parsed event into an Event; every read copies
// what it keeps. A nil *fastjson.Value is an absent member: each read
// gives what the flex type it replaces gives for a member not sent.
type eventDecoder struct {
	// scratch
	buf     []byte
	ends    []int
	vals    []*fastjson.Value
	rawVals []*fastjson.Value
	strings []string
}

func (d *eventDecoder) event(o *fastjson.Object) *Event {
	var f [evCount]*fastjson.Value
	fieldsOf(o, eventNames, f[:])
	e := &Event{
		EventID:     NormalizeEventID(d.str(f[evEventID])),
		Timestamp:   d.time(f[evTimestamp]),
		Level:       normalizeLevel(d.str(f[evLevel])),
		Platform:    cut(d.str(f[evPlatform]), maxShortString),
		Logger:      cut(d.str(f[evLogger]), maxShortString),
		Transaction: cut(d.str(f[evTransaction]), maxTitle),
		ServerName:  cut(d.str(f[evServerName]), maxShortString),
		Release:     cleanName(d.str(f[evRelease])),
		Dist:        cleanName(d.str(f[evDist])),
		Environment: cleanName(d.str(f[evEnvironment])),
		Contexts:    d.rawObject(f[evContexts]),
		Extra:       d.rawObject(f[evExtra]),
		Modules:     d.rawObject(f[evModules]),
	}
	if e.Transaction == "" {
		// Old SDKs sent the culprit themselves.
		e.Transaction = cut(d.str(f[evCulprit]), maxTitle)
	}
	e.Message, e.Template = d.message(f[evMessage], firstObject(f[evLogentry], f[evLegacyMsg]))

	exc := f[evException]
	nx := countItems(exc)
	if nx == 0 {
		exc = f[evLegacyExc]
		nx = countItems(exc)
	}
	n := 0
	for _, it := range listItems(exc) {
		xo, ok := structItem(it)
		if !ok {
			continue
		}
		if n++; n > maxExceptions {
			break
		}
		if x, ok := d.exception(xo); ok {
			if e.Exceptions == nil {
				e.Exceptions = make([]Exception, 0, min(nx, maxExceptions))
			}
			e.Exceptions = append(e.Exceptions, x)
		}
	}

	e.Stacktrace = d.stack(firstObject(f[evStacktrace], f[evLegacyStack]))
	if e.Stacktrace == nil {
		e.Stacktrace = d.threadStack(f[evThreads])
	}

	nc := countItems(f[evBreadcrumbs])
	skip := nc - maxCrumbs // keep the latest ones
	if nc > 0 {
		e.Breadcrumbs = make([]Breadcrumb, 0, min(nc, maxCrumbs))
	}
	data := d.rawVals[:0] // the breadcrumbs' data, read together below
	for _, it := range listItems(f[evBreadcrumbs]) {
		co, ok := structItem(it)
		if !ok {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		c, v := d.crumb(co)
		e.Breadcrumbs = append(e.Breadcrumbs, c)
		data = append(data, v)
	}
	d.rawVals = data
	d.rawValues(data, func(i int, r json.RawMessage) { e.Breadcrumbs[i].Data = r })

	if tags := d.pairs(f[evTags]); len(tags) > 0 {
		tags = tags[:min(len(tags), maxTags)]
		for i, t := range tags {
			tags[i] = Pair{cut(t[0], maxShortString), cut(t[1], maxTitle)}
		}
		e.Tags = tags
	}
	if u := firstObject(f[evUser], f[evLegacyUser]); u != nil {
		e.User = d.user(u)
	}
	if r := firstObject(f[evRequest], f[evLegacyHTTP]); r != nil {
		e.Request = d.request(r)
	}
	if sdk := f[evSDK].GetObject(); sdk != nil {
		var s [2]*fastjson.Value
		fieldsOf(sdk, sdkNames, s[:])
		e.SDK = SDK{Name: cut(d.str(s[0]), maxShortString), Version: cut(d.str(s[1]), maxShortString)}
	}
	e.Fingerprint = d.fingerprint(f[evFingerprint])
	if e.Level == "" {
		e.Level = "error"
	}
	return e
}

func isTrue(b flexBool) bool { return b.v != nil && *b.v }

// Levels Sentry knows, in order of severity.
var levels = []string{"debug", "info", "warning", "error", "fatal"}

func normalizeLevel(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "warn":
		return "warning"
	case "critical":
		return "fatal"
	case "log":
		return "info"
	}
	for _, l := range levels {
		if s == l {
			return s
		}
	}
	return ""
}

// NormalizeEventID returns an event id as 32 lower-case hex digits (Sentry
// accepts them with or without dashes), or "" when it is not one.
func NormalizeEventID(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) == 36 {
		s = strings.ReplaceAll(s, "-", "")
	}
	if len(s) != 32 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return ""
		}
	}
	return s
}

// cleanName is a release, environment or dist: no control characters
// (they would break the stored lists), at most maxShortString bytes.
func cleanName(s string) string {
	s = strings.TrimSpace(s)
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		s = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, s)
	}
	return cut(s, maxShortString)
}

// cut shortens s to at most n bytes on a rune boundary, marking the cut
// with "…".
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n - len("…")
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// firstLine is the first non-empty line of s.
func firstLine(s string) string {
	for line := range strings.Lines(s) {
		if l := strings.TrimSpace(line); l != "" {
			return l
		}
	}
	return ""
}

// jsonErr shortens a JSON decoding error for an answer.
func jsonErr(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case asErr(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)
	case asErr(err, &te):
		return fmt.Sprintf("field %q: %v", te.Field, te)
	}
	return err.Error()
}
