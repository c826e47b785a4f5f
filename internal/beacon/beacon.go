// Package beacon owns the browser beacon's body: the JSON a browser SDK (or
// any client) posts to POST /api/v1/events, its limits, and the mapping of
// each event onto a point of a built-in browser dataset (pageviews, events,
// web_vitals, api_calls, client_errors, ui_actions, websocket). It parses
// the page URL (path, host, UTM tags) and the referrer because they are part
// of what the client sent. It knows nothing of HTTP, keys or projects, and
// derives nothing from the client itself: browser, OS, device, country,
// visitor and session are package enrich's.
package beacon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/alidade/alidade/internal/logs"
	"github.com/alidade/alidade/internal/point"
	"github.com/alidade/alidade/internal/textlimit"
)

// The beacon's limits, named in its errors.
const (
	// MaxBodyBytes bounds a body after decompression.
	MaxBodyBytes = 1 << 20
	// MaxEvents bounds the events of one body.
	MaxEvents = 500
	// MaxKeyBytes bounds the "key" field.
	MaxKeyBytes = 256
	// MaxURLBytes bounds url, referrer, requestUrl and source.
	MaxURLBytes = 2048
	// MaxPathBytes bounds an explicit path.
	MaxPathBytes = 1024
	// MaxNameBytes bounds the fields that become index1: an event's name, a
	// vital's name, an endpoint, an action and an error type.
	MaxNameBytes = point.MaxIndexBytes
	// MaxUserBytes bounds user.
	MaxUserBytes = 128
	// MaxTextBytes bounds the other short strings: attribution, id,
	// component, channel, navigationType, rating, a WebSocket error.
	MaxTextBytes = 512
	// MaxPropsBytes bounds an event's props, as compact JSON.
	MaxPropsBytes = 4096
	// MaxPropsDepth bounds the nesting of props.
	MaxPropsDepth = 16
	// MaxMessageBytes and MaxStackBytes bound an error's message and stack;
	// longer ones are cut (an error is worth keeping whatever its length).
	MaxMessageBytes = 1024
	MaxStackBytes   = 8192
	// MaxAgeMillis bounds how long before sentAt an event may have
	// happened (24 hours).
	MaxAgeMillis = 24 * 60 * 60 * 1000
)

// Event types.
const (
	TypePageview  = "pageview"
	TypeEvent     = "event"
	TypeVital     = "vital"
	TypeAPICall   = "api_call"
	TypeError     = "error"
	TypeAction    = "action"
	TypeWebSocket = "websocket"
	// TypeLog is a console message the SDK forwards (forwardConsole).
	TypeLog = "log"
)

// Types lists the event types in the order the errors name them.
var Types = []string{TypePageview, TypeEvent, TypeVital, TypeAPICall, TypeError, TypeAction, TypeWebSocket, TypeLog}

// ErrEmptyBody is returned by Decode for a body of whitespace only.
var ErrEmptyBody = errors.New(`body is empty; send {"key":"…","events":[…]}`)

// TooManyEventsError is returned by Decode for a body over MaxEvents.
type TooManyEventsError struct{ Events int }

func (e *TooManyEventsError) Error() string {
	return fmt.Sprintf("body has %d events; the limit is %d events per request: send smaller batches", e.Events, MaxEvents)
}

// BodyError is returned by Decode for a body that is not the beacon's JSON
// object; nothing of it can be read.
type BodyError struct{ Msg string }

func (e *BodyError) Error() string { return e.Msg }

// Request is a decoded body.
type Request struct {
	// Key is the body's "key" ("" when absent): the project's public key,
	// for clients that cannot set headers (navigator.sendBeacon).
	Key string
	// SentAt is the client's clock when it sent the body (Unix ms), 0
	// when absent. Events' timestamps are taken relative to it.
	SentAt int64
	// Events are the well-formed events, in body order.
	Events []Event
	// Rejected are the others, with their positions.
	Rejected []point.Rejection
	// Count is how many events the body held.
	Count int
}

