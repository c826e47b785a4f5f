package errtrack

// The reference: DecodeEvent as it was with encoding/json and the flex
// types' UnmarshalJSON methods, kept as is (renamed) for the
// differential tests (event_diff_test.go) and the benchmarks. Do not
// change it: it defines the behaviour DecodeEvent must keep.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The wire shapes (with the legacy "sentry.interfaces.*" aliases Relay
// still reads).
type wireEvent struct {
	EventID     flexString              `json:"event_id"`
	Timestamp   flexTime                `json:"timestamp"`
	Level       flexString              `json:"level"`
	Platform    flexString              `json:"platform"`
	Logger      flexString              `json:"logger"`
	Transaction flexString              `json:"transaction"`
	Culprit     flexString              `json:"culprit"`
	ServerName  flexString              `json:"server_name"`
	Release     flexString              `json:"release"`
	Dist        flexString              `json:"dist"`
	Environment flexString              `json:"environment"`
	Message     json.RawMessage         `json:"message"`
	Logentry    obj[wireLogentry]       `json:"logentry"`
	LegacyMsg   obj[wireLogentry]       `json:"sentry.interfaces.Message"`
	Exception   valuesOf[wireException] `json:"exception"`
	LegacyExc   valuesOf[wireException] `json:"sentry.interfaces.Exception"`
	Stacktrace  obj[wireStacktrace]     `json:"stacktrace"`
	LegacyStack obj[wireStacktrace]     `json:"sentry.interfaces.Stacktrace"`
	Threads     valuesOf[wireThread]    `json:"threads"`
	Breadcrumbs valuesOf[wireCrumb]     `json:"breadcrumbs"`
	Tags        pairs                   `json:"tags"`
	Contexts    rawObject               `json:"contexts"`
	Extra       rawObject               `json:"extra"`
	User        obj[wireUser]           `json:"user"`
	LegacyUser  obj[wireUser]           `json:"sentry.interfaces.User"`
	Request     obj[wireRequest]        `json:"request"`
	LegacyHTTP  obj[wireRequest]        `json:"sentry.interfaces.Http"`
	SDK         obj[wireSDK]            `json:"sdk"`
	Fingerprint json.RawMessage         `json:"fingerprint"`
	Modules     rawObject               `json:"modules"`
}

type wireLogentry struct {
	Message   flexString      `json:"message"`
	Formatted flexString      `json:"formatted"`
	Params    json.RawMessage `json:"params"`
}

type wireException struct {
	Type       flexString          `json:"type"`
	Value      flexString          `json:"value"`
	Module     flexString          `json:"module"`
	Mechanism  obj[wireMechanism]  `json:"mechanism"`
	Stacktrace obj[wireStacktrace] `json:"stacktrace"`
}

type wireMechanism struct {
	Type    flexString `json:"type"`
	Handled flexBool   `json:"handled"`
}

type wireStacktrace struct {
	Frames valuesOf[wireFrame] `json:"frames"`
}

type wireFrame struct {
	Function    flexString           `json:"function"`
	RawFunction flexString           `json:"raw_function"`
	Module      flexString           `json:"module"`
	Package     flexString           `json:"package"`
	Filename    flexString           `json:"filename"`
	AbsPath     flexString           `json:"abs_path"`
	Lineno      flexNumber           `json:"lineno"`
	Colno       flexNumber           `json:"colno"`
	InApp       flexBool             `json:"in_app"`
	ContextLine flexString           `json:"context_line"`
	PreContext  valuesOf[flexString] `json:"pre_context"`
	PostContext valuesOf[flexString] `json:"post_context"`
	Vars        rawValue             `json:"vars"`
	Platform    flexString           `json:"platform"`
}

type wireThread struct {
	Crashed    flexBool            `json:"crashed"`
	Current    flexBool            `json:"current"`
	Stacktrace obj[wireStacktrace] `json:"stacktrace"`
}

type wireCrumb struct {
	Timestamp flexTime   `json:"timestamp"`
	Type      flexString `json:"type"`
	Category  flexString `json:"category"`
	Message   flexString `json:"message"`
	Level     flexString `json:"level"`
	Data      rawValue   `json:"data"`
}

