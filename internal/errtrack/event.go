package errtrack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// Event is a Sentry error event as Alidade reads it, whatever the SDK's
// shape (see flex.go): the parts that grouping, the error groups, the
// datasets and the event API use. The payload itself is kept as sent.
type Event struct {
	EventID     string
	Timestamp   int64 // Unix ms; 0 when the event has none
	Level       string
	Platform    string
	Logger      string
	Transaction string
	ServerName  string
	Release     string
	Dist        string
	Environment string
	// Message is the formatted message (message, or logentry.formatted,
	// or logentry.message with its params); Template the unformatted one
	// when the SDK sent it (logentry.message), which groups better.
	Message     string
	Template    string
	Exceptions  []Exception // oldest first: the last one is the main one
	Stacktrace  *Stacktrace // the event's own stack (attach_stacktrace), or a thread's
	Breadcrumbs []Breadcrumb
	Tags        []Pair
	Contexts    json.RawMessage
	Extra       json.RawMessage
	User        User
	Request     *Request
	SDK         SDK
	Fingerprint []string
	Modules     json.RawMessage
}

// Exception is one exception of the chain.
type Exception struct {
	Type       string      `json:"type"`
	Value      string      `json:"value"`
	Module     string      `json:"module,omitempty"`
	Mechanism  *Mechanism  `json:"mechanism,omitempty"`
	Stacktrace *Stacktrace `json:"stacktrace,omitempty"`
}

// Mechanism says how an exception was caught.
type Mechanism struct {
	Type    string `json:"type,omitempty"`
	Handled *bool  `json:"handled,omitempty"`
}

// Stacktrace holds frames oldest first: the last frame is where the error
// was raised.
type Stacktrace struct {
	Frames []Frame `json:"frames"`
}

// Frame is one stack frame.
type Frame struct {
	Function    string          `json:"function,omitempty"`
	Module      string          `json:"module,omitempty"`
	Package     string          `json:"package,omitempty"`
	Filename    string          `json:"filename,omitempty"`
	AbsPath     string          `json:"abs_path,omitempty"`
	Lineno      int             `json:"lineno,omitempty"`
	Colno       int             `json:"colno,omitempty"`
	InApp       *bool           `json:"in_app,omitempty"`
	ContextLine string          `json:"context_line,omitempty"`
	PreContext  []string        `json:"pre_context,omitempty"`
	PostContext []string        `json:"post_context,omitempty"`
	Vars        json.RawMessage `json:"vars,omitempty"`
	Platform    string          `json:"platform,omitempty"`
}