// Event is one well-formed event. Which fields mean something depends on
// Type; the JSON names are the struct tags (camelCase, as in the SDK).
type Event struct {
	// Position is the event's 0-based index in the body's events.
	Position int `json:"-"`

	Type string `json:"type"`
	// Timestamp is when the event happened on the client's clock (Unix
	// ms); with the body's sentAt it dates the event relative to the
	// server's clock. 0: when the server received it.
	Timestamp float64 `json:"timestamp"`
	// URL is the page the event happened on (location.href).
	URL string `json:"url"`
	// Path overrides the path taken from URL (e.g. a hash route).
	Path string `json:"path"`
	// User is the id the page set with alidade.identify (the SDK sends a
	// hash of it, never the id); "" when none.
	User string `json:"user"`

	// pageview
	Referrer string  `json:"referrer"`
	LoadTime float64 `json:"loadTime"`

	// event: Name, Props, Value. vital: Name, Value, Rating, Delta,
	// NavigationType, Attribution, ID.
	Name           string          `json:"name"`
	Props          json.RawMessage `json:"props"`
	Value          float64         `json:"value"`
	Rating         string          `json:"rating"`
	Delta          float64         `json:"delta"`
	NavigationType string          `json:"navigationType"`
	Attribution    string          `json:"attribution"`
	ID             string          `json:"id"`

	// api_call
	Endpoint   string  `json:"endpoint"`
	Method     string  `json:"method"`
	RequestURL string  `json:"requestUrl"`
	Duration   float64 `json:"duration"`
	Status     float64 `json:"status"`
	Success    *bool   `json:"success"`

	// log: Level, Message, Props (its attributes).
	Level string `json:"level"`

	// error
	Message   string  `json:"message"`
	ErrorType string  `json:"errorType"`
	Stack     string  `json:"stack"`
	Source    string  `json:"source"`
	Line      float64 `json:"line"`
	Column    float64 `json:"column"`

	// action: Action, Component, Duration.
	Action    string `json:"action"`
	Component string `json:"component"`

	// websocket: Kind, Channel, Code, Duration, Error, MessagesIn,
	// MessagesOut, Attempt.
	Kind        string  `json:"kind"`
	Channel     string  `json:"channel"`
	Code        float64 `json:"code"`
	Error       string  `json:"error"`
	MessagesIn  float64 `json:"messagesIn"`
	MessagesOut float64 `json:"messagesOut"`
	Attempt     float64 `json:"attempt"`
	// Reconnect marks an open that is a reconnect (attempt is then at
	// least 1).
	Reconnect bool `json:"reconnect"`
}

// envelope is the body's top level.
type envelope struct {
	Key    *string           `json:"key"`
	SentAt *float64          `json:"sentAt"`
	Events []json.RawMessage `json:"events"`
}

// Decode decodes a body (already gunzipped and at most MaxBodyBytes): a
// JSON object {"key", "sentAt", "events": [...]}, unknown fields ignored.
// Each event that is not well formed is rejected with its position and the
// rule it broke, and the others are kept. err is non-nil only when the body
// as a whole cannot be read: ErrEmptyBody, *BodyError, *TooManyEventsError
// (with which the Request holds the body's Key, and nothing else).
func Decode(body []byte) (*Request, error) {
	body = bytes.TrimPrefix(body, []byte("\uFEFF"))
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, ErrEmptyBody
	}
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&env); err != nil {
		return nil, &BodyError{Msg: "body: " + jsonError(err, "")}
	}
	if dec.More() {
		return nil, &BodyError{Msg: `body: more than one JSON value; send one object {"key":"…","events":[…]}`}
	}
	if env.Events == nil {
		return nil, &BodyError{Msg: `body has no "events" array; send {"key":"…","events":[{"type":"pageview","url":"…"}]}`}
	}
	req := &Request{Count: len(env.Events)}
	if env.Key != nil {
		if len(*env.Key) > MaxKeyBytes {
			return nil, &BodyError{Msg: fmt.Sprintf("key is %d bytes; the limit is %d bytes", len(*env.Key), MaxKeyBytes)}
		}
		req.Key = *env.Key
	}
	if len(env.Events) > MaxEvents {
		// The key is known: the caller may say who sent too much.
		return &Request{Key: req.Key}, &TooManyEventsError{Events: len(env.Events)}
	}
	if env.SentAt != nil {
		ms := *env.SentAt
		if ms < 0 || ms > 1e14 || ms != float64(int64(ms)) {
			return nil, &BodyError{Msg: fmt.Sprintf("sentAt must be Unix milliseconds (a whole number), got %v", ms)}
		}
		req.SentAt = int64(ms)
	}
	for i, raw := range env.Events {
		ev, err := decodeEvent(raw)
		if err != nil {
			req.Rejected = append(req.Rejected, point.Rejection{Position: i, Error: err.Error()})
			continue
		}
		ev.Position = i
		req.Events = append(req.Events, ev)
	}
	return req, nil
}