// decodeEventReference reads an error event's JSON. Only a body that is not a JSON
// object is an error: every field of an unknown or odd shape reads as
// empty instead.
func decodeEventReference(b []byte) (*Event, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, fmt.Errorf("%w: the event is not a JSON object", ErrBadPayload)
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: the event is not valid UTF-8", ErrBadPayload)
	}
	var w wireEvent
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: event: %v", ErrBadPayload, jsonErr(err))
	}
	e := &Event{
		EventID:     NormalizeEventID(string(w.EventID)),
		Timestamp:   int64(w.Timestamp),
		Level:       normalizeLevel(string(w.Level)),
		Platform:    cut(string(w.Platform), maxShortString),
		Logger:      cut(string(w.Logger), maxShortString),
		Transaction: cut(string(w.Transaction), maxTitle),
		ServerName:  cut(string(w.ServerName), maxShortString),
		Release:     cleanName(string(w.Release)),
		Dist:        cleanName(string(w.Dist)),
		Environment: cleanName(string(w.Environment)),
		Contexts:    json.RawMessage(w.Contexts),
		Extra:       json.RawMessage(w.Extra),
		Modules:     json.RawMessage(w.Modules),
	}
	if e.Transaction == "" {
		// Old SDKs sent the culprit themselves.
		e.Transaction = cut(string(w.Culprit), maxTitle)
	}
	e.Message, e.Template = refReadMessage(w.Message, refFirstNonNil(w.Logentry.v, w.LegacyMsg.v))
	exc := w.Exception
	if len(exc) == 0 {
		exc = w.LegacyExc
	}
	for i, x := range exc {
		if i >= maxExceptions {
			break
		}
		ex := Exception{Type: cut(string(x.Type), maxTitle), Value: cut(string(x.Value), maxMessage), Module: cut(string(x.Module), maxTitle)}
		if m := x.Mechanism.v; m != nil {
			ex.Mechanism = &Mechanism{Type: cut(string(m.Type), maxShortString), Handled: m.Handled.v}
		}
		ex.Stacktrace = refReadStack(x.Stacktrace.v)
		if ex.Type == "" && ex.Value == "" && ex.Stacktrace == nil {
			continue
		}
		e.Exceptions = append(e.Exceptions, ex)
	}
	e.Stacktrace = refReadStack(refFirstNonNil(w.Stacktrace.v, w.LegacyStack.v))
	if e.Stacktrace == nil {
		// A message event with attach_stacktrace carries it in a thread:
		// the crashed one, else the current one, else the first.
		var best *wireThread
		for i := range w.Threads {
			t := &w.Threads[i]
			if t.Stacktrace.v == nil {
				continue
			}
			switch {
			case best == nil, isTrue(t.Crashed) && !isTrue(best.Crashed), isTrue(t.Current) && !isTrue(best.Crashed) && !isTrue(best.Current):
				best = t
			}
		}
		if best != nil {
			e.Stacktrace = refReadStack(best.Stacktrace.v)
		}
	}
	crumbs := w.Breadcrumbs
	if len(crumbs) > maxCrumbs {
		crumbs = crumbs[len(crumbs)-maxCrumbs:] // the latest ones
	}
	for _, c := range crumbs {
		e.Breadcrumbs = append(e.Breadcrumbs, Breadcrumb{Timestamp: int64(c.Timestamp), Type: cut(string(c.Type), maxShortString),
			Category: cut(string(c.Category), maxShortString), Message: cut(string(c.Message), maxMessage),
			Level: cut(string(c.Level), maxShortString), Data: json.RawMessage(c.Data)})
	}
	for i, t := range w.Tags {
		if i >= maxTags {
			break
		}
		e.Tags = append(e.Tags, Pair{cut(t[0], maxShortString), cut(t[1], maxTitle)})
	}
	if u := refFirstNonNil(w.User.v, w.LegacyUser.v); u != nil {
		e.User = User{ID: cut(string(u.ID), maxTitle), Email: cut(string(u.Email), maxTitle), Username: cut(string(u.Username), maxTitle),
			IPAddress: cut(string(u.IPAddress), maxShortString), Name: cut(string(u.Name), maxTitle), Data: json.RawMessage(u.Data)}
	}
	if r := refFirstNonNil(w.Request.v, w.LegacyHTTP.v); r != nil {
		e.Request = &Request{URL: cut(string(r.URL), 2048), Method: cut(string(r.Method), 16), QueryString: refReadQuery(r.QueryString),
			Headers: r.Headers, Data: json.RawMessage(r.Data)}
	}
	if sdk := w.SDK.v; sdk != nil {
		e.SDK = SDK{Name: cut(string(sdk.Name), maxShortString), Version: cut(string(sdk.Version), maxShortString)}
	}
	e.Fingerprint = refReadFingerprint(w.Fingerprint)
	if e.Level == "" {
		e.Level = "error"
	}
	return e, nil
}