// Breadcrumb is one breadcrumb.
type Breadcrumb struct {
	Timestamp int64           `json:"-"`
	Type      string          `json:"type,omitempty"`
	Category  string          `json:"category,omitempty"`
	Message   string          `json:"message,omitempty"`
	Level     string          `json:"level,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// User is the event's user.
type User struct {
	ID        string          `json:"id,omitempty"`
	Email     string          `json:"email,omitempty"`
	Username  string          `json:"username,omitempty"`
	IPAddress string          `json:"ip_address,omitempty"`
	Name      string          `json:"name,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// Key identifies the user for "users affected": the id, else the email,
// else the username, else the IP address; "" when none.
func (u User) Key() string {
	for _, s := range []string{u.ID, u.Email, u.Username, u.IPAddress} {
		if s != "" {
			return s
		}
	}
	return ""
}

// Request is the HTTP request the event happened in.
type Request struct {
	URL         string          `json:"url,omitempty"`
	Method      string          `json:"method,omitempty"`
	QueryString string          `json:"query_string,omitempty"`
	Headers     []Pair          `json:"headers,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// SDK names the client.
type SDK struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// The wire shapes the other items' decoders (items.go) share with
// encoding/json; DecodeEvent reads the same shapes with fastjson (below).
type wireUser struct {
	ID        flexString `json:"id"`
	Email     flexString `json:"email"`
	Username  flexString `json:"username"`
	IPAddress flexString `json:"ip_address"`
	Name      flexString `json:"name"`
	Data      rawValue   `json:"data"`
}

type wireRequest struct {
	URL         flexString      `json:"url"`
	Method      flexString      `json:"method"`
	QueryString json.RawMessage `json:"query_string"`
	Headers     pairs           `json:"headers"`
	Data        rawValue        `json:"data"`
}

type wireSDK struct {
	Name    flexString `json:"name"`
	Version flexString `json:"version"`
}

// Limits of what is kept of an event's fields (the payload itself is kept
// whole); past them a string is cut and marked "…".
const (
	maxShortString = 200  // ids, names, release, environment, level
	maxTitle       = 256  // titles and culprits
	maxMessage     = 8192 // messages and exception values
	maxFrames      = 250  // frames per stack trace kept for grouping and display
	maxCrumbs      = 100
	maxExceptions  = 25
	maxTags        = 200
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

// firstObject is a's object, else b's (obj[T] and firstNonNil).
func firstObject(a, b *fastjson.Value) *fastjson.Object {
	if o := a.GetObject(); o != nil {
		return o
	}
	return b.GetObject()
}

// listItems is the items of a list sent bare or as {"values": […]}; nil for
// anything else (valuesOf).
func listItems(v *fastjson.Value) []*fastjson.Value {
	if o := v.GetObject(); o != nil {
		var w [1]*fastjson.Value
		fieldsOf(o, valuesNames, w[:])
		v = w[0]
	}
	return v.GetArray()
}

// structItem says whether a list's item reads as a struct: an object, or
// null (an empty one); encoding/json fails on the others, which valuesOf
// skips.
func structItem(v *fastjson.Value) (*fastjson.Object, bool) {
	if o := v.GetObject(); o != nil {
		return o, true
	}
	return nil, v.Type() == fastjson.TypeNull
}

// countItems is how many items of a list read as structs.
func countItems(v *fastjson.Value) int {
	n := 0
	for _, it := range listItems(v) {
		if _, ok := structItem(it); ok {
			n++
		}
	}
	return n
}

// str reads a value as flexString does: a string, or a number or boolean
// as sent; anything else is "".
func (d *eventDecoder) str(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeString:
		return string(v.GetStringBytes())
	case fastjson.TypeNumber:
		d.buf = v.MarshalTo(d.buf[:0]) // as sent
		return string(d.buf)
	case fastjson.TypeTrue:
		return "true"
	case fastjson.TypeFalse:
		return "false"
	}
	return ""
}

// time reads a value as flexTime does.
func (d *eventDecoder) time(v *fastjson.Value) int64 {
	if v == nil {
		return 0
	}
	switch v.Type() {
	case fastjson.TypeString:
		return timeString(string(v.GetStringBytes()))
	case fastjson.TypeNumber:
		d.buf = v.MarshalTo(d.buf[:0])
		f, err := strconv.ParseFloat(string(d.buf), 64)
		if err != nil {
			return 0
		}
		return secondsToMs(f)
	}
	return 0
}

// timeString is parseTimeString, but for ParseFloat's (allocated) error
// on a string that cannot be a number: one with a ':', as RFC 3339 times.
func timeString(s string) int64 {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	if strings.IndexByte(s, ':') < 0 {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return secondsToMs(f)
		}
	}
	for _, layout := range timeLayouts {
		if tm, err := time.Parse(layout, s); err == nil {
			return tm.UnixMilli()
		}
	}
	return 0
}

// timeLayouts are parseTimeString's.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"}

// number reads a value as flexNumber does.
func (d *eventDecoder) number(v *fastjson.Value) float64 {
	if v == nil {
		return 0
	}
	var s string
	switch v.Type() {
	case fastjson.TypeString:
		s = strings.TrimSpace(string(v.GetStringBytes()))
	case fastjson.TypeNumber:
		d.buf = v.MarshalTo(d.buf[:0])
		s = string(d.buf)
	default:
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// boolean reads a value as flexBool does, on the value as sent: a string
// reads without its quotes but with its escapes ("tru\u0065" is not true).
// ok is false when it reads as unset (a nil flexBool).
func (d *eventDecoder) boolean(v *fastjson.Value) (b, ok bool) {
	if v == nil || v.GetObject() != nil || v.GetArray() != nil {
		return false, false
	}
	d.buf = v.MarshalTo(d.buf[:0]) // before Type, which would unescape a string
	switch string(bytes.Trim(d.buf, `"`)) {
	case "true", "1", "yes":
		return true, true
	case "false", "0", "no":
		return false, true
	}
	return false, false
}

// boolPtr is boolean as a *bool (nil: unset).
func (d *eventDecoder) boolPtr(v *fastjson.Value) *bool {
	b, ok := d.boolean(v)
	if !ok {
		return nil
	}
	return &b
}