// decodeEvent decodes and checks one event.
func decodeEvent(raw json.RawMessage) (Event, error) {
	var ev Event
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return ev, fmt.Errorf("an event is a JSON object, got %s", textlimit.JSONKind(raw))
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return ev, errors.New(jsonError(err, "field "))
	}
	if err := ev.check(); err != nil {
		return ev, err
	}
	return ev, nil
}

// check validates an event and normalizes it.
func (ev *Event) check() error {
	if ev.Type == "" {
		return fmt.Errorf("type is missing; use %s", strings.Join(Types, ", "))
	}
	if !slices.Contains(Types, ev.Type) {
		return fmt.Errorf("unknown type %q; use %s", textlimit.Cut(ev.Type, 40), strings.Join(Types, ", "))
	}
	if err := checkNumbers(ev); err != nil {
		return err
	}
	// The text every type may carry.
	for _, f := range []struct {
		name  string
		v     *string
		limit int
	}{
		{"url", &ev.URL, MaxURLBytes}, {"path", &ev.Path, MaxPathBytes}, {"referrer", &ev.Referrer, MaxURLBytes}, {"user", &ev.User, MaxUserBytes},
		{"name", &ev.Name, MaxNameBytes}, {"rating", &ev.Rating, MaxTextBytes}, {"navigationType", &ev.NavigationType, MaxTextBytes},
		{"attribution", &ev.Attribution, MaxTextBytes}, {"id", &ev.ID, MaxTextBytes}, {"endpoint", &ev.Endpoint, MaxNameBytes},
		{"method", &ev.Method, MaxTextBytes}, {"requestUrl", &ev.RequestURL, MaxURLBytes}, {"errorType", &ev.ErrorType, MaxNameBytes},
		{"source", &ev.Source, MaxURLBytes}, {"action", &ev.Action, MaxNameBytes}, {"component", &ev.Component, MaxTextBytes},
		{"kind", &ev.Kind, MaxTextBytes}, {"channel", &ev.Channel, MaxTextBytes}, {"error", &ev.Error, MaxTextBytes}, {"level", &ev.Level, MaxTextBytes},
	} {
		if len(*f.v) > f.limit {
			return fmt.Errorf("%s is %d bytes; the limit is %d bytes", f.name, len(*f.v), f.limit)
		}
		if !utf8.ValidString(*f.v) {
			// encoding/json replaces invalid UTF-8; this is a guard.
			return fmt.Errorf("%s is not valid UTF-8", f.name)
		}
	}
	ev.Message = textlimit.Cut(ev.Message, MaxMessageBytes)
	ev.Stack = textlimit.Cut(ev.Stack, MaxStackBytes)
	if ev.Path != "" && !strings.HasPrefix(ev.Path, "/") {
		return fmt.Errorf("path %q must start with /", textlimit.Cut(ev.Path, 80))
	}
	if err := ev.checkProps(); err != nil {
		return err
	}
	if ev.Type == TypeEvent {
		if ev.Name == "" {
			return errors.New(`an event needs a name (e.g. "chat_message")`)
		}
		// Zaraz's page_view and api_call, tracked by name: the same as
		// the SDK's pageview and api_call events.
		switch ev.Name {
		case "page_view", "pageview":
			ev.fromPageViewProps()
		case "api_call":
			if err := ev.fromAPICallProps(); err != nil {
				return err
			}
		}
	}
	switch ev.Type {
	case TypePageview:
		if ev.URL == "" && ev.Path == "" {
			return errors.New("a pageview needs url (location.href) or path")
		}
	case TypeVital:
		name := strings.ToUpper(ev.Name)
		if !slices.Contains(Vitals, name) {
			return fmt.Errorf("vital name %q is not one of %s", textlimit.Cut(ev.Name, 40), strings.Join(Vitals, ", "))
		}
		ev.Name = name
		if ev.Rating != "" && !slices.Contains(Ratings, ev.Rating) {
			return fmt.Errorf("rating %q is not one of %s", textlimit.Cut(ev.Rating, 40), strings.Join(Ratings, ", "))
		}
	case TypeAPICall:
		if ev.Endpoint == "" {
			return errors.New(`an api_call needs an endpoint (a route pattern, e.g. "GET /api/lessons/:id")`)
		}
		if ev.Method == "" {
			// "GET /api/lessons/:id" names its method.
			if m, _, ok := strings.Cut(ev.Endpoint, " "); ok && isMethod(m) {
				ev.Method = m
			}
		}
		if ev.Method != "" {
			if !isMethod(ev.Method) {
				return fmt.Errorf("method %q is not an HTTP method", textlimit.Cut(ev.Method, 40))
			}
			ev.Method = strings.ToUpper(ev.Method)
		}
	case TypeError:
		if ev.Message == "" && ev.ErrorType == "" && ev.Stack == "" {
			return errors.New("an error needs a message, an errorType or a stack")
		}
		if ev.ErrorType == "" {
			ev.ErrorType = "Error"
		}
	case TypeLog:
		if ev.Message == "" {
			return errors.New("a log needs a message")
		}
		level, _, err := logs.Level(ev.Level)
		if err != nil {
			return err
		}
		ev.Level = level
	case TypeAction:
		if ev.Action == "" {
			return errors.New(`an action needs action (e.g. "chat/send")`)
		}
	case TypeWebSocket:
		k, ok := wsKinds[ev.Kind]
		if !ok {
			return fmt.Errorf("websocket kind %q is not one of connect, open, close, reconnect, error, message", textlimit.Cut(ev.Kind, 40))
		}
		ev.Kind = k
		if ev.Reconnect && ev.Attempt == 0 {
			ev.Attempt = 1
		}
	}
	return nil
}