func refFirstNonNil[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

// refReadMessage returns the formatted message and, when the SDK sent one,
// its template. message is a string, or the legacy object form of
// logentry.
func refReadMessage(msg json.RawMessage, le *wireLogentry) (formatted, template string) {
	msg = bytes.TrimSpace(msg)
	if len(msg) > 0 && msg[0] == '{' {
		var obj wireLogentry
		if json.Unmarshal(msg, &obj) == nil && le == nil {
			le = &obj
		}
		msg = nil
	}
	var plain flexString
	if len(msg) > 0 {
		_ = plain.UnmarshalJSON(msg)
	}
	if le != nil {
		template = string(le.Message)
		formatted = string(le.Formatted)
		if formatted == "" {
			formatted = refFormatParams(template, le.Params)
		}
	}
	if formatted == "" {
		formatted = string(plain)
	}
	if template == formatted {
		template = ""
	}
	return cut(formatted, maxMessage), cut(template, maxMessage)
}

// refFormatParams substitutes %s (and %d, %r, …) placeholders by the params
// in order, as Sentry does for logentry.
func refFormatParams(template string, params json.RawMessage) string {
	var list []flexString
	if len(params) == 0 || json.Unmarshal(params, &list) != nil || len(list) == 0 {
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
				b.WriteString(string(list[n]))
				n++
				i++
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

func refReadQuery(b json.RawMessage) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return ""
	}
	if b[0] == '"' {
		var s flexString
		_ = s.UnmarshalJSON(b)
		return cut(string(s), 2048)
	}
	var p pairs
	_ = p.UnmarshalJSON(b)
	var sb strings.Builder
	for i, kv := range p {
		if i > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(kv[0] + "=" + kv[1])
	}
	return cut(sb.String(), 2048)
}

func refReadStack(s *wireStacktrace) *Stacktrace {
	if s == nil || len(s.Frames) == 0 {
		return nil
	}
	frames := s.Frames
	if len(frames) > maxFrames {
		// Keep both ends: the entry points and where it was raised.
		frames = append(frames[:maxFrames/2:maxFrames/2], frames[len(frames)-maxFrames/2:]...)
	}
	st := &Stacktrace{Frames: make([]Frame, 0, len(frames))}
	for _, f := range frames {
		fn := string(f.Function)
		if fn == "" {
			fn = string(f.RawFunction)
		}
		fr := Frame{Function: cut(fn, maxTitle), Module: cut(string(f.Module), maxTitle), Package: cut(string(f.Package), maxTitle),
			Filename: cut(string(f.Filename), 1024), AbsPath: cut(string(f.AbsPath), 2048), Lineno: int(f.Lineno), Colno: int(f.Colno),
			InApp: f.InApp.v, ContextLine: cut(string(f.ContextLine), 1024), Vars: json.RawMessage(f.Vars), Platform: cut(string(f.Platform), maxShortString)}
		for _, l := range f.PreContext {
			fr.PreContext = append(fr.PreContext, cut(string(l), 1024))
		}
		for _, l := range f.PostContext {
			fr.PostContext = append(fr.PostContext, cut(string(l), 1024))
		}
		st.Frames = append(st.Frames, fr)
	}
	return st
}

func refReadFingerprint(b json.RawMessage) []string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '[' {
		return nil
	}
	var list []flexString
	if json.Unmarshal(b, &list) != nil {
		return nil
	}
	out := make([]string, 0, len(list))
	for i, s := range list {
		if i >= 32 {
			break
		}
		out = append(out, cut(string(s), maxTitle))
	}
	return out
}