// strs reads vals as str does into out (out[i] is vals[i]'s), all in one
// allocation: they are the fields of one frame, breadcrumb, exception or
// user, kept (or dropped) together.
func (d *eventDecoder) strs(out []string, vals []*fastjson.Value) {
	ends := d.ends[:0]
	d.buf = d.buf[:0]
	for _, v := range vals {
		if v != nil {
			switch v.Type() {
			case fastjson.TypeString:
				d.buf = append(d.buf, v.GetStringBytes()...)
			case fastjson.TypeNumber:
				d.buf = v.MarshalTo(d.buf) // as sent
			case fastjson.TypeTrue:
				d.buf = append(d.buf, "true"...)
			case fastjson.TypeFalse:
				d.buf = append(d.buf, "false"...)
			}
		}
		ends = append(ends, len(d.buf))
	}
	d.ends = ends
	all := string(d.buf)
	start := 0
	for i := range vals {
		out[i] = all[start:ends[i]]
		start = ends[i]
	}
}

// raw is a value as sent, compact (the value of rawValue, without the
// whitespace between its tokens). It must not have been read otherwise:
// a string read by Type is printed back escaped by fastjson's rules.
func (d *eventDecoder) raw(v *fastjson.Value) json.RawMessage {
	d.buf = v.MarshalTo(d.buf[:0])
	return bytes.Clone(d.buf)
}

// rawValue reads a value as rawValue does: any value but null.
func (d *eventDecoder) rawValue(v *fastjson.Value) json.RawMessage {
	if v == nil {
		return nil
	}
	d.buf = v.MarshalTo(d.buf[:0])
	if string(d.buf) == "null" {
		return nil
	}
	return bytes.Clone(d.buf)
}

// rawValues reads vals as rawValue does, in one allocation, and gives
// each non-nil one to set with its index; it clears vals.
func (d *eventDecoder) rawValues(vals []*fastjson.Value, set func(int, json.RawMessage)) {
	ends := d.ends[:0]
	d.buf = d.buf[:0]
	for _, v := range vals {
		if v != nil {
			start := len(d.buf)
			d.buf = v.MarshalTo(d.buf)
			if string(d.buf[start:]) == "null" {
				d.buf = d.buf[:start]
			}
		}
		ends = append(ends, len(d.buf))
	}
	d.ends = ends
	if len(d.buf) > 0 {
		all := bytes.Clone(d.buf)
		start := 0
		for i, end := range ends {
			if end > start { // a raw value is never empty
				set(i, all[start:end:end])
			}
			start = end
		}
	}
	clear(vals)
}

// rawObject reads a value as rawObject does: an object, else nil.
func (d *eventDecoder) rawObject(v *fastjson.Value) json.RawMessage {
	if v.GetObject() == nil {
		return nil
	}
	return d.raw(v)
}

// message returns the formatted message and, when the SDK sent one, its
// template. msg is a string, or the legacy object form of logentry (read
// when le, the logentry, is nil).
func (d *eventDecoder) message(msg *fastjson.Value, le *fastjson.Object) (formatted, template string) {
	var plain string
	if o := msg.GetObject(); o != nil {
		if le == nil {
			le = o
		}
	} else {
		plain = d.str(msg)
	}
	if le != nil {
		var f [3]*fastjson.Value
		fieldsOf(le, logentryNames, f[:])
		template = d.str(f[0])
		formatted = d.str(f[1])
		if formatted == "" {
			formatted = d.formatParams(template, f[2])
		}
	}
	if formatted == "" {
		formatted = plain
	}
	if template == formatted {
		template = ""
	}
	return cut(formatted, maxMessage), cut(template, maxMessage)
}