// Vitals are the Core Web Vitals metric names a vital may carry.
var Vitals = []string{"LCP", "INP", "CLS", "FCP", "TTFB", "FID"}

// Ratings are web-vitals' ratings.
var Ratings = []string{"good", "needs-improvement", "poor"}

// wsKinds maps the browser's WebSocket kinds onto the websocket dataset's
// event kinds (connect is open, as the server side writes it).
var wsKinds = map[string]string{"connect": "open", "open": "open", "close": "close", "reconnect": "reconnect", "error": "error", "message": "message"}

// checkNumbers checks the numeric fields' ranges.
func checkNumbers(ev *Event) error {
	for _, f := range []struct {
		name     string
		v        float64
		min, max float64
		whole    bool
	}{
		{"timestamp", ev.Timestamp, 0, 1e14, false},
		{"loadTime", ev.LoadTime, 0, 1e9, false},
		{"value", ev.Value, -1e15, 1e15, false},
		{"delta", ev.Delta, -1e15, 1e15, false},
		{"duration", ev.Duration, 0, 1e12, false},
		{"status", ev.Status, 0, 999, true},
		{"line", ev.Line, 0, 1e9, true},
		{"column", ev.Column, 0, 1e9, true},
		{"code", ev.Code, 0, 4999, true},
		{"messagesIn", ev.MessagesIn, 0, 1e12, true},
		{"messagesOut", ev.MessagesOut, 0, 1e12, true},
		{"attempt", ev.Attempt, 0, 1e6, true},
	} {
		if f.v < f.min || f.v > f.max {
			return fmt.Errorf("%s is %v; it must be from %v to %v", f.name, f.v, f.min, f.max)
		}
		if f.whole && f.v != float64(int64(f.v)) {
			return fmt.Errorf("%s is %v; it must be a whole number", f.name, f.v)
		}
	}
	if ev.Type == TypeVital && ev.Value < 0 {
		return fmt.Errorf("value is %v; a vital is never negative", ev.Value)
	}
	return nil
}

// checkProps compacts props and checks that it is an object (or null)
// within MaxPropsBytes and MaxPropsDepth.
func (ev *Event) checkProps() error {
	p := bytes.TrimSpace(ev.Props)
	if len(p) == 0 || string(p) == "null" {
		ev.Props = nil
		return nil
	}
	if p[0] != '{' {
		return fmt.Errorf("props is a JSON object, got %s", textlimit.JSONKind(p))
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, p); err != nil {
		return fmt.Errorf("props: %v", err)
	}
	if buf.Len() > MaxPropsBytes {
		return fmt.Errorf("props is %d bytes as compact JSON; the limit is %d bytes", buf.Len(), MaxPropsBytes)
	}
	if !utf8.Valid(buf.Bytes()) {
		return errors.New("props is not valid UTF-8")
	}
	if d := textlimit.JSONDepth(buf.Bytes()); d > MaxPropsDepth {
		return fmt.Errorf("props nests %d levels deep; the limit is %d", d, MaxPropsDepth)
	}
	ev.Props = buf.Bytes()
	return nil
}

// fromPageViewProps makes an event named page_view (Zaraz's) a pageview:
// props.path is its path (the seed's trackPageView(path)); the other props
// (timestamp, user_id, session_id) are not kept.
func (ev *Event) fromPageViewProps() {
	ev.Type = TypePageview
	var props struct {
		Path     any `json:"path"`
		URL      any `json:"url"`
		Referrer any `json:"referrer"`
	}
	_ = json.Unmarshal(ev.Props, &props)
	if s, ok := props.Path.(string); ok && ev.Path == "" && strings.HasPrefix(s, "/") && len(s) <= MaxPathBytes {
		ev.Path = s
	}
	if s, ok := props.URL.(string); ok && ev.URL == "" && len(s) <= MaxURLBytes {
		ev.URL = s
	}
	if s, ok := props.Referrer.(string); ok && ev.Referrer == "" && len(s) <= MaxURLBytes {
		ev.Referrer = s
	}
	ev.Name, ev.Props = "", nil
}

// fromAPICallProps makes an event named api_call (the seed's trackApiCall:
// endpoint, duration_ms, status_code, success) an api_call.
func (ev *Event) fromAPICallProps() error {
	var props struct {
		Endpoint   any `json:"endpoint"`
		Method     any `json:"method"`
		Duration   any `json:"duration"`
		DurationMS any `json:"duration_ms"`
		Status     any `json:"status"`
		StatusCode any `json:"status_code"`
		Success    any `json:"success"`
	}
	_ = json.Unmarshal(ev.Props, &props)
	ev.Type = TypeAPICall
	if s, ok := props.Endpoint.(string); ok && ev.Endpoint == "" {
		if len(s) > MaxNameBytes {
			return fmt.Errorf("props.endpoint is %d bytes; the limit is %d bytes", len(s), MaxNameBytes)
		}
		ev.Endpoint = s
	}
	if s, ok := props.Method.(string); ok && ev.Method == "" && len(s) <= MaxTextBytes {
		ev.Method = s
	}
	for _, f := range []struct {
		name string
		v    any
		dst  *float64
	}{{"duration_ms", props.DurationMS, &ev.Duration}, {"duration", props.Duration, &ev.Duration},
		{"status_code", props.StatusCode, &ev.Status}, {"status", props.Status, &ev.Status}} {
		if f.v == nil || *f.dst != 0 {
			continue
		}
		n, ok := f.v.(float64)
		if !ok {
			return fmt.Errorf("props.%s must be a number, got %s", f.name, jsonType(f.v))
		}
		*f.dst = n
	}
	if b, ok := props.Success.(bool); ok && ev.Success == nil {
		ev.Success = &b
	}
	ev.Name, ev.Props = "", nil
	return checkNumbers(ev)
}

func isMethod(m string) bool {
	if m == "" || len(m) > 16 {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// jsonError rewrites encoding/json's errors in the words of this API.
func jsonError(err error, fieldPrefix string) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		where := te.Field
		if where == "" {
			return fmt.Sprintf("expected %s, got JSON %s", typeName(te.Type), te.Value)
		}
		return fmt.Sprintf("%s%s must be %s, got JSON %s", fieldPrefix, where, typeName(te.Type), te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte offset %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "invalid JSON: the body ends early"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func typeName(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Float64, reflect.Float32, reflect.Int, reflect.Int64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a JSON value"
		}
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return typeName(t.Elem())
	}
	return t.String()
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case nil:
		return "null"
	}
	return "a number"
}