// formatParams substitutes %s (and %d, %r, …) placeholders by the params
// in order, as Sentry does for logentry; params is a list (only a bare
// one), its items read as strings.
func (d *eventDecoder) formatParams(template string, params *fastjson.Value) string {
	list := params.GetArray()
	if len(list) == 0 {
		return template
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(template); i++ {
		c := template[i]
		if c == '%' && i+1 < len(template) {
			next := template[i+1]
			if next == '%' {
				b.WriteByte('%')
				i++
				continue
			}
			if strings.IndexByte("sdifrx", next) >= 0 && n < len(list) {
				b.WriteString(d.str(list[n]))
				n++
				i++
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// exception reads an exception; false when it has no type, no value and
// no stack trace.
func (d *eventDecoder) exception(o *fastjson.Object) (Exception, bool) {
	var f [5]*fastjson.Value
	fieldsOf(o, exceptionNames, f[:])
	var s [3]string
	d.strs(s[:], f[:3])
	x := Exception{Type: cut(s[0], maxTitle), Value: cut(s[1], maxMessage), Module: cut(s[2], maxTitle)}
	if m := f[3].GetObject(); m != nil {
		var mf [2]*fastjson.Value
		fieldsOf(m, mechanismNames, mf[:])
		x.Mechanism = &Mechanism{Type: cut(d.str(mf[0]), maxShortString), Handled: d.boolPtr(mf[1])}
	}
	x.Stacktrace = d.stack(f[4].GetObject())
	return x, x.Type != "" || x.Value != "" || x.Stacktrace != nil
}

// stack reads a stack trace object (nil: none); nil when it has no
// frames. Of more than maxFrames frames, both ends are kept: the entry
// points and where it was raised.
func (d *eventDecoder) stack(o *fastjson.Object) *Stacktrace {
	if o == nil {
		return nil
	}
	var f [1]*fastjson.Value
	fieldsOf(o, stacktraceNames, f[:])
	n := countItems(f[0])
	if n == 0 {
		return nil
	}
	kept := min(n, maxFrames)
	st := &Stacktrace{Frames: make([]Frame, 0, kept)}
	var inApp []bool      // the frames' in_app, in one allocation
	vars := d.rawVals[:0] // the frames' vars, read together below
	k := 0
	for _, it := range listItems(f[0]) {
		fo, ok := structItem(it)
		if !ok {
			continue
		}
		if n <= maxFrames || k < maxFrames/2 || k >= n-maxFrames/2 {
			fr, in, ok, v := d.frame(fo)
			if ok {
				if inApp == nil {
					inApp = make([]bool, kept)
				}
				i := len(st.Frames)
				inApp[i] = in
				fr.InApp = &inApp[i]
			}
			st.Frames = append(st.Frames, fr)
			vars = append(vars, v)
		}
		k++
	}
	d.rawVals = vars
	d.rawValues(vars, func(i int, r json.RawMessage) { st.Frames[i].Vars = r })
	return st
}

// frame reads a frame but its in_app (ok false: unset) and its vars,
// returned apart. Its strings, context lines included, are one
// allocation, and its context lines another.
func (d *eventDecoder) frame(o *fastjson.Object) (fr Frame, inApp, ok bool, vars *fastjson.Value) {
	var f [frCount]*fastjson.Value
	fieldsOf(o, frameNames, f[:])
	pre, post := listItems(f[frPreContext]), listItems(f[frPostContext])
	vals := append(d.vals[:0], f[frFunction], f[frRawFunction], f[frModule], f[frPackage], f[frFilename], f[frAbsPath], f[frContextLine], f[frPlatform])
	vals = append(append(vals, pre...), post...)
	s := d.strings[:0]
	for range vals {
		s = append(s, "")
	}
	d.strs(s, vals)
	fn := s[0]
	if fn == "" {
		fn = s[1]
	}
	fr = Frame{Function: cut(fn, maxTitle), Module: cut(s[2], maxTitle), Package: cut(s[3], maxTitle),
		Filename: cut(s[4], 1024), AbsPath: cut(s[5], 2048), Lineno: int(d.number(f[frLineno])),
		Colno: int(d.number(f[frColno])), ContextLine: cut(s[6], 1024), Platform: cut(s[7], maxShortString)}
	if lines := s[8:]; len(lines) > 0 {
		ls := make([]string, len(lines))
		for i, l := range lines {
			ls[i] = cut(l, 1024)
		}
		if len(pre) > 0 {
			fr.PreContext = ls[:len(pre):len(pre)]
		}
		if len(post) > 0 {
			fr.PostContext = ls[len(pre):]
		}
	}
	clear(vals) // the pooled scratch keeps nothing
	clear(s)
	d.vals, d.strings = vals, s
	inApp, ok = d.boolean(f[frInApp])
	return fr, inApp, ok, f[frVars]
}

// threadStack is the stack trace of the thread that crashed, else of
// the current one, else of the first: of the threads with a stacktrace
// object (which may have no frames).
func (d *eventDecoder) threadStack(threads *fastjson.Value) *Stacktrace {
	var best *fastjson.Object
	var bestCrashed, bestCurrent bool
	for _, it := range listItems(threads) {
		to, ok := structItem(it)
		if !ok {
			continue
		}
		var f [3]*fastjson.Value
		fieldsOf(to, threadNames, f[:])
		st := f[2].GetObject()
		if st == nil {
			continue
		}
		crashed, _ := d.boolean(f[0]) // false when unset
		current, _ := d.boolean(f[1])
		switch {
		case best == nil, crashed && !bestCrashed, current && !bestCrashed && !bestCurrent:
			best, bestCrashed, bestCurrent = st, crashed, current
		}
	}
	return d.stack(best)
}

// crumb reads a breadcrumb but its data, returned apart.
func (d *eventDecoder) crumb(o *fastjson.Object) (Breadcrumb, *fastjson.Value) {
	var f [6]*fastjson.Value
	fieldsOf(o, crumbNames, f[:])
	var s [4]string
	d.strs(s[:], f[1:5])
	return Breadcrumb{Timestamp: d.time(f[0]), Type: cut(s[0], maxShortString), Category: cut(s[1], maxShortString),
		Message: cut(s[2], maxMessage), Level: cut(s[3], maxShortString)}, f[5]
}

func (d *eventDecoder) user(o *fastjson.Object) User {
	var f [6]*fastjson.Value
	fieldsOf(o, userNames, f[:])
	var s [5]string
	d.strs(s[:], f[:5])
	return User{ID: cut(s[0], maxTitle), Email: cut(s[1], maxTitle), Username: cut(s[2], maxTitle),
		IPAddress: cut(s[3], maxShortString), Name: cut(s[4], maxTitle), Data: d.rawValue(f[5])}
}

func (d *eventDecoder) request(o *fastjson.Object) *Request {
	var f [5]*fastjson.Value
	fieldsOf(o, requestNames, f[:])
	return &Request{URL: cut(d.str(f[0]), 2048), Method: cut(d.str(f[1]), 16), QueryString: d.query(f[2]),
		Headers: d.pairs(f[3]), Data: d.rawValue(f[4])}
}

// query reads a query string: a string, or pairs joined as k=v&k=v.
func (d *eventDecoder) query(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	if v.Type() == fastjson.TypeString {
		return cut(d.str(v), 2048)
	}
	var sb strings.Builder
	for i, kv := range d.pairs(v) {
		if i > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(kv[0] + "=" + kv[1])
	}
	return cut(sb.String(), 2048)
}

// pairs reads a value as pairs does: an object (its pairs sorted by key;
// of a key sent twice the last value counts) or a list of [key, value]
// lists, the others skipped; nil for anything else, an empty list for an
// empty object or list.
func (d *eventDecoder) pairs(v *fastjson.Value) []Pair {
	if v == nil {
		return nil
	}
	if o := v.GetObject(); o != nil {
		out := make([]Pair, 0, o.Len())
		o.Visit(func(k []byte, v *fastjson.Value) {
			out = append(out, Pair{string(k), d.str(v)})
		})
		// Stable, so that of equal keys the last sent is the last.
		slices.SortStableFunc(out, func(a, b Pair) int { return strings.Compare(a[0], b[0]) })
		w := 0
		for i := range out {
			if i+1 < len(out) && out[i+1][0] == out[i][0] {
				continue
			}
			out[w] = out[i]
			w++
		}
		return out[:w]
	}
	if v.Type() != fastjson.TypeArray {
		return nil
	}
	items := v.GetArray()
	out := make([]Pair, 0, len(items))
	for _, it := range items {
		if kv := it.GetArray(); len(kv) == 2 {
			out = append(out, Pair{d.str(kv[0]), d.str(kv[1])})
		}
	}
	return out
}

// fingerprint reads the event's fingerprint: a list (only a bare one) of
// at most 32 entries read as strings; nil when it is not a list.
func (d *eventDecoder) fingerprint(v *fastjson.Value) []string {
	if v == nil || v.Type() != fastjson.TypeArray {
		return nil
	}
	items := v.GetArray()
	out := make([]string, 0, min(len(items), 32))
	for i, it := range items {
		if i >= 32 {
			break
		}
		out = append(out, cut(d.str(it), maxTitle))
	}
	return out
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
